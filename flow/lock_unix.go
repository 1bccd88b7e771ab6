//go:build unix

package flow

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// lockFile takes an exclusive, non-blocking lock on f, released when f is
// closed (or the process ends).
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLockHeld
	}
	return err
}

// processExiting reports whether process pid is gone, or (on Linux) is
// being torn down: its flags in /proc/PID/stat carry PF_EXITING, set when
// a kill -9 lands and before the kernel closes its files.
func processExiting(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// Fields after the command's closing paren: state ppid pgrp session
	// tty_nr tpgid flags ...
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return false
	}
	fields := bytes.Fields(stat[i+1:])
	if len(fields) < 7 {
		return false
	}
	if fields[0][0] == 'Z' || fields[0][0] == 'X' {
		return true
	}
	flags, err := strconv.ParseUint(string(fields[6]), 10, 64)
	const pfExiting = 0x4
	return err == nil && flags&pfExiting != 0
}
