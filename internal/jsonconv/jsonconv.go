package jsonconv

import (
	"encoding/json"
	"strconv"

	"github.com/valyala/fastjson"
)

// Numbers is the Go form ToGo gives JSON numbers.
type Numbers int

const (
	// Native gives int64 for an integer that fits, else float64.
	Native Numbers = iota
	// Literal gives json.Number, the number's text as written.
	Literal
)

// ToGo converts v (nil is JSON null) to Go values: map[string]any, []any,
// string, a number in the given form, bool or nil.
func ToGo(v *fastjson.Value, nums Numbers) any {
	if v == nil {
		return nil
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		m := make(map[string]any, o.Len())
		o.Visit(func(k []byte, c *fastjson.Value) { m[string(k)] = ToGo(c, nums) })
		return m
	case fastjson.TypeArray:
		a, _ := v.Array()
		out := make([]any, len(a))
		for i, c := range a {
			out[i] = ToGo(c, nums)
		}
		return out
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber:
		raw := v.String()
		if nums == Literal {
			return json.Number(raw)
		}
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	}
	return nil
}

// FromGo marshals a Go value with encoding/json and parses it into a
// standalone fastjson value.
func FromGo(v any) (*fastjson.Value, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return fastjson.ParseBytes(raw)
}
