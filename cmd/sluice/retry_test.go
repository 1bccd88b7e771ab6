package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/rest"
)

func TestWaitNote(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, tc := range []struct {
		name  string
		w     rest.RetryWait
		until time.Time
		want  string
	}{
		{"a 429", rest.RetryWait{Status: 429, Attempt: 2, MaxAttempts: 5}, now.Add(30 * time.Second), " | waiting 30s (429, retry 2/4)"},
		{"counting down", rest.RetryWait{Status: 503, Attempt: 1, MaxAttempts: 5}, now.Add(2400 * time.Millisecond), " | waiting 2s (503, retry 1/4)"},
		{"a connection error", rest.RetryWait{Err: errors.New("connection reset by peer"), Attempt: 1, MaxAttempts: 3}, now.Add(time.Second), " | waiting 1s (connection error, retry 1/2)"},
		{"a timeout", rest.RetryWait{Err: fmt.Errorf("x: %w", context.DeadlineExceeded), Attempt: 3, MaxAttempts: 5}, now.Add(4 * time.Second), " | waiting 4s (timeout, retry 3/4)"},
		{"over", rest.RetryWait{Status: 429, Attempt: 1, MaxAttempts: 5}, now.Add(-time.Second), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := waitNote(tc.w, tc.until, now); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRunShowsRetries: with -v a retried request is logged (status,
// attempt, wait) and a secret in the endpoint path is sent escaped as one
// segment and masked in the log in that form.
// A retry is logged without -v too: a run waiting out a Retry-After says why.
func TestRunShowsRetries(t *testing.T) {
	for _, args := range [][]string{{"run", "-v"}, {"run"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) { testRunShowsRetries(t, args) })
	}
}

func testRunShowsRetries(t *testing.T, args []string) {
	e := setup(t)
	const seg = "ab/c?d e&f"
	t.Setenv("SEG_TOKEN", seg)
	var calls atomic.Int64
	var gotSeg atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0.01")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		gotSeg.Store(strings.TrimSuffix(strings.TrimPrefix(r.URL.EscapedPath(), "/t/"), "/posts"))
		fmt.Fprint(w, `{"data":[{"id":1}]}`)
	}))
	t.Cleanup(srv.Close)
	spec := fmt.Sprintf(`pipeline_name: retry
destination: {type: duckdb, path: %q}
source:
  client: {base_url: %q}
  resources:
    - name: posts
      endpoint: {path: "t/${SEG_TOKEN}/posts", data_selector: data, paginator: single_page}
`, e.db, srv.URL+"/")
	r := sluice(t, t.Context(), "", append(args, writeSpec(t, spec))...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got, want := gotSeg.Load(), rest.EscapePathSegment(seg); got != want {
		t.Errorf("the API got the segment %q, want %q", got, want)
	}
	for _, want := range []string{`msg="rest: retrying" method=GET path=/t/***/posts status=503 attempt=1/5`, `wait=10ms`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %s:\n%s", want, r.stderr)
		}
	}
	for _, form := range []string{seg, rest.EscapePathSegment(seg), url.PathEscape(seg), "c?d"} {
		if strings.Contains(r.stderr, form) || strings.Contains(r.stdout, form) {
			t.Errorf("output shows the secret as %q:\n%s%s", form, r.stdout, r.stderr)
		}
	}
}
