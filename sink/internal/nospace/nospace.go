// Package nospace recognises a full disk in what the destinations' writes
// return, so that a load that runs out of space fails with one line naming
// the destination instead of a staging file or DuckDB's advice on memory.
package nospace

import (
	"errors"
	"strings"
	"syscall"
)

// Error is a load that ran out of disk space where it writes.
type Error struct {
	Path string // the destination: a DuckDB file, a dataset folder
	Err  error  // the failure as reported
}

func (e *Error) Error() string { return "no space left on device: " + e.Path }

// Unwrap gives errors.Is syscall.ENOSPC, also for a failure DuckDB reported
// as text, and the original failure.
func (e *Error) Unwrap() []error { return []error{syscall.ENOSPC, e.Err} }

// Wrap returns err as an *Error for path when it reports a full disk, and
// err as it is otherwise.
func Wrap(err error, path string) error {
	var e *Error
	if err == nil || errors.As(err, &e) || !Is(err) {
		return err
	}
	return &Error{Path: path, Err: err}
}

// Is reports whether err says the disk is full: ENOSPC from the system, or
// DuckDB's text for it. DuckDB reports a write that failed as an IO Error
// with strerror's "No space left on device"; when it cannot spill blocks
// to its temp directory, whose size limit (max_temp_directory_size) is by
// default the disk space available, it reports an Out of Memory Error
// ("failed to offload data block ... max_temp_directory_size").
func Is(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "No space left on device") ||
		strings.Contains(msg, "failed to offload data block") && strings.Contains(msg, "max_temp_directory_size")
}
