package flow_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/internal/statedoc"
)

// FuzzStateRoundTrip: DecodeState(statedoc.Encode(doc)) gives back the state
// document, for any JSON object; DecodeState never panics on other input.
func FuzzStateRoundTrip(f *testing.F) {
	f.Add([]byte(`{"sources":{"s":{"resources":{"r":{"incremental":{"updated_at":{"last_value":"2024-01-02T00:00:00Z","unique_hashes":["a"]}}}}}},"_state_version":3}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"a":[1,2.5,"x",null,true,{"b":[]}],"ü":"\u0000"}`))
	f.Add([]byte(`eJyrVkrOz0nNTc0rSS0qVrJSUCpJLS5RqgUAVrMIAA==`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Any string: DecodeState fails cleanly or returns a document.
		_, _ = flow.DecodeState(string(data))
		var want flow.State
		if err := json.Unmarshal(data, &want); err != nil || want == nil {
			return
		}
		got, err := flow.DecodeState(statedoc.Encode(data))
		if err != nil {
			t.Fatalf("round trip of %s: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip of %s gave %v, want %v", data, got, want)
		}
	})
}
