package duckdb

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// stageDir is a load's folder of staged Parquet files and imported files,
// <dir of the database>/.<file name>.sluice-staging/<load id>.<random>/.
// Beside it the load holds <load id>.<random>.lock locked while it runs.
// A load stages without holding the database, so loads of other processes
// run beside it; the lock tells them a live folder from one a killed
// process left, which they remove.
type stageDir struct {
	path string
	lock *os.File
}

// stagingRoot is the folder of the stage folders of the database at dbPath.
func stagingRoot(dbPath string) string {
	return filepath.Join(filepath.Dir(dbPath), "."+filepath.Base(dbPath)+".sluice-staging")
}

// newStageDir removes the stage folders killed processes left and creates
// the load's own.
func newStageDir(dbPath, loadID string) (*stageDir, error) {
	root := stagingRoot(dbPath)
	cleanStages(root)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", "_", `\`, "_").Replace(loadID) + "." + hex.EncodeToString(b[:])
	for try := 0; ; try++ {
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, fmt.Errorf("stage: %w", err)
		}
		lf, err := os.OpenFile(filepath.Join(root, name+".lock"), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
		if errors.Is(err, fs.ErrNotExist) && try < 3 {
			continue // another load removed the empty root meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("stage: %w", err)
		}
		s := &stageDir{path: filepath.Join(root, name), lock: lf}
		if err := lockStage(lf); err != nil {
			s.remove()
			return nil, fmt.Errorf("stage: lock %s: %w", lf.Name(), err)
		}
		if err := os.Mkdir(s.path, 0o755); err != nil {
			s.remove()
			return nil, fmt.Errorf("stage: %w", err)
		}
		return s, nil
	}
}

// remove deletes the folder, then its lock, then the root if it is empty.
func (s *stageDir) remove() {
	_ = os.RemoveAll(s.path)
	_ = os.Remove(s.lock.Name())
	_ = s.lock.Close()
	_ = os.Remove(filepath.Dir(s.path))
}

// cleanStages removes the stage folders under root whose lock no process
// holds: their loads were killed. A folder without a lock file is being
// removed by its load or was left by one killed while removing it.
func cleanStages(root string) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(root, e.Name())
		if base, ok := strings.CutSuffix(e.Name(), ".lock"); ok {
			lf, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				continue
			}
			if tryLockStray(lf) {
				_ = os.RemoveAll(filepath.Join(root, base))
				_ = os.Remove(p)
			}
			_ = lf.Close()
			continue
		}
		if e.IsDir() {
			if _, err := os.Stat(p + ".lock"); errors.Is(err, fs.ErrNotExist) {
				_ = os.RemoveAll(p)
			}
		}
	}
}

// keepFile puts a file to import into the stage folder, so that it is
// still there at Commit: a hard link where possible (no copy, as dlt
// imports files), a copy otherwise. A path that is no regular file (a
// glob, a URL) is read as it is at Commit.
func (s *stageDir) keepFile(path string) (string, error) {
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return path, nil
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	// The file's own name stays last: DuckDB's errors name it.
	dst := filepath.Join(s.path, "import-"+hex.EncodeToString(b[:])+"-"+filepath.Base(path))
	if err := os.Link(path, dst); err == nil {
		return dst, nil
	}
	in, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	return dst, out.Close()
}

// createFile creates the database file at path, if missing, whole: DuckDB
// creates a file and then writes its headers, and a process killed between
// the two leaves a file DuckDB never opens again ("not a valid DuckDB
// database file"), failing every later run. The file is made in the stage
// folder dir and linked into place.
func createFile(path, dir string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "new.duckdb")
	c, err := duckdb.NewConnector(tmp, nil)
	if err != nil {
		return err
	}
	if err := c.Close(); err != nil {
		return err
	}
	if createHook != nil {
		createHook()
	}
	err = os.Link(tmp, path)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		// No hard links here: a rename, unless another process made the
		// file meanwhile.
		if _, serr := os.Stat(path); errors.Is(serr, fs.ErrNotExist) {
			err = os.Rename(tmp, path)
		} else {
			err = nil
		}
	}
	if errors.Is(err, fs.ErrExist) {
		err = nil // another process made it meanwhile
	}
	_ = os.Remove(tmp)
	return err
}

// createHook, when set (tests), runs when a new database file is complete
// but not yet in place.
var createHook func()
