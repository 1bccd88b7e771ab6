package rest

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// TestMaxResponseSize: a body over client.max_response_size fails at once
// (not retried), naming the path and the limit, whether its length is
// announced or not.
func TestMaxResponseSize(t *testing.T) {
	var requests atomic.Int64
	body := `{"data":[` + bigRows(1, 100) + `]}`
	srv := serve(t, map[string]http.HandlerFunc{
		"/sized": func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write([]byte(body))
		},
		"/chunked": func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			for i := 0; i < len(body); i += 512 {
				w.Write([]byte(body[i:min(i+512, len(body))]))
				w.(http.Flusher).Flush()
			}
		},
	})
	for _, tc := range []struct {
		name, limit, path string
		fails             bool
	}{
		{"announced length over the limit", `"4KiB"`, "sized", true},
		{"chunked body over the limit", `4096`, "chunked", true},
		{"under the limit", `"1MB"`, "chunked", false},
		{"default limit", `null`, "sized", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requests.Store(0)
			cfg := decode(t, `{"client":{"base_url":"`+srv.URL+`/","max_response_size":`+tc.limit+`},"resources":[{"name":"items","endpoint":{"path":"`+tc.path+`","paginator":"single_page"}}]}`)
			rows, err := tryCollect(cfg, "items")
			if !tc.fails {
				if err != nil || len(rows) != 100 {
					t.Fatalf("%d rows, error %v", len(rows), err)
				}
				return
			}
			want := `resource "items": rest: GET /` + tc.path + `: the response body is larger than client.max_response_size (4 KiB)`
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error %v, want %q", err, want)
			}
			if n := requests.Load(); n != 1 {
				t.Errorf("%d requests, want 1 (not retried)", n)
			}
		})
	}
}

// TestDecodeClientLimits: bad timeout and max_response_size values are
// refused with what they must be.
func TestDecodeClientLimits(t *testing.T) {
	for _, tc := range []struct{ client, want string }{
		{`{"timeout":-5}`, `source.client.timeout: must be positive: seconds (a number) or a duration like "30s"`},
		{`{"timeout":"-5s"}`, `source.client.timeout: must be positive`},
		{`{"timeout":0}`, `source.client.timeout: must be positive`},
		{`{"timeout":"soon"}`, `source.client.timeout: want seconds (a number) or a duration like "30s"`},
		{`{"max_retry_delay":-1}`, `source.client.max_retry_delay: must not be negative`},
		{`{"max_response_size":0}`, `source.client.max_response_size: want a positive size`},
		{`{"max_response_size":"12 parsecs"}`, `source.client.max_response_size: want a positive size`},
		{`{"max_response_size":true}`, `source.client.max_response_size: want a positive size`},
	} {
		t.Run(tc.client, func(t *testing.T) {
			var raw any
			if err := json.Unmarshal([]byte(`{"client":`+tc.client+`,"resources":["a"]}`), &raw); err != nil {
				t.Fatal(err)
			}
			_, err := DecodeConfig(raw, "source")
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	for in, want := range map[string]int64{`"1GiB"`: 1 << 30, `"500 MB"`: 500e6, `"1.5kB"`: 1500, `2048`: 2048, `"64 kib"`: 64 << 10} {
		cfg := decode(t, `{"client":{"max_response_size":`+in+`},"resources":["a"]}`)
		if cfg.Client.MaxResponseSize != want {
			t.Errorf("max_response_size %s: %d, want %d", in, cfg.Client.MaxResponseSize, want)
		}
	}
	for n, want := range map[int64]string{1 << 30: "1 GiB", 500e6: "500 MB", 1500: "1500 bytes", 3 << 20: "3 MiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestTimeoutNamed: an attempt that runs out of client.timeout says so,
// with the value, and how many attempts were made.
func TestTimeoutNamed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		srv := serveMem(map[string]http.HandlerFunc{"/slow": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}})
		cfg := decode(t, `{"client":{"base_url":"`+srv.URL+`/","timeout":0.05,"max_attempts":1},"resources":[{"name":"items","endpoint":{"path":"slow","paginator":"single_page"}}]}`)
		_, err := tryCollect(cfg, "items", WithRetry(Retry{MaxAttempts: 1}), srv.Option())
		want := `resource "items": rest: GET /slow: after 1 attempt: client.timeout (50ms per attempt, body included) ran out`
		if err == nil || err.Error() != want {
			t.Fatalf("error %v\nwant %s", err, want)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%v is not a context.DeadlineExceeded", err)
		}
	})
}

// TestNoSuchHostNotRetried: a host name that does not resolve fails after
// one attempt, with one line saying so.
func TestNoSuchHostNotRetried(t *testing.T) {
	var dials atomic.Int64
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}}
	cfg := decode(t, `{"client":{"base_url":"http://api.example.invalid/"},"resources":[{"name":"items","endpoint":{"path":"items","paginator":"single_page"}}]}`)
	_, err := tryCollect(cfg, "items", HTTPClient(&http.Client{Transport: tr}))
	if err == nil || !strings.Contains(err.Error(), "rest: GET /items: dial tcp: lookup api.example.invalid: no such host") || strings.Contains(err.Error(), "attempts") {
		t.Fatalf("error %v, want one no such host line", err)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d dials, want 1", n)
	}
}
