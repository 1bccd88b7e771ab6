package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/flow"
)

// blogServer serves posts (ids 1..n) and per-post comments in several
// shapes, recording what child requests carried.
type blogServer struct {
	mu   sync.Mutex
	seen []string
	n    int
}

func (b *blogServer) record(s string) {
	b.mu.Lock()
	b.seen = append(b.seen, s)
	b.mu.Unlock()
}

func (b *blogServer) routes() map[string]http.HandlerFunc {
	comments := func(w http.ResponseWriter, post string) {
		var rows []map[string]any
		for i := 1; i <= 2; i++ {
			rows = append(rows, map[string]any{"id": i, "post": post, "text": "c"})
		}
		writeJSON(w, rows)
	}
	return map[string]http.HandlerFunc{
		"/posts": func(w http.ResponseWriter, r *http.Request) {
			var rows []map[string]any
			for i := 1; i <= b.n; i++ {
				rows = append(rows, map[string]any{"id": i, "title": fmt.Sprintf("Post %d", i), "author": map[string]any{"id": 100 + i, "name": "a"}, "slug": fmt.Sprintf("p %d", i)})
			}
			writeJSON(w, map[string]any{"data": rows})
		},
		"/posts/{id}/comments": func(w http.ResponseWriter, r *http.Request) {
			b.record("path:" + r.PathValue("id"))
			comments(w, r.PathValue("id"))
		},
		"/comments": func(w http.ResponseWriter, r *http.Request) {
			b.record("query:" + r.URL.Query().Get("post_id") + "|" + r.URL.Query().Get("tag"))
			comments(w, r.URL.Query().Get("post_id"))
		},
		"/search": func(w http.ResponseWriter, r *http.Request) {
			raw, _ := readBody(r)
			b.record("json:" + raw)
			var body struct {
				Filters struct {
					ID json.Number `json:"id"`
				} `json:"filters"`
			}
			_ = json.Unmarshal([]byte(raw), &body)
			comments(w, string(body.Filters.ID))
		},
		"/hdr": func(w http.ResponseWriter, r *http.Request) {
			b.record("header:" + r.Header.Get("X-Post"))
			comments(w, r.Header.Get("X-Post"))
		},
	}
}

func TestPlaceholdersFromParent(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		want     []string
	}{
		{"path", `{"path":"posts/{resources.posts.id}/comments"}`, []string{"path:1", "path:2", "path:3"}},
		{"path nested field", `{"path":"posts/{resources.posts.author.id}/comments"}`, []string{"path:101", "path:102", "path:103"}},
		{"path escaped", `{"path":"posts/{resources.posts.slug}/comments"}`, []string{"path:p 1", "path:p 2", "path:p 3"}},
		{"params", `{"path":"comments","params":{"post_id":"{resources.posts.id}","tag":"t-{resources.posts.id}"}}`,
			[]string{"query:1|t-1", "query:2|t-2", "query:3|t-3"}},
		{"json body keeps type", `{"path":"search","method":"POST","json":{"filters":{"id":"{resources.posts.id}","label":"post {resources.posts.id}"},"limit":5}}`,
			[]string{`json:{"filters":{"id":1,"label":"post 1"},"limit":5}`, `json:{"filters":{"id":2,"label":"post 2"},"limit":5}`, `json:{"filters":{"id":3,"label":"post 3"},"limit":5}`}},
		{"headers", `{"path":"hdr","headers":{"X-Post":"{resources.posts.id}"}}`, []string{"header:1", "header:2", "header:3"}},
		{"legacy resolve", `{"path":"posts/{post_id}/comments","params":{"post_id":{"type":"resolve","resource":"posts","field":"id"}}}`,
			[]string{"path:1", "path:2", "path:3"}},
		{"legacy resolve several params", `{"path":"comments","params":{"post_id":{"type":"resolve","resource":"posts","field":"id"},"tag":{"type":"resolve","resource":"posts","field":"author.id"}}}`,
			[]string{"query:1|101", "query:2|102", "query:3|103"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &blogServer{n: 3}
			srv := serve(t, b.routes())
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":["posts",{"name":"comments","endpoint":%s,"include_from_parent":["id","title"]}]}`, srv.URL, tc.endpoint))
			rows := collect(t, cfg, "comments")
			if len(rows) != 6 {
				t.Fatalf("got %d rows, want 6: %v", len(rows), rows)
			}
			for _, r := range rows {
				if r["_posts_id"] == nil || !strings.HasPrefix(r["_posts_title"].(string), "Post ") {
					t.Fatalf("row %v lacks include_from_parent fields", r)
				}
			}
			sort.Strings(b.seen)
			if !slices.Equal(b.seen, tc.want) {
				t.Fatalf("requests = %q, want %q", b.seen, tc.want)
			}
		})
	}
}

// TestChildRequestsRunConcurrently: child requests run max_concurrency at
// once; each waits 20ms (fake time), so all 8 slots fill before any frees.
func TestChildRequestsRunConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		inFlight, peak := 0, 0
		srv := serveMem(map[string]http.HandlerFunc{
			"/posts": func(w http.ResponseWriter, r *http.Request) { writeJSON(w, rowsOf(1, 40)) },
			"/posts/{id}/comments": func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				inFlight++
				peak = max(peak, inFlight)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
				mu.Lock()
				inFlight--
				mu.Unlock()
				writeJSON(w, []map[string]any{{"id": 1}})
			},
		})
		cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"max_concurrency":8},"resources":["posts",
		{"name":"comments","endpoint":"posts/{resources.posts.id}/comments"}]}`, srv.URL))
		rows := collect(t, cfg, "comments", srv.Option())
		if len(rows) != 40 {
			t.Fatalf("rows = %d", len(rows))
		}
		if peak != 8 {
			t.Fatalf("peak concurrent child requests = %d, want 8", peak)
		}
	})
}

func TestGoResourceAsParent(t *testing.T) {
	b := &blogServer{}
	srv := serve(t, b.routes())
	repos := flow.NewResource("repos", func(ctx context.Context, yield flow.Yield) error {
		return yield(flow.ItemsBatch(map[string]any{"id": 7}, map[string]any{"id": 8}))
	}, flow.Selected(false))
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"comments","endpoint":{"path":"posts/{pid}/comments",
		"params":{"pid":{"type":"resolve","resource":"repos","field":"id"}}},"include_from_parent":["id"]}]}`, srv.URL))
	rows := collect(t, cfg, "comments", Resources(repos))
	if len(rows) != 4 {
		t.Fatalf("rows = %v", rows)
	}
	sort.Strings(b.seen)
	if !slices.Equal(b.seen, []string{"path:7", "path:8"}) {
		t.Fatalf("requests = %v", b.seen)
	}
	if rows[0]["_repos_id"] == nil {
		t.Fatalf("row %v has no _repos_id", rows[0])
	}
	src, err := NewSource(cfg, Resources(repos), Logger(quietLog()))
	if err != nil {
		t.Fatal(err)
	}
	if src.Resource("repos").IsSelected() || !src.Resource("comments").IsSelected() {
		t.Fatal("selection not kept")
	}
}

func TestResourceOptions(t *testing.T) {
	cfg := decode(t, `{"client":{"base_url":"http://127.0.0.1:1/"},
		"resource_defaults":{"primary_key":"id","write_disposition":"merge","max_table_nesting":2,"endpoint":{"params":{"per_page":100}}},
		"resources":[
			{"name":"posts","selected":false,"parallelized":true,"table_name":"blog_posts","columns":{"id":{"data_type":"bigint","nullable":false}}},
			{"name":"users","write_disposition":"append","max_table_nesting":0,"merge_key":["a","b"],
			 "nested_hints":{"purchases__coupons":{"primary_key":"code"}},"schema_contract":"freeze"},
			{"name":"comments","endpoint":"posts/{resources.posts.id}/comments"}]}`)
	src, err := NewSource(cfg, MaxTableNesting(1), Name("blog"), Logger(quietLog()))
	if err != nil {
		t.Fatal(err)
	}
	if src.Name() != "blog" {
		t.Fatalf("name = %q", src.Name())
	}
	posts, users, comments := src.Resource("posts"), src.Resource("users"), src.Resource("comments")
	if posts.IsSelected() || posts.Table() != "blog_posts" || posts.Hints().WriteDisposition != "merge" ||
		!slices.Equal(posts.Hints().PrimaryKey, []string{"id"}) || *posts.Hints().MaxTableNesting != 2 ||
		len(posts.Hints().Columns) != 1 || posts.Hints().Columns[0].Nullable {
		t.Fatalf("posts hints = %+v", posts.Hints())
	}
	if users.Hints().WriteDisposition != "append" || *users.Hints().MaxTableNesting != 0 ||
		!slices.Equal(users.Hints().MergeKey, []string{"a", "b"}) || users.Hints().Contract.Columns != "freeze" ||
		!slices.Equal(users.Hints().NestedHints["purchases__coupons"].PrimaryKey, []string{"code"}) {
		t.Fatalf("users hints = %+v", users.Hints())
	}
	if !comments.IsTransformer() || comments.Parent().Name() != "posts" {
		t.Fatal("comments is not fed by posts")
	}
}

func TestHTTPClientOption(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, rowsOf(1, 2))
	}})
	var n atomic.Int32
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":["items"]}`, srv.URL))
	if rows := collect(t, cfg, "items", HTTPClient(hc)); len(rows) != 2 || n.Load() != 1 {
		t.Fatalf("rows = %v, transport calls = %d", rows, n.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPathEscapedBraces: "{{" and "}}" in a path are literal braces, as in
// dlt's str.format paths, also beside a placeholder.
func TestPathEscapedBraces(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := serve(t, map[string]http.HandlerFunc{"/": func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		writeJSON(w, []map[string]any{{"id": 7}})
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[
		{"name":"items","endpoint":{"path":"items/{{all}}","paginator":"single_page"}},
		{"name":"det","endpoint":{"path":"items/{resources.items.id}/{{x}}","paginator":"single_page"}}]}`, srv.URL))
	collect(t, cfg, "det")
	if want := []string{"/items/{all}", "/items/7/{x}"}; !slices.Equal(paths, want) {
		t.Errorf("paths = %v, want %v", paths, want)
	}
}
