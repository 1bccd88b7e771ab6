package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests that run sluice as a child process (crash, interrupt, lock and
// secrets tests) share one binary, built on first use into a folder that
// TestMain removes.
var (
	pkgDir, _ = os.Getwd()
	binOnce   sync.Once
	binDir    string
	binPath   string
	binErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// sluiceBinary builds the sluice command once per test binary and returns
// its path.
func sluiceBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the sluice binary")
	}
	binOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if binDir, binErr = os.MkdirTemp("", "sluice-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "sluice")
		cmd := exec.Command(goTool, "build", "-o", binPath, ".")
		cmd.Dir = pkgDir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			binErr = &buildError{err: err, out: out.String()}
		}
	})
	if binErr != nil {
		t.Fatalf("go build sluice: %v", binErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// child is a sluice process started by a test.
type child struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error
}

// startSluice starts the binary with args in dir, with env added to the
// test's environment. The process is killed when the test ends.
func startSluice(t *testing.T, dir string, env []string, args ...string) *child {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	c := &child{done: make(chan struct{})}
	c.cmd = exec.CommandContext(ctx, sluiceBinary(t), args...)
	c.cmd.Dir = dir
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sluice: %v", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		cancel()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// wait waits for the process and returns its exit code (-1 when it died by
// a signal).
func (c *child) wait() int {
	<-c.done
	return c.cmd.ProcessState.ExitCode()
}

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// signaled reports whether the process was ended by sig.
func (c *child) signaled(sig syscall.Signal) bool {
	ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// runSluice runs the binary to its end and returns its result.
func runSluice(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	c := startSluice(t, dir, env, args...)
	code := c.wait()
	return result{code: code, stdout: c.stdout.String(), stderr: c.stderr.String()}
}

// stderrLine returns a child's stderr as one trimmed string.
func stderrLine(r result) string { return strings.TrimSpace(r.stderr) }
