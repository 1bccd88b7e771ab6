package rest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestPrefetchOwnsItsFetches: when paging ends early (a planned page
// fails, an ignored or empty page), the pages still being fetched ahead
// are waited for before the resource returns: no fetch outlives the
// paging that started it. The later pages' handlers ignore cancellation
// and take a second of the bubble's fake time, so a resource that returns
// without waiting leaves them running.
func TestPrefetchOwnsItsFetches(t *testing.T) {
	tests := []struct {
		name  string
		fail  func(w http.ResponseWriter) // the answer for offset 10
		isErr bool
	}{
		{"failed page", func(w http.ResponseWriter) { http.Error(w, "gone", http.StatusNotFound) }, true},
		{"empty page", func(w http.ResponseWriter) { writeJSON(w, map[string]any{"data": []any{}, "total": 95}) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var started, finished atomic.Int64
				srv := serveMem(map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
					off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
					switch {
					case off == 0:
						writeJSON(w, map[string]any{"data": []map[string]any{{"id": 1}}, "total": 95})
					case off == 10:
						tc.fail(w)
					default:
						started.Add(1)
						time.Sleep(time.Second) // not cut short by the request's context
						finished.Add(1)
						writeJSON(w, map[string]any{"data": []map[string]any{{"id": off}}, "total": 95})
					}
				}})
				cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"max_concurrency":4},"resources":[{"name":"items","endpoint":{"paginator":{"type":"offset","limit":10}}}]}`, srv.URL))
				rows, err := tryCollect(cfg, "items", srv.Option())
				if tc.isErr != (err != nil) || (err != nil && !strings.Contains(err.Error(), "404")) {
					t.Fatalf("err = %v, want an error: %v", err, tc.isErr)
				}
				if err == nil && len(rows) != 1 {
					t.Fatalf("rows = %v, want the first page's", rows)
				}
				if started.Load() == 0 {
					t.Fatal("no page was fetched ahead: the test shows nothing")
				}
				if s, f := started.Load(), finished.Load(); s != f {
					t.Fatalf("the resource returned with %d of %d fetches ahead still running", s-f, s)
				}
			})
		})
	}
}
