//go:build !unix

package flow

import "os"

// lockFile does nothing where flock is missing: runs are then kept apart
// within one process only.
func lockFile(*os.File) error { return nil }

// processExiting is never known where flock is missing.
func processExiting(int) bool { return false }
