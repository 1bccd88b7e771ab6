package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestAuth(t *testing.T) {
	tests := []struct {
		name  string
		auth  string // client auth JSON
		check func(r *http.Request) bool
	}{
		{"bearer", `{"type":"bearer","token":"s3cret"}`, func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "Bearer s3cret"
		}},
		{"token shorthand", `{"token":"s3cret"}`, func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "Bearer s3cret"
		}},
		{"http_basic", `{"type":"http_basic","username":"u","password":"p"}`, func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "u" && p == "p"
		}},
		{"api_key header default", `{"type":"api_key","api_key":"k1"}`, func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "k1"
		}},
		{"api_key header", `{"type":"api_key","name":"X-API-Key","api_key":"k1","location":"header"}`, func(r *http.Request) bool {
			return r.Header.Get("X-API-Key") == "k1"
		}},
		{"api_key query", `{"type":"api_key","name":"key","api_key":"k1","location":"query"}`, func(r *http.Request) bool {
			return r.URL.Query().Get("key") == "k1" && r.URL.Query().Get("keep") == "1"
		}},
		{"api_key cookie", `{"type":"api_key","name":"sid","api_key":"k1","location":"cookie"}`, func(r *http.Request) bool {
			c, err := r.Cookie("sid")
			return err == nil && c.Value == "k1"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
				if !tc.check(r) {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				writeJSON(w, rowsOf(1, 2))
			}})
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"auth":%s},"resources":[{"name":"items","endpoint":{"params":{"keep":1}}}]}`, srv.URL, tc.auth))
			if got := ids(collect(t, cfg, "items")); len(got) != 2 {
				t.Fatalf("ids = %v", got)
			}
		})
	}
}

func TestAuthFailureNamesNoSecret(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"auth":{"type":"api_key","name":"key","api_key":"topsecret","location":"query"}},"resources":["items"]}`, srv.URL))
	_, err := tryCollect(cfg, "items")
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "403") || !strings.Contains(msg, "/items") || strings.Contains(msg, "topsecret") || strings.Contains(msg, "key=") {
		t.Fatalf("error %q: want status and path, no secret and no query", msg)
	}
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 403 {
		t.Fatalf("error %v is not an *HTTPError 403", err)
	}
}

func TestOAuth2ClientCredentials(t *testing.T) {
	var tokens, rejected atomic.Int32
	srv := serve(t, map[string]http.HandlerFunc{
		"/oauth/token": func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			if r.Method != http.MethodPost || r.Form.Get("grant_type") != "client_credentials" ||
				r.Form.Get("client_id") != "cid" || r.Form.Get("client_secret") != "csecret" || r.Form.Get("audience") != "api" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			n := tokens.Add(1)
			writeJSON(w, map[string]any{"access_token": fmt.Sprintf("tok%d", n), "expires_in": 3600})
		},
		"/items": func(w http.ResponseWriter, r *http.Request) {
			// The first token is revoked after one use: the client must
			// fetch a new one on 401 and retry.
			switch r.Header.Get("Authorization") {
			case "Bearer tok1":
				if r.URL.Query().Get("page") == "1" {
					rejected.Add(1)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
			case "Bearer tok2":
			default:
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			p := atoi(r.URL.Query().Get("page"), 0)
			writeJSON(w, map[string]any{"data": window(p*5, 5, 10), "total": 2})
		},
	})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"auth":{"type":"oauth2_client_credentials",
		"access_token_url":%q,"client_id":"cid","client_secret":"csecret","access_token_request_data":{"audience":"api"}},
		"paginator":{"type":"page_number"}},"resources":["items"]}`, srv.URL, srv.URL+"/oauth/token"))
	if got := ids(collect(t, cfg, "items")); len(got) != 10 {
		t.Fatalf("ids = %v", got)
	}
	if tokens.Load() != 2 || rejected.Load() != 1 {
		t.Fatalf("tokens fetched = %d, rejected = %d; want 2 and 1", tokens.Load(), rejected.Load())
	}
}

func TestEndpointAuthOverridesClient(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{
		"/a": func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer client" {
				w.WriteHeader(401)
				return
			}
			writeJSON(w, rowsOf(1, 1))
		},
		"/b": func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "x" || p != "y" {
				w.WriteHeader(401)
				return
			}
			writeJSON(w, rowsOf(2, 2))
		},
	})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"auth":{"token":"client"}},
		"resources":["a",{"name":"b","endpoint":{"path":"b","auth":{"type":"http_basic","username":"x","password":"y"}}}]}`, srv.URL))
	if got := ids(collect(t, cfg, "a")); len(got) != 1 || got[0] != 1 {
		t.Fatalf("a: %v", got)
	}
	if got := ids(collect(t, cfg, "b")); len(got) != 1 || got[0] != 2 {
		t.Fatalf("b: %v", got)
	}
}

func TestRegisterAuth(t *testing.T) {
	RegisterAuth("test_signed", func(p map[string]any) (Auth, error) {
		o, _ := newObj("", p)
		key, ok, err := o.str("secret")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errAt("secret", "required")
		}
		return AuthFunc(func(_ context.Context, r *http.Request) error {
			r.Header.Set("X-Sig", key+":"+r.URL.Path)
			return nil
		}), o.done()
	})
	srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Sig") != "k:/items" {
			w.WriteHeader(401)
			return
		}
		writeJSON(w, rowsOf(1, 3))
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"auth":{"type":"test_signed","secret":"k"}},"resources":["items"]}`, srv.URL))
	if got := ids(collect(t, cfg, "items")); len(got) != 3 {
		t.Fatalf("ids = %v", got)
	}
	// A Go Auth value works without registering.
	cfg.Client.Auth = &AuthConfig{Auth: AuthFunc(func(_ context.Context, r *http.Request) error {
		r.Header.Set("X-Sig", "k:/items")
		return nil
	})}
	if got := ids(collect(t, cfg, "items")); len(got) != 3 {
		t.Fatalf("ids = %v", got)
	}
}
