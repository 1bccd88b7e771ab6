package serve

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/sourcegraph/conc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestHelperHoldFile is not a test: run by holdFile in a child process,
// it opens the DuckDB file for writing as a committing run does, adds a
// post, says "held" and holds the file until its stdin closes.
func TestHelperHoldFile(t *testing.T) {
	path := os.Getenv("SERVE_TEST_HOLD")
	if path == "" {
		t.Skip("helper process")
	}
	c, err := duckdb.NewConnector(path, nil)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	db := sql.OpenDB(c)
	if _, err := db.Exec("INSERT INTO blog_data.posts (id, title) VALUES (2000, 'new')"); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("held")
	_, _ = io.Copy(io.Discard, os.Stdin)
	db.Close()
	c.Close()
	os.Exit(0)
}

// holdFile holds the DuckDB file in another process until release is
// called.
func holdFile(t *testing.T, path string) (release func()) {
	t.Helper()
	release, err := tryHoldFile(t, path)
	if err != nil {
		t.Fatal(err)
	}
	return release
}

// tryHoldFile is holdFile that fails when the holder cannot open the
// file.
func tryHoldFile(t *testing.T, path string) (release func(), err error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldFile$")
	cmd.Env = append(os.Environ(), "SERVE_TEST_HOLD="+path)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "held" {
		in.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("holder: %s", strings.TrimSpace(line))
	}
	done := false
	release = func() {
		if !done {
			done = true
			in.Close()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(release)
	return release, nil
}

// TestRunCommitsBetweenStatements: the server holds the DuckDB file only
// while a statement's result is open, so a run can take it in between.
func TestRunCommitsBetweenStatements(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir())
	srv := startServer(t, DuckDBFile(path, testDataset), Options{})
	cl := newClient(t, srv.addr, "")
	ctx := context.Background()
	info, err := cl.Execute(ctx, "SELECT * FROM posts")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tryHoldFile(t, path); err == nil || !strings.Contains(err.Error(), "lock") {
		t.Errorf("a writer opened the file while a result was open: %v", err)
	}
	tbl, err := cl.fetch(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	tbl.Release()
	release := holdFile(t, path) // fails the test if the server still holds the file
	release()
	if n := countPosts(t, cl); n != 102 {
		t.Errorf("%d posts after the run, want 102", n)
	}
}

// TestWhileARunHoldsTheFile: while another process holds the DuckDB file
// (a run committing), a statement waits up to LockWait, then fails
// Unavailable; one that is still waiting when the run lets go runs and
// sees what the run committed.
func TestWhileARunHoldsTheFile(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir())
	release := holdFile(t, path)

	t.Run("gives up after LockWait", func(t *testing.T) {
		srv := startServer(t, DuckDBFile(path, testDataset), Options{LockWait: 200 * time.Millisecond})
		_, err := newClient(t, srv.addr, "").query(context.Background(), "SELECT count(*) FROM posts")
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "a run is committing") {
			t.Errorf("got %v, want Unavailable", err)
		}
	})

	t.Run("runs when the run lets go", func(t *testing.T) {
		waiting := make(chan struct{})
		var once sync.Once
		srv := startServer(t, DuckDBFile(path, testDataset), Options{LockWait: 10 * time.Minute}, func(h *Handler) {
			h.onLockWait = func() { once.Do(func() { close(waiting) }) }
		})
		cl := newClient(t, srv.addr, "")
		var ids []int64
		var err error
		var wg conc.WaitGroup
		wg.Go(func() {
			var tbl arrow.Table
			if tbl, err = cl.query(context.Background(), "SELECT id FROM posts WHERE id > 100 ORDER BY id"); err == nil {
				for _, c := range tbl.Column(0).Data().Chunks() {
					ids = append(ids, c.(*array.Int64).Int64Values()...)
				}
				tbl.Release()
			}
		})
		<-waiting
		release()
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, []int64{1000, 2000}) {
			t.Errorf("ids over 100: %v, want 1000 and the 2000 the run committed", ids)
		}
	})
}
