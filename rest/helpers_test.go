package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
)

// fastRetry keeps retry tests quick.
var fastRetry = Retry{MaxAttempts: 5, Backoff: time.Millisecond, MaxDelay: 5 * time.Millisecond}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// serve starts a loopback server with handlers by path.
func serve(t *testing.T, routes map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.HandleFunc(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// decode parses a spec written as JSON with DecodeConfig.
func decode(t *testing.T, spec string) *Config {
	t.Helper()
	var raw any
	if err := json.Unmarshal([]byte(spec), &raw); err != nil {
		t.Fatalf("bad test spec: %v", err)
	}
	cfg, err := DecodeConfig(raw, "source")
	if err != nil {
		t.Fatalf("DecodeConfig: %v", err)
	}
	return cfg
}

// collect builds the source and runs one resource with flow.Collect.
func collect(t *testing.T, cfg *Config, name string, opts ...SourceOption) []map[string]any {
	t.Helper()
	rows, err := tryCollect(cfg, name, opts...)
	if err != nil {
		t.Fatalf("collect %s: %v", name, err)
	}
	return rows
}

// tryCollect runs the named resource (its parents run unloaded) through a
// real pipeline into a DuckDB file, returns the items it yielded, and checks
// that exactly those rows landed in its table.
func tryCollect(cfg *Config, name string, opts ...SourceOption) ([]map[string]any, error) {
	opts = append([]SourceOption{WithRetry(fastRetry), Logger(quietLog())}, opts...)
	src, err := NewSource(cfg, opts...)
	if err != nil {
		return nil, err
	}
	r := src.Resource(name)
	if r == nil {
		return nil, &ConfigError{Msg: "no resource " + name}
	}
	var (
		mu    sync.Mutex
		items []any
	)
	capture := func(_ context.Context, b flow.Batch) (flow.Batch, error) {
		vals, err := b.Values()
		if err != nil {
			return b, err
		}
		mu.Lock()
		items = append(items, vals...)
		mu.Unlock()
		return b, nil
	}
	var rs []*flow.Resource
	for _, other := range src.Resources() {
		if other.Name() == name {
			other = other.AddStep(capture)
		} else {
			other = other.With(flow.Selected(false))
		}
		rs = append(rs, other)
	}
	dir, err := os.MkdirTemp("", "rest-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p, err := flow.NewPipeline("rest_test", duckdb.New(filepath.Join(dir, "t.duckdb")), flow.PipelinesDir(dir))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	info, err := p.Run(ctx, flow.NewSource(src.Name(), rs))
	if err != nil {
		return nil, err
	}
	if table := arrowbuf.NormalizeTableIdentifier(r.Table()); info.RowCounts[table] != int64(len(items)) {
		return nil, fmt.Errorf("resource %s yielded %d items but %d rows landed in DuckDB table %s", name, len(items), info.RowCounts[table], table)
	}
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		out = append(out, m)
	}
	return out, nil
}

func ids(rows []map[string]any) []int64 {
	var out []int64
	for _, r := range rows {
		switch v := r["id"].(type) {
		case int64:
			out = append(out, v)
		case float64:
			out = append(out, int64(v))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func rowsOf(from, to int) []map[string]any {
	var out []map[string]any
	for i := from; i <= to; i++ {
		out = append(out, map[string]any{"id": i})
	}
	return out
}

func jsonDecode(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }

// twoPages is a custom paginator: pages 0 and 1 of its param.
type twoPages struct {
	param string
	n     int
}

func (p *twoPages) Init(req *Request) error { req.SetParam(p.param, "0"); return nil }
func (p *twoPages) Next(_ *Response, _ []*fastjson.Value, req *Request) (bool, error) {
	p.n++
	if p.n > 1 {
		return false, nil
	}
	req.SetParam(p.param, strconv.Itoa(p.n))
	return true, nil
}

func readBody(r *http.Request) (string, error) {
	b, err := io.ReadAll(r.Body)
	return string(b), err
}
