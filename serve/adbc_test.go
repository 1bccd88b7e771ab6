package serve

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-adbc/go/adbc"
	adbcflight "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	_ "github.com/apache/arrow-adbc/go/adbc/sqldriver/flightsql" // database/sql "flightsql"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// adbcConn opens a connection with ADBC's Flight SQL driver, as pandas,
// polars and the other ADBC users do.
func adbcConn(t *testing.T, addr, token string) adbc.Connection {
	t.Helper()
	opts := map[string]string{adbc.OptionKeyURI: "grpc://" + addr}
	if token != "" {
		opts[adbcflight.OptionAuthorizationHeader] = "Bearer " + token
	}
	db, err := adbcflight.NewDriver(memory.DefaultAllocator).NewDatabase(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cn, err := db.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cn.Close() })
	return cn
}

// readAll reads a record reader's rows as Arrow's JSON objects.
func readAll(t *testing.T, rdr array.RecordReader) []map[string]any {
	t.Helper()
	defer rdr.Release()
	var out []map[string]any
	for rdr.Next() {
		b, err := rdr.RecordBatch().MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var rows []map[string]any
		if err := json.Unmarshal(b, &rows); err != nil {
			t.Fatal(err)
		}
		out = append(out, rows...)
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func adbcQuery(t *testing.T, cn adbc.Connection, q string, params arrow.RecordBatch) ([]map[string]any, error) {
	t.Helper()
	st, err := cn.NewStatement()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SetSqlQuery(q); err != nil {
		t.Fatal(err)
	}
	if params != nil {
		if err := st.Prepare(context.Background()); err != nil {
			return nil, err
		}
		if err := st.Bind(context.Background(), params); err != nil {
			return nil, err
		}
	}
	rdr, _, err := st.ExecuteQuery(context.Background())
	if err != nil {
		return nil, err
	}
	return readAll(t, rdr), nil
}

func TestADBC(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir())
	srv := startServer(t, DuckDBFile(path, testDataset), Options{Token: "s3cret-token"})
	cn := adbcConn(t, srv.addr, "s3cret-token")
	ctx := context.Background()

	t.Run("GetInfo", func(t *testing.T) {
		rows := readAll(t, must(cn.GetInfo(ctx, []adbc.InfoCode{adbc.InfoVendorName})))
		if len(rows) != 1 || rows[0]["info_value"] == nil {
			t.Fatalf("GetInfo: %v", rows)
		}
		// A dense union's JSON: [type code, value].
		if v, _ := rows[0]["info_value"].([]any); len(v) != 2 || v[1] != "sluice" {
			t.Errorf("vendor name: %v", rows[0]["info_value"])
		}
	})

	t.Run("query", func(t *testing.T) {
		rows, err := adbcQuery(t, cn, "SELECT count(*) AS n, sum(id) AS s FROM posts WHERE id <= 100", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0]["n"] != float64(100) || rows[0]["s"] != "5050" {
			t.Errorf("got %v, want n 100, s 5050", rows)
		}
	})

	t.Run("GetObjects", func(t *testing.T) {
		rows := readAll(t, must(cn.GetObjects(ctx, adbc.ObjectDepthAll, nil, nil, nil, nil, nil)))
		type table struct {
			Name    string `json:"table_name"`
			Type    string `json:"table_type"`
			Columns []struct {
				Name string `json:"column_name"`
			} `json:"table_columns"`
		}
		var cats []struct {
			Name    string `json:"catalog_name"`
			Schemas []struct {
				Name   string  `json:"db_schema_name"`
				Tables []table `json:"db_schema_tables"`
			} `json:"catalog_db_schemas"`
		}
		b, _ := json.Marshal(rows)
		if err := json.Unmarshal(b, &cats); err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{} // schema.table -> columns
		for _, c := range cats {
			if c.Name != "blog" {
				t.Errorf("catalog %q, want only blog", c.Name)
			}
			for _, s := range c.Schemas {
				for _, tb := range s.Tables {
					var cols []string
					for _, col := range tb.Columns {
						cols = append(cols, col.Name)
					}
					got[s.Name+"."+tb.Name] = cols
				}
			}
		}
		want := duckRows(t, path, "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'blog_data' AND table_name = 'posts' ORDER BY column_index")
		var wantCols []string
		for _, r := range want {
			wantCols = append(wantCols, r[0])
		}
		if !slices.Equal(got["blog_data.posts"], wantCols) {
			t.Errorf("posts columns %v, want %v", got["blog_data.posts"], wantCols)
		}
		for _, tb := range []string{"blog_data.posts__tags", "blog_data._dlt_loads", "other.secret"} {
			if _, ok := got[tb]; !ok {
				t.Errorf("GetObjects lacks %s: %v", tb, got)
			}
		}
	})

	t.Run("GetTableSchema", func(t *testing.T) {
		cat, sch := "blog", testDataset
		got, err := cn.GetTableSchema(ctx, &cat, &sch, "posts")
		if err != nil {
			t.Fatal(err)
		}
		st := must(cn.NewStatement())
		defer st.Close()
		_ = st.SetSqlQuery("SELECT * FROM posts LIMIT 0")
		rdr, _, err := st.ExecuteQuery(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := rdr.Schema()
		rdr.Release()
		if len(got.Fields()) != len(want.Fields()) {
			t.Fatalf("GetTableSchema %s, want %s", got, want)
		}
		for i, f := range want.Fields() {
			if g := got.Field(i); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
				t.Errorf("column %d: %s %s, want %s %s", i, g.Name, g.Type, f.Name, f.Type)
			}
		}
	})

	t.Run("prepared with parameters", func(t *testing.T) {
		st := must(cn.NewStatement())
		defer st.Close()
		if err := st.SetSqlQuery("SELECT id FROM posts WHERE id BETWEEN ? AND ? AND created_at < ? ORDER BY id"); err != nil {
			t.Fatal(err)
		}
		if err := st.Prepare(ctx); err != nil {
			t.Fatal(err)
		}
		ps, err := st.GetParameterSchema()
		if err != nil {
			t.Fatal(err)
		}
		if ps.NumFields() != 3 || !arrow.TypeEqual(ps.Field(0).Type, arrow.PrimitiveTypes.Int64) {
			t.Errorf("parameter schema %s", ps)
		}
		tsType := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		for _, tc := range []struct {
			lo, hi int64
			before time.Time
			want   []float64
		}{
			{10, 12, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), []float64{10, 11, 12}},
			{50, 60, time.Date(2024, 1, 1, 0, 53, 0, 0, time.UTC), []float64{50, 51, 52}},
		} {
			b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
				{Name: "lo", Type: arrow.PrimitiveTypes.Int64}, {Name: "hi", Type: arrow.PrimitiveTypes.Int64},
				{Name: "before", Type: tsType}}, nil))
			b.Field(0).(*array.Int64Builder).Append(tc.lo)
			b.Field(1).(*array.Int64Builder).Append(tc.hi)
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(tc.before.UnixMicro()))
			rec := b.NewRecordBatch()
			b.Release()
			err := st.Bind(ctx, rec)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
			rdr, _, err := st.ExecuteQuery(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []float64
			for _, r := range readAll(t, rdr) {
				got = append(got, r["id"].(float64))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ids %d..%d before %s: %v, want %v", tc.lo, tc.hi, tc.before, got, tc.want)
			}
		}
	})

	t.Run("database/sql", func(t *testing.T) {
		db, err := sql.Open("flightsql", "uri=grpc://"+srv.addr+";"+adbcflight.OptionAuthorizationHeader+"=Bearer s3cret-token")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// ADBC's database/sql driver (v1.12.0) binds the arguments of
		// db.Query as a bulk ingestion; a prepared statement binds them
		// as parameters.
		ps, err := db.PrepareContext(ctx, "SELECT title FROM posts WHERE id = ?")
		if err != nil {
			t.Fatal(err)
		}
		defer ps.Close()
		var title string
		if err := ps.QueryRowContext(ctx, int64(7)).Scan(&title); err != nil {
			t.Fatal(err)
		}
		if title != "post 7xxxxxxx" {
			t.Errorf("title %q", title)
		}
		if _, err := db.ExecContext(ctx, "DELETE FROM posts"); err == nil {
			t.Error("DELETE through database/sql succeeded")
		}
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM posts").Scan(&n); err != nil || n != 101 {
			t.Errorf("after the refused DELETE: %d rows, %v; want 101", n, err)
		}
	})

	t.Run("no token", func(t *testing.T) {
		cn := adbcConn(t, srv.addr, "")
		_, err := adbcQuery(t, cn, "SELECT 1", nil)
		var ae adbc.Error
		if !errors.As(err, &ae) || ae.Code != adbc.StatusUnauthenticated {
			t.Errorf("without a token: %v, want Unauthenticated", err)
		}
	})
}

// must panics on err, which fails the test with its stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
