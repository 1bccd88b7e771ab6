// Package loadstate is the lifecycle both destinations' loads share: a
// load keeps its first failure and, once it failed or ended, refuses more
// work with an error saying which.
package loadstate

import (
	"context"
	"errors"
	"fmt"
)

// State is embedded in a destination's load.
type State struct {
	Name string          // the destination, prefixing errors ("duckdb")
	Ctx  context.Context // Begin's context: cancelling it fails the load
	Done bool            // Commit or Rollback ended the load
	Err  error           // first failure; the load can only roll back
}

// Fail records the first failure and returns err.
func (s *State) Fail(err error) error {
	if s.Err == nil {
		s.Err = err
	}
	return err
}

// Check refuses work on a load that ended, failed, or whose context (Begin's
// or the call's, ctx) is cancelled; a cancellation becomes the failure.
func (s *State) Check(ctx context.Context) error {
	if s.Done {
		return errors.New(s.Name + ": load already ended")
	}
	if s.Err != nil {
		return fmt.Errorf("%s: load failed earlier: %w", s.Name, s.Err)
	}
	if err := context.Cause(s.Ctx); err != nil {
		return s.Fail(err)
	}
	if err := context.Cause(ctx); err != nil {
		return s.Fail(err)
	}
	return nil
}
