package main

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestInterruptChild sends SIGINT or SIGTERM to a `sluice run` child while
// it is in the middle of a load (events and some items extracted and
// written, the next items page held back): it must exit 130 with the interrupted message,
// leave the destination as the previous load left it, and the next run
// must load everything exactly once.
func TestInterruptChild(t *testing.T) {
	sluiceBinary(t)
	for _, tc := range []struct {
		name    string
		sig     syscall.Signal
		parquet bool
	}{
		{"SIGINT duckdb", syscall.SIGINT, false},
		{"SIGTERM duckdb", syscall.SIGTERM, false},
		{"SIGTERM parquet", syscall.SIGTERM, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newCrashAPI(t)
			e := newCrashEnv(t, api, tc.parquet)
			if r := runSluice(t, e.dir, e.env, "run", e.spec); r.code != 0 {
				t.Fatalf("first run: exit %d: %s", r.code, r.stderr)
			}
			before, _ := e.check(t, "first run")

			reached := make(chan struct{})
			var once sync.Once
			api.setGate(func(r *http.Request) {
				once.Do(func() { close(reached) })
				<-r.Context().Done()
			})
			c := startSluice(t, e.dir, e.env, "run", e.spec)
			select {
			case <-reached:
			case <-c.done:
				t.Fatalf("run ended before the gate: %s", c.stderr.String())
			case <-time.After(20 * time.Second):
				t.Fatal("the run never reached the held page")
			}
			// Let the rows extracted so far reach the destination's
			// transaction.
			time.Sleep(50 * time.Millisecond)
			if err := c.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			code := c.wait()
			if code != exitInterrupted {
				t.Errorf("exit %d, want %d; stderr %q", code, exitInterrupted, c.stderr.String())
			}
			// The only line besides the merge-on-Parquet warning (the spec
			// merges) says what happened.
			stderr := c.stderr.String()
			if i := strings.Index(stderr, "\n"); strings.Contains(stderr[:max(i, 0)], "merge is not supported by the parquet destination") {
				stderr = stderr[i+1:]
			}
			if want := "sluice: " + errInterrupted.Error() + "\n"; stderr != want {
				t.Errorf("stderr %q, want %q", c.stderr.String(), want)
			}
			if c.stdout.Len() != 0 {
				t.Errorf("stdout %q", c.stdout.String())
			}
			after, _ := e.check(t, "after "+tc.sig.String())
			if !slices.Equal(after.loads, before.loads) || after.items != before.items ||
				!slices.Equal(after.eventIDs, before.eventIDs) || after.stateValue != before.stateValue {
				t.Errorf("the interrupted run changed the destination: before %+v, after %+v", before, after)
			}

			api.setGate(nil)
			r := runSluice(t, e.dir, e.env, "run", e.spec)
			if r.code != 0 {
				t.Fatalf("run after the interrupt: exit %d: %s", r.code, r.stderr)
			}
			s, _ := e.check(t, "run after the interrupt")
			if len(s.loads) != len(before.loads)+1 {
				t.Errorf("%d loads, want %d", len(s.loads), len(before.loads)+1)
			}
			if int64(len(s.eventIDs)) != api.visible.Load() {
				t.Errorf("%d events, want %d exactly once", len(s.eventIDs), api.visible.Load())
			}
			t.Logf("%s: exit %d, destination unchanged, next run loaded exactly once", tc.name, code)
		})
	}
}
