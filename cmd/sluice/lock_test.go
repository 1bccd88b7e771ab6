package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

const holdDBEnv = "SLUICE_TEST_HOLD_DB"

// TestHelperHoldLock runs in a child process (the test binary re-executed):
// it opens the DuckDB file named by holdDBEnv, writes rows in an open
// transaction, prints "ready", and commits them when stdin closes.
func TestHelperHoldLock(t *testing.T) {
	path := os.Getenv(holdDBEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE SCHEMA IF NOT EXISTS holder",
		"CREATE TABLE holder.rows AS SELECT range AS id FROM range(1000)",
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	os.Stdout.WriteString("ready\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestLockedDuckDB: while another process holds the DuckDB file (a sluice
// run in the middle of its load, or another program writing to it), `sluice
// run` fails at once with one line naming the file, exits 1, and the file
// is intact: the first writer's data is complete once it finishes.
func TestLockedDuckDB(t *testing.T) {
	sluiceBinary(t)
	t.Run("held by a running sluice", func(t *testing.T) {
		api := newCrashAPI(t)
		e := newCrashEnv(t, api, false)
		if r := runSluice(t, e.dir, e.env, "run", e.spec); r.code != 0 {
			t.Fatalf("first run: %s", r.stderr)
		}
		reached, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		api.setGate(func(r *http.Request) {
			once.Do(func() { close(reached) })
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		first := startSluice(t, e.dir, e.env, "run", e.spec)
		select {
		case <-reached:
		case <-first.done:
			t.Fatalf("first run ended early: %s", first.stderr.String())
		case <-time.After(20 * time.Second):
			t.Fatal("first run never reached the held page")
		}
		// A second run of the same pipeline fails on the pipeline's run
		// lock; one with another working dir (no local state) on the
		// DuckDB file's lock.
		r := runSluice(t, e.dir, e.env, "run", e.spec)
		checkOneLine(t, r, "the pipeline is already running", fmt.Sprintf(`"crash" in process %d`, first.cmd.Process.Pid))
		r = runSluice(t, e.dir, []string{"SLUICE_PIPELINES_DIR=" + t.TempDir()}, "run", e.spec)
		checkLockError(t, r, e.db)
		close(release)
		if code := first.wait(); code != 0 {
			t.Fatalf("first run: exit %d: %s", code, first.stderr.String())
		}
		s, ok := e.check(t, "after the first run finished")
		if !ok || s.items != crashItems || int64(len(s.eventIDs)) != api.visible.Load() || len(s.loads) != 2 {
			t.Errorf("first writer's data incomplete: %d loads, %d items, %d events (want %d)", len(s.loads), s.items, len(s.eventIDs), api.visible.Load())
		}
		api.setGate(nil)
		if r := runSluice(t, e.dir, e.env, "run", e.spec); r.code != 0 {
			t.Fatalf("run after the lock was released: %s", r.stderr)
		}
		if s, _ := e.check(t, "last run"); len(s.loads) != 3 {
			t.Errorf("%d loads, want 3", len(s.loads))
		}
	})
	t.Run("held by another program", func(t *testing.T) {
		api := newCrashAPI(t)
		e := newCrashEnv(t, api, false)
		if r := runSluice(t, e.dir, e.env, "run", e.spec); r.code != 0 {
			t.Fatalf("first run: %s", r.stderr)
		}
		helper := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
		helper.Env = append(os.Environ(), holdDBEnv+"="+e.db)
		stdin, err := helper.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := helper.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := helper.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || line != "ready\n" {
			stdin.Close()
			_ = helper.Wait()
			t.Fatalf("helper: %q, %v", line, err)
		}
		r := runSluice(t, e.dir, e.env, "run", e.spec)
		stdin.Close()
		if err := helper.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
		checkLockError(t, r, e.db)
		if s, ok := e.check(t, "after the lock"); !ok || len(s.loads) != 1 || s.items != crashItems {
			t.Errorf("sluice's data changed: %+v", s)
		}
		q := e.open(t)
		defer q.close()
		if got := mustQuery(t, q, "SELECT count(*), count(DISTINCT id) FROM holder.rows")[0]; got[0] != "1000" || got[1] != "1000" {
			t.Errorf("the holder's committed rows: %v, want 1000", got)
		}
	})
}

func checkLockError(t *testing.T, r result, db string) {
	t.Helper()
	checkOneLine(t, r, db, "locked by another process")
}

// checkOneLine checks a refused run: exit 1, nothing on stdout, and one
// line on stderr holding every one of want.
func checkOneLine(t *testing.T, r result, want ...string) {
	t.Helper()
	line := stderrLine(r)
	t.Logf("refused: exit %d: %s", r.code, line)
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(line, "sluice: ") {
		t.Errorf("want one line on stderr, got %q", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("error does not say %q: %q", w, line)
		}
	}
	if r.stdout != "" {
		t.Errorf("stdout: %q", r.stdout)
	}
}
