package transform

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/arrowbuf"
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

// ErrCursorType is the error of a cursor value that cannot be compared
// with the start, end or last value (a number against a string): dlt's
// IncrementalCursorInvalidCoercion. Loading on would silently drop rows.
var ErrCursorType = errors.New("cannot be compared")

// Incremental loads only new data: it tracks the max (or min) of a cursor
// field over loaded rows in resource state, and filters rows that were
// loaded before (dlt's dlt.sources.incremental). The next run starts from
// the stored last value, inclusive, and drops the rows seen at exactly that
// value, whose hashes it keeps (bounded: only rows at the last value).
//
// With EndValue set the run is a stateless backfill, as in dlt: it starts
// from InitialValue and neither reads nor writes state.
type Incremental struct {
	CursorPath   string
	InitialValue any
	EndValue     any
	LastValue    LastValueFunc
	// PrimaryKey identifies rows at the boundary; empty: the whole row.
	PrimaryKey []string
	// NoDedup keeps rows at the start value that were loaded before (dlt's
	// primary_key=()). Lag and EndValue turn deduplication off too.
	NoDedup bool
	// OnMissing: "raise" (default), "include" or "exclude" rows without the
	// cursor field.
	OnMissing string
	// RangeStart is "closed" (default: rows at the start value are kept
	// unless loaded before) or "open" (dropped).
	RangeStart string
	// RangeEnd is "open" (default: rows at EndValue are dropped) or
	// "closed" (kept).
	RangeEnd string
	// Lag moves the start back from a stored last value (never past
	// InitialValue), so late updates load again: seconds for date-time
	// cursors (days for plain dates), units for numbers. The destination
	// deduplicates (merge), so boundary deduplication is off.
	Lag float64
	// RowOrder is "asc" or "desc" when rows arrive ordered in the
	// direction of LastValue ("asc": oldest first); see CanClose.
	RowOrder string

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
	stateless bool // end_value set: state is neither read nor written
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
	if in.EndValue != nil {
		// A backfill between two values does not move the cursor that
		// regular runs resume from (dlt keeps no state with end_value).
		r.stateless = true
		r.start, r.last = in.InitialValue, in.InitialValue
		actual, _ := in.runs.LoadOrStore(st, r)
		return actual.(*incRun), nil
	}
	var err error
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
		stored := cur["last_value"]
		r.start = stored
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
		if stored != nil && in.Lag != 0 {
			// Only the start moves back: the last value stays, so a run
			// that sees nothing newer does not drift back by lag each time.
			r.start, err = in.lagged(stored)
		}
	})
	if err != nil {
		return nil, err
	}
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
// records the newest value in state. With RowOrder, a batch holding a row
// past the range (see CanClose) closes the resource: the step returns the
// batch with flow.ErrClose, as dlt stops the generator.
func (in *Incremental) Step() flow.Step {
	return func(ctx context.Context, b flow.Batch) (flow.Batch, error) {
		r, err := in.bind(ctx)
		if err != nil {
			return b, err
		}
		if b.Record != nil {
			return in.filterRecord(r, b)
		}
		closing := false
		if !b.Typed.IsZero() {
			if b, closing, err = in.typedStep(r, b); err != nil {
				return b, err
			}
		} else if b.JSON != nil {
			kept := make([]*fastjson.Value, 0, len(b.JSON))
			for _, v := range b.JSON {
				ok, err := in.keep(r, v)
				if err != nil {
					return b, err
				}
				if ok {
					kept = append(kept, v)
				} else if !closing {
					closing = in.canClose(r, v)
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
				} else if !closing {
					closing = in.canClose(r, v)
				}
			}
			b.Items = kept
		}
		in.save(r)
		if closing {
			return b, flow.ErrClose
		}
		return b, nil
	}
}

func (in *Incremental) keep(r *incRun, item any) (bool, error) {
	val, ok := in.path.Get(item)
	if !ok || val == nil {
		if nilItem(item) {
			return false, nil // no row (a nil in a []*T): dropped, as dlt drops None
		}
		return in.keepMissing()
	}
	return in.keepValue(r, val, func() string { return in.rowHash(item) })
}

// nilItem reports whether an item is nil, a nil pointer or JSON null,
// which loads no row.
func nilItem(item any) bool {
	switch x := item.(type) {
	case nil:
		return true
	case *fastjson.Value:
		return x == nil || x.Type() == fastjson.TypeNull
	}
	v := reflect.ValueOf(item)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// keepMissing decides on a row without the cursor (OnMissing).
func (in *Incremental) keepMissing() (bool, error) {
	switch in.OnMissing {
	case "include":
		return true, nil
	case "exclude":
		return false, nil
	default:
		return false, fmt.Errorf("transform: incremental cursor %q missing in a row", in.CursorPath)
	}
}

// keepValue decides on a row whose cursor is val; hash identifies the row
// at the boundary.
func (in *Incremental) keepValue(r *incRun, val any, hash func() string) (bool, error) {
	if in.EndValue != nil {
		c, err := in.newer(val, in.EndValue, "end value")
		if err != nil {
			return false, err
		}
		if c > 0 || (c == 0 && in.RangeEnd != "closed") {
			return false, nil
		}
	}
	dedup := in.dedup()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.start != nil {
		c, err := in.newer(val, r.start, "start value")
		if err != nil {
			return false, err
		}
		if c < 0 {
			return false, nil
		}
		if c == 0 && (in.RangeStart == "open" || dedup && r.startHash[hash()]) {
			return false, nil
		}
	}
	c := 1
	if r.last != nil {
		var err error
		if c, err = in.newer(val, r.last, "last value"); err != nil {
			return false, err
		}
	}
	if c > 0 {
		r.last = val
		clear(r.lastHash)
	}
	if c >= 0 && dedup {
		r.lastHash[hash()] = true
	}
	return true, nil
}

// dedup reports whether rows at the start value are matched against those
// loaded at the last value of the previous run.
func (in *Incremental) dedup() bool {
	return !in.NoDedup && in.Lag == 0 && in.EndValue == nil
}

// newer compares a row's cursor value with the start, end or last value in
// the direction of LastValue: >0 when val is newer. Values of kinds that do
// not compare are an error naming the kinds only: the other value may come
// from a secret.
func (in *Incremental) newer(val, other any, what string) (int, error) {
	if !Comparable(val, other) {
		return 0, fmt.Errorf("transform: incremental cursor %q: value %s (%s) %w with the %s (%s)",
			in.CursorPath, showValue(val), Kind(val), ErrCursorType, what, Kind(other))
	}
	c := Compare(val, other)
	if in.LastValue == Min {
		return -c, nil
	}
	return c, nil
}

func (in *Incremental) save(r *incRun) {
	if r.stateless {
		return
	}
	r.mu.Lock()
	last := r.last
	hashes := make([]any, 0, len(r.lastHash))
	if in.dedup() {
		for h := range r.lastHash {
			hashes = append(hashes, h)
		}
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
		// One text per record, whether or not a step unescaped its strings.
		raw = arrowbuf.AppendJSONText(nil, v)
	} else {
		raw, _ = json.Marshal(item)
	}
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// Kind names the kind of a cursor value for messages: "a number", "a
// string", "a date-time", "a boolean", "null".
func Kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case time.Time:
		return "a date-time"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}

// Comparable reports whether Compare orders a and b meaningfully: both
// numbers, both strings, both booleans, or date-times (time values, or
// strings that hold ISO date-times). A number and a string are not: as text
// 10 sorts before "5".
func Comparable(a, b any) bool {
	ka, kb := Kind(a), Kind(b)
	if ka == "a date-time" && kb == "a string" {
		_, ok := parseTime(b)
		return ok
	}
	if kb == "a date-time" && ka == "a string" {
		_, ok := parseTime(a)
		return ok
	}
	switch ka {
	case "an object", "a list", "null":
		return false
	}
	return ka == kb
}

// showValue renders a row's cursor value for an error, shortened.
func showValue(v any) string {
	if s, ok := v.(string); ok {
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return strconv.Quote(s)
	}
	return FormatValue(v)
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
