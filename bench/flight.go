package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The table the Flight SQL bench streams: FlightDataset.FlightTable in a
// DuckDB file, dlt-like columns.
const (
	FlightDataset = "bench_data"
	FlightTable   = "items"
	// FlightQuery reads the whole table.
	FlightQuery = "SELECT * FROM " + FlightTable
)

// MakeFlightTable writes a DuckDB file at path holding n rows of a loaded
// table's usual columns: ids, text, numbers, a timestamp, a decimal, a
// JSON document and dlt's two system columns (about 170 bytes a row).
func MakeFlightTable(path string, n int) error {
	c, err := duckdb.NewConnector(path, nil)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer c.Close()
	db := sql.OpenDB(c)
	defer db.Close()
	for _, q := range []string{
		"CREATE SCHEMA " + FlightDataset,
		fmt.Sprintf(`CREATE TABLE %s.%s AS SELECT i AS id, 'user ' || i AS name, 'user' || i || '@example.com' AS email,
			i * 0.37 AS score, i %% 3 = 0 AS active, TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i) SECOND AS created_at,
			(i %% 100000 / 100.0)::DECIMAL(12,2) AS amount, ('{"plan": "p' || (i %% 5) || '", "seats": ' || (i %% 50) || '}')::JSON AS meta,
			'1733222400.123456' AS _dlt_load_id, md5(i::VARCHAR)[:14] AS _dlt_id
			FROM range(%d) t(i)`, FlightDataset, FlightTable, n),
	} {
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("bench: make the Flight table: %w", err)
		}
	}
	return nil
}

// Drain reads every batch of rr, releases it and counts the rows.
func Drain(rr array.RecordReader) (int64, error) {
	defer rr.Release()
	var n int64
	for rr.Next() {
		n += rr.RecordBatch().NumRows()
	}
	return n, rr.Err()
}

// StreamFlight runs query on the Flight SQL server at url (grpc://host:port)
// with arrow-go's client, reads the whole result and counts its rows.
func StreamFlight(ctx context.Context, url, query string) (int64, error) {
	cl, err := flightsql.NewClient(strings.TrimPrefix(url, "grpc://"), nil, nil,
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	defer cl.Close()
	info, err := cl.Execute(ctx, query)
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	var n int64
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return 0, fmt.Errorf("bench: %w", err)
		}
		m, err := Drain(rdr)
		n += m
		if err != nil {
			return n, fmt.Errorf("bench: %w", err)
		}
	}
	return n, nil
}
