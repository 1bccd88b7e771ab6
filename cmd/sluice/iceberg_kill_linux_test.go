package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// icebergPoints walk the commit of a load into Iceberg tables (sink/parquet
// commitIceberg): each table's new metadata version (its snapshot) in
// turn, then the _dlt_loads file (the commit point), then the local state.
// A kill between the first snapshot and the commit point leaves snapshots
// of a load that did not commit: readers skip them and the next run's
// Begin takes them back.
var icebergPoints = []commitPoint{
	{"events snapshot", []fileEvent{{dataset("events/metadata"), syscall.IN_MOVED_TO, suffixed(".metadata.json")}}},
	{"items snapshot", []fileEvent{{dataset("items/metadata"), syscall.IN_MOVED_TO, suffixed(".metadata.json")}}},
	{"items__tags snapshot", []fileEvent{{dataset("items__tags/metadata"), syscall.IN_MOVED_TO, suffixed(".metadata.json")}}},
	{"commit point", []fileEvent{{dataset("_dlt_loads"), syscall.IN_MOVED_TO, suffixed(".jsonl")}}},
	{"local state saved", []fileEvent{{workDir, syscall.IN_CREATE, suffixed("")}}},
}

// TestIcebergKillInCommit kills `sluice run` into Iceberg tables (the
// destination's table_format) with SIGKILL at each table's snapshot and at
// the commit point, as TestKillInCommit does for plain Parquet: after each
// kill the dataset shows whole committed loads only (crashEnv.check), and
// a final run loads every key exactly once.
func TestIcebergKillInCommit(t *testing.T) {
	sluiceBinary(t)
	busyCPUs(t)
	for _, tc := range []struct {
		name     string
		resource bool
	}{{"destination default", false}, {"resource table_format", true}} {
		t.Run(tc.name, func(t *testing.T) {
			points := icebergPoints
			if tc.resource {
				// events is a plain Parquet table: its files are renamed
				// into place.
				points = slices.Clone(points)
				points[0] = parquetPoints[0]
				points[0].events = []fileEvent{{dataset("events"), syscall.IN_MOVED_TO, suffixed(".parquet")}}
				points[0].name = "events files in place"
			}
			killIcebergCommit(t, tc.resource, points)
		})
	}
}

func killIcebergCommit(t *testing.T, resource bool, points []commitPoint) {
	rng := rand.New(rand.NewPCG(9, 0x1ce))
	api := newCrashAPI(t)
	e := icebergEnv(t, api, resource)
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
	reached := map[string]int{}
	for round := range 2 * killRounds() {
		for _, pt := range points {
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
					_ = c.cmd.Process.Signal(syscall.SIGKILL)
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
	t.Logf("iceberg commit kills: %s", tally)
	for _, pt := range points {
		k := per[pt.name]
		t.Logf("  at %-22q reached %d times: %d before the commit, %d after it, %d runs ended first; exact %d/%d",
			pt.name, reached[pt.name], k.midRun, k.afterCommit, k.finished, k.exact, k.tried)
		if reached[pt.name] == 0 {
			t.Errorf("no run reached %q: the point's event never came", pt.name)
		}
	}
}
