package rest

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestSelectorNeverMatched: an explicit data_selector that matches nothing
// in any page of its resource gets one warning naming the resource and the
// selector; one that matches in some page, or matches a null or an empty
// list, gets none.
func TestSelectorNeverMatched(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{
		"/items": func(w http.ResponseWriter, r *http.Request) {
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			next := "null"
			if page == 0 {
				next = strconv.Quote("/items?page=1")
			}
			if page == 1 {
				fmt.Fprintf(w, `{"next":null}`) // the last page has no data key
				return
			}
			fmt.Fprintf(w, `{"data":[{"id":%d}],"next":%s}`, page+1, next)
		},
		"/empty":        func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"data":null}`) },
		"/items/{id}/c": func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"results":[{"x":1}]}`) },
	})
	for _, tc := range []struct {
		name, resources, warn string
	}{
		{"misspelt", `[{"name":"items","endpoint":{"path":"items","data_selector":"dat","paginator":{"type":"json_link","next_url_path":"next"}}}]`,
			`level=WARN msg="rest: resource \"items\": data_selector \"dat\" matched nothing in any of 2 pages; no rows were loaded from it"`},
		{"matched on the first page only", `[{"name":"items","endpoint":{"path":"items","data_selector":"data","paginator":{"type":"json_link","next_url_path":"next"}}}]`, ""},
		{"matched a null", `[{"name":"items","endpoint":{"path":"empty","data_selector":"data","paginator":"single_page"}}]`, ""},
		{"a child's", `[{"name":"items","endpoint":{"path":"items","data_selector":"data"}},{"name":"c","endpoint":{"path":"items/{resources.items.id}/c","data_selector":"$.data[*]","paginator":"single_page"}}]`,
			`level=WARN msg="rest: resource \"c\": data_selector \"$.data[*]\" matched nothing in the page; no rows were loaded from it"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := decode(t, `{"client":{"base_url":"`+srv.URL+`/"},"resources":`+tc.resources+`}`)
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			name := cfg.Resources[len(cfg.Resources)-1].Name
			if _, err := tryCollect(cfg, name, Logger(log)); err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSpace(logs.String())
			if tc.warn == "" {
				if got != "" {
					t.Errorf("unexpected log: %s", got)
				}
				return
			}
			if strings.Count(got, "\n") != 0 || !strings.HasSuffix(got, tc.warn) {
				t.Errorf("log:\n%s\nwant one line ending %s", got, tc.warn)
			}
		})
	}
}
