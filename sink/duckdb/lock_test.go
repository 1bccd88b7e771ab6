package duckdb_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/sinktest"
)

const (
	holdEnv = "SLUICE_DUCKDB_HOLD"
	readEnv = "SLUICE_DUCKDB_READ"
)

// TestHoldLockHelper runs in a child process: it opens the file named by
// holdEnv for a load and holds it until stdin closes.
func TestHoldLockHelper(t *testing.T) {
	path := os.Getenv(holdEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	l, err := duckdb.New(path, duckdb.WithLoadDuringExtract()).Begin(context.Background(), sink.LoadRequest{Dataset: "ds", LoadID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Rollback()
	os.Stdout.WriteString("ready\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// TestReadHelper runs in a child process: it opens the file named by
// readEnv read-only, as a BI tool would, and prints the rows of table
// ds.c, or the error.
func TestReadHelper(t *testing.T) {
	path := os.Getenv(readEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err == nil {
		defer db.Close()
		var n int64
		if err = db.QueryRow("SELECT count(*) FROM ds.c").Scan(&n); err == nil {
			fmt.Printf("rows %d\n", n)
			return
		}
	}
	fmt.Printf("error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
}

// holder is a child process holding a DuckDB file's lock.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func hold(t *testing.T, path string) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldLockHelper$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin}
	t.Cleanup(h.release)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	return h
}

// release ends the holder and waits until it is gone.
func (h *holder) release() {
	if h.stdin != nil {
		h.stdin.Close()
		h.stdin = nil
		_ = h.cmd.Wait()
	}
}

// readOther reads ds.c from another process and returns its one line.
func readOther(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReadHelper$")
	cmd.Env = append(os.Environ(), readEnv+"="+path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("read helper: %v: %s", err, out)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return line
}

var countTable = &arrowbuf.Table{Name: "c", Columns: []*arrowbuf.Column{sinktest.Col("id", arrowbuf.TypeBigint)}}

// TestLockedFile: while another process holds the file, a load stages its
// rows and fails only at Commit (WithLockWait(0)) or waits at Commit for
// the file; with WithLoadDuringExtract it fails at Begin.
func TestLockedFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process")
	}
	path := filepath.Join(t.TempDir(), "locked.duckdb")
	sinktest.Load(t, duckdb.New(path), "ds", "0", sink.Commit{}, sinktest.Batch(t, countTable, []any{0}))
	h := hold(t, path)
	ctx := context.Background()
	isLocked := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, duckdb.ErrLocked) || !strings.Contains(err.Error(), path) {
			t.Fatalf("%s on a locked file = %v; want ErrLocked naming %s", what, err, path)
		}
	}
	t.Run("load during extract", func(t *testing.T) {
		_, err := duckdb.New(path, duckdb.WithLoadDuringExtract(), duckdb.WithLockWait(0)).Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "1"})
		isLocked("Begin", err)
	})
	t.Run("staged, no wait", func(t *testing.T) {
		l, err := duckdb.New(path, duckdb.WithLockWait(0)).Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "2"})
		if err != nil {
			t.Fatalf("Begin needs no lock: %v", err)
		}
		defer l.Rollback()
		if err := l.Write(ctx, sinktest.Batch(t, countTable, []any{2})); err != nil {
			t.Fatalf("Write needs no lock: %v", err)
		}
		isLocked("Commit", l.Commit(ctx, sink.Commit{}))
	})
	t.Run("staged, waits", func(t *testing.T) {
		d := duckdb.New(path, duckdb.WithLockWait(time.Hour))
		l, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "3"})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Rollback()
		if err := l.Write(ctx, sinktest.Batch(t, countTable, []any{3})); err != nil {
			t.Fatal(err)
		}
		waited := false
		defer duckdb.SetLockWaitHook(func() { waited = true; h.release() })()
		if err := l.Commit(ctx, sink.Commit{}); err != nil {
			t.Fatalf("Commit after the holder let go: %v", err)
		}
		if !waited {
			t.Error("Commit did not wait for the lock")
		}
		if got := rows(t, d, "ds", "SELECT id FROM c ORDER BY id"); !reflect.DeepEqual(got, [][]any{{int64(0)}, {int64(3)}}) {
			t.Errorf("rows %v, want the first load's and the waiting one's", got)
		}
	})
}

// TestReadWhileExtracting: while a load stages its rows, another process
// opens the file read-only and sees the last committed load; with
// WithLoadDuringExtract the load holds the file and the reader is refused.
func TestReadWhileExtracting(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process")
	}
	for _, tc := range []struct {
		name   string
		opts   []duckdb.Option
		during string // what the other process reads mid-load
	}{
		{"default", nil, "rows 1"},
		{"load during extract", []duckdb.Option{duckdb.WithLoadDuringExtract()}, "error "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "read.duckdb")
			d := duckdb.New(path, tc.opts...)
			sinktest.Load(t, d, "ds", "1", sink.Commit{}, sinktest.Batch(t, countTable, []any{1}))
			ctx := context.Background()
			l, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "2"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Rollback()
			if err := l.Write(ctx, sinktest.Batch(t, countTable, []any{2}, []any{3})); err != nil {
				t.Fatal(err)
			}
			got := readOther(t, path)
			if !strings.HasPrefix(got, tc.during) {
				t.Errorf("another process reading mid-load: %q, want %q", got, tc.during)
			}
			if tc.during == "error " && !strings.Contains(got, "lock") {
				t.Errorf("reader refused for another reason: %q", got)
			}
			if err := l.Commit(ctx, sink.Commit{}); err != nil {
				t.Fatal(err)
			}
			if got := readOther(t, path); got != "rows 3" {
				t.Errorf("after the commit: %q, want rows 3", got)
			}
		})
	}
}

const createEnv = "SLUICE_DUCKDB_CREATE"

// TestKilledCreateHelper runs in a child process: its load into a new file
// is killed when the file is complete but not yet in place.
func TestKilledCreateHelper(t *testing.T) {
	path := os.Getenv(createEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	duckdb.SetCreateHook(func() {
		p, _ := os.FindProcess(os.Getpid())
		_ = p.Kill()
		select {}
	})
	sinktest.Load(t, duckdb.New(path), "ds", "1", sink.Commit{}, sinktest.Batch(t, countTable, []any{1}))
}

// TestKilledCreate: a load killed while it creates the database file
// leaves no file, not one DuckDB cannot open, and the next load works.
func TestKilledCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process")
	}
	path := filepath.Join(t.TempDir(), "new.duckdb")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledCreateHelper$")
	cmd.Env = append(os.Environ(), createEnv+"="+path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Exited() {
		t.Fatalf("helper was not killed: %v: %s", err, out)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a killed creation left %s (%v)", path, err)
	}
	d := duckdb.New(path)
	sinktest.Load(t, d, "ds", "2", sink.Commit{}, sinktest.Batch(t, countTable, []any{2}))
	if got := rows(t, d, "ds", "SELECT id FROM c"); !reflect.DeepEqual(got, [][]any{{int64(2)}}) {
		t.Errorf("rows %v", got)
	}
	if got := stagingEntries(t, path); got != nil {
		t.Errorf("staging left: %v", got)
	}
}
