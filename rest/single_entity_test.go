package rest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestSingleEntityPath checks dlt's rule for a path whose last segment holds
// a placeholder: the whole response is one record and there is one page,
// unless the endpoint sets data_selector or a paginator; other paths are
// pages of records as usual.
func TestSingleEntityPath(t *testing.T) {
	var detailPages int
	srv := serve(t, map[string]http.HandlerFunc{
		"/posts": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, []any{map[string]any{"id": 1}, map[string]any{"id": 2}})
		},
		"/posts/": func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/comments") {
				writeJSON(w, map[string]any{"data": []any{map[string]any{"c": 1}, map[string]any{"c": 2}}})
				return
			}
			detailPages++
			// A next link the single page must not follow, and a list the
			// record holds, which must not be taken for the records.
			writeJSON(w, map[string]any{"id": strings.Trim(r.URL.Path[len("/posts/"):], "/"), "tags": []any{"a", "b"}, "next": r.URL.Path})
		},
	})
	for _, tc := range []struct {
		name, endpoint, table string
		want                  []string
	}{
		{"single entity", `"posts/{resources.posts.id}"`, "details", []string{"1", "2"}},
		{"trailing slash", `{"path": "posts/{resources.posts.id}/"}`, "details", []string{"1", "2"}},
		{"selector set", `{"path": "posts/{resources.posts.id}", "data_selector": "tags"}`, "details", []string{"a", "a", "b", "b"}},
		{"list below", `"posts/{resources.posts.id}/comments"`, "details", []string{"1", "1", "2", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			detailPages = 0
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":["posts",
				{"name":"details","endpoint":%s,"include_from_parent":["id"]}]}`, srv.URL, tc.endpoint))
			e := newE2E(t)
			e.run(cfg)
			var q string
			switch tc.name {
			case "selector set":
				q = "SELECT value FROM rest_e2e_dataset.details ORDER BY value"
			case "list below":
				q = "SELECT _posts_id FROM rest_e2e_dataset.details ORDER BY _posts_id"
			default:
				q = "SELECT id FROM rest_e2e_dataset.details ORDER BY id"
				if tags := e.query("SELECT count(*) FROM rest_e2e_dataset.details__tags"); tags[0] != "4" {
					t.Errorf("details__tags rows %v, want 4", tags)
				}
				if detailPages != 2 {
					t.Errorf("%d detail requests, want 2 (one page each)", detailPages)
				}
			}
			if got := e.query(q); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("%s: %v, want %v", tc.table, got, tc.want)
			}
		})
	}
}
