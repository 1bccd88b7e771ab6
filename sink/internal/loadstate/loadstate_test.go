package loadstate

import (
	"context"
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	cancelled, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stop")
	cancel(stop)
	boom := errors.New("boom")
	for _, c := range []struct {
		name    string
		s       State
		ctx     context.Context
		want    string
		wantErr error // the failure recorded after Check
	}{
		{"fresh", State{Name: "x", Ctx: context.Background()}, context.Background(), "", nil},
		{"ended", State{Name: "x", Ctx: context.Background(), Done: true}, context.Background(), "x: load already ended", nil},
		{"failed", State{Name: "x", Ctx: context.Background(), Err: boom}, context.Background(), "x: load failed earlier: boom", boom},
		{"begin cancelled", State{Name: "x", Ctx: cancelled}, context.Background(), "stop", stop},
		{"call cancelled", State{Name: "x", Ctx: context.Background()}, cancelled, "stop", stop},
	} {
		err := c.s.Check(c.ctx)
		if got := ""; err != nil && err.Error() != c.want || err == nil && c.want != got {
			t.Errorf("%s: Check = %v, want %q", c.name, err, c.want)
		}
		if !errors.Is(c.s.Err, c.wantErr) || (c.wantErr == nil) != (c.s.Err == nil) {
			t.Errorf("%s: recorded failure %v, want %v", c.name, c.s.Err, c.wantErr)
		}
	}
	s := State{Name: "x"}
	if s.Fail(boom) != boom || s.Fail(stop) != stop || s.Err != boom {
		t.Errorf("Fail keeps the first failure: got %v", s.Err)
	}
}
