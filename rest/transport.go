// HTTP layer: the transports under a source's requests. retryTransport
// retries what dlt retries (429, 5xx, connection errors and timeouts) with
// backoff and Retry-After and reads each body whole (bodypool.go keeps
// the buffers); limitTransport bounds concurrent requests client-wide.
// client.go builds requests and pages on top of them; auth.go signs them.

package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// Retry is the retry policy of a client: dlt's defaults are 5 attempts,
// backoff factor 1s (1s, 2s, 4s, ... between attempts) and at most 300s
// between attempts.
type Retry struct {
	// MaxAttempts counts the first try; 1 disables retries. Default 5.
	MaxAttempts int
	// Backoff is the first delay; it doubles per attempt. Default 1s.
	Backoff time.Duration
	// MaxDelay caps a delay, including one asked by Retry-After. Default 300s.
	MaxDelay time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 5
	}
	if r.Backoff <= 0 {
		r.Backoff = time.Second
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 300 * time.Second
	}
	return r
}

// delay is the wait before attempt n+1 (n >= 1), with ±20% jitter.
func (r Retry) delay(n int) time.Duration {
	d := r.Backoff
	for i := 1; i < n && d < r.MaxDelay; i++ {
		d *= 2
	}
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return min(d, r.MaxDelay)
}

// retryable reports whether a status is retried: 429 and 5xx.
func retryableStatus(code int) bool { return code == http.StatusTooManyRequests || code >= 500 }

// retryAfter parses Retry-After (seconds or an HTTP date); values <= 0 and
// dates in the past are ignored.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
	}
	return 0, false
}

// bufferedBody is a response body read into memory by the retry layer,
// with the attempts it took and how long the last one took.
type bufferedBody struct {
	bytes.Reader
	data     []byte
	attempts int
	took     time.Duration
}

func (*bufferedBody) Close() error { return nil }

// errTransport marks a failure to get a complete response (connection
// errors, timeouts, truncated bodies).
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// RetryWait is a wait before a request is tried again, as OnRetry reports
// it: after Attempt of MaxAttempts failed with Status (a 429 or 5xx) or Err
// (a connection error, a timeout, a truncated body), the request is sent
// again in Wait.
type RetryWait struct {
	Method      string
	Path        string // the URL path as sent (escaped); never the query
	Attempt     int
	MaxAttempts int
	Status      int
	Err         error
	Wait        time.Duration
}

// OnRetry calls f before every wait between attempts of a request, from
// the goroutine that sends it (the CLI shows the wait on its progress
// line). Retries are also logged at info level.
func OnRetry(f func(RetryWait)) SourceOption { return func(o *sourceOpts) { o.onRetry = f } }

// retryTransport retries connection errors, timeouts, truncated bodies, 429
// and 5xx, honouring Retry-After. It reads every body into memory (so that a
// truncated body is retried); the last failing response is returned as is.
type retryTransport struct {
	next    http.RoundTripper
	policy  Retry
	timeout time.Duration // per attempt, including reading the body; 0: none
	limiter *rate.Limiter // nil: unlimited
	sleep   func(ctx context.Context, d time.Duration) error
	sizes   bodySizes
	maxBody int64 // bodies larger fail; 0: no limit
	log     *slog.Logger
	onRetry func(RetryWait)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		start := time.Now()
		resp, err := t.once(req, attempt)
		took := time.Since(start)
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		w := RetryWait{Method: req.Method, Path: req.URL.EscapedPath(), Attempt: attempt, MaxAttempts: t.policy.MaxAttempts}
		switch {
		case err != nil && !retryableError(err):
			return nil, err
		case err != nil:
			if attempt >= t.policy.MaxAttempts {
				return nil, fmt.Errorf("%s: %w", attempts(attempt), err)
			}
			w.Err, w.Wait = err, t.policy.delay(attempt)
		case retryableStatus(resp.StatusCode) && attempt < t.policy.MaxAttempts:
			w.Status, w.Wait = resp.StatusCode, t.policy.delay(attempt)
			if d, ok := retryAfter(resp.Header, time.Now()); ok {
				w.Wait = min(d, t.policy.MaxDelay)
			}
		default:
			if bb, ok := resp.Body.(*bufferedBody); ok {
				bb.attempts, bb.took = attempt, took
			}
			return resp, nil
		}
		t.logRetry(ctx, w, took)
		if err := t.sleep(ctx, w.Wait); err != nil {
			return nil, err
		}
	}
}

// logRetry logs a retry at info level and tells OnRetry's func.
func (t *retryTransport) logRetry(ctx context.Context, w RetryWait, took time.Duration) {
	if t.log != nil {
		cause := slog.Int("status", w.Status)
		if w.Err != nil {
			cause = slog.String("error", w.Err.Error())
		}
		t.log.LogAttrs(ctx, slog.LevelInfo, "rest: retrying", slog.String("method", w.Method), slog.String("path", w.Path), cause,
			slog.String("attempt", fmt.Sprintf("%d/%d", w.Attempt, w.MaxAttempts)), slog.Duration("took", took.Round(time.Millisecond)),
			slog.Duration("wait", w.Wait.Round(time.Millisecond)))
	}
	if t.onRetry != nil {
		t.onRetry(w)
	}
}

// attempts says how many attempts a request took.
func attempts(n int) string {
	if n == 1 {
		return "after 1 attempt"
	}
	return fmt.Sprintf("after %d attempts", n)
}

// retryableError reports whether a failed attempt is worth another: not
// when the host name does not exist (a typo or no network: trying again
// only keeps the user waiting) nor when the body is over the size limit.
func retryableError(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return false
	}
	var big *tooLargeError
	return !errors.As(err, &big)
}

// tooLargeError is a response body over client.max_response_size.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("the response body is larger than client.max_response_size (%s); raise it or ask for smaller pages", formatSize(e.limit))
}

// timeoutError is an attempt that ran out of client.timeout.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("client.timeout (%s per attempt, body included) ran out", e.d)
}

func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }

// once makes one attempt and reads the body.
func (t *retryTransport) once(req *http.Request, attempt int) (*http.Response, error) {
	ctx := req.Context()
	if t.limiter != nil {
		if err := t.limiter.Wait(ctx); err != nil {
			return nil, err
		}
	}
	r := req
	var cancel context.CancelFunc = func() {}
	if t.timeout > 0 {
		var actx context.Context
		actx, cancel = context.WithTimeout(ctx, t.timeout)
		r = req.WithContext(actx)
	}
	defer cancel()
	if attempt > 1 && req.GetBody != nil {
		if r == req {
			r = req.Clone(ctx)
		}
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	// An error after the attempt's own deadline passed (its context is
	// cancelled when once returns) is that timeout, whatever the layer
	// that noticed it says.
	timedOut := func(err error) error {
		if r != req && ctx.Err() == nil && errors.Is(r.Context().Err(), context.DeadlineExceeded) {
			return &timeoutError{d: t.timeout}
		}
		return err
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, &transportError{err: timedOut(cleanNetError(err))}
	}
	data, err := t.sizes.readAll(resp, t.maxBody)
	resp.Body.Close()
	if err != nil {
		var big *tooLargeError
		if errors.As(err, &big) {
			return nil, err
		}
		return nil, &transportError{err: fmt.Errorf("reading body: %w", timedOut(cleanNetError(err)))}
	}
	bb := &bufferedBody{data: data}
	bb.Reset(data)
	resp.Body = bb
	resp.Request = req
	return resp, nil
}

// cleanNetError drops the URL (which may carry secrets in its query) from a
// client error, keeping the cause.
func cleanNetError(err error) error {
	var ue *url.Error
	for errors.As(err, &ue) {
		err = ue.Err
	}
	return err
}

// limitTransport bounds concurrent requests client-wide; a slot is held
// until the response body is closed.
type limitTransport struct {
	next http.RoundTripper
	sem  chan struct{}
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case t.sem <- struct{}{}:
	case <-req.Context().Done():
		return nil, context.Cause(req.Context())
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		<-t.sem
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: func() { <-t.sem }}
	return resp, nil
}

type releaseBody struct {
	io.ReadCloser
	release func()
	done    bool
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	if !b.done {
		b.done = true
		b.release()
	}
	return err
}
