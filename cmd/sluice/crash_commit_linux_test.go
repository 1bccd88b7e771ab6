package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sync/errgroup"
)

// commitPoint is a moment inside a run's commit (or right after it), told
// by file events: the test kills the run when it has seen its events in
// order. The kill lands a little later (at once, or after a random delay
// of up to killJitter), so trials spread over the step that follows.
type commitPoint struct {
	name   string
	events []fileEvent
}

// fileEvent is an inotify event in a folder naming a file.
type fileEvent struct {
	dir  func(e *crashEnv) string
	mask uint32
	file func(name string) bool
}

// killJitter is the longest delay between a commit point's event and the
// kill.
const killJitter = 3 * time.Millisecond

func named(n string) func(string) bool { return func(s string) bool { return s == n } }
func prefixed(p string) func(string) bool {
	return func(s string) bool { return strings.HasPrefix(s, p) }
}
func suffixed(x string) func(string) bool {
	return func(s string) bool { return strings.HasSuffix(s, x) }
}

func dbDir(e *crashEnv) string   { return e.dir }
func workDir(e *crashEnv) string { return filepath.Join(e.pipelines, "crash") }
func dataset(sub string) func(*crashEnv) string {
	return func(e *crashEnv) string { return filepath.Join(e.bucket, crashDataset, sub) }
}

// duckdbPoints walk a DuckDB load's commit: the file opened for it (a
// load stages its rows until Commit, which opens the file and inserts
// them in its transaction), the WAL written by COMMIT, the file written by
// the checkpoint when the file is closed, the local state saved.
var duckdbPoints = []commitPoint{
	{"file opened to commit", []fileEvent{{dbDir, syscall.IN_OPEN, named("crash.duckdb")}}},
	{"WAL written", []fileEvent{{dbDir, syscall.IN_MODIFY, named("crash.duckdb.wal")}}},
	{"checkpoint", []fileEvent{{dbDir, syscall.IN_MODIFY, named("crash.duckdb.wal")}, {dbDir, syscall.IN_MODIFY, named("crash.duckdb")}}},
	{"local state saved", []fileEvent{{workDir, syscall.IN_CREATE, suffixed("")}}},
}

// parquetPoints walk the Parquet commit's steps (sink/parquet's Commit):
// data files renamed into their tables, the supersede marker of the
// merge, the state file renamed, the _dlt_loads file renamed (the commit
// point), the superseded files deleted, the local state saved.
var parquetPoints = []commitPoint{
	{"data files in place", []fileEvent{{dataset("items"), syscall.IN_MOVED_TO, suffixed(".parquet")}}},
	{"supersede marker", []fileEvent{{dataset(".sluice-supersede"), syscall.IN_CREATE, suffixed(".json")}}},
	{"state in place", []fileEvent{{dataset("_dlt_pipeline_state"), syscall.IN_MOVED_TO, suffixed(".jsonl")}}},
	{"commit point", []fileEvent{{dataset("_dlt_loads"), syscall.IN_MOVED_TO, suffixed(".jsonl")}}},
	{"superseded deleted", []fileEvent{{dataset("_dlt_loads"), syscall.IN_MOVED_TO, suffixed(".jsonl")}, {dataset("items"), syscall.IN_DELETE, suffixed(".parquet")}}},
	{"local state saved", []fileEvent{{workDir, syscall.IN_CREATE, suffixed("")}}},
}

// pointWatch is an inotify watch of a commit point's folders.
type pointWatch struct {
	f   *os.File
	wds []int32 // watch descriptor of each event
}

func watchPoint(e *crashEnv, pt commitPoint) (*pointWatch, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so reads go through the poller and Close ends them.
	w := &pointWatch{f: os.NewFile(uintptr(fd), "inotify")}
	masks := map[string]uint32{}
	for _, ev := range pt.events {
		masks[ev.dir(e)] |= ev.mask
	}
	wd := map[string]int32{}
	for dir, mask := range masks {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			w.close()
			return nil, err
		}
		n, err := syscall.InotifyAddWatch(fd, dir, mask)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("watch %s: %w", dir, err)
		}
		wd[dir] = int32(n)
	}
	for _, ev := range pt.events {
		w.wds = append(w.wds, wd[ev.dir(e)])
	}
	return w, nil
}

// wait returns true once it has seen the point's events in order, false
// when the watch is closed first.
func (w *pointWatch) wait(pt commitPoint) bool {
	buf := make([]byte, 64<<10)
	next := 0
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return false
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := string(bytes.TrimRight(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+int(ev.Len)], "\x00"))
			off += syscall.SizeofInotifyEvent + int(ev.Len)
			want := pt.events[next]
			if ev.Wd == w.wds[next] && ev.Mask&want.mask != 0 && want.file(name) {
				if next++; next == len(pt.events) {
					return true
				}
			}
		}
	}
}

func (w *pointWatch) close() { w.f.Close() }

// TestKillInCommit kills `sluice run` at points inside its commit, told by
// the file events of the commit's steps, for the DuckDB and the Parquet
// destination. After every kill the destination holds whole committed
// loads only, with a cursor that matches them (crashEnv.check), and a
// final run loads every key exactly once. SLUICE_KILL_ROUNDS multiplies
// the trials, SLUICE_KILL_BUSY keeps CPUs busy, SLUICE_KILL_PAGE_DELAY
// slows the API's pages, for a long run by hand.
func TestKillInCommit(t *testing.T) {
	sluiceBinary(t)
	busyCPUs(t)
	rng := rand.New(rand.NewPCG(7, 0x5eed))
	for _, tc := range []struct {
		name    string
		parquet bool
		points  []commitPoint
	}{{"duckdb", false, duckdbPoints}, {"parquet", true, parquetPoints}} {
		t.Run(tc.name, func(t *testing.T) {
			api := newCrashAPI(t)
			e := newCrashEnv(t, api, tc.parquet)
			// Two whole runs first: the folders to watch exist, and the
			// merge has files to rewrite.
			for i := range 2 {
				if r := runSluice(t, e.dir, e.env, "run", e.spec); r.code != 0 {
					t.Fatalf("run %d: exit %d: %s", i+1, r.code, r.stderr)
				}
			}
			prev, ok := e.check(t, "before the kills")
			if !ok {
				t.FailNow()
			}
			var tally killTally
			per := map[string]killTally{}
			reached, sent := map[string]int{}, map[string]int{}
			for round := range 2 * killRounds() {
				for _, pt := range tc.points {
					w, err := watchPoint(e, pt)
					if err != nil {
						t.Fatal(err)
					}
					delay := time.Duration(0)
					if round%2 == 1 {
						delay = time.Duration(rng.Int64N(int64(killJitter)))
					}
					c := startSluice(t, e.dir, e.env, "run", e.spec)
					var g errgroup.Group
					g.Go(func() error {
						if w.wait(pt) {
							reached[pt.name]++
							time.Sleep(delay)
							if c.cmd.Process.Signal(syscall.SIGKILL) == nil {
								sent[pt.name]++
							}
						}
						return nil
					})
					<-c.done
					w.close()
					_ = g.Wait()
					var one killTally
					prev, _ = e.judge(t, fmt.Sprintf("kill at %q (+%v), round %d", pt.name, delay, round+1), c, prev, &one)
					tally.plus(one)
					k := per[pt.name]
					k.plus(one)
					per[pt.name] = k
				}
			}
			r := runSluice(t, e.dir, e.env, "run", e.spec)
			if r.code != 0 {
				t.Fatalf("final run: exit %d: %s", r.code, r.stderr)
			}
			s, _ := e.check(t, "final run")
			if int64(len(s.eventIDs)) != api.visible.Load() || s.items != crashItems {
				t.Errorf("final: %d events, %d items; want %d and %d, each exactly once", len(s.eventIDs), s.items, api.visible.Load(), crashItems)
			}
			t.Logf("%s commit kills: %s", tc.name, tally)
			for _, pt := range tc.points {
				k := per[pt.name]
				t.Logf("  at %-22q reached %d times, %d kills sent: %d before the commit, %d after it, %d runs ended first; exact %d/%d",
					pt.name, reached[pt.name], sent[pt.name], k.midRun, k.afterCommit, k.finished, k.exact, k.tried)
				if reached[pt.name] == 0 {
					t.Errorf("no run reached %q: the point's event never came", pt.name)
				}
			}
		})
	}
}
