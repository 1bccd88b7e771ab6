package jsonpath

import (
	"bytes"
	"strings"

	"github.com/valyala/fastjson"
)

// rawRootString finds the string value of key among the members of the
// top-level object of body without parsing the body, when that is quick and
// certain; ok is false otherwise. It is certain when the key occurs in the
// body once and either is the last member of the top-level object (where
// most APIs put a next link, after the data) or comes after scalar members
// only (where others put it, before the data).
//
// Both hold for any valid JSON, and the caller parses the body afterwards,
// so a body that is not valid JSON fails as before. A match "K" that is
// preceded by '{' or ',' and followed by ':' is an object key: in valid
// JSON an unescaped quote after those is not inside a string.
func rawRootString(body []byte, key string) (string, bool) {
	if !plainKey(key) {
		return "", false
	}
	if mayEscape(body, key) {
		// Another member may spell the key with \u escapes, and the
		// parsed body would take the first of them.
		return "", false
	}
	pat := make([]byte, 0, len(key)+2)
	pat = append(append(append(pat, '"'), key...), '"')
	at := bytes.Index(body, pat)
	if at < 0 || bytes.Contains(body[at+len(pat):], pat) {
		return "", false
	}
	// The key's value: a string right after the colon.
	i := SkipSpace(body, at+len(pat))
	if i >= len(body) || body[i] != ':' {
		return "", false
	}
	i = SkipSpace(body, i+1)
	end := StringEnd(body, i)
	if end < 0 {
		return "", false
	}
	val := body[i:end]
	if !lastMember(body, at, end) && !afterScalars(body, at) {
		return "", false
	}
	if bytes.IndexByte(val, '\\') < 0 {
		return string(val[1 : len(val)-1]), true
	}
	// Escapes: unescape as the parsed body would.
	var p fastjson.Parser
	v, err := p.ParseBytes(val)
	if err != nil {
		return "", false
	}
	s, err := v.StringBytes()
	if err != nil {
		return "", false
	}
	return string(s), true
}

// RawString is the string value at p in body, found without parsing the
// body when p is one key ("next", "$.cursor") and the body shows the value
// for certain (see rawRootString); ok is false otherwise, and the caller
// parses the body. Paginators use it to request the next page while the
// page is parsed.
func (p *Path) RawString(body []byte) (string, bool) {
	if len(p.steps) != 1 || p.steps[0].kind != stepKey {
		return "", false
	}
	return rawRootString(body, p.steps[0].key)
}

// plainKey reports whether key has only letters, digits, '_' and '-':
// such a key can be spelled otherwise in JSON only with \u00XX escapes.
func plainKey(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return key != ""
}

// mayEscape reports whether body holds a \u00XX escape of a byte of key.
func mayEscape(body []byte, key string) bool {
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(`\u00`))
		if j < 0 {
			return false
		}
		i += j + 4
		if i+2 > len(body) {
			return false
		}
		hi, lo := unhex(body[i]), unhex(body[i+1])
		if hi < 0 || lo < 0 {
			continue
		}
		if strings.IndexByte(key, byte(hi<<4|lo)) >= 0 {
			return true
		}
	}
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// SkipSpace returns the index of the first byte at or after i in b that is
// not JSON white space.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// StringEnd returns the index after the JSON string starting at b[i], or -1.
func StringEnd(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		// The quote ends the string unless an odd run of backslashes
		// escapes it.
		n := 0
		for m := j - 1; m > i && b[m] == '\\'; m-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
	return -1
}

// lastMember reports whether the member whose key starts at at and whose
// value ends at end is the last member of the top-level object: a key
// (after '{' or ',') whose value is followed by the body's final '}'.
func lastMember(b []byte, at, end int) bool {
	i := SkipSpace(b, end)
	if i >= len(b) || b[i] != '}' || SkipSpace(b, i+1) != len(b) {
		return false
	}
	j := at - 1
	for j >= 0 && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
		j--
	}
	return j >= 0 && (b[j] == ',' || b[j] == '{')
}

// afterScalars reports whether the key at at is a member of the top-level
// object preceded only by members with scalar values.
func afterScalars(b []byte, at int) bool {
	i := SkipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i++
	for {
		i = SkipSpace(b, i)
		if i == at {
			return true
		}
		// A member before it: "key": scalar,
		k := StringEnd(b, i)
		if k < 0 || k > at {
			return false
		}
		i = SkipSpace(b, k)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = SkipSpace(b, i+1)
		if i >= len(b) {
			return false
		}
		switch c := b[i]; {
		case c == '"':
			if i = StringEnd(b, i); i < 0 || i > at {
				return false
			}
		case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n':
			for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
				i++
			}
		default:
			return false // an object or array: not worth scanning
		}
		i = SkipSpace(b, i)
		if i >= at || b[i] != ',' {
			return false
		}
		i++
	}
}
