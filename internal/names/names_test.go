package names_test

import (
	"testing"

	"github.com/sluicehq/sluice/internal/names"
)

func TestNames(t *testing.T) {
	tests := []struct {
		in, pipeline, dataset string
	}{
		{"blog", "blog", "blog"},
		{"MyData Set", "mydata_set", "my_data_set"},
		{"raw-Events", "raw_events", "raw_events"},
		{"a  b", "a__b", "a_b"},
		{"  ", "__", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := names.Pipeline(tc.in); got != tc.pipeline {
				t.Errorf("Pipeline(%q) = %q, want %q", tc.in, got, tc.pipeline)
			}
			if got := names.Dataset(tc.in); got != tc.dataset {
				t.Errorf("Dataset(%q) = %q, want %q", tc.in, got, tc.dataset)
			}
		})
	}
}
