//go:build duckdb_arrow

package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/bench"
)

var errNoArrowAPI = errors.New("unused with -tags duckdb_arrow")

// arrowAPIRows runs q with duckdb-go's Arrow API (which needs the
// duckdb_arrow tag) and counts the rows.
func arrowAPIRows(ctx context.Context, path, dataset, q string) (int64, error) {
	c, err := duckdb.NewConnector(path+"?access_mode=read_only", nil)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	db := sql.OpenDB(c)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "USE "+dataset); err != nil {
		return 0, err
	}
	var n int64
	err = conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rr, err := ar.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		n, err = bench.Drain(rr)
		return err
	})
	return n, err
}
