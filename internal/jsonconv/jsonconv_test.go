package jsonconv_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/internal/jsonconv"
	"github.com/valyala/fastjson"
)

func TestToGo(t *testing.T) {
	tests := []struct {
		name string
		in   string
		nums jsonconv.Numbers
		want any
	}{
		{"integer native", `7`, jsonconv.Native, int64(7)},
		{"integer literal", `7`, jsonconv.Literal, json.Number("7")},
		{"float native", `1.50`, jsonconv.Native, 1.5},
		{"float literal keeps text", `1.50`, jsonconv.Literal, json.Number("1.50")},
		{"integer past int64 native", `18446744073709551616`, jsonconv.Native, 18446744073709551616.0},
		{"exponent literal", `1e3`, jsonconv.Literal, json.Number("1e3")},
		{"nested native", `{"a":[1,"x",true,null],"b":{"c":2.5}}`, jsonconv.Native,
			map[string]any{"a": []any{int64(1), "x", true, nil}, "b": map[string]any{"c": 2.5}}},
		{"nested literal", `{"a":[1,false],"s":"\u00e9"}`, jsonconv.Literal,
			map[string]any{"a": []any{json.Number("1"), false}, "s": "é"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := fastjson.Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := jsonconv.ToGo(v, tc.nums); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ToGo(%s) = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}
	t.Run("nil is null", func(t *testing.T) {
		if got := jsonconv.ToGo(nil, jsonconv.Native); got != nil {
			t.Errorf("ToGo(nil) = %#v", got)
		}
	})
}

func TestFromGo(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"map", map[string]any{"b": 1, "a": []any{"x", nil}}, `{"a":["x",null],"b":1}`},
		{"struct", struct {
			N int `json:"n"`
		}{3}, `{"n":3}`},
		{"scalar", 2.5, `2.5`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := jsonconv.FromGo(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.String(); got != tc.want {
				t.Errorf("FromGo = %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("unmarshalable", func(t *testing.T) {
		if _, err := jsonconv.FromGo(make(chan int)); err == nil {
			t.Error("FromGo(chan) gave no error")
		}
	})
}
