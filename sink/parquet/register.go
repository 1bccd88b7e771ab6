package parquet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/sluicehq/sluice/sink"
)

// Open is the destination's [sink.Factory]: Location is the bucket URL.
// It takes no other options yet.
func Open(c sink.Config) (sink.Destination, error) {
	if len(c.Options) > 0 {
		keys := make([]string, 0, len(c.Options))
		for k := range c.Options {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return nil, fmt.Errorf("parquet: unknown destination setting %q", keys[0])
	}
	d := New(c.Location)
	if d.err != nil {
		return nil, d.err
	}
	return d, nil
}

// Register adds the destination to r as "filesystem" (dlt's name), with
// "parquet" as an alias.
func Register(r *sink.Registry) { r.Register("filesystem", Open, "parquet") }

// DropDataset removes the dataset's folder with every table and system
// file in it (sink.Dropper).
func (d *Destination) DropDataset(_ context.Context, dataset string) error {
	if d.err != nil {
		return d.err
	}
	dir := d.datasetDir(dataset)
	if filepath.Dir(dir) != d.bucket {
		return fmt.Errorf("parquet: drop dataset %q: not a folder name", dataset)
	}
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("parquet: drop dataset %s: %w", dataset, err)
	}
	return nil
}

var _ sink.Dropper = (*Destination)(nil)
