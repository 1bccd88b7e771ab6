package rest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/rest"
)

// A blog API on loopback: /posts pages with a next link, /posts/{id}/comments.
func blogAPI() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/posts", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			fmt.Fprint(w, `{"data":[{"id":3,"title":"Three"}],"next":null}`)
			return
		}
		fmt.Fprint(w, `{"data":[{"id":1,"title":"One"},{"id":2,"title":"Two"}],"next":"/posts?page=2"}`)
	})
	mux.HandleFunc("/posts/{id}/comments", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `[{"id":%s0,"body":"nice"}]`, r.PathValue("id"))
	})
	return httptest.NewServer(mux)
}

func ExampleNewSource() {
	srv := blogAPI()
	defer srv.Close()

	spec := map[string]any{
		"client": map[string]any{"base_url": srv.URL},
		"resources": []any{
			"posts",
			map[string]any{
				"name":                "comments",
				"endpoint":            map[string]any{"path": "posts/{resources.posts.id}/comments"},
				"include_from_parent": []any{"title"},
			},
		},
	}
	cfg, err := rest.DecodeConfig(spec, "source")
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := rest.NewSource(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	// flow.Collect runs one resource (and its parent) without a pipeline;
	// a flow.Pipeline would load src into a destination.
	rows, err := flow.Collect(context.Background(), src.Resource("comments"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(rows), "comments")
	for _, id := range []int64{10, 20, 30} {
		for _, r := range rows {
			if m := r.(map[string]any); m["id"] == id {
				fmt.Println(m["id"], m["body"], m["_posts_title"])
			}
		}
	}
	// Output:
	// 3 comments
	// 10 nice One
	// 20 nice Two
	// 30 nice Three
}

func ExampleDecodeConfig() {
	spec := map[string]any{
		"client": map[string]any{"base_url": "https://api.example.com", "auth": map[string]any{"token": "s3cret"}},
		"resources": []any{
			map[string]any{"name": "issues", "params": map[string]any{"sort": "updated"}, "endpoint": "issues"},
		},
	}
	_, err := rest.DecodeConfig(spec, "source")
	fmt.Println(err)
	// Output:
	// source.resources[0]: unknown field "params"
}

// Go maps have no order, so a config decoded from YAML or JSON passes its
// keys' order by field path; column hints given as a map follow it.
func ExampleKeyOrder() {
	spec := map[string]any{
		"client": map[string]any{"base_url": "https://api.example.com"},
		"resources": []any{map[string]any{"name": "issues", "columns": map[string]any{
			"title": map[string]any{"data_type": "text"}, "id": map[string]any{"data_type": "bigint"},
		}}},
	}
	order := map[string][]string{"source.resources[0].columns": {"title", "id"}}
	cfg, _ := rest.DecodeConfig(spec, "source", rest.KeyOrder(order))
	for _, c := range cfg.Resources[0].Columns {
		fmt.Println(c.Name, c.DataType)
	}
	// Output:
	// title text
	// id bigint
}

func ExampleRegisterAuth() {
	// A custom auth type usable in specs as {type: signed, key: ...}.
	rest.RegisterAuth("signed", func(params map[string]any) (rest.Auth, error) {
		key, _ := params["key"].(string)
		if key == "" {
			return nil, &rest.ConfigError{Path: "key", Msg: "required"}
		}
		return rest.AuthFunc(func(_ context.Context, r *http.Request) error {
			r.Header.Set("X-Signature", key+":"+r.URL.Path)
			return nil
		}), nil
	})
	_, err := rest.DecodeConfig(map[string]any{
		"client":    map[string]any{"base_url": "https://api.example.com", "auth": map[string]any{"type": "signed"}},
		"resources": []any{"posts"},
	}, "source")
	fmt.Println(err)
	// Output:
	// source.client.auth.key: required
}

func ExampleProcessingSteps() {
	srv := blogAPI()
	defer srv.Close()
	cfg := &rest.Config{
		Client:    rest.ClientConfig{BaseURL: srv.URL},
		Resources: []rest.ResourceConfig{{Name: "posts", ProcessingSteps: []rest.ProcessingStep{{Filter: "id > 1"}}}},
	}
	upper := rest.ProcessingStep{MapFunc: func(item any) (any, error) {
		m := item.(map[string]any)
		m["title"] = fmt.Sprint(m["title"], "!")
		return m, nil
	}}
	src, err := rest.NewSource(cfg, rest.ProcessingSteps("posts", upper))
	if err != nil {
		fmt.Println(err)
		return
	}
	rows, _ := flow.Collect(context.Background(), src.Resource("posts"))
	for _, r := range rows {
		fmt.Println(r.(map[string]any)["title"])
	}
	// Output:
	// Two!
	// Three!
}
