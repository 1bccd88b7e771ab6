package parquet_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// The kill test's child process: this test binary, told by this variable
// where to load (endpoint, key, secret and bucket URL, space-separated;
// then optionally the table format and a load position at whose first
// Iceberg table commit the child kills itself).
const killChildEnv = "SLUICE_S3KILL_CHILD"

const (
	killLoads   = 6
	killRows    = 60000 // per load, ~6 MB of Parquet: multipart uploads
	killDataset = "ds"
)

// TestKillDuringS3Load kills a process loading into versitygw with SIGKILL
// at random moments (while files stream up, during commits), checks after
// each kill that the dataset shows whole loads only, with the pipeline
// state that matches them, and then lets a run finish: every row is there
// exactly once, and no file of a killed load is left.
func TestKillDuringS3Load(t *testing.T) {
	if cfg := os.Getenv(killChildEnv); cfg != "" {
		if err := killChild(cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	s := sinktest.Versitygw(t)
	s.CreateBucket(t, "kill")
	run := func(prefix string, kill time.Duration) (killed bool) {
		return runLoader(t, kill, s.Endpoint, s.AccessKey, s.SecretKey, "s3://kill/"+prefix)
	}
	// A full run, timed, spreads the kills over one.
	start := time.Now()
	run("scratch", 0)
	full := time.Since(start)

	d := parquet.New("s3://kill/data", parquet.WithCredentials(s3Creds(s)))
	defer d.Close()
	rng := rand.New(rand.NewPCG(7, 0x5eed))
	killedMid := 0
	for i := range 8 {
		delay := time.Duration(rng.Float64() * float64(full))
		killed := run("data", delay)
		pos := checkKilled(t, d, fmt.Sprintf("kill %d after %v", i+1, delay.Round(time.Millisecond)))
		if killed && pos < killLoads {
			killedMid++
		}
	}
	run("data", 0)
	if pos := checkKilled(t, d, "final run"); pos != killLoads {
		t.Errorf("final run: state at load %d, want %d", pos, killLoads)
	}
	// No file of a killed load is left: every data file's load committed.
	loads := map[string]bool{}
	r, err := d.OpenDataset(context.Background(), killDataset)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := r.Loads(context.Background())
	r.Close()
	for _, l := range recs {
		loads[l.LoadID] = true
	}
	for _, k := range s.Keys(t, "kill", "data/"+killDataset+"/") {
		base, ok := strings.CutSuffix(k, ".parquet")
		if i := strings.LastIndexByte(base, '.'); ok && !loads[base[strings.LastIndexByte(base, '/')+1:i]] {
			t.Errorf("file of an uncommitted load left: %s", k)
		}
	}
	t.Logf("runs of ~%v, 8 kills, %d landed mid-run; every row exactly once: %v", full.Round(time.Millisecond), killedMid, !t.Failed())
}

// checkKilled checks the dataset after a run ended: the events hold the
// rows of exactly the loads the stored state counts, each once; the
// replaced snapshot table holds the last of them. It returns that count.
func checkKilled(t *testing.T, d *parquet.Destination, what string) int {
	t.Helper()
	ctx := context.Background()
	pos := 0
	if st, err := d.LastState(ctx, killDataset, "kill"); err == nil {
		pos, _ = strconv.Atoi(st.State)
	} else if err != sink.ErrNoState {
		t.Fatalf("%s: %v", what, err)
	}
	if pos == 0 {
		return 0
	}
	r, err := d.OpenDataset(ctx, killDataset)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer r.Close()
	seen := make([]bool, pos*killRows)
	n := 0
	read := func(table string, fn func(rec int64s) error) {
		rr, err := r.Table(ctx, table)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		defer rr.Release()
		for rr.Next() {
			if err := fn(rr.RecordBatch().Column(0).(*array.Int64)); err != nil {
				t.Errorf("%s: %v", what, err)
				return
			}
		}
		if err := rr.Err(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	read("events", func(ids int64s) error {
		for _, id := range ids.Int64Values() {
			if id < 0 || int(id) >= len(seen) {
				return fmt.Errorf("row %d of a load the state does not count (state: %d loads)", id, pos)
			}
			if seen[id] {
				return fmt.Errorf("row %d twice", id)
			}
			seen[id] = true
			n++
		}
		return nil
	})
	if n != len(seen) {
		t.Errorf("%s: %d rows, want %d (state: %d loads)", what, n, len(seen), pos)
	}
	read("snapshot", func(v int64s) error {
		if v.Len() != 1 || v.Value(0) != int64(pos) {
			return fmt.Errorf("snapshot %v, want [%d]", v.Int64Values(), pos)
		}
		return nil
	})
	return pos
}

type int64s = *array.Int64

// killChild loads until the stored state says all loads are in, resuming
// from it.
func killChild(cfg string) error {
	f := strings.Fields(cfg)
	opts := []parquet.Option{parquet.WithMaxFileRows(killRows / 2), parquet.WithCredentials(
		parquet.Credentials{EndpointURL: f[0], AccessKeyID: f[1], SecretAccessKey: f[2]})}
	selfKill := -1
	if len(f) > 4 {
		opts = append(opts, parquet.WithTableFormat(arrowbuf.TableFormat(f[4])))
		selfKill, _ = strconv.Atoi(f[5])
	}
	d := parquet.New(f[3], opts...)
	defer d.Close()
	ctx := context.Background()
	events := &arrowbuf.Table{Name: "events", WriteDisposition: arrowbuf.Append, Columns: []*arrowbuf.Column{
		sinktest.Col("id", arrowbuf.TypeBigint), sinktest.Col("pad", arrowbuf.TypeText),
		{Name: "_dlt_load_id", DataType: arrowbuf.TypeText}, {Name: "_dlt_id", DataType: arrowbuf.TypeText}}}
	snapshot := &arrowbuf.Table{Name: "snapshot", WriteDisposition: arrowbuf.Replace, Columns: []*arrowbuf.Column{
		sinktest.Col("pos", arrowbuf.TypeBigint),
		{Name: "_dlt_load_id", DataType: arrowbuf.TypeText}, {Name: "_dlt_id", DataType: arrowbuf.TypeText}}}
	rng := rand.New(rand.NewPCG(1, 2))
	for {
		pos := 0
		if st, err := d.LastState(ctx, killDataset, "kill"); err == nil {
			pos, _ = strconv.Atoi(st.State)
		} else if err != sink.ErrNoState {
			return err
		}
		if pos >= killLoads {
			return nil
		}
		loadID := fmt.Sprintf("%d.%06d", 1700000000+pos, time.Now().Nanosecond()/1000)
		if pos == selfKill {
			parquet.SetIcebergCommitHook(func(string) { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) })
		} else {
			parquet.SetIcebergCommitHook(nil)
		}
		l, err := d.Begin(ctx, sink.LoadRequest{Dataset: killDataset, LoadID: loadID, SchemaName: "kill"})
		if err != nil {
			return err
		}
		const batch = 10000
		for b := 0; b < killRows; b += batch {
			rows := make([][]any, batch)
			for j := range rows {
				id := pos*killRows + b + j
				rows[j] = []any{id, fmt.Sprintf("%016x%016x%016x%016x", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()), loadID, fmt.Sprintf("r%d", id)}
			}
			if err := l.Write(ctx, sinktest.Batch(testingTB{}, events, rows...)); err != nil {
				return err
			}
		}
		if err := l.Write(ctx, sinktest.Batch(testingTB{}, snapshot, []any{pos + 1, loadID, fmt.Sprintf("s%d", pos)})); err != nil {
			return err
		}
		if err := l.Commit(ctx, sink.Commit{State: &sink.StoredState{PipelineName: "kill", Version: int64(pos + 1), State: strconv.Itoa(pos + 1), Hash: "h"}}); err != nil {
			return err
		}
	}
}

// testingTB lets the child build batches with sinktest.Batch, which fails
// only on a table it cannot build.
type testingTB struct{ testing.TB }

func (testingTB) Helper()                   {}
func (testingTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (testingTB) Fatal(a ...any)            { panic(fmt.Sprint(a...)) }
func (testingTB) Errorf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

// runLoader runs this test binary as a loading process (TestKillDuringS3Load
// with killChildEnv set to args) and SIGKILLs it after kill (0: never);
// it says whether the process was killed, and fails t if it failed.
func runLoader(t *testing.T, kill time.Duration, args ...string) (killed bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringS3Load$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+strings.Join(args, " "))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if kill > 0 {
		timer := time.AfterFunc(kill, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	err := cmd.Wait()
	if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && st.Signaled() {
		return true
	}
	if err != nil {
		t.Fatalf("loading process: %v: %s", err, stderr.String())
	}
	return false
}
