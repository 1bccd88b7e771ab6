package flow

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrPipelineRunning is returned by Run when the pipeline is running
// already, in this process or (on Unix) another: two runs at once would
// both load the same incremental window and save the same state version.
var ErrPipelineRunning = errors.New("flow: the pipeline is already running")

// running holds the working dirs of the pipelines this process runs.
var running sync.Map

// lockPipeline takes the pipeline's run lock: a mark in this process and
// an exclusive lock on <working dir>/.lock for other processes. The
// returned func releases both.
func (p *Pipeline) lockPipeline() (func(), error) {
	dir := p.WorkingDir()
	if _, busy := running.LoadOrStore(dir, struct{}{}); busy {
		return nil, fmt.Errorf("%w: %q in this process", ErrPipelineRunning, p.name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		running.Delete(dir)
		return nil, fmt.Errorf("flow: pipeline %q: %w", p.name, err)
	}
	path := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		running.Delete(dir)
		return nil, fmt.Errorf("flow: pipeline %q: %w", p.name, err)
	}
	err = lockFile(f)
	for wait := 0; errors.Is(err, errLockHeld) && wait < holderExitWait; wait++ {
		// A holder killed a moment ago still holds the lock while the
		// kernel tears it down (a rerun right after kill -9 was refused):
		// wait for an exiting or gone holder, never for a live one.
		if !holderGone(f) {
			break
		}
		time.Sleep(10 * time.Millisecond)
		err = lockFile(f)
	}
	if err != nil {
		holder, _ := io.ReadAll(io.NewSectionReader(f, 0, 32))
		f.Close()
		running.Delete(dir)
		if errors.Is(err, errLockHeld) {
			by := "another process"
			if pid, err := strconv.Atoi(strings.TrimSpace(string(holder))); err == nil {
				by = fmt.Sprintf("process %d", pid)
			}
			return nil, fmt.Errorf("%w: %q in %s (%s)", ErrPipelineRunning, p.name, by, path)
		}
		return nil, fmt.Errorf("flow: pipeline %q: lock %s: %w", p.name, path, err)
	}
	// The holder's PID, for the message another run gets.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = f.Truncate(0) // no stale PID for the next holder's rivals
		f.Close()         // releases the file lock
		running.Delete(dir)
	}, nil
}

var errLockHeld = errors.New("lock held")

// holderExitWait bounds, in 10 ms polls, the wait for a holder that is
// exiting: the kernel releases a killed process's locks after it frees its
// memory, which takes a while for a big process.
const holderExitWait = 500

// holderGone reports whether the PID written in the lock file names a
// process that is gone or exiting.
func holderGone(f *os.File) bool {
	b, _ := io.ReadAll(io.NewSectionReader(f, 0, 32))
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && pid > 0 && pid != os.Getpid() && processExiting(pid)
}
