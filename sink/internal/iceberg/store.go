package iceberg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/iceberg-go/io/gocloud/blobfs"
	"github.com/apache/iceberg-go/table"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	icebergio "github.com/apache/iceberg-go/io"
)

// store is a path-based catalog (the layout of Iceberg's Hadoop catalog):
// a table's current metadata is the highest metadata/vN.metadata.json under
// its location, and metadata/version-hint.text names N for readers that
// look there first. Writing vN.metadata.json with a create-only write is
// the commit point of a table: a process killed before it leaves the
// previous version current, one killed after it (before the hint) is found
// by probing past the hint.
type store struct {
	bucket *blob.Bucket
	root   string // URL of the bucket's key space, without a trailing '/'
	fio    *blobfs.FileIO

	mu sync.Mutex
	// fresh holds the metadata of tables that a pending load creates: the
	// table exists on storage only once its first commit is written.
	fresh map[string]table.Metadata
}

func newStore(ctx context.Context, bucket *blob.Bucket, root string) *store {
	s := &store{bucket: bucket, root: strings.TrimRight(root, "/"), fresh: map[string]table.Metadata{}}
	// The FileIO outlives the call that opened the lake, so it must not
	// inherit its cancellation; each operation still takes its own context.
	s.fio = blobfs.New(context.WithoutCancel(ctx), bucket, s.locate)
	return s
}

// locate maps a location under root to its bucket key.
func (s *store) locate(loc string) (blobfs.ObjectLocation, error) {
	key, ok := strings.CutPrefix(loc, s.root+"/")
	if !ok || key == "" {
		return blobfs.ObjectLocation{}, fmt.Errorf("iceberg: location %q is not under %q", loc, s.root)
	}
	return blobfs.NewObjectLocation("sluice", "lake", key), nil
}

func (s *store) fs(context.Context) (icebergio.IO, error) { return s.fio, nil }

// tableKey is the key prefix of a table: <dataset>/<table>.
func tableKey(ident table.Identifier) string { return strings.Join(ident, "/") }

func (s *store) location(ident table.Identifier) string {
	return s.root + "/" + tableKey(ident)
}

func metadataKey(ident table.Identifier, v int) string {
	return fmt.Sprintf("%s/metadata/v%d.metadata.json", tableKey(ident), v)
}

func hintKey(ident table.Identifier) string { return tableKey(ident) + "/metadata/version-hint.text" }

// current returns the table's current metadata version (0: no table) and
// its bucket key.
func (s *store) current(ctx context.Context, ident table.Identifier) (int, error) {
	v := 0
	hint, err := s.bucket.ReadAll(ctx, hintKey(ident))
	switch {
	case err == nil:
		v, err = strconv.Atoi(strings.TrimSpace(string(hint)))
		if err != nil || v < 1 {
			v = 0 // a torn or foreign hint: fall back to listing
		}
	case gcerrors.Code(err) != gcerrors.NotFound:
		return 0, fmt.Errorf("iceberg: read %s: %w", hintKey(ident), err)
	}
	if v == 0 {
		if v, err = s.listVersions(ctx, ident); err != nil {
			return 0, err
		}
		if v == 0 {
			return 0, nil
		}
	}
	// The hint is written after the metadata file: a newer version may
	// exist if a process stopped in between.
	for {
		ok, err := s.bucket.Exists(ctx, metadataKey(ident, v+1))
		if err != nil {
			return 0, fmt.Errorf("iceberg: probe %s: %w", metadataKey(ident, v+1), err)
		}
		if !ok {
			return v, nil
		}
		v++
	}
}

func (s *store) listVersions(ctx context.Context, ident table.Identifier) (int, error) {
	prefix := tableKey(ident) + "/metadata/"
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	best := 0
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return best, nil
		}
		if err != nil {
			return 0, fmt.Errorf("iceberg: list %s: %w", prefix, err)
		}
		if v, ok := metadataVersion(strings.TrimPrefix(obj.Key, prefix)); ok && v > best {
			best = v
		}
	}
}

// metadataVersion parses a metadata file name vN.metadata.json.
func metadataVersion(name string) (int, bool) {
	n, ok := strings.CutPrefix(name, "v")
	if !ok {
		return 0, false
	}
	n, ok = strings.CutSuffix(n, ".metadata.json")
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(n)
	return v, err == nil && v > 0
}

// read returns the table at version v.
func (s *store) read(ctx context.Context, ident table.Identifier, v int) (*table.Table, error) {
	key := metadataKey(ident, v)
	b, err := s.bucket.ReadAll(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("iceberg: read %s: %w", key, err)
	}
	meta, err := table.ParseMetadataBytes(b)
	if err != nil {
		return nil, fmt.Errorf("iceberg: parse %s: %w", key, err)
	}
	return table.New(ident, meta, s.root+"/"+key, s.fs, s), nil
}

// LoadTable implements table.CatalogIO: the table on storage, else the
// fresh table a pending load creates.
func (s *store) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	v, err := s.current(ctx, ident)
	if err != nil {
		return nil, err
	}
	if v > 0 {
		return s.read(ctx, ident, v)
	}
	s.mu.Lock()
	meta, ok := s.fresh[tableKey(ident)]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("iceberg: table %s: %w", tableKey(ident), errNoTable)
	}
	return table.New(ident, meta, "", s.fs, s), nil
}

var errNoTable = errors.New("no such table")

// CommitTable implements table.CatalogIO: it applies the updates to the
// current metadata and writes the next version, create-only.
func (s *store) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	cur, err := s.LoadTable(ctx, ident)
	if err != nil {
		return nil, "", err
	}
	base := cur.Metadata()
	for _, r := range reqs {
		if err := r.Validate(base); err != nil {
			return nil, "", err
		}
	}
	next, err := table.UpdateTableMetadata(base, updates, cur.MetadataLocation())
	if err != nil {
		return nil, "", fmt.Errorf("iceberg: table %s: %w", tableKey(ident), err)
	}
	loc, err := s.write(ctx, ident, next)
	if err != nil {
		return nil, "", err
	}
	return next, loc, nil
}

// write stores meta as the table's next metadata version and points the
// version hint at it.
func (s *store) write(ctx context.Context, ident table.Identifier, meta table.Metadata) (string, error) {
	v, err := s.current(ctx, ident)
	if err != nil {
		return "", err
	}
	v++
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(meta); err != nil {
		return "", fmt.Errorf("iceberg: table %s: encode metadata: %w", tableKey(ident), err)
	}
	key := metadataKey(ident, v)
	err = s.bucket.WriteAll(ctx, key, buf.Bytes(), &blob.WriterOptions{IfNotExist: true, ContentType: "application/json"})
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		// Another writer took this version: iceberg-go retries on
		// ErrCommitFailed after reloading the table.
		return "", fmt.Errorf("iceberg: %s exists: %w", key, table.ErrCommitFailed)
	}
	if err != nil {
		return "", fmt.Errorf("iceberg: write %s: %w", key, err)
	}
	s.mu.Lock()
	delete(s.fresh, tableKey(ident))
	s.mu.Unlock()
	// The hint only speeds up finding the version (current probes past
	// it), as in Iceberg's Hadoop catalog: the commit stands without it.
	_ = s.bucket.WriteAll(ctx, hintKey(ident), []byte(strconv.Itoa(v)), nil)
	return s.root + "/" + key, nil
}
