package parquet_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink/internal/iceberg"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// TestKillDuringIcebergCommit kills a process loading Iceberg tables into
// versitygw with SIGKILL: first between the commits of a load's two tables
// (the events table has its snapshot, the snapshot table and _dlt_loads
// not), then at random moments. After each kill the dataset shows whole
// loads only; the next run takes the orphaned snapshot back (Begin) and
// loads the rows again under a new load id, so a final run leaves every
// row exactly once, and each table's current snapshot chain holds only
// committed loads.
func TestKillDuringIcebergCommit(t *testing.T) {
	s := sinktest.Versitygw(t)
	s.CreateBucket(t, "kill")
	run := func(prefix string, selfKill int, kill time.Duration) (killed bool) {
		return runLoader(t, kill, s.Endpoint, s.AccessKey, s.SecretKey, "s3://kill/"+prefix, "iceberg", fmt.Sprint(selfKill))
	}
	start := time.Now()
	run("scratch", -1, 0)
	full := time.Since(start)

	d := parquet.New("s3://kill/data", parquet.WithCredentials(s3Creds(s)), parquet.WithTableFormat(arrowbuf.Iceberg))
	defer d.Close()
	between := 0
	for pos := range 3 {
		if !run("data", pos, 0) {
			t.Fatalf("the run meant to die after its first table commit at load %d finished", pos+1)
		}
		between++
		if got := checkKilled(t, d, fmt.Sprintf("kill between the table commits of load %d", pos+1)); got != pos {
			t.Errorf("after the kill in load %d's commit the state is at load %d", pos+1, got)
		}
	}
	rng := rand.New(rand.NewPCG(11, 0x1ce))
	randomKills := 0
	for i := range 5 {
		delay := time.Duration(rng.Float64() * float64(full))
		if run("data", -1, delay) {
			randomKills++
		}
		checkKilled(t, d, fmt.Sprintf("random kill %d after %v", i+1, delay.Round(time.Millisecond)))
	}
	run("data", -1, 0)
	if pos := checkKilled(t, d, "final run"); pos != killLoads {
		t.Errorf("final run: state at load %d, want %d", pos, killLoads)
	}
	// The current snapshots: one per committed load, none of a killed one.
	r, err := d.OpenDataset(context.Background(), killDataset)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := r.Loads(context.Background())
	r.Close()
	committed := map[string]bool{}
	for _, l := range recs {
		committed[l.LoadID] = true
	}
	lk := openLake(t, s, "s3://kill/data")
	for _, tb := range []string{"events", "snapshot"} {
		tbl, err := lk.Table(context.Background(), killDataset, tb)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for snap := tbl.CurrentSnapshot(); snap != nil; {
			id := snap.Summary.Properties[iceberg.LoadIDProperty]
			if !committed[id] {
				t.Errorf("%s: current snapshot chain holds load %s, which did not commit", tb, id)
			}
			n++
			if snap.ParentSnapshotID == nil {
				break
			}
			snap = tbl.SnapshotByID(*snap.ParentSnapshotID)
		}
		if n != killLoads {
			t.Errorf("%s: %d snapshots in the current chain, want %d (one per load)", tb, n, killLoads)
		}
	}
	t.Logf("iceberg commit kills: %d between two tables' commits, %d random kills landed of 5; every row exactly once after each: %v",
		between, randomKills, !t.Failed())
}

// openLake opens the Iceberg tables under an s3:// bucket URL of s.
func openLake(t *testing.T, s sinktest.S3Server, u string) *iceberg.Lake {
	t.Helper()
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(u, "s3://"), "/")
	b, err := s3blob.OpenBucket(context.Background(), s.Client(), bucket, &s3blob.Options{RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if prefix != "" {
		b = blob.PrefixedBucket(b, prefix+"/")
	}
	lk, err := iceberg.Open(context.Background(), b, u)
	if err != nil {
		t.Fatal(err)
	}
	return lk
}
