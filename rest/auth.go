package rest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Auth adds credentials to a request. Implementations must be safe for
// concurrent use and must never put secrets into errors.
type Auth interface {
	Apply(ctx context.Context, req *http.Request) error
}

// AuthFunc adapts a function to Auth.
type AuthFunc func(ctx context.Context, req *http.Request) error

// Apply calls f.
func (f AuthFunc) Apply(ctx context.Context, req *http.Request) error { return f(ctx, req) }

// Refresher is an Auth whose credentials can be renewed: after a 401 the
// client calls Refresh once and retries the request.
type Refresher interface {
	Auth
	Refresh(ctx context.Context) error
}

// AuthFactory builds an Auth from a spec's auth map (without "type").
// Errors should name the offending key, never its value.
type AuthFactory func(params map[string]any) (Auth, error)

var (
	authMu       sync.RWMutex
	authRegistry = map[string]AuthFactory{}
)

// RegisterAuth makes an auth type usable in specs as {type: typ, ...}, as
// dlt's register_auth does. Registering a name again replaces it.
func RegisterAuth(typ string, f AuthFactory) {
	authMu.Lock()
	defer authMu.Unlock()
	authRegistry[typ] = f
}

func authTypes() []string {
	authMu.RLock()
	defer authMu.RUnlock()
	out := make([]string, 0, len(authRegistry))
	for k := range authRegistry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func lookupAuth(typ string) (AuthFactory, bool) {
	authMu.RLock()
	defer authMu.RUnlock()
	f, ok := authRegistry[typ]
	return f, ok
}

func init() {
	RegisterAuth("bearer", func(p map[string]any) (Auth, error) {
		o, _ := newObj("", p)
		tok, ok, err := o.str("token")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errAt("token", "required")
		}
		return &BearerAuth{Token: tok}, o.done()
	})
	RegisterAuth("http_basic", func(p map[string]any) (Auth, error) {
		o, _ := newObj("", p)
		user, _, err := o.str("username")
		if err != nil {
			return nil, err
		}
		pass, _, err := o.str("password")
		if err != nil {
			return nil, err
		}
		return &BasicAuth{Username: user, Password: pass}, o.done()
	})
	RegisterAuth("api_key", func(p map[string]any) (Auth, error) {
		o, _ := newObj("", p)
		a := &APIKeyAuth{}
		var err error
		if a.Name, _, err = o.str("name"); err != nil {
			return nil, err
		}
		var ok bool
		if a.Key, ok, err = o.str("api_key"); err != nil {
			return nil, err
		} else if !ok {
			return nil, errAt("api_key", "required")
		}
		if a.Location, _, err = o.str("location"); err != nil {
			return nil, err
		}
		if a.Location != "" {
			if err := oneOf("location", "location", a.Location, "header", "query", "param", "cookie"); err != nil {
				return nil, err
			}
		}
		return a, o.done()
	})
	RegisterAuth("oauth2_client_credentials", func(p map[string]any) (Auth, error) {
		o, _ := newObj("", p)
		a := &OAuth2ClientCredentials{}
		var err error
		var ok bool
		if a.AccessTokenURL, ok, err = o.str("access_token_url"); err != nil {
			return nil, err
		} else if !ok {
			return nil, errAt("access_token_url", "required")
		}
		if a.ClientID, _, err = o.str("client_id"); err != nil {
			return nil, err
		}
		if a.ClientSecret, _, err = o.str("client_secret"); err != nil {
			return nil, err
		}
		if a.AccessToken, _, err = o.str("access_token"); err != nil {
			return nil, err
		}
		if a.AccessTokenRequestData, err = o.strMap("access_token_request_data"); err != nil {
			return nil, err
		}
		if a.DefaultTokenExpiration, _, err = o.duration("default_token_expiration"); err != nil {
			return nil, err
		}
		return a, o.done()
	})
}

// BearerAuth sends "Authorization: Bearer <token>" (type bearer).
type BearerAuth struct{ Token string }

// Apply sets the header.
func (a *BearerAuth) Apply(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", "Bearer "+a.Token)
	return nil
}

// BasicAuth is HTTP basic auth (type http_basic).
type BasicAuth struct{ Username, Password string }

// Apply sets the header.
func (a *BasicAuth) Apply(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password)))
	return nil
}

// APIKeyAuth sends an API key in a header (default), the query string
// ("query" or "param") or a cookie (type api_key). Name defaults to
// "Authorization".
type APIKeyAuth struct {
	Name     string
	Key      string
	Location string
}

// Apply adds the key.
func (a *APIKeyAuth) Apply(_ context.Context, req *http.Request) error {
	name := a.Name
	if name == "" {
		name = "Authorization"
	}
	switch a.Location {
	case "", "header":
		req.Header.Set(name, a.Key)
	case "query", "param":
		q := req.URL.Query()
		q.Set(name, a.Key)
		req.URL.RawQuery = q.Encode()
	case "cookie":
		req.AddCookie(&http.Cookie{Name: name, Value: a.Key})
	default:
		return fmt.Errorf("rest: api_key: unknown location %q", a.Location)
	}
	return nil
}

// OAuth2ClientCredentials fetches a bearer token from AccessTokenURL with
// the client credentials grant and renews it before it expires and after a
// 401 (type oauth2_client_credentials).
type OAuth2ClientCredentials struct {
	AccessTokenURL string
	ClientID       string
	ClientSecret   string
	// AccessToken, if set, is used until it fails or expires.
	AccessToken string
	// AccessTokenRequestData are more form fields for the token request.
	AccessTokenRequestData map[string]string
	// DefaultTokenExpiration applies when the token response has no
	// expires_in (default 3600s).
	DefaultTokenExpiration time.Duration
	// Client fetches tokens; NewSource sets it to the source's client.
	Client *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
}

var _ Refresher = (*OAuth2ClientCredentials)(nil)

// Apply sets a bearer token, fetching one when there is none or it expired.
func (a *OAuth2ClientCredentials) Apply(ctx context.Context, req *http.Request) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token == "" && a.AccessToken != "" {
		a.token, a.AccessToken = a.AccessToken, ""
		a.expires = time.Now().Add(a.defaultExpiry())
	}
	if a.token == "" || !time.Now().Before(a.expires) {
		if err := a.fetch(ctx); err != nil {
			return err
		}
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	return nil
}

// Refresh drops the current token and fetches a new one.
func (a *OAuth2ClientCredentials) Refresh(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fetch(ctx)
}

func (a *OAuth2ClientCredentials) defaultExpiry() time.Duration {
	if a.DefaultTokenExpiration > 0 {
		return a.DefaultTokenExpiration
	}
	return time.Hour
}

func (a *OAuth2ClientCredentials) fetch(ctx context.Context) error {
	form := url.Values{}
	form.Set("grant_type", "client_credentials")
	form.Set("client_id", a.ClientID)
	form.Set("client_secret", a.ClientSecret)
	for k, v := range a.AccessTokenRequestData {
		form.Set(k, v)
	}
	u, err := url.Parse(a.AccessTokenURL)
	if err != nil {
		return errors.New("rest: oauth2: bad access_token_url")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.AccessTokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return errors.New("rest: oauth2: bad access_token_url")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	c := a.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("rest: oauth2 token request to %s: %w", u.Path, cleanNetError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return &HTTPError{StatusCode: resp.StatusCode, Method: http.MethodPost, Path: u.Path}
	}
	var body struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return fmt.Errorf("rest: oauth2 token response from %s has no access_token", u.Path)
	}
	exp := a.defaultExpiry()
	var secs float64
	if len(body.ExpiresIn) > 0 {
		raw := strings.Trim(string(body.ExpiresIn), `"`)
		if _, err := fmt.Sscan(raw, &secs); err == nil && secs > 0 {
			exp = time.Duration(secs * float64(time.Second))
		}
	}
	a.token = body.AccessToken
	// Renew a little early so a request never carries an expiring token.
	a.expires = time.Now().Add(exp - min(exp/10, 30*time.Second))
	return nil
}

// buildAuth turns an AuthConfig into an Auth.
func buildAuth(c *AuthConfig) (Auth, error) {
	if c == nil {
		return nil, nil
	}
	if c.Auth != nil {
		return c.Auth, nil
	}
	typ := c.Type
	if typ == "" {
		typ = "bearer"
	}
	f, ok := lookupAuth(typ)
	if !ok {
		return nil, errAt("type", "unknown auth type %q (want one of %s)", typ, strings.Join(authTypes(), ", "))
	}
	a, err := f(c.Params)
	if err != nil {
		return nil, err
	}
	return a, nil
}

var (
	_ Auth = AuthFunc(nil)
	_ Auth = (*BearerAuth)(nil)
	_ Auth = (*BasicAuth)(nil)
	_ Auth = (*APIKeyAuth)(nil)
	_ Auth = (*OAuth2ClientCredentials)(nil)
)
