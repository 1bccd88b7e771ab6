package flow_test

import (
	"github.com/sluicehq/sluice/sink"

	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/source"
)

func TestDatasetArrowReader(t *testing.T) {
	e := newEnv(t)
	p := e.pipeline("arrow")
	e.run(p, source.Slice("users", users(250)))
	counts, err := p.Dataset().RowCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts["users"] != 250 || counts["users__pets"] != 500 {
		t.Fatalf("counts %v", counts)
	}
	rr, err := p.Dataset().Table(context.Background(), "users")
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var rows int64
	for rr.Next() {
		rows += rr.RecordBatch().NumRows()
	}
	if rows != 250 {
		t.Fatalf("arrow reader gave %d rows", rows)
	}
	if rr.Schema().FieldIndices("address__city") == nil {
		t.Fatalf("schema %v lacks address__city", rr.Schema())
	}
}

func TestSequentialKeepsOrder(t *testing.T) {
	var order []string
	mk := func(name string) *flow.Resource {
		return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
			order = append(order, name)
			return yield(flow.ItemsBatch(map[string]any{"x": 1}))
		})
	}
	e := newEnv(t)
	e.run(e.pipeline("seq", flow.Sequential()), flow.NewSource("s", []*flow.Resource{mk("a"), mk("b"), mk("c")}))
	if strings.Join(order, "") != "abc" {
		t.Fatalf("order %v", order)
	}
}

func TestSourceWith(t *testing.T) {
	src := flow.NewSource("s", []*flow.Resource{source.Slice("a", users(1)), source.Slice("b", users(1))})
	only, err := src.With("b")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.run(e.pipeline("with"), only)
	if e.tableExists("a") || !e.tableExists("b") {
		t.Fatalf("With(b) loaded the wrong tables")
	}
	if _, err := src.With("nope"); err == nil {
		t.Fatal("With(unknown) gave no error")
	}
}

func TestExtractLoadsNothing(t *testing.T) {
	child := flow.NewTransformer("child", func(ctx context.Context, in flow.Batch, yield flow.Yield) error {
		return yield(flow.ItemsBatch(map[string]any{"n": in.Len()}))
	})
	parent := numbers("nums", 5, 10)
	st, err := flow.Extract(context.Background(), nil, flow.NewSource("s", []*flow.Resource{parent, parent.Pipe(child)}))
	if err != nil {
		t.Fatal(err)
	}
	if st.Batches != 10 || st.Rows != 55 {
		t.Fatalf("stats %+v, want 10 batches, 55 rows", st)
	}
}

func TestParquetFileFormatIntoDuckDB(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts flow.RunOptions
		res  *flow.Resource
	}{
		{"resource hint", flow.RunOptions{}, source.Slice("users", users(5), flow.FileFormat("parquet"))},
		{"loader_file_format", flow.RunOptions{LoaderFileFormat: "parquet"}, source.Slice("users", users(5))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.pipeline("ff").RunWith(context.Background(), tc.opts, tc.res); err != nil {
				t.Fatal(err)
			}
			if e.count("users") != 5 || e.count("users__pets") != 10 {
				t.Fatalf("users=%d pets=%d", e.count("users"), e.count("users__pets"))
			}
			got := e.query("SELECT data_type FROM information_schema.columns WHERE table_schema='ds' AND table_name='users' AND column_name='id'")
			if got[0][0] != "BIGINT" {
				t.Fatalf("id type %v", got)
			}
		})
	}
}

// sizedDest is discard (bench_test.go) recording the rows of every batch
// it is given.
type sizedDest struct {
	discard
	want  int
	sizes *[]int64
}

func (d sizedDest) Begin(context.Context, sink.LoadRequest) (sink.Load, error) {
	return sizedLoad{sizes: d.sizes}, nil
}

type sizedLoad struct {
	discardLoad
	sizes *[]int64
}

func (l sizedLoad) Write(_ context.Context, b arrowbuf.TableBatch) error {
	*l.sizes = append(*l.sizes, b.Rows())
	b.Release()
	return nil
}

// batchSizedDest is a sizedDest that names its batch size (sink.BatchSizer).
type batchSizedDest struct{ sizedDest }

func (d batchSizedDest) BatchRows() int { return d.want }

func TestBatchRowsFromDestination(t *testing.T) {
	cases := []struct {
		name string
		dest func(sizes *[]int64) sink.Destination
		opts []flow.PipelineOption
		want []int64
	}{
		{"destination's size", func(s *[]int64) sink.Destination { return batchSizedDest{sizedDest{want: 40, sizes: s}} }, nil, []int64{40, 40, 20}},
		{"option wins", func(s *[]int64) sink.Destination { return batchSizedDest{sizedDest{want: 40, sizes: s}} },
			[]flow.PipelineOption{flow.BatchRows(70)}, []int64{70, 30}},
		{"no size: default", func(s *[]int64) sink.Destination { return sizedDest{sizes: s} }, nil, []int64{100}},
		{"zero: default", func(s *[]int64) sink.Destination { return batchSizedDest{sizedDest{sizes: s}} }, nil, []int64{100}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sizes []int64
			opts := append([]flow.PipelineOption{flow.PipelinesDir(t.TempDir()), flow.NormalizeWorkers(1)}, c.opts...)
			p, err := flow.NewPipeline("sized", c.dest(&sizes), opts...)
			if err != nil {
				t.Fatal(err)
			}
			res := flow.NewResource("r", func(ctx context.Context, yield flow.Yield) error {
				for i := range 100 {
					if err := yield(flow.ItemsBatch(map[string]any{"id": i})); err != nil {
						return err
					}
				}
				return nil
			})
			if _, err := p.Run(context.Background(), res); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sizes, c.want) {
				t.Fatalf("batch rows %v, want %v", sizes, c.want)
			}
		})
	}
}

// TestDatasetNameNormalized: the dataset name takes dlt's snake_case table
// identifier rule, as dlt names the schema ("MyData Set" is my_data_set,
// not mydata_set).
func TestDatasetNameNormalized(t *testing.T) {
	tests := []struct {
		name     string
		pipeline string
		opts     []flow.PipelineOption
		want     string
	}{
		{"camel case and space", "p", []flow.PipelineOption{flow.DatasetName("MyData Set")}, "my_data_set"},
		{"dashes", "p", []flow.PipelineOption{flow.DatasetName("raw-Events")}, "raw_events"},
		{"already normalized", "p", []flow.PipelineOption{flow.DatasetName("blog_data")}, "blog_data"},
		{"default", "Blog", nil, "blog_dataset"},
		{"blank is default", "blog", []flow.PipelineOption{flow.DatasetName("  ")}, "blog_dataset"},
		{"default keeps the pipeline name", "a  b", nil, "a__b_dataset"},
		{"deprecated Dataset option still names it", "p", []flow.PipelineOption{flow.Dataset("Old Name")}, "old_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			opts := append([]flow.PipelineOption{flow.PipelinesDir(e.pipeDir)}, tt.opts...)
			p, err := flow.NewPipeline(tt.pipeline, duckdb.New(e.dbPath), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.DatasetName(); got != tt.want {
				t.Fatalf("DatasetName() = %q, want %q", got, tt.want)
			}
			info := e.run(p, source.Slice("users", users(2)))
			if info.Dataset != tt.want {
				t.Errorf("load info dataset %q, want %q", info.Dataset, tt.want)
			}
			if got := e.query("SELECT count(*) FROM " + tt.want + ".users"); got[0][0] != "2" {
				t.Errorf("%s.users rows = %v", tt.want, got)
			}
		})
	}
}

// TestConcurrentRunsRefused: a second run of a pipeline while one is going
// fails with ErrPipelineRunning, from the same Pipeline or another of the
// same name; the first run's rows are loaded once.
func TestConcurrentRunsRefused(t *testing.T) {
	e := newEnv(t)
	first := e.pipeline("twice")
	started, finish := make(chan struct{}), make(chan struct{})
	slow := flow.NewResource("items", func(ctx context.Context, yield flow.Yield) error {
		close(started)
		<-finish
		return yield(flow.ItemsBatch(map[string]any{"id": 1}, map[string]any{"id": 2}))
	})
	done := make(chan error)
	go func() {
		_, err := first.Run(context.Background(), slow)
		done <- err
	}()
	<-started
	for _, p := range []*flow.Pipeline{first, e.pipeline("twice")} {
		_, err := p.Run(context.Background(), numbers("items", 1, 2))
		if !errors.Is(err, flow.ErrPipelineRunning) {
			t.Errorf("second run: err = %v, want ErrPipelineRunning", err)
		}
	}
	close(finish)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := e.query("SELECT count(*) FROM ds.items"); got[0][0] != "2" {
		t.Errorf("rows = %v, want 2", got)
	}
}
