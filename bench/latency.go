package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/rest"
)

// LatencyRun measures a latency-bound extraction: a loopback API serves
// parents items on one page and answers every request (the page included)
// after delay; a REST source reads the items and requests
// /items/{id}/details for each one (a child resource whose path holds the
// placeholder {resources.items.id}), with the client's max_concurrency set
// to concurrency (0: the client's default; 1: sequential). The source runs
// through flow.Extract, so nothing is normalized or loaded; LatencyRun
// returns the wall time of the extraction, the server's start excluded.
func LatencyRun(ctx context.Context, parents int, delay time.Duration, concurrency int) (time.Duration, error) {
	if parents < 1 {
		return 0, errors.New("bench: LatencyRun needs at least one parent")
	}
	if concurrency < 0 {
		return 0, errors.New("bench: LatencyRun: concurrency must be >= 0 (0: default)")
	}
	api, err := NewAPI(Pages(parents, parents, Flat), 1, delay)
	if err != nil {
		return 0, err
	}
	defer api.Close()
	client := map[string]any{
		"base_url":  api.URL,
		"paginator": map[string]any{"type": "json_link", "next_url_path": "next"},
	}
	if concurrency > 0 {
		client["max_concurrency"] = concurrency
	}
	cfg, err := rest.DecodeConfig(map[string]any{
		"client": client,
		"resources": []any{
			map[string]any{"name": "items", "endpoint": map[string]any{"path": "items", "data_selector": "data"}},
			map[string]any{"name": "details", "endpoint": map[string]any{
				"path": "items/{resources.items.id}/details", "paginator": "single_page"}},
		},
	}, "source")
	if err != nil {
		return 0, err
	}
	src, err := rest.NewSource(cfg, rest.Name("bench_latency"))
	if err != nil {
		return 0, err
	}
	start := time.Now()
	st, err := flow.Extract(ctx, nil, src)
	elapsed := time.Since(start)
	if err != nil {
		return elapsed, err
	}
	if want := int64(2 * parents); st.Rows != want {
		return elapsed, fmt.Errorf("bench: LatencyRun extracted %d rows, want %d (%d items and their details)", st.Rows, want, parents)
	}
	return elapsed, nil
}
