package rest

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
)

func TestCursorBodyPathPOST(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	srv := serve(t, map[string]http.HandlerFunc{"/search": func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "want POST", 405)
			return
		}
		var body map[string]any
		_ = jsonDecode(r, &body)
		mu.Lock()
		bodies = append(bodies, fmt.Sprint(body))
		mu.Unlock()
		page, _ := body["page"].(map[string]any)
		after := 0
		if page != nil {
			after = int(page["after"].(float64))
		}
		var next any
		if after+5 < 12 {
			next = after + 5
		}
		writeJSON(w, map[string]any{"hits": window(after, 5, 12), "next": next})
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"s","endpoint":{"path":"search","method":"POST",
		"json":{"q":"x"},"data_selector":"hits","paginator":{"type":"cursor","cursor_path":"next","cursor_body_path":"page.after"}}}]}`, srv.URL))
	rows := collect(t, cfg, "s")
	if got := ids(rows); !slices.Equal(got, seq(1, 12)) {
		t.Fatalf("ids = %v", got)
	}
	if bodies[0] != "map[q:x]" || bodies[1] != "map[page:map[after:5] q:x]" {
		t.Fatalf("bodies = %v", bodies)
	}
}
