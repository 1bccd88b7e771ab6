package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/rest"
)

// progressInterval is how often the progress line is redrawn.
const progressInterval = 200 * time.Millisecond

// progress draws a live status line on stderr while a pipeline runs, when
// stderr is a terminal. It is also the writer for log lines, which it prints
// above the status line. With tty false it only passes writes through.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	shown bool // the status line is on screen

	p    *flow.Pipeline
	done chan struct{}
	wg   sync.WaitGroup

	// wait is the retry wait ending last, shown until waitUntil.
	wait      rest.RetryWait
	waitUntil time.Time
}

var _ io.Writer = (*progress)(nil)

func newProgress(w io.Writer, tty bool) *progress { return &progress{w: w, tty: tty} }

// Write prints a log line, clearing the status line first.
func (pr *progress) Write(b []byte) (int, error) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.clearLocked()
	return pr.w.Write(b)
}

func (pr *progress) clearLocked() {
	if pr.shown {
		io.WriteString(pr.w, "\r\x1b[K")
		pr.shown = false
	}
}

// start begins redrawing p's progress until stop.
func (pr *progress) start(p *flow.Pipeline) {
	if !pr.tty {
		return
	}
	pr.p = p
	pr.done = make(chan struct{})
	pr.wg.Add(1)
	go func() {
		defer pr.wg.Done()
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-pr.done:
				return
			case <-t.C:
				pr.draw()
			}
		}
	}()
}

// stop ends the redraws, waits for them and clears the status line.
func (pr *progress) stop() {
	if pr.done == nil {
		return
	}
	close(pr.done)
	pr.wg.Wait()
	pr.done = nil
	pr.mu.Lock()
	pr.clearLocked()
	if f, ok := pr.w.(interface{ Flush() error }); ok {
		f.Flush()
	}
	pr.mu.Unlock()
}

// retrying notes a wait before a request is retried (rest.OnRetry), so
// that the status line does not sit still through it.
func (pr *progress) retrying(w rest.RetryWait) {
	until := time.Now().Add(w.Wait)
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if until.After(pr.waitUntil) {
		pr.wait, pr.waitUntil = w, until
	}
}

func (pr *progress) draw() {
	now := time.Now()
	line := progressLine(pr.p.Name(), pr.p.Progress(), now)
	pr.mu.Lock()
	defer pr.mu.Unlock()
	line += waitNote(pr.wait, pr.waitUntil, now)
	io.WriteString(pr.w, "\r\x1b[K"+line+"\r")
	pr.shown = true
}

// waitNote renders a retry wait that ends at until, or "" once it passed:
// " | waiting 27s (429, retry 1/4)".
func waitNote(w rest.RetryWait, until, now time.Time) string {
	left := until.Sub(now).Round(time.Second)
	if left <= 0 {
		return ""
	}
	cause := strconv.Itoa(w.Status)
	if w.Err != nil {
		cause = "connection error"
		var te interface{ Timeout() bool }
		if errors.As(w.Err, &te) && te.Timeout() || errors.Is(w.Err, context.DeadlineExceeded) {
			cause = "timeout"
		}
	}
	return fmt.Sprintf(" | waiting %s (%s, retry %d/%d)", left, cause, w.Attempt, w.MaxAttempts-1)
}

// progressLine renders a progress snapshot as one short line.
func progressLine(name string, s flow.Progress, now time.Time) string {
	elapsed := now.Sub(s.Started)
	if s.Started.IsZero() || s.Started.Unix() == 0 || elapsed < 0 {
		elapsed = 0
	}
	rate := 0.0
	if secs := elapsed.Seconds(); secs > 0.05 {
		rate = float64(s.Rows) / secs
	}
	total := s.ResourcesRunning + s.ResourcesDone
	return fmt.Sprintf("%s: resources %d/%d done | pages %s | rows %s | %s rows/s | %s",
		name, s.ResourcesDone, total, thousands(s.Batches), thousands(s.Rows),
		thousands(int64(rate)), elapsed.Truncate(100*time.Millisecond))
}

// thousands formats n with , between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := false
	if n < 0 {
		neg, s = true, s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
