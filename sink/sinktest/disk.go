package sinktest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink"
)

// SmallDisk mounts a tmpfs of size bytes in a temporary folder and returns
// its path; it is unmounted when the test ends. Mounting needs root on
// Linux (CI runs as root): elsewhere the test is skipped, saying why.
func SmallDisk(t *testing.T, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a %d-byte tmpfs for a full disk (needs root on Linux): %v: %s", size, err, strings.TrimSpace(string(out)))
	}
	// Registered after TempDir's cleanup, so it runs first; lazy, so a
	// handle left open fails no test here.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// ResizeDisk changes the size of a SmallDisk.
func ResizeDisk(t *testing.T, dir string, size int64) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", fmt.Sprintf("remount,size=%d", size), dir).CombinedOutput(); err != nil {
		t.Fatalf("resize %s: %v: %s", dir, err, out)
	}
}

// DiskFull loads into a destination on a small disk until the disk is full
// and checks that the load fails with one line naming the destination
// (location) that wraps syscall.ENOSPC, that the load before it stays as it
// was, and that a load succeeds once there is space again. newDest builds
// the destination in dir; merge loads the rows with merge on id, else
// append; afterFail, if not nil, checks what the failed load left in dir.
func DiskFull(t *testing.T, newDest func(dir string) sink.Destination, merge bool, afterFail func(dir string)) {
	t.Helper()
	dir := SmallDisk(t, 8<<20)
	d := newDest(dir)
	var opts []flow.Option
	if merge {
		opts = append(opts, flow.WriteDisposition(arrowbuf.Merge), flow.PrimaryKey("id"))
	}
	// Rows of text that compresses badly, each with a nested list: the
	// child table is where DuckDB ran out of space in the field.
	items := func(from, to int) *flow.Resource {
		return flow.NewResource("items", func(ctx context.Context, yield flow.Yield) error {
			for start := from; start < to; start += 1000 {
				batch := make([]any, 0, 1000)
				for i := start; i < min(start+1000, to); i++ {
					sum := sha256.Sum256([]byte(strconv.Itoa(i)))
					batch = append(batch, map[string]any{"id": i, "text": hex.EncodeToString(sum[:]), "tags": []any{"a", "b"}})
				}
				if err := yield(flow.ItemsBatch(batch...)); err != nil {
					return err
				}
			}
			return nil
		}, opts...)
	}
	p, err := flow.NewPipeline("full", d, flow.PipelinesDir(t.TempDir()), flow.DatasetName("full_data"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const first = 1000
	if _, err := p.Run(ctx, items(0, first)); err != nil {
		t.Fatalf("first load: %v", err)
	}
	check := func(what string, want int64) {
		t.Helper()
		got := Rows(t, d, "full_data", "SELECT count(*), count(DISTINCT id), (SELECT count(*) FROM items__tags) FROM items")
		if !reflect.DeepEqual(got, [][]any{{want, want, 2 * want}}) {
			t.Errorf("%s: rows, ids, tags = %v, want %d, %d, %d", what, got, want, want, 2*want)
		}
	}
	// Far more than the disk holds: the load fails part way.
	_, err = p.Run(ctx, items(first, 2_000_000))
	t.Logf("load on a full disk: %v", err)
	switch {
	case err == nil:
		t.Fatal("a load larger than the disk succeeded")
	case !errors.Is(err, syscall.ENOSPC):
		t.Errorf("load on a full disk: %v; want an error wrapping ENOSPC", err)
	case !strings.Contains(err.Error(), "no space left on device: "+d.Location()) || strings.Contains(err.Error(), "\n"):
		t.Errorf("load on a full disk: %q; want one line with \"no space left on device: %s\"", err, d.Location())
	}
	check("after the failed load", first)
	if afterFail != nil {
		afterFail(dir)
	}
	ResizeDisk(t, dir, 64<<20)
	if _, err := p.Run(ctx, items(first, 2*first)); err != nil {
		t.Fatalf("load after the disk grew: %v", err)
	}
	check("after the disk grew", 2*first)
}
