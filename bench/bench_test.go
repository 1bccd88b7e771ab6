package bench_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/bench"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
)

const benchRows = 200_000

// TestCeilingAndPipelineLoadTheSameRows checks that the ceiling does the
// pipeline's work: the same tables, columns, types and row counts.
func TestCeilingAndPipelineLoadTheSameRows(t *testing.T) {
	for _, tc := range []struct {
		shape bench.Shape
		want  map[string]int64
	}{
		{bench.Flat, map[string]int64{"users": 5000}},
		{bench.Nested, map[string]int64{"users": 5000, "users__orders": 25000}},
	} {
		t.Run(string(tc.shape), func(t *testing.T) {
			pages := bench.Pages(5000, 500, tc.shape)
			dir := t.TempDir()
			ctx := context.Background()
			ceiling, pipeline := filepath.Join(dir, "c.duckdb"), filepath.Join(dir, "p.duckdb")
			var total int64
			for _, n := range tc.want {
				total += n
			}
			roots, all, err := bench.Ceiling(ctx, duckdb.New(ceiling), tc.shape, pages, len(pages), 2000)
			if err != nil || roots != 5000 || all != total {
				t.Fatalf("ceiling loaded %d root rows, %d in all, err %v", roots, all, err)
			}
			p, err := flow.NewPipeline("b", duckdb.New(pipeline), flow.PipelinesDir(dir), flow.DatasetName("bench"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Run(ctx, bench.PagesResource("users", pages, len(pages))); err != nil {
				t.Fatal(err)
			}
			got, want := dataTables(t, ceiling), dataTables(t, pipeline)
			if len(want) != len(tc.want) {
				t.Fatalf("pipeline made tables %v, want %v", want, tc.want)
			}
			for name, rows := range tc.want {
				if want[name].rows != rows {
					t.Errorf("pipeline: %s has %d rows, want %d", name, want[name].rows, rows)
				}
				if got[name] != want[name] {
					t.Errorf("%s: ceiling made %+v, pipeline %+v", name, got[name], want[name])
				}
			}
		})
	}
}

// TestRESTSourcePaging loads the benchmark API through the REST source
// with each paging: every page once, into the tables the pages make.
func TestRESTSourcePaging(t *testing.T) {
	pages := bench.Pages(5000, 500, bench.Nested)
	api, err := bench.NewAPI(pages, len(pages), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ctx := context.Background()
	dir := t.TempDir()
	want := filepath.Join(dir, "pages.duckdb")
	p, err := flow.NewPipeline("b", duckdb.New(want), flow.PipelinesDir(dir), flow.DatasetName("bench"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(ctx, bench.PagesResource("users", pages, len(pages))); err != nil {
		t.Fatal(err)
	}
	for _, paging := range []bench.Paging{bench.JSONLink, bench.PageNumber} {
		t.Run(string(paging), func(t *testing.T) {
			src, err := bench.RESTSource(api.URL, false, paging)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, string(paging)+".duckdb")
			p, err := flow.NewPipeline("b_"+string(paging), duckdb.New(path), flow.PipelinesDir(dir), flow.DatasetName("bench"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Run(ctx, src); err != nil {
				t.Fatal(err)
			}
			got, want := dataTables(t, path), dataTables(t, want)
			if len(got) != 2 || got["users"] != want["users"] || got["users__orders"] != want["users__orders"] {
				t.Fatalf("REST source made %+v, pages %+v", got, want)
			}
		})
	}
	if _, err := bench.RESTSource(api.URL, false, "offset"); err == nil {
		t.Error("RESTSource took an unknown paging")
	}
}

type tableShape struct {
	columns string // name type, ...
	rows    int64
}

// dataTables reads the data tables of the bench dataset in a DuckDB file.
func dataTables(t *testing.T, path string) map[string]tableShape {
	t.Helper()
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_schema = 'bench' AND table_name NOT LIKE '_dlt%' GROUP BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]tableShape{}
	for rows.Next() {
		var name string
		var ts tableShape
		if err := rows.Scan(&name, &ts.columns); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT count(*) FROM bench."` + name + `"`).Scan(&ts.rows); err != nil {
			t.Fatal(err)
		}
		out[name] = ts
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if _, nested := out["users__orders"]; nested {
		// Every child row names an existing parent, and the list index counts
		// each parent's children from 0.
		var orphans, badIdx int64
		err := db.QueryRow(`SELECT count(*) FILTER (WHERE u._dlt_id IS NULL),
			count(*) FILTER (WHERE o._dlt_list_idx <> (o.order_id % 5))
			FROM bench.users__orders o LEFT JOIN bench.users u ON o._dlt_parent_id = u._dlt_id`).Scan(&orphans, &badIdx)
		if err != nil || orphans != 0 || badIdx != 0 {
			t.Errorf("%s: %d child rows without a parent, %d with a wrong list index (err %v)", path, orphans, badIdx, err)
		}
	}
	return out
}

func BenchmarkCeiling(b *testing.B) {
	for _, shape := range []bench.Shape{bench.Flat, bench.Nested} {
		b.Run(string(shape), func(b *testing.B) {
			pages := bench.Pages(benchRows, 1000, shape)
			b.ReportAllocs()
			b.SetBytes(bench.Bytes(pages))
			for i := 0; b.Loop(); i++ {
				dest := duckdb.New(filepath.Join(b.TempDir(), fmt.Sprint(i, ".duckdb")))
				if _, _, err := bench.Ceiling(context.Background(), dest, shape, pages, len(pages), 100_000); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func BenchmarkPipelineDuckDB(b *testing.B) {
	for _, shape := range []bench.Shape{bench.Flat, bench.Nested} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", shape, workers), func(b *testing.B) {
				pages := bench.Pages(benchRows, 1000, shape)
				b.ReportAllocs()
				b.SetBytes(bench.Bytes(pages))
				for i := 0; b.Loop(); i++ {
					dir := b.TempDir()
					p, err := flow.NewPipeline("bench", duckdb.New(filepath.Join(dir, "b.duckdb")),
						flow.PipelinesDir(dir), flow.NormalizeWorkers(workers))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := p.Run(context.Background(), bench.PagesResource("users", pages, len(pages))); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// TestGoValuesLoadTheSameRows checks that the structs and maps runs load
// what the pages load: the same tables, columns, types and values.
func TestGoValuesLoadTheSameRows(t *testing.T) {
	for _, shape := range []bench.Shape{bench.Flat, bench.Nested} {
		t.Run(string(shape), func(t *testing.T) {
			const rows = 3000
			recs := bench.Records(rows, shape)
			load := func(name string, src flow.Sourcer) (map[string]tableShape, string) {
				dir := t.TempDir()
				path := filepath.Join(dir, name+".duckdb")
				p, err := flow.NewPipeline("b", duckdb.New(path), flow.PipelinesDir(dir), flow.DatasetName("bench"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.Run(context.Background(), src); err != nil {
					t.Fatal(err)
				}
				return dataTables(t, path), tableValues(t, path, shape)
			}
			pages := bench.Pages(rows, 500, shape)
			wantTables, wantValues := load("pages", bench.PagesResource("users", pages, len(pages)))
			for name, src := range map[string]flow.Sourcer{
				"structs": bench.ItemsResource("users", recs, rows, 1000),
				"maps":    bench.ItemsResource("users", bench.Maps(recs), rows, 1000),
			} {
				gotTables, gotValues := load(name, src)
				if name == "maps" {
					// Go maps have no key order: their columns are sorted.
					gotTables, wantTables := sortColumns(gotTables), sortColumns(wantTables)
					if fmt.Sprint(gotTables) != fmt.Sprint(wantTables) {
						t.Errorf("%s made %+v, pages %+v", name, gotTables, wantTables)
					}
				} else if fmt.Sprint(gotTables) != fmt.Sprint(wantTables) {
					t.Errorf("%s made %+v, pages %+v", name, gotTables, wantTables)
				}
				if gotValues != wantValues {
					t.Errorf("%s loaded other values than the pages", name)
				}
			}
		})
	}
}

// tableValues renders the data of the bench tables, without row ids.
func tableValues(t *testing.T, path string, shape bench.Shape) string {
	t.Helper()
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := `SELECT string_agg(concat_ws('|', id, name, email, age, score, active, created_at, country, address__city, address__zip), ';' ORDER BY id) FROM bench.users`
	if shape == bench.Nested {
		q += ` UNION ALL SELECT string_agg(concat_ws('|', order_id, amount, sku, _dlt_list_idx), ';' ORDER BY order_id) FROM bench.users__orders`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return fmt.Sprint(out)
}

func sortColumns(tables map[string]tableShape) map[string]tableShape {
	out := map[string]tableShape{}
	for name, ts := range tables {
		cols := strings.Split(ts.columns, ", ")
		slices.Sort(cols)
		out[name] = tableShape{columns: strings.Join(cols, ", "), rows: ts.rows}
	}
	return out
}

// BenchmarkNormalizeGoValues normalizes the records as structs and as maps
// (no destination): rows/s and allocations per batch of 10,000.
func BenchmarkNormalizeGoValues(b *testing.B) {
	for _, shape := range []bench.Shape{bench.Flat, bench.Nested} {
		recs := bench.Records(10_000, shape)
		for name, items := range map[string]arrowbuf.Typed{"structs": arrowbuf.TypedOf(recs), "maps": arrowbuf.TypedOf(bench.Maps(recs))} {
			b.Run(string(shape)+"/"+name, func(b *testing.B) {
				n := arrowbuf.NewNormalizer(arrowbuf.NewSchema("b"), "1", func(tb arrowbuf.TableBatch) error { tb.Release(); return nil },
					arrowbuf.WithBatchRows(50_000))
				defer n.Release()
				b.ReportAllocs()
				for b.Loop() {
					if err := n.AppendTyped("users", items); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(items.Len()*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
