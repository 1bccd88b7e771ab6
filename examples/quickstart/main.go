// Command quickstart serves a small demo API on loopback, loads it into
// quickstart.duckdb in the working directory with sluice's REST source, and
// prints the load info and a preview of the tables. It needs no network.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/rest"
	"github.com/sluicehq/sluice/sink/duckdb"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	base, stop, err := serveDemoAPI()
	if err != nil {
		return err
	}
	defer stop()

	// The same dictionary a dlt user passes to rest_api_source.
	cfg, err := rest.DecodeConfig(map[string]any{
		"client": map[string]any{
			"base_url":  base,
			"paginator": map[string]any{"type": "json_link", "next_url_path": "next"},
		},
		"resource_defaults": map[string]any{
			"write_disposition": "replace",
			"endpoint":          map[string]any{"params": map[string]any{"per_page": 25}},
		},
		"resources": []any{
			map[string]any{
				"name":        "posts",
				"primary_key": "id",
				"endpoint":    map[string]any{"path": "posts", "data_selector": "data"},
			},
			map[string]any{
				"name":                "comments",
				"include_from_parent": []any{"title"},
				"endpoint": map[string]any{
					"path":      "posts/{resources.posts.id}/comments",
					"paginator": "single_page",
				},
			},
		},
	}, "source")
	if err != nil {
		return err
	}
	src, err := rest.NewSource(cfg, rest.Name("demo_api"))
	if err != nil {
		return err
	}
	p, err := flow.NewPipeline("quickstart", duckdb.New("quickstart.duckdb"), flow.DatasetName("demo"))
	if err != nil {
		return err
	}
	info, err := p.Run(ctx, src)
	if err != nil {
		return err
	}
	fmt.Println(info)
	fmt.Println()
	return preview(ctx, p)
}

// preview prints each table's row count and first rows.
func preview(ctx context.Context, p *flow.Pipeline) error {
	tables, err := p.Dataset().Tables(ctx)
	if err != nil {
		return err
	}
	for _, t := range tables {
		fmt.Printf("== %s (%d rows)\n", t.Name, t.Rows)
		rr, err := p.Dataset().Query(ctx, fmt.Sprintf(`SELECT * FROM "%s" LIMIT 3`, t.Name))
		if err != nil {
			return err
		}
		for rr.Next() {
			rec := rr.RecordBatch()
			var names []string
			for _, f := range rec.Schema().Fields() {
				names = append(names, f.Name)
			}
			fmt.Println(strings.Join(names, " | "))
			for i := range int(rec.NumRows()) {
				var vals []string
				for c := range int(rec.NumCols()) {
					vals = append(vals, cell(rec.Column(c), i))
				}
				fmt.Println(strings.Join(vals, " | "))
			}
		}
		rr.Release()
		fmt.Println()
	}
	return nil
}

func cell(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	s := a.ValueStr(i)
	if len(s) > 24 {
		s = s[:21] + "..."
	}
	return s
}

// serveDemoAPI serves 60 blog posts (an author object, a tags list, paged
// with a "next" link) and their comments on a loopback port.
func serveDemoAPI() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	base := "http://" + ln.Addr().String() + "/"
	const posts = 60
	mux := http.NewServeMux()
	mux.HandleFunc("GET /posts", func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		if per <= 0 {
			per = 10
		}
		var data []post
		for id := page*per + 1; id <= min((page+1)*per, posts); id++ {
			data = append(data, post{
				ID:        id,
				Title:     fmt.Sprintf("Post number %d", id),
				CreatedAt: fmt.Sprintf("2024-01-%02dT10:00:00Z", 1+id%28),
				Author:    author{Name: []string{"ann", "bo", "cy"}[id%3], Karma: id * 7},
				Tags:      []string{"go", "data", "duckdb"}[:1+id%3],
			})
		}
		body := map[string]any{"data": data}
		if (page+1)*per < posts {
			body["next"] = fmt.Sprintf("%sposts?page=%d&per_page=%d", base, page+1, per)
		}
		writeJSON(w, body)
	})
	mux.HandleFunc("GET /posts/{id}/comments", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		out := []comment{}
		for c := range id % 4 {
			out = append(out, comment{ID: id*100 + c, PostID: id, Body: fmt.Sprintf("comment %d on %d", c, id), Likes: c * 3})
		}
		writeJSON(w, out)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	return base, func() { srv.Close() }, nil
}

// Structs keep the JSON keys in a natural order, which becomes the column
// order.
type (
	author struct {
		Name  string `json:"name"`
		Karma int    `json:"karma"`
	}
	post struct {
		ID        int      `json:"id"`
		Title     string   `json:"title"`
		CreatedAt string   `json:"created_at"`
		Author    author   `json:"author"`
		Tags      []string `json:"tags"`
	}
	comment struct {
		ID     int    `json:"id"`
		PostID int    `json:"post_id"`
		Body   string `json:"body"`
		Likes  int    `json:"likes"`
	}
)

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
