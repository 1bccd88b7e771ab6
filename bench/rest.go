package bench

import (
	"fmt"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/rest"
)

// Paging is how RESTSource pages through the benchmark API.
type Paging string

const (
	// JSONLink follows each page's next link: one page after the other.
	JSONLink Paging = "json_link"
	// PageNumber counts pages up to total_pages, which the first page
	// gives: the rest are fetched ahead, concurrently.
	PageNumber Paging = "page_number"
)

// RESTSource returns the REST source reading the benchmark API's items as
// the table "users", paging as paging says; with children it also requests
// /items/{id}/details for every item (a transformer per parent).
func RESTSource(baseURL string, children bool, paging Paging) (*flow.Source, error) {
	raw, err := restConfig(baseURL, children, paging)
	if err != nil {
		return nil, err
	}
	cfg, err := rest.DecodeConfig(raw, "source")
	if err != nil {
		return nil, err
	}
	return rest.NewSource(cfg, rest.Name("bench_api"))
}

// restConfig is the rest_api config RESTSource decodes and CLISpec writes
// as the spec's source, so the library and CLI runs read the API alike.
func restConfig(baseURL string, children bool, paging Paging) (map[string]any, error) {
	var paginator map[string]any
	switch paging {
	case JSONLink, "":
		paginator = map[string]any{"type": "json_link", "next_url_path": "next"}
	case PageNumber:
		paginator = map[string]any{"type": "page_number", "base_page": 0, "total_path": "total_pages"}
	default:
		return nil, fmt.Errorf("bench: unknown paging %q (json_link or page_number)", paging)
	}
	resources := []any{map[string]any{
		"name":     "users",
		"endpoint": map[string]any{"path": "items", "data_selector": "data"},
	}}
	if children {
		resources = append(resources, map[string]any{
			"name":     "details",
			"endpoint": map[string]any{"path": "items/{resources.users.id}/details", "paginator": "single_page"},
		})
	}
	return map[string]any{
		"client": map[string]any{
			"base_url":  baseURL,
			"paginator": paginator,
		},
		"resources": resources,
	}, nil
}
