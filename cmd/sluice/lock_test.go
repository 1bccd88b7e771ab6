package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/pipeinfo"
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

// TestReadDuringRun: a run holds the DuckDB file only while it commits.
// While it extracts (a page of the API held), another process opens the
// file read-only and finds the last completed load, and `sluice pipeline
// NAME info` works; a second run of the pipeline is refused on its run lock.
func TestReadDuringRun(t *testing.T) {
	sluiceBinary(t)
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
	run := startSluice(t, e.dir, e.env, "run", e.spec)
	select {
	case <-reached:
	case <-run.done:
		t.Fatalf("the run ended early: %s", run.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("the run never reached the held page")
	}
	s, ok := e.check(t, "read-only, while the run extracts")
	if !ok || len(s.loads) != 1 || s.items != crashItems {
		t.Errorf("read-only open mid-run: %d loads, %d items; want the first run's 1 load, %d items", len(s.loads), s.items, crashItems)
	}
	r := runSluice(t, e.dir, e.env, "pipeline", "crash", "info")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("info while the run extracts: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"last loads: 1 of 1", fmt.Sprintf("items %d\n", crashItems)} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("info while the run extracts lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runSluice(t, e.dir, e.env, "run", e.spec)
	checkOneLine(t, r, "the pipeline is already running", fmt.Sprintf(`"crash" in process %d`, run.cmd.Process.Pid))
	close(release)
	if code := run.wait(); code != 0 {
		t.Fatalf("the run: exit %d: %s", code, run.stderr.String())
	}
	if s, ok := e.check(t, "after the run"); !ok || len(s.loads) != 2 || int64(len(s.eventIDs)) != api.visible.Load() {
		t.Errorf("after the run: %d loads, %d events (want 2 loads, %d events)", len(s.loads), len(s.eventIDs), api.visible.Load())
	}
}

// holdDB starts TestHelperHoldLock on db: another program holding the file
// in an open transaction until the returned func is called.
func holdDB(t *testing.T, db string) (pid int, release func()) {
	t.Helper()
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	helper.Env = append(os.Environ(), holdDBEnv+"="+db)
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
	var once sync.Once
	release = func() {
		once.Do(func() {
			stdin.Close()
			if err := helper.Wait(); err != nil {
				t.Errorf("helper: %v", err)
			}
		})
	}
	t.Cleanup(release)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	return helper.Process.Pid, release
}

// TestInfoWhileLocked: while another process holds the DuckDB file, `sluice
// pipeline NAME info` says so in one line on stderr and prints the last
// load its working folder records, with the rows it wrote per table.
func TestInfoWhileLocked(t *testing.T) {
	sluiceBinary(t)
	api := newCrashAPI(t)
	e := newCrashEnv(t, api, false)
	if r := runSluice(t, e.dir, e.env, "run", e.spec); r.code != 0 {
		t.Fatalf("first run: %s", r.stderr)
	}
	info, err := pipeinfo.Read(e.pipelines, "crash")
	if err != nil {
		t.Fatal(err)
	}
	pid, release := holdDB(t, e.db)
	r := runSluice(t, e.dir, e.env, "pipeline", "crash", "info")
	release()
	t.Logf("info while locked: exit %d\n%s%s", r.code, r.stderr, r.stdout)
	if r.code != 0 {
		t.Fatalf("info while locked: exit %d: %s", r.code, r.stderr)
	}
	if note := stderrLine(r); strings.Count(r.stderr, "\n") != 1 || !strings.Contains(note, "locked by another process") ||
		!strings.Contains(note, fmt.Sprintf("PID %d", pid)) || !strings.Contains(note, filepath.Join(e.pipelines, "crash")) {
		t.Errorf("want one line naming the holder's PID %d and the working folder, got %q", pid, r.stderr)
	}
	for _, want := range []string{
		"location: " + e.db + "\n",
		"  load " + info.LastLoadID + " LOADED",
		fmt.Sprintf("items %d\n", crashItems),
		fmt.Sprintf("items__tags %d\n", 2*crashItems),
		fmt.Sprintf("events %d\n", api.visible.Load()),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("info while locked lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestRunWaitsForLock: a run that finds the DuckDB file held by another
// program waits for it, says so, and loads once the program lets go; the
// program's committed rows stay intact.
func TestRunWaitsForLock(t *testing.T) {
	sluiceBinary(t)
	api := newCrashAPI(t)
	e := newCrashEnv(t, api, false)
	if r := runSluice(t, e.dir, e.env, "run", e.spec); r.code != 0 {
		t.Fatalf("first run: %s", r.stderr)
	}
	_, release := holdDB(t, e.db)
	waiting := &signalWriter{want: "waiting for another process", seen: make(chan struct{})}
	cmd := exec.Command(sluiceBinary(t), "run", e.spec)
	cmd.Dir, cmd.Env, cmd.Stderr = e.dir, append(os.Environ(), e.env...), waiting
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waiting.seen:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the run never said it waits: %s", waiting.String())
	}
	release()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the run after the holder let go: %v: %s", err, waiting.String())
	}
	if s, ok := e.check(t, "after the wait"); !ok || len(s.loads) != 2 {
		t.Errorf("after the wait: %d loads, want 2", len(s.loads))
	}
	q := e.open(t)
	defer q.close()
	if got := mustQuery(t, q, "SELECT count(*), count(DISTINCT id) FROM holder.rows")[0]; got[0] != "1000" || got[1] != "1000" {
		t.Errorf("the holder's committed rows: %v, want 1000", got)
	}
}

// signalWriter keeps what is written and closes seen once it holds want.
type signalWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.buf.String(), w.want)
	w.buf.Write(p)
	if !had && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
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
