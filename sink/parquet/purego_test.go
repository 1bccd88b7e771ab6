package parquet_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// TestImportWithoutSQL: without an SQL engine a Parquet file still imports
// (linked into a local bucket, streamed up to S3) and reads back through
// Table; a CSV file fails with ErrNoSQL and says how to get an engine.
func TestImportWithoutSQL(t *testing.T) {
	src := t.TempDir()
	// A Parquet file to import: one a load wrote.
	items := itemsTable(arrowbuf.Append)
	seed := parquet.New(src)
	sinktest.Load(t, seed, "seed", "1", sink.Commit{}, sinktest.Batch(t, items, []any{7, "1", "a"}, []any{8, "1", "b"}))
	pq := dataFiles(t, filepath.Join(src, "seed", "items"))[0]
	csv := filepath.Join(src, "x.csv")
	if err := os.WriteFile(csv, []byte("id\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := fakeS3(t, "imp")
	for name, d := range map[string]*parquet.Destination{
		"local": parquet.New(t.TempDir()),
		"s3":    parquet.New("s3://imp/x", parquet.WithCredentials(s3Creds(s))),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			l, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "2"})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Write(ctx, arrowbuf.TableBatch{Table: items, File: &arrowbuf.ImportFile{Path: pq, Format: "parquet"}}); err != nil {
				t.Fatal(err)
			}
			if err := l.Commit(ctx, sink.Commit{}); err != nil {
				t.Fatal(err)
			}
			r, err := d.OpenDataset(ctx, "ds")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			rr, err := r.Table(ctx, "items")
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			var ids []string
			for rr.Next() {
				for i := range int(rr.RecordBatch().NumRows()) {
					ids = append(ids, rr.RecordBatch().Column(0).ValueStr(i))
				}
			}
			if !reflect.DeepEqual(ids, []string{"7", "8"}) {
				t.Errorf("imported rows %v", ids)
			}
			l, err = d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "3"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Rollback()
			err = l.Write(ctx, arrowbuf.TableBatch{Table: items, File: &arrowbuf.ImportFile{Path: csv, Format: "csv"}})
			if !errors.Is(err, parquet.ErrNoSQL) {
				t.Errorf("CSV import without SQL engine: %v", err)
			}
		})
	}
}

// TestSnappyChoiceIsExplicit: importing the package leaves arrow-go's
// Snappy codec alone; New switches it, unless told not to. Each case runs
// in a fresh process (this test binary), as the registry is the process's.
func TestSnappyChoiceIsExplicit(t *testing.T) {
	const env = "SLUICE_SNAPPY_CHILD"
	if mode := os.Getenv(env); mode != "" {
		before := codecType()
		switch mode {
		case "new":
			parquet.New(t.TempDir())
		case "off":
			parquet.New(t.TempDir(), parquet.WithFastSnappy(false))
		}
		fmt.Printf("%s %s\n", before, codecType())
		return
	}
	run := func(mode string) string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSnappyChoiceIsExplicit$")
		cmd.Env = append(os.Environ(), env+"="+mode)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		var before, after string
		fmt.Sscan(string(out), &before, &after)
		return before + " -> " + after
	}
	def := run("off")
	if def != "compress.snappyCodec -> compress.snappyCodec" {
		t.Errorf("import, then New(WithFastSnappy(false)): codec %s, want arrow-go's throughout", def)
	}
	if got := run("new"); got != "compress.snappyCodec -> parquet.fastSnappy" {
		t.Errorf("import, then New: codec %s, want arrow-go's, then fastSnappy", got)
	}
}

func codecType() string {
	c, err := compress.GetCodec(compress.Codecs.Snappy)
	if err != nil {
		return "error"
	}
	return fmt.Sprintf("%T", c)
}
