package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/internal/sqlarrow"
)

type reader struct {
	d       *Destination
	h       *handle
	dataset string
	closed  atomic.Bool
}

var _ sink.DatasetReader = (*reader)(nil)

// OpenDataset opens the file for reading the dataset. Close releases it.
func (d *Destination) OpenDataset(ctx context.Context, dataset string) (sink.DatasetReader, error) {
	h, err := acquire(d.path)
	if err != nil {
		return nil, err
	}
	return &reader{d: d, h: h, dataset: dataset}, nil
}

func (r *reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	return r.h.release()
}

// Tables lists the dataset's data tables with their row counts.
func (r *reader) Tables(ctx context.Context) ([]sink.TableInfo, error) {
	rows, err := r.h.db.QueryContext(ctx, `SELECT table_name FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = ? AND NOT starts_with(table_name, '_dlt_')
		ORDER BY table_name`, r.dataset)
	if err != nil {
		return nil, fmt.Errorf("duckdb: list tables of %s: %w", r.dataset, err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]sink.TableInfo, 0, len(names))
	for _, n := range names {
		var c int64
		if err := r.h.db.QueryRowContext(ctx, "SELECT count(*) FROM "+r.h.q(r.dataset, n)).Scan(&c); err != nil {
			return nil, fmt.Errorf("duckdb: count %s.%s: %w", r.dataset, n, err)
		}
		out = append(out, sink.TableInfo{Name: n, Rows: c})
	}
	return out, nil
}

// Loads lists the _dlt_loads rows, newest first.
func (r *reader) Loads(ctx context.Context) ([]sink.LoadRecord, error) {
	ok, err := tableExists(ctx, r.h.db, r.dataset, "_dlt_loads")
	if err != nil || !ok {
		return nil, err
	}
	rows, err := r.h.db.QueryContext(ctx, "SELECT load_id, schema_name, status, inserted_at FROM "+
		r.h.q(r.dataset, "_dlt_loads")+" ORDER BY inserted_at DESC, load_id DESC")
	if err != nil {
		return nil, fmt.Errorf("duckdb: read loads of %s: %w", r.dataset, err)
	}
	defer rows.Close()
	var out []sink.LoadRecord
	for rows.Next() {
		var lr sink.LoadRecord
		var sn sql.NullString
		if err := rows.Scan(&lr.LoadID, &sn, &lr.Status, &lr.InsertedAt); err != nil {
			return nil, err
		}
		lr.SchemaName = sn.String
		lr.InsertedAt = lr.InsertedAt.UTC()
		out = append(out, lr)
	}
	return out, rows.Err()
}

// Table streams a table's rows. JSON columns come back as their text, with
// the field metadata "dlt.data_type" = "json".
func (r *reader) Table(ctx context.Context, name string) (array.RecordReader, error) {
	rows, err := r.h.db.QueryContext(ctx, `SELECT column_name, data_type FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index`, r.dataset, name)
	if err != nil {
		return nil, fmt.Errorf("duckdb: table %s.%s: %w", r.dataset, name, err)
	}
	var sel []string
	jsonCols := map[string]string{}
	for rows.Next() {
		var c, t string
		if err := rows.Scan(&c, &t); err != nil {
			rows.Close()
			return nil, err
		}
		if t == "JSON" {
			// Cast: the driver decodes JSON values, which loses key order.
			sel = append(sel, fmt.Sprintf("CAST(%s AS VARCHAR) AS %s", quote(c), quote(c)))
			jsonCols[c] = "json"
		} else {
			sel = append(sel, quote(c))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duckdb: table %s.%s: %w", r.dataset, name, err)
	}
	if len(sel) == 0 {
		return nil, fmt.Errorf("duckdb: table %s.%s does not exist", r.dataset, name)
	}
	return r.query(ctx, fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), r.h.q(r.dataset, name)),
		sqlarrow.WithDataTypes(jsonCols))
}

// Query runs sql with the dataset's schema first on the search path.
// Columns of DuckDB's JSON type come back as text with the field metadata
// "dlt.data_type" = "json"; objects have their keys sorted, as the driver
// decodes them.
func (r *reader) Query(ctx context.Context, q string) (array.RecordReader, error) {
	return r.query(ctx, q)
}

func (r *reader) query(ctx context.Context, q string, opts ...sqlarrow.Option) (array.RecordReader, error) {
	conn, err := r.h.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("duckdb: query %s: %w", r.dataset, err)
	}
	if _, err := conn.ExecContext(ctx, "SET search_path = '"+strings.ReplaceAll(quote(r.h.catalog)+"."+quote(r.dataset), "'", "''")+",main'"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("duckdb: query %s: set search_path: %w", r.dataset, err)
	}
	rr, err := sqlarrow.Query(ctx, r.d.mem, conn, q, opts...)
	if err != nil {
		return nil, fmt.Errorf("duckdb: query %s: %w", r.dataset, err)
	}
	return rr, nil
}
