package transform

import (
	"fmt"
	"math"
	"time"
)

// lagged moves a stored last value back by Lag (forward for Min), not
// past the initial value.
func (in *Incremental) lagged(last any) (any, error) {
	v, err := ApplyLag(last, in.Lag, in.LastValue)
	if err != nil {
		return nil, fmt.Errorf("transform: incremental cursor %q: %w", in.CursorPath, err)
	}
	if in.InitialValue != nil {
		c, err := in.newer(v, in.InitialValue, "initial value")
		if err != nil {
			return nil, err
		}
		if c < 0 {
			v = in.InitialValue
		}
	}
	return v, nil
}

// ApplyLag moves v back by lag (forward for Min): numbers by lag units,
// time values and ISO date-time strings by lag seconds, plain ISO dates
// ("2024-01-02") by lag days. A string keeps its layout. Other values are
// an error, as in dlt.
func ApplyLag(v any, lag float64, fn LastValueFunc) (any, error) {
	if fn == Min {
		lag = -lag
	}
	switch x := v.(type) {
	case int64:
		if lag == math.Trunc(lag) {
			return x - int64(lag), nil
		}
	case int:
		if lag == math.Trunc(lag) {
			return int64(x) - int64(lag), nil
		}
	case time.Time:
		return x.Add(-seconds(lag)), nil
	case string:
		if t, err := time.Parse("2006-01-02", x); err == nil {
			return t.AddDate(0, 0, -int(math.Ceil(lag))).Format("2006-01-02"), nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t.Add(-seconds(lag)).Format(layout), nil
			}
		}
		return nil, fmt.Errorf("lag needs a numeric or ISO date-time cursor, not a string that is not a date-time")
	}
	if f, ok := toFloat(v); ok {
		return f - lag, nil
	}
	return nil, fmt.Errorf("lag needs a numeric or ISO date-time cursor, not %s", Kind(v))
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
