package flow_test

import (
	"math"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/flow"
)

// TestGoToArenaMatchesGoToJSON: building a value in an arena gives the
// JSON that marshalling and parsing it gives.
func TestGoToArenaMatchesGoToJSON(t *testing.T) {
	for _, v := range []any{
		nil, true, false, "", "a \"q\" \u00e9\n", 0, -7, int64(math.MaxInt64), 0.5, -2.0, 1e20, 1e21, 1e-7, 123456.789,
		map[string]any{"b": 1, "a": []any{"x", nil, map[string]any{"z": 2.5}}}, []any{},
		time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), int32(3), []string{"s"},
	} {
		want, err := flow.GoToJSON(v)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		got, err := flow.GoToArena(new(fastjson.Arena), v)
		if err != nil || got.String() != want.String() {
			t.Errorf("%#v: arena %v (err %v), marshal %s", v, got, err, want)
		}
	}
	if _, err := flow.GoToArena(new(fastjson.Arena), math.NaN()); err == nil {
		t.Error("NaN: no error")
	}
}
