package statedoc_test

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/statedoc"
)

func TestRoundTrip(t *testing.T) {
	for _, doc := range []string{`{}`, `{"sources":{"s":{"resources":{"r":{"n":1}}}}}`, `not even json`} {
		t.Run(doc, func(t *testing.T) {
			enc := statedoc.Encode([]byte(doc))
			if strings.Contains(enc, doc) {
				t.Errorf("Encode(%s) = %s, not compressed", doc, enc)
			}
			got, err := statedoc.Decode(enc)
			if err != nil || string(got) != doc {
				t.Errorf("Decode(Encode(%s)) = %s, %v", doc, got, err)
			}
		})
	}
}

func TestDecodeBad(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not base64", "%%%"},
		{"not zlib", "aGVsbG8="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := statedoc.Decode(tc.in); err == nil || !strings.HasPrefix(err.Error(), "statedoc: ") {
				t.Errorf("Decode(%q) error = %v, want a statedoc error", tc.in, err)
			}
		})
	}
}
