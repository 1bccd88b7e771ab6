package duckdb_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
)

const holdEnv = "SLUICE_DUCKDB_HOLD"

// TestHoldLockHelper runs in a child process: it opens the file named by
// holdEnv and holds it until stdin closes.
func TestHoldLockHelper(t *testing.T) {
	path := os.Getenv(holdEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	l, err := duckdb.New(path).Begin(context.Background(), flow.LoadRequest{Dataset: "ds", LoadID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Rollback()
	os.Stdout.WriteString("ready\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

func TestLockedFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process")
	}
	path := filepath.Join(t.TempDir(), "locked.duckdb")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldLockHelper$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	_, err = duckdb.New(path).Begin(context.Background(), flow.LoadRequest{Dataset: "ds", LoadID: "2"})
	if !errors.Is(err, duckdb.ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Begin on a locked file = %v; want ErrLocked naming %s", err, path)
	}
}
