package flow

import "github.com/sluicehq/sluice/internal/safecall"

// PanicError is a panic in a resource, a step, a transformer or a stage,
// recovered and returned as the run's error. Its message is one line (the
// value and where it was raised); Stack has the goroutine's stack. Test
// for it with errors.As(err, new(*flow.PanicError)).
type PanicError = safecall.PanicError

// callSafe runs fn, returning a panic in it as a *PanicError.
func callSafe(fn func() error) error { return safecall.Do(fn) }
