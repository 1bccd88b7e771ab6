package parquet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	pq "github.com/apache/arrow-go/v18/parquet"
)

// store is where a bucket's files live, addressed by slash-separated keys
// relative to the bucket: a local folder (localStore) or an object store
// (blobStore). The load protocol is the same on both; what differs is
// whether a load stages its files and renames them into place (local: a
// rename is atomic and cheap) or writes them where they belong at once
// (objects: a "rename" is a copy; files of a load whose _dlt_loads file is
// missing are invisible anyway).
type store interface {
	// Name is what errors call key: a local path or a bucket URL. It
	// never holds a credential.
	Name(key string) string
	// Local reports that Rename is atomic and that loads stage their files.
	Local() bool
	// Create starts writing the file at key; it exists once Close returns
	// nil (local: synced to disk; objects: the upload completed). Abort
	// discards it.
	Create(ctx context.Context, key string) (storeWriter, error)
	// Open opens a file for random access (Parquet footers and columns).
	Open(ctx context.Context, key string) (storeFile, error)
	ReadFile(ctx context.Context, key string) ([]byte, error)
	// List returns the names directly under the folder key, with whether
	// each is a folder. A missing folder lists nothing.
	List(ctx context.Context, dir string) ([]storeEntry, error)
	// Remove deletes a file; a missing one is no error.
	Remove(ctx context.Context, key string) error
	// RemoveAll deletes a folder with everything in it.
	RemoveAll(ctx context.Context, dir string) error
	// Rename moves a file (Local stores only).
	Rename(ctx context.Context, from, to string) error
	// Close lets go of the store's connections.
	Close() error
}

type storeEntry struct {
	Name string
	Dir  bool
}

type storeWriter interface {
	io.Writer
	Close() error
	Abort()
}

type storeFile interface {
	pq.ReaderAtSeeker
	io.Reader
	Size() int64
	Close() error
}

// keyJoin joins key parts with slashes.
func keyJoin(parts ...string) string { return path.Join(parts...) }

// localStore is a bucket folder on a local disk.
type localStore struct{ root string }

func (s localStore) path(key string) string { return filepath.Join(s.root, filepath.FromSlash(key)) }
func (s localStore) Name(key string) string { return s.path(key) }
func (s localStore) Local() bool            { return true }
func (s localStore) Close() error           { return nil }

func (s localStore) Create(_ context.Context, key string) (storeWriter, error) {
	p := s.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(p)
	if err != nil {
		return nil, err
	}
	// A buffer that stays in the CPU cache: write(2) copies it into the
	// page cache, and with 1 MiB buffers that copy ran from memory
	// (nested loads: ~4% slower end to end).
	return &localWriter{f: f, bw: bufio.NewWriterSize(f, 128<<10)}, nil
}

type localWriter struct {
	f  *os.File
	bw *bufio.Writer
}

func (w *localWriter) Write(p []byte) (int, error) { return w.bw.Write(p) }

// Close flushes and syncs the file to disk.
func (w *localWriter) Close() error {
	err := w.bw.Flush()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (w *localWriter) Abort() {
	_ = w.f.Close()
	_ = os.Remove(w.f.Name())
}

type localFile struct {
	*os.File
	size int64
}

func (f localFile) Size() int64 { return f.size }

func (s localStore) Open(_ context.Context, key string) (storeFile, error) {
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return localFile{f, st.Size()}, nil
}

func (s localStore) ReadFile(_ context.Context, key string) ([]byte, error) {
	return os.ReadFile(s.path(key))
}

func (s localStore) List(_ context.Context, dir string) ([]storeEntry, error) {
	ents, err := os.ReadDir(s.path(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]storeEntry, len(ents))
	for i, e := range ents {
		out[i] = storeEntry{Name: e.Name(), Dir: e.IsDir()}
	}
	return out, nil
}

func (s localStore) Remove(_ context.Context, key string) error {
	if err := os.Remove(s.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (s localStore) RemoveAll(_ context.Context, dir string) error { return os.RemoveAll(s.path(dir)) }

func (s localStore) Rename(_ context.Context, from, to string) error {
	if err := os.MkdirAll(filepath.Dir(s.path(to)), 0o755); err != nil {
		return err
	}
	return os.Rename(s.path(from), s.path(to))
}

// link hard-links (or copies) a local file to key: imports of Parquet
// files into a local bucket share the bytes.
func (s localStore) link(src, key string) error {
	p := s.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if os.Link(src, p) == nil {
		return nil
	}
	return copyTo(context.Background(), s, src, key)
}

// copyTo streams a local file into the store at key.
func copyTo(ctx context.Context, s store, src, key string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	w, err := s.Create(ctx, key)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, in); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// writeFile writes a small file at key.
func writeFile(ctx context.Context, s store, key string, b []byte) error {
	w, err := s.Create(ctx, key)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// storeErr names the file an operation failed on.
func storeErr(s store, op, key string, err error) error {
	return fmt.Errorf("parquet: %s %s: %w", op, s.Name(key), err)
}

// trimExt drops a file name's extension.
func trimExt(name string) string { return strings.TrimSuffix(name, path.Ext(name)) }
