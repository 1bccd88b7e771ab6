package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/rest"
)

type benchFlags struct {
	concurrency string
	limit       int
	resources   []string
}

func (a *app) benchCmd() *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "bench SPEC",
		Short: "Measure a spec's extraction at several concurrency levels",
		Long: `Run the extraction of the pipeline SPEC describes (requests, pagination,
child requests, processing steps) once per concurrency level, without
normalizing or loading anything, and print one table row per level:

  concurrency  requests  requests/s  rows  rows/s  p50 ms  p99 ms  errors

Each level sets the client's max_concurrency (requests in flight, client-
wide) to that value, overriding the spec's. requests counts every HTTP
attempt, retries included; p50/p99 is the latency of one attempt, from
sending the request to the end of its body (time spent waiting for a
concurrency slot is not included); errors counts responses with status
>= 400 and connection errors, even when a retry then succeeded. rows counts
the rows of the selected resources, as a run would load them.

No destination, pipeline state or incremental state is read or written:
every level starts as a first run. A level that fails stops, prints its row
marked "stopped" and the error on stderr; the next level still runs. The
exit status is non-zero only for bad input (spec, flags) or Ctrl-C.

Benchmarking hits the real API as many times as there are levels: use
--limit on large or rate-limited APIs.

  sluice bench github.yaml
  sluice bench github.yaml --concurrency 1,8,32 --limit 5 --resources issues`,
		Args: args(1, 1, "one spec file"),
		RunE: func(c *cobra.Command, args []string) error {
			return a.bench(c.Context(), args[0], f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.concurrency, "concurrency", "1,4,16,64", "comma-separated concurrency levels to measure (max_concurrency of each run)")
	fl.IntVar(&f.limit, "limit", 0, "stop each top-level resource after N pages, as dlt's add_limit (0: no limit); child requests follow from the pages read")
	fl.StringSliceVar(&f.resources, "resources", nil, "comma-separated resources to extract (default: the spec's selected resources); their parents run too")
	return c
}

// parseLevels parses --concurrency: positive integers, comma-separated.
func parseLevels(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--concurrency %q: want positive integers separated by commas, like 1,4,16,64", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func (a *app) bench(ctx context.Context, specPath string, f benchFlags) error {
	levels, err := parseLevels(f.concurrency)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if f.limit < 0 {
		return usageErrorf("--limit %d: want a number of pages >= 0 (0: no limit)", f.limit)
	}
	s, err := a.loadSpec(specPath)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	// Build once before any request, so a bad spec or resource name fails
	// up front.
	if _, err := benchSource(s, 0, nil, f, log); err != nil {
		return err
	}

	ctx, interrupted, stop := a.signalContext(ctx)
	defer stop()
	fmt.Fprintln(a.stdout, benchHeader)
	for _, n := range levels {
		rec := &latencyRecorder{}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		src, err := benchSource(s, n, &http.Client{Transport: &recordingTransport{next: tr, rec: rec}}, f, log)
		if err != nil {
			return err
		}
		start := time.Now()
		st, err := flow.Extract(ctx, nil, src)
		elapsed := time.Since(start)
		tr.CloseIdleConnections()
		if err != nil && interrupted() {
			return errInterrupted
		}
		fmt.Fprintln(a.stdout, benchRow(n, elapsed, st, rec.summary(), err != nil))
		if err != nil {
			fmt.Fprintf(a.stderr, "sluice: bench: concurrency %d stopped: %s\n", n, oneLine(err.Error()))
		}
	}
	return nil
}

// benchSource builds the spec's source with max_concurrency set to
// concurrency (0 keeps the spec's) and requests sent through hc, narrowed to
// --resources and limited to --limit pages.
func benchSource(s *spec.Spec, concurrency int, hc *http.Client, f benchFlags, log *slog.Logger) (*flow.Source, error) {
	var more []rest.SourceOption
	if hc != nil {
		more = append(more, rest.HTTPClient(hc))
	}
	src, err := buildSource(s, log, func(cfg *rest.Config) {
		if concurrency > 0 {
			cfg.Client.MaxConcurrency = concurrency
		}
	}, more...)
	if err != nil {
		return nil, err
	}
	if len(f.resources) > 0 {
		var names []string
		for _, r := range src.Resources() {
			names = append(names, r.Name())
		}
		for _, want := range f.resources {
			if !slices.Contains(names, want) {
				return nil, usageErrorf("--resources: the spec has no resource %q (it has %s)", want, strings.Join(names, ", "))
			}
		}
		if src, err = src.With(f.resources...); err != nil {
			return nil, usageErrorf("--resources: %v", err)
		}
	}
	if f.limit > 0 {
		src = limitPages(src, f.limit)
	}
	return src, nil
}

// limitPages returns src with every generator stopped after n pages (dlt's
// add_limit); transformers are piped again onto the limited parents, so
// their requests follow from the pages read.
func limitPages(src *flow.Source, n int) *flow.Source {
	listed := map[string]*flow.Resource{}
	for _, r := range src.Resources() {
		listed[r.Name()] = r
	}
	done := map[string]*flow.Resource{}
	var limit func(r *flow.Resource) *flow.Resource
	limit = func(r *flow.Resource) *flow.Resource {
		if d := done[r.Name()]; d != nil {
			return d
		}
		if l := listed[r.Name()]; l != nil {
			r = l // the source's copy carries the selection
		}
		var out *flow.Resource
		if r.IsTransformer() {
			out = limit(r.Parent()).Pipe(r)
		} else {
			out = r.Limit(n, 0)
		}
		done[r.Name()] = out
		return out
	}
	var out []*flow.Resource
	for _, r := range src.Resources() {
		out = append(out, limit(r))
	}
	return flow.NewSource(src.Name(), out)
}

// The table's columns, right-aligned to the header's widths.
const benchHeader = "concurrency  requests  requests/s       rows      rows/s    p50 ms    p99 ms  errors"

func benchRow(n int, elapsed time.Duration, st flow.ExtractStats, l latencySummary, stopped bool) string {
	secs := elapsed.Seconds()
	rate := func(x int64) float64 {
		if secs <= 0 {
			return 0
		}
		return float64(x) / secs
	}
	row := fmt.Sprintf("%11d  %8d  %10.1f  %9d  %10.1f  %8.1f  %8.1f  %6d",
		n, l.requests, rate(l.requests), st.Rows, rate(st.Rows), ms(l.p50), ms(l.p99), l.errors)
	if stopped {
		row += "  stopped"
	}
	return row
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// latencyRecorder collects the outcome of every HTTP attempt of a level.
type latencyRecorder struct {
	mu     sync.Mutex
	lat    []time.Duration
	errors int64
}

func (r *latencyRecorder) add(d time.Duration, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lat = append(r.lat, d)
	if failed {
		r.errors++
	}
}

type latencySummary struct {
	requests, errors int64
	p50, p99         time.Duration
}

func (r *latencyRecorder) summary() latencySummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := latencySummary{requests: int64(len(r.lat)), errors: r.errors}
	if len(r.lat) == 0 {
		return s
	}
	sorted := slices.Clone(r.lat)
	slices.Sort(sorted)
	s.p50, s.p99 = percentile(sorted, 50), percentile(sorted, 99)
	return s
}

// percentile is the nearest-rank percentile p of sorted (not empty).
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

// recordingTransport records, for every request, its latency (until the
// body is read to the end or closed) and whether it failed: a status >= 400,
// a connection error or a broken body. Requests whose context ended (a
// --limit reached, an interrupted run) are not recorded.
type recordingTransport struct {
	next http.RoundTripper
	rec  *latencyRecorder
}

var _ http.RoundTripper = (*recordingTransport)(nil)

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		if req.Context().Err() == nil {
			t.rec.add(time.Since(start), true)
		}
		return nil, err
	}
	resp.Body = &timedBody{ReadCloser: resp.Body, ctx: req.Context(), start: start, failed: resp.StatusCode >= 400, rec: t.rec}
	return resp, nil
}

// timedBody records its request when it reaches EOF, fails or is closed,
// whichever comes first.
type timedBody struct {
	io.ReadCloser
	ctx    context.Context
	start  time.Time
	failed bool
	rec    *latencyRecorder
	once   sync.Once
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.finish(!errors.Is(err, io.EOF))
	}
	return n, err
}

func (b *timedBody) Close() error {
	err := b.ReadCloser.Close()
	b.finish(false)
	return err
}

func (b *timedBody) finish(broken bool) {
	b.once.Do(func() {
		if broken && b.ctx.Err() != nil {
			return
		}
		b.rec.add(time.Since(b.start), b.failed || broken)
	})
}
