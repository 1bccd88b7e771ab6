package arrowbuf

import (
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// Text columns hold valid UTF-8 only: Parquet readers (DuckDB's
// read_parquet: "Invalid string encoding") and DuckDB's own VARCHAR refuse
// anything else. Text from a legacy API or a Go string may not be, so each
// byte that is not part of a valid sequence becomes U+FFFD, as encoding/json
// and Python's errors="replace" decode it and as AppendJSONText writes it.

// validUTF8 returns s, or a copy with its invalid bytes replaced. The check
// is the whole cost for valid text.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return replaceInvalid(s)
}

// replaceInvalid replaces each byte of s that is not part of a valid UTF-8
// sequence with U+FFFD. Unlike strings.ToValidUTF8 it does not merge a run
// of invalid bytes into one U+FFFD, so the text reads as encoding/json reads
// it.
func replaceInvalid(s string) string {
	b := make([]byte, 0, len(s)+8)
	start := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	return string(append(b, s[start:]...))
}

// stringsValid reports whether every value of a is valid UTF-8: the data
// buffer is checked in one pass, and no value may start inside a multi-byte
// sequence (two invalid halves can make a valid whole). Bytes under null
// slots count too, which only sends such an array down the row path.
func stringsValid(a *array.String) bool {
	offs := a.ValueOffsets()
	if len(offs) == 0 {
		return true
	}
	bufs := a.Data().Buffers()
	if len(bufs) < 3 || bufs[2] == nil {
		return offs[0] == offs[len(offs)-1]
	}
	data := bufs[2].Bytes()
	lo, hi := int(offs[0]), int(offs[len(offs)-1])
	if !utf8.Valid(data[lo:hi]) {
		return false
	}
	for _, o := range offs[1 : len(offs)-1] {
		if int(o) < hi && !utf8.RuneStart(data[o]) {
			return false
		}
	}
	return true
}
