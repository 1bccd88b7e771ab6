package iceberg

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"gocloud.dev/blob/fileblob"
)

// TestSQLCatalog: with a catalog, each commit points the catalog's entry at
// the table's current metadata, so iceberg-go's own SQL catalog (as
// pyiceberg's or Java's JDBC catalog would) loads the table by name.
func TestSQLCatalog(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(t.TempDir(), "catalog.db")
	cat, err := OpenCatalog(t.Context(), "sql", "sqlite:///"+dbPath, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	lk, err := Open(t.Context(), b, "file://"+dir, WithCatalog(cat))
	if err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reader2, err := sqlcat.NewCatalog(DefaultCatalogName, db, sqlcat.SQLite, iceberg.Properties{})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"1", "2"} {
		load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: id, Mode: Append, Rows: reader(t, flat, `{"id":`+id+`,"name":"x"}`)})
		tbl, err := reader2.LoadTable(t.Context(), table.Identifier{"ds", "t"})
		if err != nil {
			t.Fatal(err)
		}
		mine, err := lk.Table(t.Context(), "ds", "t")
		if err != nil {
			t.Fatal(err)
		}
		if tbl.MetadataLocation() != mine.MetadataLocation() {
			t.Errorf("catalog points at %s, want %s", tbl.MetadataLocation(), mine.MetadataLocation())
		}
		at, err := tbl.Scan().ToArrowTable(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if at.NumRows() != int64(i+1) {
			t.Errorf("catalog's table has %d rows after load %s, want %d", at.NumRows(), id, i+1)
		}
		at.Release()
	}

	// Killed after a table's commit, before its registration: the rerun
	// skips the table and still registers it.
	noCat, err := Open(t.Context(), b, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	w := func() Write {
		return Write{Dataset: "ds", Table: "t", LoadID: "3", Mode: Append, Rows: reader(t, flat, `{"id":3,"name":"x"}`)}
	}
	load(t, noCat, w())
	if p := load(t, lk, w()); !p.Skipped() {
		t.Fatal("rerun not skipped")
	}
	tbl, err := reader2.LoadTable(t.Context(), table.Identifier{"ds", "t"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(tbl.MetadataLocation(), "/v3.metadata.json") {
		t.Errorf("after the rerun the catalog points at %s, want v3", tbl.MetadataLocation())
	}
}

func TestOpenCatalogErrors(t *testing.T) {
	cases := []struct{ typ, uri, want string }{
		{"rest", "http://x", `catalog type "rest" is not supported`},
		{"sql", "postgresql://user:secret@host/db", "want sqlite:///path/catalog.db"},
		{"sql", "sqlite:///" + filepath.Join(t.TempDir(), "no", "such", "dir", "c.db"), "catalog"},
	}
	for _, c := range cases {
		t.Run(c.uri, func(t *testing.T) {
			_, err := OpenCatalog(t.Context(), c.typ, c.uri, "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}
