package duckdb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/sink"
)

// Open is the destination's [sink.Factory]: Location is the DuckDB file.
// It takes no other options.
func Open(c sink.Config) (sink.Destination, error) {
	if err := c.CheckOptions("duckdb"); err != nil {
		return nil, err
	}
	return New(c.Location, WithLogger(c.Logger)), nil
}

// Register adds the destination to r as "duckdb".
func Register(r *sink.Registry) { r.Register("duckdb", Open) }

// DropDataset drops the dataset's schema with all its tables, the system
// tables included (sink.Dropper).
func (d *Destination) DropDataset(ctx context.Context, dataset string) error {
	h, err := d.openExisting(ctx)
	if errors.Is(err, sink.ErrNoState) {
		return nil // no file, no dataset
	}
	if err != nil {
		return err
	}
	defer h.release()
	q := `DROP SCHEMA IF EXISTS "` + strings.ReplaceAll(dataset, `"`, `""`) + `" CASCADE`
	if _, err := h.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("duckdb: drop dataset %s in %s: %w", dataset, d.path, err)
	}
	return nil
}

var _ sink.Dropper = (*Destination)(nil)
