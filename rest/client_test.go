package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/flow"
)

func TestResponseActions(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{
		"/posts": func(w http.ResponseWriter, r *http.Request) { writeJSON(w, rowsOf(1, 4)) },
		"/posts/{id}/comments": func(w http.ResponseWriter, r *http.Request) {
			switch r.PathValue("id") {
			case "2":
				http.Error(w, "no such post", http.StatusNotFound)
			case "3":
				writeJSON(w, map[string]any{"error": "Not found"})
			default:
				writeJSON(w, []map[string]any{{"id": 10}})
			}
		},
	})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":["posts",{"name":"comments","endpoint":{
		"path":"posts/{resources.posts.id}/comments",
		"response_actions":[{"status_code":404,"action":"ignore"},{"status_code":200,"content":"Not found","action":"ignore"}]}}]}`, srv.URL))
	if rows := collect(t, cfg, "comments"); len(rows) != 2 {
		t.Fatalf("rows = %v, want 2 (posts 1 and 4)", rows)
	}
	// Without the actions the 404 fails the run with status and path.
	cfg.Resources[1].Endpoint.ResponseActions = nil
	_, err := tryCollect(cfg, "comments")
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "/posts/2/comments") {
		t.Fatalf("err = %v", err)
	}
	// A Go hook can rewrite a response or ignore it.
	hook := ResponseAction{Hook: func(_ context.Context, r *Response) error {
		if r.StatusCode == 404 {
			return ErrIgnoreResponse
		}
		r.Body = []byte(strings.ReplaceAll(string(r.Body), `"id":10`, `"id":11`))
		return nil
	}}
	rows := collect(t, cfg, "comments", ResponseActions("comments", hook))
	if got := ids(rows); !slices.Equal(got, []int64{11, 11}) {
		t.Fatalf("ids = %v (rows %v)", got, rows)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name    string
		client  string
		handler func(n int32, w http.ResponseWriter, r *http.Request)
		calls   int32
		wantErr string
		minTime time.Duration
	}{
		{"503 burst", ``, func(n int32, w http.ResponseWriter, r *http.Request) {
			if n <= 3 {
				w.WriteHeader(503)
				return
			}
			writeJSON(w, rowsOf(1, 3))
		}, 4, "", 0},
		{"503 forever fails after 5 attempts", ``, func(n int32, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
		}, 5, "503 Service Unavailable", 0},
		{"max_attempts", `,"max_attempts":2`, func(n int32, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
		}, 2, "502", 0},
		{"429 Retry-After seconds", ``, func(n int32, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(429)
				return
			}
			writeJSON(w, rowsOf(1, 3))
		}, 2, "", time.Second},
		{"429 Retry-After zero ignored", ``, func(n int32, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(429)
				return
			}
			writeJSON(w, rowsOf(1, 3))
		}, 2, "", 0},
		{"429 Retry-After date", ``, func(n int32, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(429)
				return
			}
			writeJSON(w, rowsOf(1, 3))
		}, 2, "", 2 * time.Second},
		{"slow response times out and is retried", `,"timeout":0.1`, func(n int32, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				select {
				case <-time.After(2 * time.Second):
				case <-r.Context().Done():
				}
				return
			}
			writeJSON(w, rowsOf(1, 3))
		}, 2, "", 100 * time.Millisecond},
		{"truncated body is retried", ``, func(n int32, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.Header().Set("Content-Length", "100")
				w.Write([]byte(`[{"id":1},{"id"`))
				return
			}
			writeJSON(w, rowsOf(1, 3))
		}, 2, "", 0},
		{"invalid JSON is not retried", ``, func(n int32, w http.ResponseWriter, r *http.Request) {
			if n <= 2 {
				w.Write([]byte(`[{"id":1},{"id"`))
				return
			}
			writeJSON(w, rowsOf(1, 3))
		}, 1, "200 response is not JSON (content type text/plain)", 0},
		{"400 is not retried", ``, func(n int32, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
		}, 1, "400 Bad Request", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls atomic.Int32
				srv := serveMem(map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
					tc.handler(calls.Add(1), w, r)
				}})
				cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q%s},"resources":[{"name":"items","endpoint":{"params":{"token":"qsecret"}}}]}`, srv.URL, tc.client))
				retry := fastRetry
				if tc.minTime > 0 {
					retry.MaxDelay = 5 * time.Second // Retry-After is capped by it
				}
				if cfg.Client.Retry.MaxAttempts > 0 {
					retry.MaxAttempts = cfg.Client.Retry.MaxAttempts
				}
				start := time.Now()
				rows, err := tryCollect(cfg, "items", WithRetry(retry), srv.Option())
				took := time.Since(start)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "/items") || strings.Contains(err.Error(), "qsecret") {
						t.Fatalf("err = %v, want %q with path and without the query", err, tc.wantErr)
					}
				} else if err != nil || len(rows) != 3 {
					t.Fatalf("rows = %v, err = %v", rows, err)
				}
				if calls.Load() != tc.calls {
					t.Fatalf("calls = %d, want %d", calls.Load(), tc.calls)
				}
				if took < tc.minTime {
					t.Fatalf("took %v, want at least %v", took, tc.minTime)
				}
			})
		})
	}
}

func TestConnectionErrorIsRetriedAndClean(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":"http://%s/","auth":{"type":"api_key","name":"k","api_key":"hush","location":"query"}},"resources":["items"]}`, addr))
	_, err = tryCollect(cfg, "items")
	if err == nil || !strings.Contains(err.Error(), "after 5 attempts") || strings.Contains(err.Error(), "hush") {
		t.Fatalf("err = %v", err)
	}
}

func TestEmptyResponses(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{
		"/nocontent": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) },
		"/empty":     func(w http.ResponseWriter, r *http.Request) {},
		"/null":      func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"data":null}`)) },
		"/object":    func(w http.ResponseWriter, r *http.Request) { writeJSON(w, map[string]any{"id": 5, "name": "x"}) },
	})
	for _, p := range []string{"nocontent", "empty", "null"} {
		cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[%q]}`, srv.URL, p))
		if rows := collect(t, cfg, p); len(rows) != 0 {
			t.Fatalf("%s: rows = %v", p, rows)
		}
	}
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":["object"]}`, srv.URL))
	if rows := collect(t, cfg, "object"); len(rows) != 1 || rows[0]["name"] != "x" {
		t.Fatalf("single object: rows = %v", rows)
	}
}

func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := serveMem(map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
			p := atoi(r.URL.Query().Get("page"), 0)
			writeJSON(w, map[string]any{"data": window(p, 1, 6)})
		}})
		cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"rate_limit":20,"paginator":{"type":"page_number","total_path":null}},"resources":["items"]}`, srv.URL))
		start := time.Now()
		rows := collect(t, cfg, "items", srv.Option())
		if len(rows) != 6 {
			t.Fatalf("rows = %d", len(rows))
		}
		// 7 requests at 20/s: at least 6 intervals of 50ms (fake time).
		if took := time.Since(start); took < 300*time.Millisecond {
			t.Fatalf("7 requests took %v at 20 requests/s", took)
		}
	})
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"0", 0, false},
		{"-4", 0, false},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second, true},
		{now.Add(-10 * time.Second).Format(http.TimeFormat), 0, false},
		{"soon", 0, false},
	}
	for _, tc := range tests {
		h := http.Header{}
		h.Set("Retry-After", tc.v)
		got, ok := retryAfter(h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Retry-After %q = %v, %v; want %v, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBaseURLJoin(t *testing.T) {
	tests := []struct{ base, path, want string }{
		{"https://api.example.com/v1", "users", "https://api.example.com/v1/users"},
		{"https://api.example.com/v1/", "/users", "https://api.example.com/v1/users"},
		{"https://api.example.com", "users/1", "https://api.example.com/users/1"},
		{"https://api.example.com/v1/", "https://other.example.com/x?y=1", "https://other.example.com/x?y=1"},
	}
	for _, tc := range tests {
		c, err := newClient(ClientConfig{BaseURL: tc.base}, nil, quietLog())
		if err != nil {
			t.Fatal(err)
		}
		u, err := c.resolve(tc.path)
		if err != nil || u.String() != tc.want {
			t.Errorf("resolve(%q, %q) = %v, %v; want %s", tc.base, tc.path, u, err, tc.want)
		}
	}
	if _, err := newClient(ClientConfig{BaseURL: "ftp://x"}, nil, quietLog()); err == nil {
		t.Error("want an error for a non-http base_url")
	}
	var he *HTTPError
	if errors.As(fmt.Errorf("x: %w", &HTTPError{StatusCode: 404, Method: "GET", Path: "/a"}), &he) && he.Error() != "rest: GET /a: 404 Not Found" {
		t.Errorf("HTTPError = %q", he.Error())
	}
}

// TestNotJSONFailsAtOnce: a complete response that does not parse is not
// retried (as in dlt), logs no retry warnings, and its error names the
// method, the path without the query, and the content type.
func TestNotJSONFailsAtOnce(t *testing.T) {
	tests := []struct {
		name, contentType, body, want string
	}{
		{"HTML page", "text/html; charset=utf-8", "<html><body>Maintenance</body></html>",
			"rest: GET /items: 200 response is not JSON (content type text/html)"},
		{"broken JSON", "application/json", `{"data": [1,`,
			"rest: GET /items: 200 response is not valid JSON (content type application/json)"},
		{"no content type", "", "OK",
			"rest: GET /items: 200 response is not JSON (no content type)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header()["Content-Type"] = nil // no sniffing
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				fmt.Fprint(w, tc.body)
			}})
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"items","endpoint":{"params":{"token":"qsecret"}}}]}`, srv.URL))
			var logs bytes.Buffer
			_, err := tryCollect(cfg, "items", Logger(slog.New(slog.NewTextHandler(&logs, nil))))
			if err == nil || !strings.Contains(err.Error(), `resource "items": `+tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "qsecret") || strings.Count(err.Error(), `"items"`) != 1 {
				t.Fatalf("err = %v: want the resource once and no query", err)
			}
			if n := calls.Load(); n != 1 {
				t.Fatalf("%d requests, want 1 (no retries)", n)
			}
			if strings.Contains(logs.String(), "level=WARN") {
				t.Fatalf("warnings logged:\n%s", logs.String())
			}
		})
	}
}

// TestErrorsNameTheResourceOnce: the pipeline names the failing resource;
// the rest package's part of the message does not repeat it.
func TestErrorsNameTheResourceOnce(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{
		"/parent": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, []map[string]any{{"id": 1, "link": "items/1"}})
		},
		"/items": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]any{"data": rowsOf(1, 2), "total": 25})
		},
	})
	tests := []struct {
		name, spec, resource, want string
	}{
		{"field missing in the parent item",
			`{"client":{"base_url":%q},"resources":["parent",{"name":"child","endpoint":"parent/{resources.parent.nosuch}/x"}]}`,
			"child", `resource "child": rest: field "nosuch" not found in an item of parent resource "parent"`},
		{"include_from_parent field missing in the parent item",
			`{"client":{"base_url":%q},"resources":["parent",{"name":"child","endpoint":"parent/{resources.parent.id}/x","include_from_parent":["id","nosuch"]}]}`,
			"child", `resource "child": rest: include_from_parent field "nosuch" not found in an item of parent resource "parent"`},
		{"paginator not detected",
			`{"client":{"base_url":%q},"resources":["items"]}`,
			"items", `resource "items": rest: could not detect the paginator from the first response: total says there are 25 items but the page has 2; set endpoint.paginator (paginator: single_page loads the first page only)`},
		{"placeholder path that is not a full URL",
			`{"resources":[{"name":"parent","endpoint":"%s/parent"},{"name":"child","endpoint":"{resources.parent.link}"}]}`,
			"child", `resource "child": rest: endpoint path is not a full URL and client.base_url is not set`},
		{"HTTP error",
			`{"client":{"base_url":%q},"resources":["nothing"]}`,
			"nothing", `resource "nothing": rest: GET /nothing: 404 Not Found`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := decode(t, fmt.Sprintf(tc.spec, srv.URL))
			_, err := tryCollect(cfg, tc.resource)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("pipeline: err = %v\nwant %s", err, tc.want)
			}
			src, err := NewSource(cfg, WithRetry(fastRetry), Logger(quietLog()))
			if err != nil {
				t.Fatal(err)
			}
			_, err = flow.Collect(context.Background(), src.Resource(tc.resource))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Collect: err = %v\nwant %s", err, tc.want)
			}
		})
	}
}
