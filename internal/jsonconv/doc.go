// Package jsonconv converts between fastjson values and plain Go values
// (map[string]any, []any, string, numbers, bool, nil). The engine hands
// items to Go callbacks as int64/float64 numbers; the REST source's
// templates keep a number's literal text as json.Number. Both use ToGo,
// with the Numbers they need.
package jsonconv
