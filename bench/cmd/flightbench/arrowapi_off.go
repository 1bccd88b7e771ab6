//go:build !duckdb_arrow

package main

import (
	"context"
	"errors"
)

var errNoArrowAPI = errors.New("duckdb-go's Arrow API needs -tags duckdb_arrow")

func arrowAPIRows(context.Context, string, string, string) (int64, error) { return 0, errNoArrowAPI }
