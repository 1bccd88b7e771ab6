package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/rest"
)

// TestSecretInBaseURL: a secret in client.base_url's path is sent escaped
// as one segment and masked in that form in the log and in the error; a
// secret in the host that a host cannot hold fails the run, naming the
// field, not the value.
func TestSecretInBaseURL(t *testing.T) {
	const seg = "ab/c?d e&f"
	var (
		mu  sync.Mutex
		got []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.EscapedPath())
		mu.Unlock()
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ name, base, want string }{
		{"in the path", srv.URL + "/t/${SEG_TOKEN}/", `rest: GET /t/***/posts: 404 Not Found`},
		{"in the host", "http://${SEG_TOKEN}@" + strings.TrimPrefix(srv.URL, "http://") + "/", `source.client.base_url: a secret (a ${NAME} value) in the scheme or host holds characters other than letters`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			t.Setenv("SEG_TOKEN", seg)
			mu.Lock()
			got = nil
			mu.Unlock()
			spec := fmt.Sprintf(`pipeline_name: baseurl
destination: {type: duckdb, path: %q}
source:
  client: {base_url: %q}
  resources:
    - name: posts
      endpoint: {path: posts, paginator: single_page}
`, e.db, tc.base)
			r := sluice(t, t.Context(), "", "run", "-v", writeSpec(t, spec))
			mu.Lock()
			defer mu.Unlock()
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, want a failure with %q:\n%s", r.code, tc.want, r.stderr)
			}
			if tc.name == "in the path" {
				if want := "/t/" + rest.EscapePathSegment(seg) + "/posts"; len(got) != 1 || got[0] != want {
					t.Errorf("the API got %q, want [%q]", got, want)
				}
				if !strings.Contains(r.stderr, "path=/t/***/posts") {
					t.Errorf("the log lacks the masked path:\n%s", r.stderr)
				}
			} else if len(got) != 0 {
				t.Errorf("requests %q were sent", got)
			}
			for _, form := range []string{seg, rest.EscapePathSegment(seg), url.PathEscape(seg), "c?d", "ab%2F"} {
				if strings.Contains(r.stderr, form) || strings.Contains(r.stdout, form) {
					t.Errorf("output shows the secret as %q:\n%s%s", form, r.stdout, r.stderr)
				}
			}
		})
	}
}
