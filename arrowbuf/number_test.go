package arrowbuf

import (
	"math"
	"strconv"
	"testing"
)

func TestParseInt64(t *testing.T) {
	for _, s := range []string{"0", "-0", "42", "-7", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "-9223372036854775809", "99999999999999999999", "", "-", "1.5", "1e3", "12a"} {
		got, ok := parseInt64([]byte(s))
		want, err := strconv.ParseInt(s, 10, 64)
		if ok != (err == nil) || (ok && got != want) {
			t.Errorf("parseInt64(%q) = %d, %v; want %d, %v", s, got, ok, want, err)
		}
	}
	if v, _ := parseInt64([]byte("-9223372036854775808")); v != math.MinInt64 {
		t.Errorf("min int64 = %d", v)
	}
}
