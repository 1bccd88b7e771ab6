// Compile and run: an endpoint's incremental (endpoint.incremental or an
// incremental param) wraps transform.Incremental with what the REST source
// adds: placeholder values and the end of an ordered source.

package rest

import (
	"context"
	"fmt"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/transform"
)

type incremental struct {
	cfg     *IncrementalConfig
	inc     *transform.Incremental
	convert func(any) (any, error)
}

// canClose reports whether a page of an ordered source (row_order) holds a
// row past the range, after which no row can load; nil in is never done.
func (in *incremental) canClose(ctx context.Context, rows []*fastjson.Value) bool {
	if in == nil || in.cfg.RowOrder == "" {
		return false
	}
	for _, r := range rows {
		if in.inc.CanClose(ctx, r) {
			return true
		}
	}
	return false
}

// value returns an incremental placeholder's value, converted.
func (in *incremental) value(ctx context.Context, which string) (any, error) {
	var v any
	var err error
	switch which {
	case "start_value":
		v, err = in.inc.StartValue(ctx)
	case "last_value":
		v, err = in.inc.LastValueNow(ctx)
	case "initial_value":
		v = in.cfg.InitialValue
	case "end_value":
		v = in.cfg.EndValue
	default:
		return nil, fmt.Errorf("rest: unknown placeholder {incremental.%s}", which)
	}
	if err != nil || v == nil || in.convert == nil {
		return v, err
	}
	return in.convert(v)
}

var incrementalNames = map[string]bool{"start_value": true, "initial_value": true, "last_value": true, "end_value": true}

func newIncremental(c *IncrementalConfig, pk []string) (*incremental, error) {
	in := &incremental{cfg: c}
	ic, err := transform.NewIncremental(c.CursorPath, c.InitialValue)
	if err != nil {
		return nil, errAt("cursor_path", "%v", err)
	}
	ic.EndValue = c.EndValue
	if c.LastValueFunc == "min" {
		ic.LastValue = transform.Min
	}
	ic.OnMissing = c.OnCursorValueMissing
	ic.RangeStart, ic.RangeEnd = c.RangeStart, c.RangeEnd
	ic.RowOrder = c.RowOrder
	ic.Lag = c.Lag
	switch {
	case c.PrimaryKey == nil:
		// dlt: the incremental's primary_key defaults to the resource's.
		ic.PrimaryKey = pk
	case len(c.PrimaryKey) == 0:
		ic.NoDedup = true
	default:
		ic.PrimaryKey = c.PrimaryKey
	}
	in.inc = ic
	switch {
	case c.ConvertFunc != nil:
		in.convert = c.ConvertFunc
	case c.Convert != "":
		f, err := transform.Value(c.Convert)
		if err != nil {
			return nil, errAt("convert", "bad expression: %v", err)
		}
		in.convert = f
	}
	return in, nil
}
