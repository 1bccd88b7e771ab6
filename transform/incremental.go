package transform

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/flow"
)

// LastValueFunc picks the newer of two cursor values: Max (the default) or
// Min.
type LastValueFunc string

// The last value functions.
const (
	Max LastValueFunc = "max"
	Min LastValueFunc = "min"
)

// Incremental loads only new data: it tracks the max (or min) of a cursor
// field over loaded rows in resource state, and filters rows that were
// loaded before (dlt's dlt.sources.incremental). The next run starts from
// the stored last value, inclusive, and drops the rows seen at exactly that
// value, whose hashes it keeps (bounded: only rows at the last value).
type Incremental struct {
	CursorPath   string
	InitialValue any
	EndValue     any
	LastValue    LastValueFunc
	// PrimaryKey identifies rows at the boundary; empty: the whole row.
	PrimaryKey []string
	// OnMissing: "raise" (default), "include" or "exclude" rows without the
	// cursor field.
	OnMissing string

	path    Path
	keyPath []Path
	runs    sync.Map // *flow.ResourceState -> *incRun
}

// incRun is the incremental's view of one run of one resource.
type incRun struct {
	mu        sync.Mutex
	start     any // value the run starts from (stored last value or initial)
	startHash map[string]bool
	last      any
	lastHash  map[string]bool
	st        *flow.ResourceState
	key       string
}

// NewIncremental returns an incremental on cursorPath.
func NewIncremental(cursorPath string, initial any) (*Incremental, error) {
	p, err := ParsePath(cursorPath)
	if err != nil {
		return nil, fmt.Errorf("incremental cursor_path: %w", err)
	}
	return &Incremental{CursorPath: cursorPath, InitialValue: initial, path: p}, nil
}

func (in *Incremental) compiled() error {
	if in.path == nil {
		p, err := ParsePath(in.CursorPath)
		if err != nil {
			return fmt.Errorf("incremental cursor_path: %w", err)
		}
		in.path = p
	}
	if in.keyPath == nil {
		for _, k := range in.PrimaryKey {
			p, err := ParsePath(k)
			if err != nil {
				return err
			}
			in.keyPath = append(in.keyPath, p)
		}
	}
	return nil
}

// bind returns the run view for the resource running in ctx, reading stored
// state the first time.
func (in *Incremental) bind(ctx context.Context) (*incRun, error) {
	if err := in.compiled(); err != nil {
		return nil, err
	}
	st := flow.CurrentResourceState(ctx)
	if st == nil {
		return nil, fmt.Errorf("transform: incremental %q used outside a pipeline run", in.CursorPath)
	}
	if r, ok := in.runs.Load(st); ok {
		return r.(*incRun), nil
	}
	r := &incRun{st: st, key: in.CursorPath, startHash: map[string]bool{}, lastHash: map[string]bool{}}
	st.Lock(func(m map[string]any) {
		incs, _ := m["incremental"].(map[string]any)
		if incs == nil {
			incs = map[string]any{}
			m["incremental"] = incs
		}
		cur, _ := incs[in.CursorPath].(map[string]any)
		if cur == nil || cur["initial_value"] != normalizeStateValue(in.InitialValue) {
			// A changed initial value starts over, as dlt does.
			cur = map[string]any{"initial_value": normalizeStateValue(in.InitialValue)}
			incs[in.CursorPath] = cur
		}
		r.start = cur["last_value"]
		if r.start == nil {
			r.start = in.InitialValue
		}
		if hs, ok := cur["unique_hashes"].([]any); ok {
			for _, h := range hs {
				if s, ok := h.(string); ok {
					r.startHash[s] = true
				}
			}
		}
		r.last = r.start
		for h := range r.startHash {
			r.lastHash[h] = true
		}
	})
	actual, _ := in.runs.LoadOrStore(st, r)
	return actual.(*incRun), nil
}

func normalizeStateValue(v any) any {
	if v == nil {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(raw, &out)
	return out
}

// StartValue is where this run starts: the stored last value, else the
// initial value ({incremental.start_value}).
func (in *Incremental) StartValue(ctx context.Context) (any, error) {
	r, err := in.bind(ctx)
	if err != nil {
		return nil, err
	}
	return r.start, nil
}

// LastValueNow is the newest cursor value seen so far in this run, starting at
// StartValue ({incremental.last_value}).
func (in *Incremental) LastValueNow(ctx context.Context) (any, error) {
	r, err := in.bind(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, nil
}

// Step returns the filter step: it drops rows before the start value, at
// the start value if already loaded, and at or past the end value, and
// records the newest value in state.
func (in *Incremental) Step() flow.Step {
	return func(ctx context.Context, b flow.Batch) (flow.Batch, error) {
		r, err := in.bind(ctx)
		if err != nil {
			return b, err
		}
		if b.JSON != nil {
			kept := make([]*fastjson.Value, 0, len(b.JSON))
			for _, v := range b.JSON {
				ok, err := in.keep(r, v)
				if err != nil {
					return b, err
				}
				if ok {
					kept = append(kept, v)
				}
			}
			b.JSON = kept
		} else {
			vals, err := b.Values()
			if err != nil {
				return b, err
			}
			kept := make([]any, 0, len(vals))
			for _, v := range vals {
				ok, err := in.keep(r, v)
				if err != nil {
					return b, err
				}
				if ok {
					kept = append(kept, v)
				}
			}
			b.Items = kept
		}
		in.save(r)
		return b, nil
	}
}

func (in *Incremental) keep(r *incRun, item any) (bool, error) {
	val, ok := in.path.Get(item)
	if !ok || val == nil {
		switch in.OnMissing {
		case "include":
			return true, nil
		case "exclude":
			return false, nil
		default:
			return false, fmt.Errorf("transform: incremental cursor %q missing in a row", in.CursorPath)
		}
	}
	newer := func(a, b any) int { // >0: a is newer than b
		c := Compare(a, b)
		if in.LastValue == Min {
			return -c
		}
		return c
	}
	if in.EndValue != nil && newer(val, in.EndValue) >= 0 {
		return false, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.start != nil {
		c := newer(val, r.start)
		if c < 0 {
			return false, nil
		}
		if c == 0 && r.startHash[in.rowHash(item)] {
			return false, nil
		}
	}
	c := 1
	if r.last != nil {
		c = newer(val, r.last)
	}
	if c > 0 {
		r.last = val
		r.lastHash = map[string]bool{in.rowHash(item): true}
	} else if c == 0 {
		r.lastHash[in.rowHash(item)] = true
	}
	return true, nil
}

func (in *Incremental) save(r *incRun) {
	r.mu.Lock()
	last := r.last
	hashes := make([]any, 0, len(r.lastHash))
	for h := range r.lastHash {
		hashes = append(hashes, h)
	}
	r.mu.Unlock()
	r.st.Lock(func(m map[string]any) {
		incs, _ := m["incremental"].(map[string]any)
		cur, _ := incs[in.CursorPath].(map[string]any)
		if cur == nil {
			return
		}
		cur["last_value"] = normalizeStateValue(last)
		cur["unique_hashes"] = hashes
	})
}

func (in *Incremental) rowHash(item any) string {
	var raw []byte
	if len(in.keyPath) > 0 {
		parts := make([]any, len(in.keyPath))
		for i, p := range in.keyPath {
			parts[i], _ = p.Get(item)
		}
		raw, _ = json.Marshal(parts)
	} else if v, ok := item.(*fastjson.Value); ok {
		raw = v.MarshalTo(nil)
	} else {
		raw, _ = json.Marshal(item)
	}
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// Compare orders two cursor values: numbers numerically, ISO date-times by
// time, other strings lexically. It returns -1, 0 or 1.
func Compare(a, b any) int {
	fa, aNum := toFloat(a)
	fb, bNum := toFloat(b)
	if aNum && bNum {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	sa, sb := fmt.Sprint(a), fmt.Sprint(b)
	if ta, ok := parseTime(a); ok {
		if tb, ok := parseTime(b); ok {
			return ta.Compare(tb)
		}
	}
	switch {
	case sa < sb:
		return -1
	case sa > sb:
		return 1
	}
	return 0
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, !math.IsNaN(x)
	case float32:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func parseTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// FormatValue renders a cursor value for a request: strings as they are,
// numbers without exponent, times as RFC 3339.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	default:
		return fmt.Sprint(x)
	}
}
