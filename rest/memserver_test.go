package rest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
)

// memServer answers requests by calling its handlers in memory, so that a
// test in a synctest bubble (where loopback I/O never blocks durably) can
// use handlers that wait, and the clock it sees is the bubble's fake one.
type memServer struct {
	URL string
	mux *http.ServeMux
}

// serveMem is serve without a socket: use URL as base_url and pass
// Option() to the source.
func serveMem(routes map[string]http.HandlerFunc) *memServer {
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.HandleFunc(p, h)
	}
	return &memServer{URL: "http://api.test", mux: mux}
}

// Option is the HTTPClient source option for this server.
func (s *memServer) Option() SourceOption {
	return HTTPClient(&http.Client{Transport: s})
}

// RoundTrip runs the handler with the client's request (and so its
// context) and hands back what it wrote; a body shorter than its
// Content-Length ends in io.ErrUnexpectedEOF, as net/http's transport does.
func (s *memServer) RoundTrip(r *http.Request) (*http.Response, error) {
	in := r.Clone(r.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = r.URL.RequestURI()
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, in)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	if n, err := strconv.Atoi(resp.Header.Get("Content-Length")); err == nil && n > rec.Body.Len() {
		resp.Body = io.NopCloser(io.MultiReader(resp.Body, errReader{io.ErrUnexpectedEOF}))
	}
	return resp, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
