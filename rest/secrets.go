package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Secrets marks values as secrets (the CLI passes those a spec's ${NAME}
// references resolved to): in an endpoint path such a value is escaped as
// one segment, its "/" too, and the snippets of response bodies quoted in
// errors never show it. Credentials of auth configs are secrets without
// this option.
func Secrets(values ...string) SourceOption {
	return func(o *sourceOpts) { o.secrets = append(o.secrets, values...) }
}

// minSecretLen is the shortest value masked: shorter ones match inside
// ordinary text (as cmd/sluice's redactor, whose bound this is).
const minSecretLen = 4

// secretSet is the secrets a source knows, in the forms they take in
// bodies and URLs, longest first.
type secretSet struct{ forms []string }

func newSecretSet(values ...string) *secretSet {
	s := &secretSet{}
	for _, v := range values {
		if utf8.RuneCountInString(v) < minSecretLen {
			continue
		}
		for _, f := range []string{v, url.PathEscape(v), url.QueryEscape(v), EscapePathSegment(v)} {
			if !slices.Contains(s.forms, f) {
				s.forms = append(s.forms, f)
			}
		}
	}
	slices.SortFunc(s.forms, func(a, b string) int { return len(b) - len(a) })
	return s
}

// longest is the length of the longest form.
func (s *secretSet) longest() int {
	if s == nil || len(s.forms) == 0 {
		return 0
	}
	return len(s.forms[0])
}

// snippet quotes about radius bytes of b on either side of offset at, with
// every secret in them, even one the cut would halve, masked as ***.
func (s *secretSet) snippet(b []byte, at, radius int) string {
	at = min(max(at, 0), len(b))
	lo, hi := max(at-radius, 0), min(at+radius, len(b))
	// Secrets that overlap [lo, hi) lie within a window widened by the
	// longest secret; such a secret widens the snippet to hold it whole.
	type span struct{ from, to int }
	var spans []span
	if s != nil && len(s.forms) > 0 {
		wlo, whi := max(lo-s.longest(), 0), min(hi+s.longest(), len(b))
		w := b[wlo:whi]
		for _, f := range s.forms {
			for i := 0; ; {
				j := bytes.Index(w[i:], []byte(f))
				if j < 0 {
					break
				}
				from, to := wlo+i+j, wlo+i+j+len(f)
				i += j + 1
				if to <= lo || from >= hi {
					continue
				}
				spans = append(spans, span{from, to})
				lo, hi = min(lo, from), max(hi, to)
			}
		}
	}
	for lo > 0 && lo < len(b) && !utf8.RuneStart(b[lo]) {
		lo--
	}
	for hi < len(b) && !utf8.RuneStart(b[hi]) {
		hi++
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from - b.from })
	var out strings.Builder
	if lo > 0 {
		out.WriteString("…")
	}
	at = lo
	for _, sp := range spans {
		if sp.to <= at {
			continue
		}
		if sp.from > at {
			out.Write(b[at:sp.from])
		}
		out.WriteString("***")
		at = sp.to
	}
	if hi > at {
		out.Write(b[at:hi])
	}
	if hi < len(b) {
		out.WriteString("…")
	}
	return strconv.Quote(out.String())
}

// syntaxErrorAt returns the offset of the first byte at which body stops
// being JSON, as encoding/json finds it (fastjson does not say); ok is
// false when encoding/json accepts body.
func syntaxErrorAt(body []byte) (int, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var skip struct{}
	err := dec.Decode(&skip)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return max(int(se.Offset)-1, 0), true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return len(body), true
	case err == nil || isTypeError(err):
		// A value, then more than white space?
		off := int(dec.InputOffset())
		if i := skipWS(body, off); i < len(body) {
			return i, true
		}
	}
	return 0, false
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// secretAuthKeys are the auth parameters that hold credentials.
var secretAuthKeys = []string{"token", "password", "api_key", "client_secret", "access_token"}

// authSecrets returns the credentials of the config's auth maps (the
// client's, the defaults' and each endpoint's).
func authSecrets(cfg *Config) []string {
	var out []string
	add := func(a *AuthConfig) {
		if a == nil {
			return
		}
		for _, k := range secretAuthKeys {
			if s, ok := a.Params[k].(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	add(cfg.Client.Auth)
	if d := cfg.ResourceDefaults; d != nil && d.Endpoint != nil {
		add(d.Endpoint.Auth)
	}
	for _, r := range cfg.Resources {
		if r.Endpoint != nil {
			add(r.Endpoint.Auth)
		}
	}
	return out
}

// escapeBaseURL escapes every secret in client.base_url's path (and query)
// as one segment, as in endpoint paths, so that its "/", "?" or "#" stays
// inside the segment and the CLI's masker knows the form that is logged.
// In the scheme or host a secret that escaping would change is refused
// (without showing it): a host is not percent-encoded, and the secret's
// "/", "@" or "?" would send the request elsewhere. A secret of letters,
// digits and "-._~" changes no URL's structure and stays as is there
// (https://${TENANT}.example.com, or a password that is also a host's
// label).
func escapeBaseURL(base string, secrets []string) (string, error) {
	out, spans := escapeSecrets(base, longestFirst(secrets))
	// The escaped forms hold no "/", "?", "#" or ":", so the authority
	// ends where it would without the secrets' own.
	hostEnd := len(out)
	if i := strings.Index(out, "://"); i >= 0 {
		if j := strings.IndexAny(out[i+3:], "/?#"); j >= 0 {
			hostEnd = i + 3 + j
		}
	}
	for _, sp := range spans {
		if sp.from < hostEnd && EscapePathSegment(sp.secret) != sp.secret {
			return "", errAt("client.base_url", `a secret (a ${NAME} value) in the scheme or host holds characters other than letters, digits and "-._~"; only in the path is a secret escaped`)
		}
	}
	return out, nil
}
