package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/internal/pipeinfo"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/parquet"
)

// destFactory builds a destination from a spec's destination; log takes
// what it tells while it works (a DuckDB load waiting for its file).
type destFactory func(d spec.Destination, log *slog.Logger) (flow.Destination, error)

// destinations maps a spec destination type to its factory.
var destinations = map[string]destFactory{
	spec.DuckDB: func(d spec.Destination, log *slog.Logger) (flow.Destination, error) {
		return duckdb.New(d.Path, duckdb.WithLogger(log)), nil
	},
	spec.Parquet: func(d spec.Destination, _ *slog.Logger) (flow.Destination, error) {
		return parquet.New(d.BucketURL), nil
	},
}

func newDestination(d spec.Destination, log *slog.Logger) (flow.Destination, error) {
	f := destinations[d.Type]
	if f == nil {
		return nil, fmt.Errorf("destination %q is not supported (want duckdb or parquet)", d.Type)
	}
	return f(d, log)
}

// destinationOf rebuilds the destination a pipeline recorded in its
// pipeline.json: dlt's kind name ("duckdb", "filesystem") and location.
func destinationOf(info *pipeinfo.Info) (flow.Destination, error) {
	switch info.DestinationType {
	case "duckdb":
		return newDestination(spec.Destination{Type: spec.DuckDB, Path: info.DestinationLocation}, slog.Default())
	case "filesystem", "parquet":
		return newDestination(spec.Destination{Type: spec.Parquet, BucketURL: info.DestinationLocation}, slog.Default())
	}
	return nil, fmt.Errorf("pipeline %q: unknown destination type %q in its pipeline.json", info.Name, info.DestinationType)
}

// checkDestinationExists fails when the data a pipeline recorded is gone, so
// reading it does not create an empty DuckDB file.
func checkDestinationExists(info *pipeinfo.Info) error {
	loc := info.DestinationLocation
	if strings.Contains(loc, "://") {
		return nil
	}
	if _, err := os.Stat(loc); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pipeline %q: destination %s does not exist", info.Name, loc)
		}
		return fmt.Errorf("pipeline %q: %w", info.Name, err)
	}
	return nil
}

// dropDataset removes a dataset from a destination: for DuckDB the schema
// with all its tables, for a local Parquet bucket the dataset's folder.
func dropDataset(ctx context.Context, info *pipeinfo.Info) error {
	switch info.DestinationType {
	case "duckdb":
		c, err := duckdbdrv.NewConnector(info.DestinationLocation, nil)
		if err != nil {
			return fmt.Errorf("open %s: %w", info.DestinationLocation, err)
		}
		db := sql.OpenDB(c)
		defer db.Close()
		q := `DROP SCHEMA IF EXISTS "` + strings.ReplaceAll(info.Dataset, `"`, `""`) + `" CASCADE`
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("drop dataset %s in %s: %w", info.Dataset, info.DestinationLocation, err)
		}
		return nil
	case "filesystem", "parquet":
		loc := strings.TrimPrefix(info.DestinationLocation, "file://")
		if strings.Contains(loc, "://") {
			return fmt.Errorf("drop dataset %s: only local buckets can be dropped, not %s", info.Dataset, loc)
		}
		if err := os.RemoveAll(filepath.Join(loc, info.Dataset)); err != nil {
			return fmt.Errorf("drop dataset %s: %w", info.Dataset, err)
		}
		return nil
	}
	return fmt.Errorf("pipeline %q: unknown destination type %q", info.Name, info.DestinationType)
}
