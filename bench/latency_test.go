package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluicehq/sluice/bench"
)

// LatencyRun makes every child request; its timing is reported by
// sluicebench, not asserted here.
func TestLatencyRunCompletes(t *testing.T) {
	for _, conc := range []int{0, 1} {
		d, err := bench.LatencyRun(context.Background(), 20, time.Millisecond, conc)
		if err != nil {
			t.Fatalf("concurrency %d: %v", conc, err)
		}
		if d <= 0 {
			t.Fatalf("concurrency %d: elapsed %v", conc, d)
		}
	}
}
