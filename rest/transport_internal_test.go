package rest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Bodies of unknown length are read whole whatever the remembered size:
// smaller, equal, larger, much larger, empty.
func TestBodySizesReadAll(t *testing.T) {
	var s bodySizes
	for _, n := range []int{1000, 1000, 999, 1001, 5000, 200_000, 10, 0, 70_000} {
		want := bytes.Repeat([]byte("x"), n)
		resp := &http.Response{ContentLength: -1, Body: io.NopCloser(struct{ io.Reader }{bytes.NewReader(want)})}
		got, err := s.readAll(resp)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: got %d bytes, err %v", n, len(got), err)
		}
	}
	// A declared length is used as given, even a wrong one.
	resp := &http.Response{ContentLength: 3, Body: io.NopCloser(strings.NewReader("abcdef"))}
	if got, err := s.readAll(resp); err != nil || string(got) != "abcdef" {
		t.Fatalf("declared length: %q, %v", got, err)
	}
}
