//go:build unix

package flow_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/flow"
)

// TestRunRefusedWhileLockFileHeld: another process holding the pipeline's
// lock file (here another open file) refuses the run until it lets go.
func TestRunRefusedWhileLockFileHeld(t *testing.T) {
	e := newEnv(t)
	p := e.pipeline("held")
	e.run(p, numbers("items", 1, 2))
	f, err := os.OpenFile(filepath.Join(p.WorkingDir(), ".lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(context.Background(), numbers("items", 1, 2)); !errors.Is(err, flow.ErrPipelineRunning) {
		t.Errorf("err = %v, want ErrPipelineRunning", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	e.run(p, numbers("items", 1, 2))
}
