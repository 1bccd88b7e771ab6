package safecall

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/sourcegraph/conc/panics"
)

// PanicError is a panic in a resource, a step, a transformer or a stage,
// recovered and returned as the run's error. Its message is one line (the
// value and where it was raised); Stack has the goroutine's stack.
type PanicError struct {
	Value any
	Where string // function and file:line of the panic
	Stack []byte
}

func (p *PanicError) Error() string {
	if p.Where == "" {
		return fmt.Sprintf("panic: %v", p.Value)
	}
	return fmt.Sprintf("panic: %v (in %s)", p.Value, p.Where)
}

// Unwrap returns the panic value when it is an error.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// Do runs fn, returning a panic in it as a *PanicError.
func Do(fn func() error) (err error) {
	var pc panics.Catcher
	pc.Try(func() { err = fn() })
	if r := pc.Recovered(); r != nil {
		return &PanicError{Value: r.Value, Where: panicSite(r.Callers), Stack: r.Stack}
	}
	return err
}

// panicSite is the first frame of callers outside the runtime and the
// recovering code: the function that panicked.
func panicSite(callers []uintptr) string {
	frames := runtime.CallersFrames(callers)
	for {
		f, more := frames.Next()
		if f.Function != "" && !strings.HasPrefix(f.Function, "runtime.") && !strings.HasPrefix(f.Function, "github.com/sourcegraph/conc/") {
			return fmt.Sprintf("%s at %s:%d", f.Function, filepath.Base(f.File), f.Line)
		}
		if !more {
			return ""
		}
	}
}
