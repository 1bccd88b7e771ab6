package iceberg

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"gocloud.dev/blob"
)

// reopen is a new process on the same bucket: nothing of the old Lake's
// memory survives.
func reopen(t *testing.T, lk *Lake) *Lake {
	t.Helper()
	n, err := Open(t.Context(), lk.st.bucket, lk.st.root)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRerunAfterCrashBetweenTables: a load that committed one table and
// died before the next is rerun with the same load id; the committed table
// is skipped, so no row is doubled and none is lost.
func TestRerunAfterCrashBetweenTables(t *testing.T) {
	lk, _ := fileLake(t)
	for _, tb := range []string{"a", "b"} {
		load(t, lk, Write{Dataset: "ds", Table: tb, LoadID: "1", Mode: Append, Rows: reader(t, flat, `{"id":1,"name":"x"}`)})
	}
	second := func(lk *Lake, tb string) *Pending {
		p, err := lk.Prepare(t.Context(), Write{Dataset: "ds", Table: tb, LoadID: "2", Mode: Append,
			Rows: reader(t, flat, `{"id":2,"name":"y"}`)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	pa, _ := second(lk, "a"), second(lk, "b")
	if err := pa.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	// killed here: b prepared, not committed, nothing cleaned up.

	lk = reopen(t, lk)
	ra, rb := second(lk, "a"), second(lk, "b")
	if !ra.Skipped() || rb.Skipped() {
		t.Errorf("rerun: a skipped %v (want true), b skipped %v (want false)", ra.Skipped(), rb.Skipped())
	}
	for _, p := range []*Pending{ra, rb} {
		if err := p.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{`{"id":1,"name":"x"}`, `{"id":2,"name":"y"}`}
	for _, tb := range []string{"a", "b"} {
		if got := scanRows(t, lk, "ds", tb); !slices.Equal(got, want) {
			t.Errorf("table %s: got %v, want %v", tb, got, want)
		}
	}
}

// TestRerunMergeFamily: the root of a merge family committed, its nested
// table did not. On the rerun the root is skipped, and the nested rows of
// the root rows it removed are still found (from the snapshot before the
// load's) and removed.
func TestRerunMergeFamily(t *testing.T) {
	lk, _ := fileLake(t)
	root := schema(field("id", arrow.PrimitiveTypes.Int64), field("_dlt_id", arrow.BinaryTypes.String))
	child := schema(field("value", arrow.BinaryTypes.String), field("_dlt_root_id", arrow.BinaryTypes.String))
	family := func(lk *Lake, loadID string, rootRows, childRows []string) (r, c *Pending) {
		r, err := lk.Prepare(t.Context(), Write{Dataset: "ds", Table: "p", LoadID: loadID, Mode: Merge,
			Keys: [][]string{{"id"}}, Collect: "_dlt_id", Rows: reader(t, root, rootRows...)})
		if err != nil {
			t.Fatal(err)
		}
		c, err = lk.Prepare(t.Context(), Write{Dataset: "ds", Table: "p__c", LoadID: loadID, Mode: Merge,
			Drop: r.Removed().As("_dlt_root_id"), Rows: reader(t, child, childRows...)})
		if err != nil {
			t.Fatal(err)
		}
		return r, c
	}
	r, c := family(lk, "1", []string{`{"id":1,"_dlt_id":"old"}`}, []string{`{"value":"gone","_dlt_root_id":"old"}`})
	for _, p := range []*Pending{r, c} {
		if err := p.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	newRoot, newChild := []string{`{"id":1,"_dlt_id":"new"}`}, []string{`{"value":"kept","_dlt_root_id":"new"}`}
	r, _ = family(lk, "2", newRoot, newChild)
	if err := r.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	// killed before the nested table's commit.

	lk = reopen(t, lk)
	r, c = family(lk, "2", newRoot, newChild)
	if !r.Skipped() || r.Removed().Len() != 1 {
		t.Fatalf("rerun root: skipped %v, %d removed ids; want true, 1", r.Skipped(), r.Removed().Len())
	}
	if err := c.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := scanRows(t, lk, "ds", "p__c", "value"), []string{`{"value":"kept"}`}; !slices.Equal(got, want) {
		t.Errorf("nested rows: got %v, want %v", got, want)
	}
}

// TestUncommittedLeavesNoSnapshot: a prepared change that is never
// committed (the process died, or the load failed and aborted) leaves the
// table as it was; Abort also removes the data files it wrote.
func TestUncommittedLeavesNoSnapshot(t *testing.T) {
	ctx := context.Background()
	for _, abort := range []bool{false, true} {
		name := map[bool]string{false: "killed", true: "aborted"}[abort]
		t.Run(name, func(t *testing.T) {
			lk, _ := fileLake(t)
			load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: "1", Mode: Append, Rows: reader(t, flat, `{"id":1,"name":"x"}`)})
			before := keys(t, lk.st.bucket, "ds/t/data/")
			for _, m := range []Mode{Append, Replace, Merge} {
				w := Write{Dataset: "ds", Table: "t", LoadID: "2", Mode: m, Rows: reader(t, flat, `{"id":1,"name":"y"}`)}
				if m == Merge {
					w.Keys = [][]string{{"id"}}
				}
				p, err := lk.Prepare(ctx, w)
				if err != nil {
					t.Fatal(err)
				}
				if abort {
					if err := p.Abort(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			lk = reopen(t, lk)
			tbl, err := lk.Table(ctx, "ds", "t")
			if err != nil {
				t.Fatal(err)
			}
			if n := len(tbl.Metadata().Snapshots()); n != 1 {
				t.Errorf("%d snapshots, want 1", n)
			}
			if got, want := scanRows(t, lk, "ds", "t"), []string{`{"id":1,"name":"x"}`}; !slices.Equal(got, want) {
				t.Errorf("rows %v, want %v", got, want)
			}
			if after := keys(t, lk.st.bucket, "ds/t/data/"); abort && !slices.Equal(after, before) {
				t.Errorf("data files after Abort: %v, want %v", after, before)
			}
		})
	}
}

// TestNewTableNotVisibleBeforeCommit: a table a load creates appears only
// at its commit.
func TestNewTableNotVisibleBeforeCommit(t *testing.T) {
	lk, _ := fileLake(t)
	p, err := lk.Prepare(t.Context(), Write{Dataset: "ds", Table: "n", LoadID: "1", Mode: Append, Rows: reader(t, flat, `{"id":1,"name":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reopen(t, lk).Table(t.Context(), "ds", "n"); !errors.Is(err, ErrNoTable) {
		t.Fatalf("before commit: got %v, want ErrNoTable", err)
	}
	if err := p.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := scanRows(t, reopen(t, lk), "ds", "n"); len(got) != 1 {
		t.Errorf("after commit: rows %v, want 1", got)
	}
}

// TestVersionHint: the current version is the highest metadata file, also
// when the hint lags (killed between the metadata file and the hint) or is
// missing.
func TestVersionHint(t *testing.T) {
	cases := []struct {
		name string
		hint []byte // nil: remove it
	}{
		{"lagging", []byte("1")},
		{"missing", nil},
		{"garbage", []byte("x")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lk, _ := fileLake(t)
			for _, id := range []string{"1", "2", "3"} {
				load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: id, Mode: Append, Rows: reader(t, flat, `{"id":`+id+`,"name":"x"}`)})
			}
			hint, err := lk.st.bucket.ReadAll(t.Context(), "ds/t/metadata/version-hint.text")
			if err != nil || string(hint) != "3" {
				t.Fatalf("version-hint.text = %q, %v; want 3", hint, err)
			}
			if c.hint == nil {
				err = lk.st.bucket.Delete(t.Context(), "ds/t/metadata/version-hint.text")
			} else {
				err = lk.st.bucket.WriteAll(t.Context(), "ds/t/metadata/version-hint.text", c.hint, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			tbl, err := reopen(t, lk).Table(t.Context(), "ds", "t")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(tbl.MetadataLocation(), "/ds/t/metadata/v3.metadata.json") {
				t.Errorf("metadata %s, want v3", tbl.MetadataLocation())
			}
			if n := len(scanRows(t, lk, "ds", "t")); n != 3 {
				t.Errorf("%d rows, want 3", n)
			}
		})
	}
}

func keys(t *testing.T, b *blob.Bucket, prefix string) []string {
	t.Helper()
	var out []string
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(t.Context())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, obj.Key)
	}
	slices.Sort(out)
	return out
}

// TestDrop: a dropped table is gone with all its files; an interrupted
// drop (only its oldest metadata files deleted) still shows the table's
// current version, and a rerun finishes it.
func TestDrop(t *testing.T) {
	lk, _ := fileLake(t)
	for _, id := range []string{"1", "2", "3"} {
		load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: id, Mode: Append, Rows: reader(t, flat, `{"id":`+id+`,"name":"x"}`)})
	}
	load(t, lk, Write{Dataset: "ds", Table: "other", LoadID: "1", Mode: Append, Rows: reader(t, flat, `{"id":1,"name":"x"}`)})
	for _, v := range []string{"1", "2"} {
		if err := lk.st.bucket.Delete(t.Context(), "ds/t/metadata/v"+v+".metadata.json"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(scanRows(t, reopen(t, lk), "ds", "t")); n != 3 {
		t.Errorf("interrupted drop: %d rows, want the current version's 3", n)
	}
	if err := lk.Drop(t.Context(), "ds", "t"); err != nil {
		t.Fatal(err)
	}
	if left := keys(t, lk.st.bucket, "ds/t/"); len(left) != 0 {
		t.Errorf("left after drop: %v", left)
	}
	if _, err := lk.Table(t.Context(), "ds", "t"); !errors.Is(err, ErrNoTable) {
		t.Errorf("after drop: %v, want ErrNoTable", err)
	}
	if err := lk.Drop(t.Context(), "ds", "t"); err != nil {
		t.Errorf("dropping again: %v", err)
	}
	if n := len(scanRows(t, lk, "ds", "other")); n != 1 {
		t.Errorf("other table: %d rows, want 1", n)
	}
}

// TestNothingToChange: no rows for a table that does not exist (truncate
// or append of nothing) changes nothing and creates no table.
func TestNothingToChange(t *testing.T) {
	lk, _ := fileLake(t)
	for _, m := range []Mode{Append, Replace, Merge} {
		load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: "1", Mode: m})
	}
	if _, err := lk.Table(t.Context(), "ds", "t"); !errors.Is(err, ErrNoTable) {
		t.Errorf("got %v, want ErrNoTable", err)
	}
}

// failingReader yields its batches, then fails.
type failingReader struct {
	array.RecordReader
	err error
}

func (f *failingReader) Err() error {
	if err := f.RecordReader.Err(); err != nil {
		return err
	}
	return f.err
}

// TestFailingRowsLeaveNothing: rows that fail midway (a broken staging
// file) fail Prepare with their error and leave neither a snapshot nor
// data files.
func TestFailingRowsLeaveNothing(t *testing.T) {
	for _, m := range []Mode{Append, Replace, Merge} {
		t.Run(m.String(), func(t *testing.T) {
			lk, _ := fileLake(t)
			load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: "1", Mode: Append, Rows: reader(t, flat, `{"id":1,"name":"x"}`)})
			before := keys(t, lk.st.bucket, "ds/t/")
			boom := errors.New("staging file truncated")
			w := Write{Dataset: "ds", Table: "t", LoadID: "2", Mode: m,
				Rows: &failingReader{RecordReader: manyRows(t, 0, 30, 10), err: boom}}
			if m == Merge {
				w.Keys = [][]string{{"id"}}
			}
			if _, err := lk.Prepare(t.Context(), w); !errors.Is(err, boom) || !strings.Contains(err.Error(), "ds/t") {
				t.Fatalf("got %v, want the reader's error naming ds/t", err)
			}
			after := keys(t, lk.st.bucket, "ds/t/")
			for _, k := range after {
				if strings.Contains(k, "/data/") && !slices.Contains(before, k) {
					t.Errorf("data file %s left behind", k)
				}
			}
			if got := scanRows(t, reopen(t, lk), "ds", "t"); len(got) != 1 {
				t.Errorf("rows %v, want the first load's one", got)
			}
		})
	}
}
