package flow

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/internal/runctx"
	"github.com/sluicehq/sluice/internal/statedoc"
)

// badWorkingFile reports a file of a pipeline's working folder that cannot
// be read, with the remedy: without the folder, the next run restores the
// state and schema from the destination (they are committed with each load).
func badWorkingFile(pipeline, dir, file string, err error) error {
	return fmt.Errorf("flow: pipeline %q: bad %s: %w; remove the folder %s to restore the pipeline's state from the destination on the next run",
		pipeline, filepath.Join(dir, file), err, dir)
}

// stateEngineVersion is dlt's pipeline state engine version.
const stateEngineVersion = 4

// State is the pipeline state document (dlt's layout): incremental cursors and
// resource state live under sources.<source>.resources.<resource>.
type State map[string]any

// ResourceState is the mutable state of one resource, committed with the
// load that produced its data. Its methods are safe for concurrent use.
type ResourceState struct {
	mu sync.Mutex
	m  map[string]any
}

// Lock runs fn with exclusive access to the state map, which fn may change.
func (s *ResourceState) Lock(fn func(m map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.m)
}

// CurrentResourceState returns the state of the resource whose generator,
// transformer or step is running in ctx, or nil outside a run.
func CurrentResourceState(ctx context.Context) *ResourceState {
	rc := runctx.From(ctx)
	if rc == nil {
		return nil
	}
	st, _ := rc.State.(*ResourceState)
	return st
}

// CurrentResourceName returns the name of the resource running in ctx.
func CurrentResourceName(ctx context.Context) string {
	rc := runctx.From(ctx)
	if rc == nil {
		return ""
	}
	return rc.Name
}

func withResource(ctx context.Context, name string, st *ResourceState) context.Context {
	return runctx.With(ctx, &runctx.Resource{Name: name, State: st})
}

// withLimit is withResource for a root resource with a count limit of
// max yields; count records one yield.
func withLimit(ctx context.Context, name string, st *ResourceState, max int) (c context.Context, count func()) {
	left := new(atomic.Int64)
	left.Store(int64(max))
	c = runctx.With(ctx, &runctx.Resource{Name: name, State: st, Left: left})
	return c, func() { left.Add(-1) }
}

// stateStore keeps the resource states of one run.
type stateStore struct {
	mu    sync.Mutex
	doc   State
	byKey map[string]*ResourceState
}

func newStateStore(doc State) *stateStore {
	if doc == nil {
		doc = State{}
	}
	return &stateStore{doc: doc, byKey: map[string]*ResourceState{}}
}

func (s *stateStore) resource(source, name string) *ResourceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := source + "\x00" + name
	if st := s.byKey[key]; st != nil {
		return st
	}
	sources := subMap(s.doc, "sources")
	src := subMap(sources, source)
	res := subMap(src, "resources")
	st := &ResourceState{m: subMap(res, name)}
	s.byKey[key] = st
	return st
}

// reset drops a resource's state (refresh).
func (s *stateStore) reset(source, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := subMap(subMap(subMap(s.doc, "sources"), source), "resources")
	delete(res, name)
	delete(s.byKey, source+"\x00"+name)
}

func (s *stateStore) resetSource(source string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(subMap(s.doc, "sources"), source)
	for k := range s.byKey {
		if len(k) > len(source) && k[:len(source)+1] == source+"\x00" {
			delete(s.byKey, k)
		}
	}
}

func subMap(m map[string]any, key string) map[string]any {
	if v, ok := m[key].(map[string]any); ok {
		return v
	}
	v := map[string]any{}
	m[key] = v
	return v
}

// snapshot returns the document as JSON bytes, with resource states locked
// while they are read.
func (s *stateStore) snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.byKey {
		st.mu.Lock()
	}
	defer func() {
		for _, st := range s.byKey {
			st.mu.Unlock()
		}
	}()
	return json.Marshal(s.doc)
}

// contentHash hashes a state document without its version fields.
func contentHash(doc State) string {
	c := State{}
	for k, v := range doc {
		switch k {
		case "_state_version", "_version_hash", "_state_engine_version", "_local":
			continue
		}
		c[k] = v
	}
	raw, _ := json.Marshal(c)
	sum := sha256.Sum256(raw)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// DecodeState decodes a state document as dlt stores it in
// _dlt_pipeline_state.state (StoredState.State): zlib-compressed JSON,
// base64.
func DecodeState(s string) (State, error) {
	doc, err := statedoc.Decode(s)
	if err != nil {
		return nil, fmt.Errorf("flow: decode state: %w", err)
	}
	var st State
	if err := json.Unmarshal(doc, &st); err != nil {
		return nil, fmt.Errorf("flow: decode state: %w", err)
	}
	return st, nil
}
