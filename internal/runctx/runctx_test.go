package runctx_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/internal/runctx"
)

func TestYieldsLeft(t *testing.T) {
	left := func(n int64) *atomic.Int64 {
		a := new(atomic.Int64)
		a.Store(n)
		return a
	}
	tests := []struct {
		name   string
		ctx    context.Context
		want   int
		wantOK bool
	}{
		{"outside a run", context.Background(), 0, false},
		{"no count limit", runctx.With(context.Background(), &runctx.Resource{Name: "r"}), 0, false},
		{"three left", runctx.With(context.Background(), &runctx.Resource{Name: "r", Left: left(3)}), 3, true},
		{"overshot counts as none", runctx.With(context.Background(), &runctx.Resource{Name: "r", Left: left(-2)}), 0, true},
		{"inner resource wins", runctx.With(runctx.With(context.Background(), &runctx.Resource{Left: left(5)}), &runctx.Resource{Name: "t"}), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := runctx.YieldsLeft(tc.ctx)
			if n != tc.want || ok != tc.wantOK {
				t.Errorf("YieldsLeft = %d, %v; want %d, %v", n, ok, tc.want, tc.wantOK)
			}
		})
	}
}
