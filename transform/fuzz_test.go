package transform_test

import (
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/transform"
)

// FuzzParsePath: any input either fails to parse or yields a path that
// renders and looks up without panicking; a plain dotted path round-trips.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"id", "$.data.updated_at", "a[0].b", "['a-b'].c", "$", "a..b", "[", "a[*]", "$.x['y'][2]"} {
		f.Add(s)
	}
	doc := fastjson.MustParse(`{"a":{"b":[{"c":1}]},"id":5,"a-b":{"c":"x"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := transform.ParsePath(s)
		if err != nil {
			return
		}
		_, _ = p.Get(doc)
		_, _ = p.Go(map[string]any{"a": []any{1, map[string]any{"b": 2}}})
		if strings.TrimSpace(s) == s && !strings.ContainsAny(s, "[]'\"$") && !strings.Contains(s, "..") && !strings.HasPrefix(s, ".") && !strings.HasSuffix(s, ".") {
			if p.String() != s {
				t.Fatalf("ParsePath(%q).String() = %q", s, p.String())
			}
		}
	})
}

// FuzzCompare: Compare is antisymmetric on any pair of strings.
func FuzzCompare(f *testing.F) {
	f.Add("2024-01-01T00:00:00Z", "2024-01-02")
	f.Add("b", "a")
	f.Fuzz(func(t *testing.T, a, b string) {
		if transform.Compare(a, b) != -transform.Compare(b, a) {
			t.Fatalf("Compare(%q,%q) not antisymmetric", a, b)
		}
	})
}
