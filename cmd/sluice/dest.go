package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/parquet/parquetsql"
)

// destinations are the destination types the command offers. A new sink
// is one package plus one line here.
var destinations = func() *sink.Registry {
	r := new(sink.Registry)
	duckdb.Register(r)
	// SQL over Parquet datasets (pipeline show, serve) and CSV/JSONL
	// imports run on DuckDB; the parquet package itself is pure Go.
	parquet.Register(r, parquet.WithSQL(parquetsql.DuckDB()))
	return r
}()

// newDestination opens the destination a spec names; log takes what it
// tells while it works (a DuckDB load waiting for its file).
func newDestination(d spec.Destination, log *slog.Logger) (sink.Destination, error) {
	loc := d.Path
	if d.Type != spec.DuckDB {
		loc = d.BucketURL
	}
	return destinations.Open(sink.Config{Type: d.Type, Location: loc, Logger: log})
}

// destinationOf rebuilds the destination a pipeline recorded in its
// pipeline.json: dlt's kind name ("duckdb", "filesystem") and location.
func destinationOf(info *flow.PipelineInfo) (sink.Destination, error) {
	if _, ok := destinations.Lookup(info.DestinationType); !ok {
		return nil, fmt.Errorf("pipeline %q: unknown destination type %q in its pipeline.json", info.Name, info.DestinationType)
	}
	return destinations.Open(sink.Config{Type: info.DestinationType, Location: info.DestinationLocation})
}

// checkDestinationExists fails when the data a pipeline recorded is gone, so
// reading it does not create an empty DuckDB file.
func checkDestinationExists(info *flow.PipelineInfo) error {
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
func dropDataset(ctx context.Context, info *flow.PipelineInfo) error {
	d, err := destinationOf(info)
	if err != nil {
		return err
	}
	dr, ok := d.(sink.Dropper)
	if !ok {
		return fmt.Errorf("drop dataset %s: a %s destination cannot drop datasets", info.Dataset, info.DestinationType)
	}
	return dr.DropDataset(ctx, info.Dataset)
}
