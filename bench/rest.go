package bench

import (
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/rest"
)

// RESTSource returns the REST source reading the benchmark API's items as
// the table "users", with json_link pagination; with children it also
// requests /items/{id}/details for every item (a transformer per parent).
func RESTSource(baseURL string, children bool) (*flow.Source, error) {
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
	cfg, err := rest.DecodeConfig(map[string]any{
		"client": map[string]any{
			"base_url":  baseURL,
			"paginator": map[string]any{"type": "json_link", "next_url_path": "next"},
		},
		"resources": resources,
	}, "source")
	if err != nil {
		return nil, err
	}
	return rest.NewSource(cfg, rest.Name("bench_api"))
}
