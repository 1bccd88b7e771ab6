package flow

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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
	if err := lockFile(f); err != nil {
		f.Close()
		running.Delete(dir)
		if errors.Is(err, errLockHeld) {
			return nil, fmt.Errorf("%w: %q in another process (%s)", ErrPipelineRunning, p.name, path)
		}
		return nil, fmt.Errorf("flow: pipeline %q: lock %s: %w", p.name, path, err)
	}
	return func() {
		f.Close() // releases the file lock
		running.Delete(dir)
	}, nil
}

var errLockHeld = errors.New("lock held")
