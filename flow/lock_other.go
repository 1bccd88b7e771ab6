//go:build !unix

package flow

import "os"

// lockFile does nothing where flock is missing: runs are then kept apart
// within one process only.
func lockFile(*os.File) error { return nil }
