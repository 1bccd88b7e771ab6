//go:build unix

package duckdb

import (
	"os"
	"syscall"
)

// lockStage takes the exclusive lock a live stage folder's load holds; it
// ends when f is closed or the process ends.
func lockStage(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// tryLockStray reports whether no process holds the lock of f: its stage
// folder was left by a killed load.
func tryLockStray(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
