// Package redact keeps secret values out of what the CLI prints: a Writer
// replaces every known secret (and its URL-escaped and base64 forms) with
// ***. Secrets can be added while the program runs; the Writer holds back an
// unfinished line until its newline (or \r, for progress lines) so a secret
// split across two writes is still caught.
package redact

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
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
	replacer *strings.Replacer
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
	pairs := make([]string, 0, 2*len(all))
	for _, v := range all {
		pairs = append(pairs, v, Mask)
	}
	s.replacer = strings.NewReplacer(pairs...)
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

// String returns s with every secret masked.
func (s *Set) String(str string) string {
	if s == nil {
		return str
	}
	s.mu.RLock()
	r := s.replacer
	s.mu.RUnlock()
	if r == nil {
		return str
	}
	return r.Replace(str)
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
