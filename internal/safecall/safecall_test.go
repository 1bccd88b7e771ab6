package safecall_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/safecall"
)

func TestDo(t *testing.T) {
	tests := []struct {
		name      string
		fn        func() error
		wantPanic bool
		wantIs    error  // errors.Is target, if any
		wantMsg   string // substring of the error, if any
	}{
		{"nil", func() error { return nil }, false, nil, ""},
		{"error passes", func() error { return io.EOF }, false, io.EOF, "EOF"},
		{"panic value", func() error { panic("boom") }, true, nil, "panic: boom (in github.com/sluicehq/sluice/internal/safecall_test.TestDo"},
		{"panic with an error unwraps", func() error { panic(io.ErrUnexpectedEOF) }, true, io.ErrUnexpectedEOF, "unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := safecall.Do(tc.fn)
			var pe *safecall.PanicError
			if got := errors.As(err, &pe); got != tc.wantPanic {
				t.Fatalf("Do = %v: PanicError %v, want %v", err, got, tc.wantPanic)
			}
			if tc.wantPanic && (len(pe.Stack) == 0 || strings.Contains(err.Error(), "\n")) {
				t.Errorf("PanicError %q: want one line and a stack", err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Do = %v, want it to wrap %v", err, tc.wantIs)
			}
			if tc.wantMsg == "" && err != nil || tc.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tc.wantMsg)) {
				t.Errorf("Do = %v, want %q", err, tc.wantMsg)
			}
		})
	}
}
