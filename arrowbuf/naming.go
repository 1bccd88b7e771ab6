package arrowbuf

import (
	"crypto/sha3"
	"encoding/base64"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// PathSeparator joins the fragments of flattened column and nested table
// names, as dlt's snake_case convention does.
const PathSeparator = "__"

// emptyKeyIdentifier is what dlt names a blank data key (its relational
// normalizer's EMPTY_KEY_IDENTIFIER, used as it is, not normalized).
const emptyKeyIdentifier = "_empty"

// identCache memoizes unbounded normalizations: the hot path normalizes the
// same few keys millions of times.
var identCache, pathCache sync.Map

// NormalizeIdentifier applies dlt's snake_case convention to one identifier,
// without a length limit.
func NormalizeIdentifier(s string) string {
	if v, ok := identCache.Load(s); ok {
		return v.(string)
	}
	out := NormalizeIdentifierMax(s, 0)
	identCache.Store(s, out)
	return out
}

// NormalizeTableIdentifier normalizes a table name; for snake_case it is the
// same as NormalizeIdentifier.
func NormalizeTableIdentifier(s string) string { return NormalizeIdentifier(s) }

// NormalizeTableIdentifierMax is NormalizeTableIdentifier with a length limit.
func NormalizeTableIdentifierMax(s string, maxLen int) string {
	return NormalizeIdentifierMax(s, maxLen)
}

// NormalizePath normalizes a data key: it is split on "__", each fragment is
// normalized and the fragments are joined again, so "a__b" stays "a__b".
func NormalizePath(s string) string {
	if v, ok := pathCache.Load(s); ok {
		return v.(string)
	}
	out := NormalizePathMax(s, 0)
	pathCache.Store(s, out)
	return out
}

// NormalizeIdentifierMax normalizes s and, when maxLen > 0 and the result is
// longer, shortens it the way dlt does: a prefix, a 6-char tag hashed from the
// original identifier, and a suffix.
func NormalizeIdentifierMax(s string, maxLen int) string {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if s == "" {
		return emptyKeyIdentifier
	}
	return shortenIdentifier(snakeCase(s), s, maxLen)
}

// NormalizePathMax is NormalizePath with a length limit applied to every
// fragment and then to the whole path.
func NormalizePathMax(s string, maxLen int) string {
	if strings.TrimFunc(s, unicode.IsSpace) == "" {
		return emptyKeyIdentifier
	}
	parts := strings.Split(s, PathSeparator)
	out := parts[:0]
	for _, p := range parts {
		if strings.TrimFunc(p, unicode.IsSpace) == "" {
			continue
		}
		out = append(out, NormalizeIdentifierMax(p, maxLen))
	}
	return shortenIdentifier(strings.Join(out, PathSeparator), s, maxLen)
}

// shortenIdentifier keeps normalized when it fits, else trims it to maxLen
// around a tag computed from the original identifier (dlt's _trim_and_tag).
func shortenIdentifier(normalized, original string, maxLen int) string {
	if maxLen <= 0 || len(normalized) <= maxLen {
		return normalized
	}
	tag := identifierTag(original)
	remaining := maxLen - len(tag)
	head := remaining/2 + remaining%2
	tail := remaining / 2
	return normalized[:head] + tag + normalized[len(normalized)-tail:]
}

// identifierTag is dlt's collision tag: 4 bytes of SHAKE-128 (enough for a
// 0.1% collision probability), base64 without padding, "/+" mapped to "ab",
// lower-cased.
func identifierTag(s string) string {
	sum := sha3.SumSHAKE128([]byte(s), 4)
	tag := []byte(base64.RawStdEncoding.EncodeToString(sum))
	for i, c := range tag {
		switch {
		case c == '/':
			tag[i] = 'a'
		case c == '+':
			tag[i] = 'b'
		case c >= 'A' && c <= 'Z':
			tag[i] = c + 'a' - 'A'
		}
	}
	return string(tag)
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }
func isLower(r rune) bool { return r >= 'a' && r <= 'z' }

// snakeCase is dlt's snake_case on a stripped, non-empty identifier. The
// steps mirror dlt's regular expressions, applied in the same order:
// reduce "+-*@|", replace runs of other non-alphanumerics with "_", break
// camel case twice, lower-case, prefix a leading digit, turn trailing "_"
// into "x" and collapse "__" runs.
func snakeCase(s string) string {
	// Fast path: already lower snake case without edge cases.
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' && i > 0 || c == '_' && i > 0 && i < len(s)-1 && s[i-1] != '_') {
			simple = false
			break
		}
	}
	if simple {
		return s
	}
	// 1. translate and replace non-alphanumeric runs (Python's \d is any
	// Unicode decimal digit).
	rs := make([]rune, 0, len(s))
	inRun := false
	for _, r := range s {
		switch r {
		case '+', '*':
			r = 'x'
		case '-':
			r = '_'
		case '@':
			r = 'a'
		case '|':
			r = 'l'
		}
		if isASCIIAlnum(r) || r == '_' || r > utf8.RuneSelf && unicode.IsDigit(r) {
			rs = append(rs, r)
			inRun = false
			continue
		}
		if !inRun {
			rs = append(rs, '_')
			inRun = true
		}
	}
	// 2. ([^_])([A-Z][a-z]+) -> \1_\2, non-overlapping, left to right.
	b1 := make([]rune, 0, len(rs)+8)
	for i := 0; i < len(rs); {
		if rs[i] != '_' && i+2 < len(rs) && isUpper(rs[i+1]) && isLower(rs[i+2]) {
			j := i + 3
			for j < len(rs) && isLower(rs[j]) {
				j++
			}
			b1 = append(b1, rs[i], '_')
			b1 = append(b1, rs[i+1:j]...)
			i = j
			continue
		}
		b1 = append(b1, rs[i])
		i++
	}
	// 3. ([a-z0-9])([A-Z]) -> \1_\2, then lower.
	b2 := make([]rune, 0, len(b1)+8)
	for i := 0; i < len(b1); {
		if (isLower(b1[i]) || b1[i] >= '0' && b1[i] <= '9') && i+1 < len(b1) && isUpper(b1[i+1]) {
			b2 = append(b2, b1[i], '_', b1[i+1]+'a'-'A')
			i += 2
			continue
		}
		r := b1[i]
		if isUpper(r) {
			r += 'a' - 'A'
		}
		b2 = append(b2, r)
		i++
	}
	// 4. leading digit gets a "_" prefix.
	if len(b2) > 0 && unicode.IsDigit(b2[0]) {
		b2 = append([]rune{'_'}, b2...)
	}
	// 5. trailing underscores become x's.
	n := len(b2)
	for n > 0 && b2[n-1] == '_' {
		n--
	}
	for i := n; i < len(b2); i++ {
		b2[i] = 'x'
	}
	// 6. collapse runs of underscores.
	var sb strings.Builder
	sb.Grow(len(b2))
	for i, r := range b2 {
		if r == '_' && i > 0 && b2[i-1] == '_' {
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
