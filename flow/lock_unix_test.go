//go:build unix

package flow_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

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

// TestRunWaitsForExitingHolder: a rerun right after kill -9 found the lock
// still held by the dying process and was refused. A holder whose PID is
// gone (or exiting) is waited for; a live one is not (the test above).
func TestRunWaitsForExitingHolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		p := e.pipeline("dying")
		e.run(p, numbers("items", 1, 2))
		dead := exec.Command("true")
		if err := dead.Run(); err != nil {
			t.Skipf("no child process: %v", err)
		}
		f, err := os.OpenFile(filepath.Join(p.WorkingDir(), ".lock"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte(strconv.Itoa(dead.Process.Pid)+"\n"), 0); err != nil {
			t.Fatal(err)
		}
		// The "kernel" lets go of the dead holder's lock a moment (of fake
		// time) later.
		release := time.AfterFunc(50*time.Millisecond, func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) })
		defer release.Stop()
		if _, err := p.Run(context.Background(), numbers("items", 3, 4)); err != nil {
			t.Fatalf("run after the holder died: %v", err)
		}
	})
}
