package transform_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/transform"
)

type eventMeta struct {
	Seq int64 `json:"seq"`
}

type event struct {
	ID        int       `json:"id"`
	UpdatedAt time.Time `json:"updatedAt"`
	Meta      eventMeta `json:"meta"`
}

func events(from, to int) []event {
	var out []event
	for i := from; i <= to; i++ {
		out = append(out, event{ID: i, UpdatedAt: time.Date(2024, 1, i, 0, 0, 0, 0, time.UTC), Meta: eventMeta{Seq: int64(i * 10)}})
	}
	return out
}

// loadIDs runs each resource in turn into one DuckDB file and returns the
// ids of table "events" in load order.
func loadIDs(t *testing.T, runs ...*flow.Resource) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "i.duckdb")
	for _, r := range runs {
		p, err := flow.NewPipeline("i", duckdb.New(path), flow.PipelinesDir(dir), flow.DatasetName("ds"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Run(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids string
	if err := db.QueryRow("SELECT string_agg(id::VARCHAR, ',' ORDER BY _dlt_load_id, id) FROM ds.events").Scan(&ids); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestIncrementalStructCursor checks that a cursor path reads a struct
// field by its column name, json name or Go name, nested fields too, for
// typed batches and for structs in an items batch: the second run loads
// only what is new.
func TestIncrementalStructCursor(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		cursor, payload string
		initial         any
	}{
		{"updated_at", "typed", day(2)},
		{"updatedAt", "typed", day(2)},
		{"UpdatedAt", "typed", "2024-01-02T00:00:00Z"},
		{"meta.seq", "typed", int64(20)},
		{"Meta.Seq", "typed", int64(20)},
		{"meta__seq", "typed", int64(20)},
		{"updated_at", "items", day(2)},
		{"meta.seq", "pointers", int64(20)},
	}
	for _, c := range cases {
		t.Run(c.cursor+"/"+c.payload, func(t *testing.T) {
			mk := func(items []event) *flow.Resource {
				inc, err := transform.NewIncremental(c.cursor, c.initial)
				if err != nil {
					t.Fatal(err)
				}
				var r *flow.Resource
				switch c.payload {
				case "typed":
					r = source.Slice("events", items)
				case "pointers":
					ptrs := make([]*event, len(items))
					for i := range items {
						ptrs[i] = &items[i]
					}
					r = source.Slice("events", ptrs)
				default:
					r = flow.NewResource("events", func(ctx context.Context, yield flow.Yield) error {
						vals := make([]any, len(items))
						for i, it := range items {
							vals[i] = it
						}
						return yield(flow.ItemsBatch(vals...))
					})
				}
				return r.AddStep(inc.Step())
			}
			if got, want := loadIDs(t, mk(events(1, 3)), mk(events(1, 5))), "2,3,4,5"; got != want {
				t.Errorf("ids %s, want %s", got, want)
			}
		})
	}
	if _, found := transform.MustPath("nope").Get(event{}); found {
		t.Error("a missing field was found")
	}
}

// TestRowOrderClosesGenerator checks dlt's row_order: once an ordered
// batch holds a row past the end value, the generator's yield returns
// flow.ErrClose and no later page is asked for, whatever the payload.
func TestRowOrderClosesGenerator(t *testing.T) {
	page := func(kind string, from int) flow.Batch {
		evs := events(from, from+2)
		switch kind {
		case "maps":
			var items []any
			for _, e := range evs {
				items = append(items, map[string]any{"id": e.ID})
			}
			return flow.ItemsBatch(items...)
		case "json":
			raw, _ := json.Marshal(evs)
			v, _ := fastjson.ParseBytes(raw)
			arr, _ := v.Array()
			return flow.JSONBatch(arr, nil)
		}
		return flow.TypedBatch(evs)
	}
	cases := []struct {
		name, order string
		initial     any
		end         any
		ids         string
		pages       int
	}{
		{"asc closes past end_value", "asc", 2, 8, "2,3,4,5,6,7", 3},
		{"no row_order reads every page", "", 2, 8, "2,3,4,5,6,7", 10},
	}
	for _, kind := range []string{"typed", "maps", "json"} {
		for _, c := range cases {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				inc, _ := transform.NewIncremental("id", c.initial)
				inc.EndValue, inc.RowOrder = c.end, c.order
				pages := 0
				r := flow.NewResource("events", func(ctx context.Context, yield flow.Yield) error {
					for i := 0; i < 10; i++ { // 10 pages of 3 rows: ids 1-30
						pages++
						if err := yield(page(kind, 1+3*i)); err != nil {
							return err
						}
					}
					return nil
				}).AddStep(inc.Step())
				if got := loadIDs(t, r); got != c.ids {
					t.Errorf("ids %s, want %s", got, c.ids)
				}
				if pages != c.pages {
					t.Errorf("%d pages asked for, want %d", pages, c.pages)
				}
			})
		}
	}
}

// TestRowOrderClosesCollect checks the same without a pipeline.
func TestRowOrderClosesCollect(t *testing.T) {
	inc, _ := transform.NewIncremental("UpdatedAt", "2024-01-01T00:00:00Z")
	inc.EndValue, inc.RowOrder = "2024-01-04T00:00:00Z", "asc"
	pages := 0
	r := flow.NewResourceOf("events", func(ctx context.Context, yield func(...event) error) error {
		for i := 0; i < 10; i++ {
			pages++
			if err := yield(events(1+2*i, 2+2*i)...); err != nil {
				return err
			}
		}
		return nil
	}).AddStep(inc.Step())
	items, err := flow.Collect(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, fmt.Sprint(it.(event).ID))
	}
	if got := strings.Join(ids, ","); got != "1,2,3" || pages != 2 {
		t.Errorf("ids %s after %d pages, want 1,2,3 after 2", got, pages)
	}
}

// TestIncrementalDropsNilItems checks that a nil item (a nil *T of a
// typed batch, a nil of an items batch, a JSON null) is dropped as dlt
// drops None, not taken for a row without the cursor, which fails the
// run by default; the rows around it are filtered as usual.
func TestIncrementalDropsNilItems(t *testing.T) {
	evs := events(1, 3)
	var p fastjson.Parser
	arr, err := p.Parse(`[{"id":1,"meta":{"seq":10}},null,{"id":2,"meta":{"seq":20}},{"id":3,"meta":{"seq":30}}]`)
	if err != nil {
		t.Fatal(err)
	}
	vals, _ := arr.Array()
	cases := []struct {
		name string
		res  func() *flow.Resource
	}{
		{"typed pointers", func() *flow.Resource {
			return source.Slice("events", []*event{&evs[0], nil, &evs[1], &evs[2]})
		}},
		{"items", func() *flow.Resource {
			return source.Slice("events", []any{evs[0], nil, evs[1], &evs[2]})
		}},
		{"json", func() *flow.Resource {
			return flow.NewResource("events", func(ctx context.Context, yield flow.Yield) error {
				return yield(flow.JSONBatch(vals, nil))
			})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inc, err := transform.NewIncremental("meta.seq", int64(20))
			if err != nil {
				t.Fatal(err)
			}
			if got := loadIDs(t, c.res().AddStep(inc.Step())); got != "2,3" {
				t.Errorf("loaded ids %q, want 2,3", got)
			}
		})
	}
}
