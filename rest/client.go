// HTTP layer: the client of a source. It turns a Request into an
// http.Request (base URL, auth, body), sends it through the transports
// (transport.go), applies response actions and hands back a page whose
// body is parsed later, in page order (parse). The layers above: run.go.

package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fastjson"
	"golang.org/x/time/rate"
)

// ErrIgnoreResponse, returned by a ResponseHook, ignores the response: it
// yields no rows and ends pagination, as dlt's "ignore" action does.
var ErrIgnoreResponse = errors.New("rest: response ignored")

// HTTPError is a response with a status the client does not accept (a 4xx
// other than those retried or ignored, or a 5xx after all retries). It names
// the method, status and URL path, never the query string or headers.
type HTTPError struct {
	StatusCode int
	Method     string
	Path       string // as sent (escaped)
	// Attempts is how many times the request was sent (more than one when
	// a 429 or 5xx was retried).
	Attempts int
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("rest: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Attempts > 1 {
		msg += " (" + attempts(e.Attempts) + ")"
	}
	return msg
}

// client is the HTTP side of a source: one transport stack (retries, rate
// limit, concurrency limit) shared by all its resources.
type client struct {
	base        *url.URL
	headers     map[string]string
	http        *http.Client
	retry       Retry
	concurrency int
	log         *slog.Logger
	parsers     parserList
	bodies      *bodySizes // the transport's, which reads every body
	secrets     *secretSet
	rt          *retryTransport
	sleep       func(ctx context.Context, d time.Duration) error
}

// DefaultMaxConcurrency is how many requests a client runs at once unless
// max_concurrency says otherwise: enough that 1,000 child requests to an API
// answering in 50 ms take about a second, few enough not to flood it.
const DefaultMaxConcurrency = 50

func newClient(cc ClientConfig, hc *http.Client, log *slog.Logger) (*client, error) {
	c := &client{headers: cc.Headers, log: log, retry: cc.Retry.withDefaults(), concurrency: cc.MaxConcurrency, sleep: sleepCtx, parsers: newParserList()}
	if cc.BaseURL != "" {
		u, err := url.Parse(cc.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errAt("client.base_url", "want an http or https URL")
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
			if u.RawPath != "" {
				u.RawPath += "/"
			}
		}
		c.base = u
	}
	if c.concurrency <= 0 {
		c.concurrency = DefaultMaxConcurrency
	}
	timeout := cc.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	// Keep as many idle connections as requests may run at once, so
	// concurrent child requests reuse connections instead of re-dialling.
	dt := http.DefaultTransport.(*http.Transport).Clone()
	dt.MaxIdleConnsPerHost = c.concurrency
	dt.MaxIdleConns = max(dt.MaxIdleConns, c.concurrency)
	var base http.RoundTripper = dt
	var jar http.CookieJar
	var redirect func(*http.Request, []*http.Request) error
	if hc != nil {
		if hc.Transport != nil {
			base = hc.Transport
		}
		jar, redirect = hc.Jar, hc.CheckRedirect
	}
	var lim *rate.Limiter
	if cc.RateLimit > 0 {
		lim = rate.NewLimiter(rate.Limit(cc.RateLimit), 1)
	}
	maxBody := cc.MaxResponseSize
	if maxBody == 0 {
		maxBody = DefaultMaxResponseSize
	}
	rt := &retryTransport{
		next:    &limitTransport{next: base, sem: make(chan struct{}, c.concurrency)},
		policy:  c.retry,
		timeout: timeout,
		limiter: lim,
		sleep:   func(ctx context.Context, d time.Duration) error { return c.sleep(ctx, d) },
		maxBody: max(maxBody, 0),
		log:     log,
	}
	c.rt = rt
	rt.sizes.free = make(chan []byte, bodiesKept)
	c.bodies = &rt.sizes
	c.http = &http.Client{Transport: rt, Jar: jar, CheckRedirect: redirect}
	return c, nil
}

// DefaultMaxResponseSize is the largest response body a client reads
// unless max_response_size says otherwise: generous, as a body is held in
// memory whole (about twice its size at the peak of a load).
const DefaultMaxResponseSize = 1 << 30

func (c *client) setOnRetry(f func(RetryWait)) { c.rt.onRetry = f }

// resolve joins a path to the base URL as dlt does ("users" and "/users"
// both go under the base path); a full URL is used as is.
func (c *client) resolve(path string) (*url.URL, error) {
	if isFullURL(path) {
		return url.Parse(path)
	}
	if c.base == nil {
		return nil, errors.New("rest: endpoint path is not a full URL and client.base_url is not set")
	}
	rel, err := url.Parse(strings.TrimLeft(path, "/"))
	if err != nil {
		return nil, fmt.Errorf("rest: bad endpoint path")
	}
	return c.base.ResolveReference(rel), nil
}

// isFullURL reports whether an endpoint path is used as is, not joined to
// the base URL.
func isFullURL(path string) bool {
	hasPrefix := func(p string) bool { return len(path) >= len(p) && strings.EqualFold(path[:len(p)], p) }
	return hasPrefix("http://") || hasPrefix("https://")
}

// page is one fetched response with its body, parsed once parse ran.
type page struct {
	resp    *Response
	method  string // the HTTP method sent
	parser  *fastjson.Parser
	buf     []byte // the buffer the transport read the body into
	ignored bool
}

// release returns the parser and the body's buffer for reuse: the parsed
// values live in the parser's copy of the body, and nothing reads the
// response after its rows are released.
func (p *page) release(c *client) {
	if p.parser != nil {
		c.parsers.Put(p.parser, len(p.resp.Body))
		p.parser = nil
	}
	if p.buf != nil {
		c.bodies.put(p.buf)
		p.buf = nil
	}
}

func (c *client) httpRequest(ctx context.Context, r *Request, auth Auth) (*http.Request, error) {
	var body []byte
	if r.JSON != nil {
		var err error
		if body, err = json.Marshal(r.JSON); err != nil {
			return nil, fmt.Errorf("rest: encode request body: %w", err)
		}
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequestWithContext(ctx, method, r.URL.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("rest: bad request URL for %s", r.URL.EscapedPath())
	}
	if body == nil {
		hr.Body, hr.GetBody, hr.ContentLength = http.NoBody, nil, 0
	}
	hr.Header = r.Header.Clone()
	if hr.Header == nil {
		hr.Header = http.Header{}
	}
	if body != nil && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if hr.Header.Get("Accept") == "" {
		hr.Header.Set("Accept", "application/json")
	}
	if auth != nil {
		if err := auth.Apply(ctx, hr); err != nil {
			return nil, err
		}
	}
	return hr, nil
}

// fetch sends r and returns its page: retried, authenticated, with response
// actions applied and the body parsed. The caller releases the page.
func (c *client) fetch(ctx context.Context, r *Request, auth Auth, actions []ResponseAction) (*page, error) {
	p, err := c.fetchRaw(ctx, r, auth, actions)
	if err != nil {
		return nil, err
	}
	if err := c.parse(p); err != nil {
		return nil, err
	}
	return p, nil
}

// fetchRaw is fetch without parsing the body: pages fetched ahead wait as
// bytes, which the garbage collector need not scan and which do not push
// the page being normalized out of the CPU's caches (parsed pages waiting
// in a window of 50 made a local load 25-40% slower).
func (c *client) fetchRaw(ctx context.Context, r *Request, auth Auth, actions []ResponseAction) (*page, error) {
	refreshed := false
	for {
		hr, err := c.httpRequest(ctx, r, auth)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		path := r.URL.EscapedPath()
		hresp, err := c.http.Do(hr)
		if err != nil {
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			return nil, fmt.Errorf("rest: %s %s: %w", hr.Method, path, cleanNetError(err))
		}
		var data []byte
		tries, took := 1, time.Since(start)
		if bb, ok := hresp.Body.(*bufferedBody); ok {
			data, tries, took = bb.data, bb.attempts, bb.took
		} else {
			var sizes bodySizes
			data, err = sizes.readAll(hresp, 0)
			hresp.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("rest: %s %s: reading body: %w", hr.Method, path, cleanNetError(err))
			}
		}
		if tries > 1 {
			c.log.Debug("rest: response", "method", hr.Method, "path", path, "status", hresp.StatusCode, "bytes", len(data),
				"attempt", fmt.Sprintf("%d/%d", tries, c.retry.MaxAttempts), "took", took, "total", time.Since(start))
		} else {
			c.log.Debug("rest: response", "method", hr.Method, "path", path, "status", hresp.StatusCode, "bytes", len(data), "took", took)
		}
		if hresp.StatusCode == http.StatusUnauthorized && !refreshed {
			if rf, ok := auth.(Refresher); ok {
				refreshed = true
				if err := rf.Refresh(ctx); err != nil {
					return nil, err
				}
				continue
			}
		}
		body, enc := decodeBOM(data)
		resp := &Response{StatusCode: hresp.StatusCode, Header: hresp.Header, Body: body, Request: r, encoding: enc}
		for _, a := range actions {
			if a.StatusCode != 0 && a.StatusCode != resp.StatusCode {
				continue
			}
			if a.Content != "" && !bytes.Contains(resp.Body, []byte(a.Content)) {
				continue
			}
			if a.Hook != nil {
				if err := a.Hook(ctx, resp); err != nil {
					if errors.Is(err, ErrIgnoreResponse) {
						return &page{resp: resp, ignored: true}, nil
					}
					return nil, fmt.Errorf("rest: response action for %s: %w", path, err)
				}
				continue
			}
			if a.Action == "ignore" {
				c.log.Debug("rest: response ignored", "path", path, "status", resp.StatusCode)
				return &page{resp: resp, ignored: true}, nil
			}
		}
		if resp.StatusCode >= 400 {
			return nil, &HTTPError{StatusCode: resp.StatusCode, Method: hr.Method, Path: path, Attempts: tries}
		}
		p := &page{resp: resp, method: hr.Method}
		if _, ok := hresp.Body.(*bufferedBody); ok {
			p.buf = data
		}
		return p, nil
	}
}

// testHookParse, when set, sees every page parse is about to parse.
var testHookParse func(*Request)

// parse parses a fetched page's body; an empty body (204 No Content) has
// no JSON. A page that does not parse is released.
func (c *client) parse(p *page) error {
	resp := p.resp
	if p.ignored || resp.json != nil || resp.StatusCode == http.StatusNoContent || len(bytes.TrimSpace(resp.Body)) == 0 {
		return nil
	}
	if testHookParse != nil {
		testHookParse(resp.Request)
	}
	p.parser = c.parsers.Get()
	root, err := p.parser.ParseBytes(resp.Body)
	if err != nil {
		// A complete response that does not parse will not parse the next
		// time either (dlt does not retry it): fail at once, naming the
		// content type, as an HTML page served with 200 is the usual case.
		err := c.notJSON(p)
		p.release(c)
		return err
	}
	resp.json = root
	return nil
}

// notJSON says that a page's body is not JSON: see notJSONError.
func (c *client) notJSON(p *page) error {
	r := p.resp
	return notJSONError(p.method, r.Request.URL.EscapedPath(), r.StatusCode, r.Header.Get("Content-Type"), r.encoding, r.Body, c.secrets)
}

// snippetRadius is how many bytes of a body an error quotes on either
// side of where it goes wrong.
const snippetRadius = 20

// notJSONError says that a response body is not JSON; it names the method,
// the URL path (the query may hold secrets), the media type, and, unless
// the media type says it is not JSON, where the body stops being JSON with
// a few bytes around it, secrets masked. A body decoded from UTF-16 or
// UTF-32 (enc) says so: the offset is into the decoded body.
func notJSONError(method, path string, status int, contentType, enc string, body []byte, secrets *secretSet) error {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	what := "is not JSON"
	if strings.Contains(mt, "json") {
		what = "is not valid JSON"
	}
	ct := "no content type"
	if mt != "" {
		ct = "content type " + mt
	}
	if enc != "" {
		ct += "; " + enc + ", decoded by its byte order mark"
	}
	// Where a body claiming to be JSON (or not saying) breaks is worth
	// showing; an HTML page is told by its content type.
	where := ""
	if at, ok := syntaxErrorAt(body); ok && (mt == "" || strings.Contains(mt, "json")) {
		where = fmt.Sprintf(": at byte %d of %d: %s", at, len(body), secrets.snippet(body, at, snippetRadius))
	}
	return fmt.Errorf("rest: %s %s: %d response %s (%s)%s", method, path, status, what, ct, where)
}
