// Package redact keeps secret values out of what the CLI prints: a Writer
// replaces every known secret (and its URL-escaped and base64 forms), in
// any letter case, with ***. Secrets can be added while the program runs;
// the Writer holds back an unfinished line until its newline (or \r, for
// progress lines) so a secret split across two writes is still caught.
package redact

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Mask replaces a secret in output.
const Mask = "***"

// MinLen is the shortest secret value masked, in characters. A shorter value
// ("1", "abc") is left alone: it matches inside load ids, timings, paths and
// words, so masking it would garble unrelated output while hiding little.
const MinLen = 4

// Set is a set of secret values. Its zero value is empty and ready to use;
// it is safe for concurrent use.
type Set struct {
	mu       sync.RWMutex
	values   map[string]bool
	patterns []string // the values, case-folded, longest first
}

// Add adds secret values, with their URL-escaped and base64 forms. Values
// shorter than MinLen characters are ignored.
func (s *Set) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]bool{}
	}
	changed := false
	for _, v := range values {
		if utf8.RuneCountInString(v) < MinLen {
			continue
		}
		for _, f := range forms(v) {
			f, _ = fold(f)
			if !s.values[f] {
				s.values[f] = true
				changed = true
			}
		}
	}
	if !changed {
		return
	}
	all := make([]string, 0, len(s.values))
	for v := range s.values {
		all = append(all, v)
	}
	// Longest first, so a secret containing another is masked whole.
	slices.SortFunc(all, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	s.patterns = all
}

func forms(v string) []string {
	out := []string{v}
	for _, f := range []string{
		url.QueryEscape(v), url.PathEscape(v),
		base64.StdEncoding.EncodeToString([]byte(v)),
		base64.RawURLEncoding.EncodeToString([]byte(v)),
	} {
		// Short encodings would mask ordinary words.
		if f != v && len(f) >= 6 && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// fold maps every letter of str to one case, so that a secret matches in
// any casing (an error may print strings.ToUpper of a value). ASCII text
// folds byte for byte and offs is nil; otherwise a rune may fold to a
// different length, and offs[i] is the offset in str of the rune that
// byte i of folded comes from (offs[len(folded)] is len(str)).
func fold(str string) (folded string, offs []int) {
	ascii := true
	for i := 0; i < len(str); i++ {
		if str[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		b := []byte(str)
		for i, c := range b {
			if 'a' <= c && c <= 'z' {
				b[i] = c - 'a' + 'A'
			}
		}
		return string(b), nil
	}
	var b strings.Builder
	offs = make([]int, 0, len(str)+1)
	for i := 0; i < len(str); {
		r, n := utf8.DecodeRuneInString(str[i:])
		before := b.Len()
		if r == utf8.RuneError && n == 1 {
			b.WriteByte(str[i]) // invalid UTF-8 stays as it is
		} else {
			b.WriteRune(foldRune(r))
		}
		for range b.Len() - before {
			offs = append(offs, i)
		}
		i += n
	}
	return b.String(), append(offs, len(str))
}

// foldRune returns the smallest rune of r's case orbit (which for ASCII
// letters is the upper case). Going through ToUpper and ToLower first joins
// the few runes, such as dotless ı, whose case mappings leave their orbit.
func foldRune(r rune) rune {
	r = unicode.ToLower(unicode.ToUpper(r))
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

// String returns s with every secret masked.
func (s *Set) String(str string) string {
	if s == nil {
		return str
	}
	s.mu.RLock()
	patterns := s.patterns
	s.mu.RUnlock()
	if len(patterns) == 0 {
		return str
	}
	folded, offs := fold(str)
	var spans [][2]int
	for _, p := range patterns {
		for i := 0; ; {
			j := strings.Index(folded[i:], p)
			if j < 0 {
				break
			}
			spans = append(spans, [2]int{i + j, i + j + len(p)})
			i += j + 1
		}
	}
	if len(spans) == 0 {
		return str
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Or(a[0]-b[0], b[1]-a[1]) })
	var out strings.Builder
	at := 0 // in folded
	for _, sp := range spans {
		if sp[1] <= at {
			continue // inside a span already masked
		}
		// Overlapping secrets are masked as one, so neither shows in part.
		if sp[0] < at {
			at = sp[1]
			continue
		}
		out.WriteString(str[orig(offs, at):orig(offs, sp[0])])
		out.WriteString(Mask)
		at = sp[1]
	}
	out.WriteString(str[orig(offs, at):])
	return out.String()
}

// orig maps an offset in fold's result back to the string folded.
func orig(offs []int, i int) int {
	if offs == nil {
		return i
	}
	return offs[i]
}

// Writer masks secrets in everything written to it before passing it on
// whole lines at a time. Call Flush at the end to write a last unfinished
// line. It is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	set *Set
	buf []byte
}

// NewWriter returns a Writer masking the secrets of set in what it passes to
// w.
func NewWriter(w io.Writer, set *Set) *Writer { return &Writer{w: w, set: set} }

// Write buffers p and writes every complete line (ended by \n or \r) masked.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	i := bytes.LastIndexAny(w.buf, "\r\n")
	if i < 0 {
		// A very long line without an end: pass it on anyway.
		if len(w.buf) < 64<<10 {
			return len(p), nil
		}
		i = len(w.buf) - 1
	}
	out := w.set.String(string(w.buf[:i+1]))
	w.buf = append(w.buf[:0], w.buf[i+1:]...)
	if _, err := io.WriteString(w.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what is left of an unfinished line.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return nil
	}
	out := w.set.String(string(w.buf))
	w.buf = w.buf[:0]
	_, err := io.WriteString(w.w, out)
	return err
}
