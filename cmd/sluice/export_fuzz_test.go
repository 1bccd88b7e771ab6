package main

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzAppendJSONString: every string becomes one valid JSON string that
// decodes to it (invalid UTF-8 as encoding/json replaces it).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", `a"b\c`, "line\nnext\ttab\r", "\x00\x1f<&>", "é ✓ \u2028", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString([]byte("x"), s)[1:]
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		want := s
		if !utf8.ValidString(s) {
			w, _ := json.Marshal(s)
			_ = json.Unmarshal(w, &want)
		}
		if got != want {
			t.Errorf("%q -> %s -> %q", s, b, got)
		}
	})
}
