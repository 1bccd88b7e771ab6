package serve

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// handles holds values clients refer to by a random id (result handles,
// prepared statements) and closes each one that is not used for ttl, so a
// client that goes away leaks nothing: no open DuckDB file, no memory.
type handles[T any] struct {
	what  string
	ttl   time.Duration
	max   int
	close func(T)

	mu sync.Mutex
	m  map[string]*handle[T]
}

type handle[T any] struct {
	v        T
	timer    *time.Timer
	deadline time.Time
}

func newHandles[T any](what string, ttl time.Duration, maxN int, close func(T)) *handles[T] {
	return &handles[T]{what: what, ttl: ttl, max: maxN, close: close, m: map[string]*handle[T]{}}
}

// put stores v under a new id, unguessable so that clients cannot use each
// other's handles.
func (h *handles[T]) put(v T) (string, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.m) >= h.max {
		return "", status.Errorf(codes.ResourceExhausted, "serve: %d open %ss, the most it keeps: close some first", h.max, h.what)
	}
	e := &handle[T]{v: v, deadline: time.Now().Add(h.ttl)}
	e.timer = time.AfterFunc(h.ttl, func() {
		if v, ok := h.expire(id); ok {
			h.close(v)
		}
	})
	h.m[id] = e
	return id, nil
}

// take removes the value of id; a handle is taken once.
func (h *handles[T]) take(id string) (T, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.m[id]
	if !ok {
		var zero T
		return zero, false
	}
	e.timer.Stop()
	delete(h.m, id)
	return e.v, true
}

// expire takes the value of id if its time is up: a get racing with the
// timer has moved the deadline and reset the timer.
func (h *handles[T]) expire(id string) (T, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.m[id]
	if !ok || time.Now().Before(e.deadline) {
		var zero T
		return zero, false
	}
	delete(h.m, id)
	return e.v, true
}

// get returns the value of id and restarts its time to live.
func (h *handles[T]) get(id string) (T, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.m[id]
	if !ok {
		var zero T
		return zero, false
	}
	e.deadline = time.Now().Add(h.ttl)
	e.timer.Reset(h.ttl)
	return e.v, true
}

func (h *handles[T]) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.m)
}

// closeAll closes every value.
func (h *handles[T]) closeAll() {
	h.mu.Lock()
	all := h.m
	h.m = map[string]*handle[T]{}
	h.mu.Unlock()
	for _, e := range all {
		e.timer.Stop()
		h.close(e.v)
	}
}

// notFound is the error for an unknown or expired id.
func (h *handles[T]) notFound() error {
	return status.Errorf(codes.NotFound, "serve: unknown or expired %s (unused ones are closed after %s)", h.what, h.ttl)
}
