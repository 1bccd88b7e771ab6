package rest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/flow"
)

// scripted is an in-memory transport answering each request with the next
// of its responses (a status, a Retry-After, or a connection error), so
// that a test in a synctest bubble waits out retries in fake time.
type scripted struct {
	mu    sync.Mutex
	steps []step
	sent  []time.Time
}

type step struct {
	status     int
	retryAfter string
	err        error
}

func (s *scripted) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, time.Now())
	st := s.steps[0]
	if len(s.steps) > 1 {
		s.steps = s.steps[1:]
	}
	if st.err != nil {
		return nil, st.err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if st.retryAfter != "" {
		h.Set("Retry-After", st.retryAfter)
	}
	body := `{"data":[{"id":1}]}`
	if st.status != http.StatusOK {
		body = `{"error":"busy"}`
	}
	return &http.Response{StatusCode: st.status, Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// TestRetriesVisible: every retry is logged at info level with its status
// or error, the attempt of how many, and the wait, and reported to
// OnRetry; -v (debug) times the attempt that succeeded.
func TestRetriesVisible(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &scripted{steps: []step{
			{status: http.StatusTooManyRequests, retryAfter: "30"},
			{err: errors.New("connection reset by peer")},
			{status: http.StatusServiceUnavailable},
			{status: http.StatusOK},
		}}
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug,
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}}))
		var waits []RetryWait
		cfg := decode(t, `{"client":{"base_url":"http://api.test/","backoff_factor":2},"resources":[{"name":"items","endpoint":{"path":"items","paginator":"single_page"}}]}`)
		src, err := NewSource(cfg, HTTPClient(&http.Client{Transport: tr}), Logger(log), OnRetry(func(w RetryWait) { waits = append(waits, w) }))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		items, err := flow.Collect(context.Background(), src.Resource("items"))
		if err != nil || len(items) != 1 {
			t.Fatalf("%d items, error %v", len(items), err)
		}
		// Retry-After is waited out exactly; backoff waits are jittered.
		if d := tr.sent[1].Sub(start); d != 30*time.Second {
			t.Errorf("second attempt after %v, want 30s", d)
		}
		if len(waits) != 3 {
			t.Fatalf("OnRetry got %d waits, want 3: %+v", len(waits), waits)
		}
		for i, want := range []struct {
			status int
			err    string
		}{{429, ""}, {0, "connection reset by peer"}, {503, ""}} {
			w := waits[i]
			if w.Attempt != i+1 || w.MaxAttempts != 5 || w.Status != want.status || w.Method != "GET" || w.Path != "/items" ||
				(want.err != "" && (w.Err == nil || !strings.Contains(w.Err.Error(), want.err))) {
				t.Errorf("wait %d: %+v", i, w)
			}
		}
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		var retries []string
		for _, l := range lines {
			if strings.Contains(l, `msg="rest: retrying"`) {
				retries = append(retries, l)
			}
		}
		for i, want := range []string{
			`level=INFO msg="rest: retrying" method=GET path=/items status=429 attempt=1/5 took=0s wait=30s`,
			`level=INFO msg="rest: retrying" method=GET path=/items error="connection reset by peer" attempt=2/5 took=0s wait=`,
			`level=INFO msg="rest: retrying" method=GET path=/items status=503 attempt=3/5 took=0s wait=`,
		} {
			if i >= len(retries) || !strings.HasPrefix(retries[i], want) {
				t.Errorf("retry log line %d: want %s\nlog:\n%s", i+1, want, logs.String())
			}
		}
		if !strings.Contains(logs.String(), `level=DEBUG msg="rest: response" method=GET path=/items status=200 bytes=19 attempt=4/5 took=0s total=`) {
			t.Errorf("no debug line for the attempt that succeeded:\n%s", logs.String())
		}
	})
}
