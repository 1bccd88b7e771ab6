package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
	"github.com/sluicehq/sluice/internal/pipeinfo"
	"github.com/sluicehq/sluice/rest"
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
// tells while it works (a DuckDB load waiting for its file). The spec's
// settings reach the destination's factory in sink.Config.Options by
// their spec names (destinationOptions). The factory judges the bucket
// URL and the settings: its error is placed at the spec's location field
// (file:line:col).
func newDestination(s *spec.Spec, log *slog.Logger) (sink.Destination, error) {
	d := s.Destination
	c := sink.Config{Type: d.Type, Location: d.Path, Options: destinationOptions(d), Logger: log}
	field := "destination.path"
	if d.Type != spec.DuckDB {
		c.Location, field = d.BucketURL, "destination.bucket_url"
	}
	dest, err := destinations.Open(c)
	if err != nil {
		return nil, s.Locate(&spec.Error{Path: field, Msg: err.Error()})
	}
	return dest, nil
}

// destinationOptions are a destination's settings besides its location,
// keyed by their spec (dlt) names: "table_format" (a string),
// "credentials" (map[string]any of strings: aws_access_key_id,
// aws_secret_access_key, endpoint_url, region_name, secrets resolved) and
// "catalog" (map[string]any with "type" and "uri"). Unset ones are left
// out; nil when none is set.
func destinationOptions(d spec.Destination) map[string]any {
	opts := map[string]any{}
	if d.TableFormat != "" {
		opts["table_format"] = string(d.TableFormat)
	}
	if len(d.Credentials) > 0 {
		creds := make(map[string]any, len(d.Credentials))
		for k, v := range d.Credentials {
			creds[k] = v
		}
		opts["credentials"] = creds
	}
	if d.Catalog != nil {
		opts["catalog"] = map[string]any{"type": d.Catalog.Type, "uri": d.Catalog.URI}
	}
	if len(opts) == 0 {
		return nil
	}
	return opts
}

// withTableFormat makes the destination's table_format the default of
// every resource without its own: it goes under resource_defaults, so a
// resource's table_format, then resource_defaults', wins. The hint then
// lands in the schema of each table, as a resource's own would.
func withTableFormat(cfg *rest.Config, d spec.Destination) {
	if d.TableFormat == "" {
		return
	}
	if cfg.ResourceDefaults == nil {
		cfg.ResourceDefaults = &rest.ResourceConfig{}
	}
	if cfg.ResourceDefaults.TableFormat == "" {
		cfg.ResourceDefaults.TableFormat = d.TableFormat
	}
}

// destinationOf rebuilds the destination a pipeline recorded in its
// pipeline.json: dlt's kind name ("duckdb", "filesystem") and location.
// pipeline.json holds no credentials: an s3:// bucket opens with the AWS
// environment's (checkDestinationExists checks that there are some).
func destinationOf(info *pipeinfo.Info) (sink.Destination, error) {
	if _, ok := destinations.Lookup(info.DestinationType); !ok {
		return nil, fmt.Errorf("pipeline %q: unknown destination type %q in its pipeline.json", info.Name, info.DestinationType)
	}
	return destinations.Open(sink.Config{Type: info.DestinationType, Location: info.DestinationLocation})
}

// checkDestinationExists fails when the data a pipeline recorded is gone, so
// reading it does not create an empty DuckDB file (a
// *missingDestinationError), or when the AWS environment gives no credentials
// for an s3:// dataset. It returns where an s3:// dataset's requests go.
func checkDestinationExists(ctx context.Context, info *pipeinfo.Info) (s3Target, error) {
	loc := info.DestinationLocation
	if strings.Contains(loc, "://") {
		return checkS3Pipeline(ctx, info) // s3access.go
	}
	if _, err := os.Stat(loc); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return s3Target{}, &missingDestinationError{pipeline: info.Name, location: loc}
		}
		return s3Target{}, fmt.Errorf("pipeline %q: %w", info.Name, err)
	}
	return s3Target{}, nil
}

// dropDataset removes a dataset from a destination: for DuckDB the schema
// with all its tables, for a local Parquet bucket the dataset's folder.
func dropDataset(ctx context.Context, info *pipeinfo.Info) error {
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

// missingDestinationError is a destination a pipeline recorded that is gone:
// drop then has nothing to drop, while an error reaching a destination
// (credentials, network) must stop it.
type missingDestinationError struct{ pipeline, location string }

func (e *missingDestinationError) Error() string {
	return fmt.Sprintf("pipeline %q: destination %s does not exist", e.pipeline, e.location)
}
