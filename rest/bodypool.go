// HTTP layer: the body pool. Bodies are read into buffers sized from the
// recent ones and kept for reuse once parsed, as parsers.go keeps parsers.

package rest

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
)

// bodySizes remembers the size of recent bodies so that a body of unknown
// length (chunked, the usual case for JSON APIs) is read into about the
// right buffer instead of one grown by doubling, which copied and zeroed
// each page about twice over in profiles. Reading starts small, so that the
// small bodies of child requests do not each get a page-sized buffer, and
// jumps to the remembered size once a body outgrows that.
//
// It also keeps the buffers of bodies that were parsed and are done with
// (put), so a load does not allocate and zero a page-sized buffer per
// request: 200 MB per million flat records, most of a load's garbage.
type bodySizes struct {
	last atomic.Int64
	free chan []byte // nil: buffers are not kept
}

// bodiesKept bounds the buffers kept, as parsersKept bounds parsers.
const bodiesKept = 32

// newBuffer returns a kept buffer of at least size bytes' capacity, or a
// new one.
func (s *bodySizes) newBuffer(size int) []byte {
	select {
	case b := <-s.free:
		if cap(b) >= size {
			return b[:0]
		}
	default:
	}
	return make([]byte, 0, size)
}

// poisonBodies fills buffers when they are put back, so that a test sees
// any value that still points into a reused body.
var poisonBodies = os.Getenv("SLUICE_POOL_POISON") == "1"

// put keeps b for a later body; the caller must not use b again.
func (s *bodySizes) put(b []byte) {
	if s == nil || s.free == nil || cap(b) > bigBody || cap(b) < firstRead {
		return
	}
	if poisonBodies {
		b = b[:cap(b)]
		for i := range b {
			b[i] = '!'
		}
	}
	select {
	case s.free <- b:
	default:
	}
}

const firstRead = 16 << 10

// readAll reads a response body; a body over limit bytes (0: no limit)
// is a *tooLargeError.
func (s *bodySizes) readAll(resp *http.Response, limit int64) ([]byte, error) {
	if limit > 0 && resp.ContentLength > limit {
		return nil, &tooLargeError{limit: limit}
	}
	want := resp.ContentLength
	if want <= 0 || want >= 1<<30 {
		want = 0
	}
	est := s.last.Load()
	est += est / 8
	size := want
	if size == 0 {
		size = min(est, firstRead)
	}
	buf := s.newBuffer(int(max(size, 512)) + bytes.MinRead)
	var err error
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(int(est)-len(buf), cap(buf)))
		}
		var n int
		n, err = resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if limit > 0 && int64(len(buf)) > limit {
			return nil, &tooLargeError{limit: limit}
		}
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			break
		}
	}
	// Decay towards the newest size so one huge page does not fix every
	// later buffer at its size.
	n := int64(len(buf))
	if last := s.last.Load(); n >= last {
		s.last.Store(n)
	} else {
		s.last.Store(last - (last-n)/4)
	}
	return buf, err
}
