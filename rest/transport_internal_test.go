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
		got, err := s.readAll(resp, 0)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: got %d bytes, err %v", n, len(got), err)
		}
	}
	// A declared length is used as given, even a wrong one.
	resp := &http.Response{ContentLength: 3, Body: io.NopCloser(strings.NewReader("abcdef"))}
	if got, err := s.readAll(resp, 0); err != nil || string(got) != "abcdef" {
		t.Fatalf("declared length: %q, %v", got, err)
	}
}

func TestBodySizesKeepsBuffers(t *testing.T) {
	s := &bodySizes{free: make(chan []byte, bodiesKept)}
	page := make([]byte, 0, 64<<10)
	s.put(page)
	if got := s.newBuffer(32 << 10); cap(got) != cap(page) || &got[:1][0] != &page[:1][0] {
		t.Error("a kept buffer big enough was not reused")
	}
	for _, c := range []struct {
		name string
		size int
	}{{"small", firstRead - 1}, {"big", bigBody + 1}} {
		s.put(make([]byte, 0, c.size))
		if len(s.free) != 0 {
			t.Errorf("%s buffer (%d bytes) was kept", c.name, c.size)
			<-s.free
		}
	}
	s.put(page)
	if got := s.newBuffer(128 << 10); cap(got) < 128<<10 {
		t.Errorf("newBuffer(128KiB) has capacity %d", cap(got))
	}
	var none *bodySizes
	none.put(page) // a client without a transport's list keeps nothing
}
