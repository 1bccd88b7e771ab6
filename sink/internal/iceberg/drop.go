package iceberg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/apache/iceberg-go/table"
)

// Drop removes a table (refresh drop_sources / drop_resources) with its
// catalog entry. Its metadata files go first, oldest first, so until the
// last one is gone readers still see the table's current version, never an
// older one; then the hint, manifests and data. Dropping a table that does
// not exist does nothing, so a rerun finishes an interrupted drop.
func (lk *Lake) Drop(ctx context.Context, dataset, name string) error {
	if err := checkName("dataset", dataset); err != nil {
		return err
	}
	if err := checkName("table", name); err != nil {
		return err
	}
	ident := table.Identifier{dataset, name}
	prefix := tableKey(ident) + "/"
	all, err := listKeys(ctx, lk.st.bucket, prefix)
	if err != nil {
		return err
	}
	type metaFile struct {
		v   int
		key string
	}
	var versions []metaFile
	var rest []string
	for _, k := range all {
		if name, ok := strings.CutPrefix(k, prefix+"metadata/"); ok {
			if v, ok := metadataVersion(name); ok {
				versions = append(versions, metaFile{v, k})
				continue
			}
		}
		if k != hintKey(ident) {
			rest = append(rest, k)
		}
	}
	slices.SortFunc(versions, func(a, b metaFile) int { return a.v - b.v })
	order := make([]string, 0, len(all))
	for _, m := range versions {
		order = append(order, m.key)
	}
	order = append(order, hintKey(ident))
	order = append(order, rest...)
	for _, k := range order {
		if err := lk.st.bucket.Delete(ctx, k); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fmt.Errorf("iceberg: drop %s: delete %s: %w", tableKey(ident), k, err)
		}
	}
	if lk.cat != nil {
		return lk.cat.unregister(ctx, ident)
	}
	return nil
}

func listKeys(ctx context.Context, b *blob.Bucket, prefix string) ([]string, error) {
	var out []string
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("iceberg: list %s: %w", prefix, err)
		}
		if !obj.IsDir {
			out = append(out, obj.Key)
		}
	}
}
