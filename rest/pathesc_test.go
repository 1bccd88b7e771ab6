package rest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// pathServer serves one parent item with the given slug at /parents and
// records the raw request target of every child request.
func pathServer(t *testing.T, slug any) (url string, seen func() []string) {
	var (
		mu      sync.Mutex
		targets []string
	)
	srv := serve(t, map[string]http.HandlerFunc{
		"/parents": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, []any{map[string]any{"id": 1, "slug": slug}})
		},
		"/": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			targets = append(targets, r.RequestURI)
			mu.Unlock()
			writeJSON(w, []any{map[string]any{"id": 7}})
		},
	})
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), targets...)
	}
}

// TestPathValuesEscaped: a parent value put into a path stays in the path
// ("?", "#", "&", " " and "%" are escaped; "/" still separates segments,
// as dlt's {owner_repo}); a value that would move the request up the path
// or leave an empty segment fails, naming the placeholder and the field.
func TestPathValuesEscaped(t *testing.T) {
	for _, tc := range []struct {
		name   string
		slug   any
		target string // the child request's target, "" when the run fails
		err    string
	}{
		{"plain", "abc", "/items/abc/x.json", ""},
		{"query and fragment characters", "a b?q=1&r=2#f", "/items/a%20b%3Fq%3D1%26r%3D2%23f/x.json", ""},
		{"percent", "100%25", "/items/100%2525/x.json", ""},
		{"owner/repo", "dlt-hub/dlt", "/items/dlt-hub/dlt/x.json", ""},
		{"a number", 42, "/items/42/x.json", ""},
		{"dot dot", "../../etc/passwd", "", `resource "children": rest: path placeholder {resources.parents.slug}: field "slug" of an item of parent resource "parents" has a "." or ".." segment, which would move the request up the path`},
		{"a dot segment inside", "a/./b", "", `has a "." or ".." segment`},
		{"null", nil, "", `resource "children": rest: path placeholder {resources.parents.slug}: field "slug" of an item of parent resource "parents" is null, and a path cannot hold it`},
		{"empty", "", "", `field "slug" of an item of parent resource "parents" is empty`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, seen := pathServer(t, tc.slug)
			cfg := decode(t, `{"client":{"base_url":"`+url+`/"},"resources":["parents",{"name":"children","endpoint":{"path":"items/{resources.parents.slug}/x.json","paginator":"single_page"}}]}`)
			_, err := tryCollect(cfg, "children")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if got := seen(); len(got) != 0 {
					t.Errorf("requests %v were sent", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := seen(); len(got) != 1 || got[0] != tc.target {
				t.Errorf("requests %q, want [%q]", got, tc.target)
			}
		})
	}
}

// TestSecretInPath: a secret in a path (a spec's ${SECRET}, resolved
// before rest sees it) is escaped as one segment, its "/" too, and the
// logged path holds the escaped form the CLI's masker is given.
func TestSecretInPath(t *testing.T) {
	const secret = "p@ss/w+rd=Z?&x#9 ü"
	url, seen := pathServer(t, "s")
	cfg := decode(t, `{"client":{"base_url":"`+url+`/"},"resources":[{"name":"items","endpoint":{"path":"items/`+jsonEscape(secret)+`/x","paginator":"single_page"}}]}`)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, err := tryCollect(cfg, "items", Secrets(secret), Logger(log)); err != nil {
		t.Fatal(err)
	}
	want := "/items/" + EscapePathSegment(secret) + "/x"
	if got := seen(); len(got) != 1 || got[0] != want {
		t.Fatalf("requests %q, want [%q]", got, want)
	}
	if want != "/items/p%40ss%2Fw%2Brd%3DZ%3F%26x%239%20%C3%BC/x" {
		t.Errorf("escaped form %s", want)
	}
	if !strings.Contains(logs.String(), "path="+want) {
		t.Errorf("the log does not show the path as sent:\n%s", logs.String())
	}
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// TestSecretInBaseURL: a secret in client.base_url's path is escaped as one
// segment, as in an endpoint path, and logged so; in the host, a secret
// that escaping would change fails before any request, naming the field
// and not the value, while one of letters, digits and "-._~" (a tenant's
// host name) is used as it is.
func TestSecretInBaseURL(t *testing.T) {
	const secret = "p@ss/w+rd=Z?&x#9 ü"
	srvURL, seen := pathServer(t, "s")
	host := strings.TrimPrefix(srvURL, "http://")
	hostname, port, _ := strings.Cut(host, ":")
	for _, tc := range []struct {
		name, base, secret string
		target             string // the request's target, "" when the run fails
	}{
		{"in the path", srvURL + "/t/" + secret + "/v1/", secret, "/t/" + EscapePathSegment(secret) + "/v1/items"},
		{"ending the base URL", srvURL + "/t/" + secret, secret, "/t/" + EscapePathSegment(secret) + "/items"},
		{"twice", srvURL + "/" + secret + "/" + secret + "/", secret, "/" + EscapePathSegment(secret) + "/" + EscapePathSegment(secret) + "/items"},
		{"as user info", "http://" + secret + "@" + host + "/", secret, ""},
		{"as the host", "http://" + secret + "/", secret, ""},
		{"as the whole URL", srvURL + "/", srvURL + "/", ""},
		{"as a plain host name", "http://" + hostname + ":" + port + "/v1/", hostname, "/v1/items"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(seen())
			cfg := decode(t, `{"client":{"base_url":"`+jsonEscape(tc.base)+`"},"resources":[{"name":"items","endpoint":{"path":"items","paginator":"single_page"}}]}`)
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			_, err := tryCollect(cfg, "items", Secrets(tc.secret), Logger(log))
			got := seen()[before:]
			if tc.target == "" {
				const want = `client.base_url: a secret (a ${NAME} value) in the scheme or host holds characters other than letters, digits and "-._~"`
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v, want %q", err, want)
				}
				if strings.Contains(err.Error(), tc.secret[:4]) {
					t.Errorf("the error shows the secret: %v", err)
				}
				if len(got) != 0 {
					t.Errorf("requests %q were sent", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tc.target {
				t.Fatalf("requests %q, want [%q]", got, tc.target)
			}
			if !strings.Contains(logs.String(), "path="+tc.target) {
				t.Errorf("the log does not show the path as sent:\n%s", logs.String())
			}
		})
	}
}
