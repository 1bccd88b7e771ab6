package rest

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/confspec"
)

// ConfigError is a bad config value, named by its path in the spec
// ("source.resources[0].endpoint.paginator.type"); for an unknown field,
// Path is the map's and Key the field's. Messages never include the value
// itself: values may hold secrets. The CLI's spec errors are the same type,
// with the file, line and column added.
type ConfigError = confspec.Error

func errAt(path, format string, args ...any) error {
	return &ConfigError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// joinPath puts prefix before a relative path ("client.base_url").
func joinPath(prefix, rel string) string { return confspec.JoinPath(prefix, rel) }

// prefixErr puts prefix before a ConfigError's path; other errors become
// ConfigErrors at prefix.
func prefixErr(prefix string, err error) error {
	if err == nil {
		return nil
	}
	if ce, ok := err.(*ConfigError); ok {
		out := *ce
		out.Path = joinPath(prefix, ce.Path)
		return &out
	}
	return &ConfigError{Path: prefix, Msg: err.Error()}
}

// enum reads an optional string field that must be one of allowed.
func (o *obj) enum(key string, allowed ...string) (string, error) {
	v, _, err := o.str(key)
	if err != nil || v == "" {
		return v, err
	}
	return v, oneOf(o.at(key), key, v, allowed...)
}

// typeName names the kind of a decoded value for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any, map[any]any:
		return "a map"
	case []any:
		return "a list"
	}
	if _, ok := toFloat(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// asMap accepts the maps YAML and JSON decoders produce.
func asMap(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, vv := range x {
			m[fmt.Sprint(k)] = vv
		}
		return m, true
	}
	return nil, false
}

// obj reads the keys of one config map and rejects the keys nobody read.
// With a description (newObjOf), the keys it reads must be declared there
// (TestSpecAgreesWithDecoder), and an unknown key's suggestion comes from
// it; without one, from the keys read.
type obj struct {
	path string
	m    map[string]any
	seen map[string]bool
	desc *confspec.Object
}

func newObj(path string, v any) (*obj, error) {
	return newObjOf(path, v, nil)
}

func newObjOf(path string, v any, desc *confspec.Object) (*obj, error) {
	m, ok := asMap(v)
	if !ok {
		return nil, errAt(path, "want a map, got %s", typeName(v))
	}
	return &obj{path: path, m: m, seen: map[string]bool{}, desc: desc}, nil
}

func (o *obj) at(k string) string { return confspec.JoinKey(o.path, k) }

// testHookRead, when set, sees every key read and the description of the
// map it is read from (nil for none).
var testHookRead func(desc *confspec.Object, key string)

// raw returns a key's value; present is false for a missing key.
func (o *obj) raw(k string) (v any, present bool) {
	if testHookRead != nil {
		testHookRead(o.desc, k)
	}
	o.seen[k] = true
	v, present = o.m[k]
	return v, present
}

// get returns a non-null value.
func (o *obj) get(k string) (any, bool) {
	v, ok := o.raw(k)
	return v, ok && v != nil
}

func (o *obj) str(k string) (string, bool, error) {
	v, ok := o.get(k)
	if !ok {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", false, errAt(o.at(k), "want a string, got %s", typeName(v))
	}
	return s, true, nil
}

func (o *obj) integer(k string) (int, bool, error) {
	v, ok := o.get(k)
	if !ok {
		return 0, false, nil
	}
	f, isNum := toFloat(v)
	if !isNum || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false, errAt(o.at(k), "want an integer, got %s", typeName(v))
	}
	return int(f), true, nil
}

func (o *obj) number(k string) (float64, bool, error) {
	v, ok := o.get(k)
	if !ok {
		return 0, false, nil
	}
	f, isNum := toFloat(v)
	if !isNum {
		return 0, false, errAt(o.at(k), "want a number, got %s", typeName(v))
	}
	return f, true, nil
}

func (o *obj) boolean(k string) (bool, bool, error) {
	v, ok := o.get(k)
	if !ok {
		return false, false, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, false, errAt(o.at(k), "want true or false, got %s", typeName(v))
	}
	return b, true, nil
}

// duration reads seconds (a number) or a Go duration string ("30s"), not
// negative.
func (o *obj) duration(k string) (time.Duration, bool, error) {
	return o.durationAbove(k, false)
}

// positiveDuration is duration for a value that must be above zero.
func (o *obj) positiveDuration(k string) (time.Duration, bool, error) {
	return o.durationAbove(k, true)
}

func (o *obj) durationAbove(k string, positive bool) (time.Duration, bool, error) {
	v, ok := o.get(k)
	if !ok {
		return 0, false, nil
	}
	var d time.Duration
	if f, isNum := toFloat(v); isNum {
		d = time.Duration(f * float64(time.Second))
		if f > 0 && d == 0 {
			d = 1 // below a nanosecond, but positive as written
		}
	} else if s, isStr := v.(string); isStr {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			ok = false
		}
	} else {
		ok = false
	}
	const form = `seconds (a number) or a duration like "30s"`
	switch {
	case !ok:
		return 0, false, errAt(o.at(k), "want %s", form)
	case positive && d <= 0:
		return 0, false, errAt(o.at(k), "must be positive: %s", form)
	case d < 0:
		return 0, false, errAt(o.at(k), "must not be negative: %s", form)
	}
	return d, true, nil
}

// sizeUnits are the units size accepts, in bytes.
var sizeUnits = map[string]int64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}

// size reads a positive size in bytes: a number, or a string with a unit
// ("500MB", "1 GiB"); 0 when absent.
func (o *obj) size(k string) (int64, error) {
	v, ok := o.get(k)
	if !ok {
		return 0, nil
	}
	bad := errAt(o.at(k), "want a positive size: bytes (a number) or a string like \"500MB\" or \"1GiB\"")
	if f, isNum := toFloat(v); isNum {
		if f < 1 || f != math.Trunc(f) || f > 1<<62 {
			return 0, bad
		}
		return int64(f), nil
	}
	s, isStr := v.(string)
	if !isStr {
		return 0, bad
	}
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(s)
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	unit, known := sizeUnits[strings.ToUpper(strings.TrimSpace(s[i:]))]
	if err != nil || !known || n*float64(unit) < 1 || n*float64(unit) > 1<<62 {
		return 0, bad
	}
	return int64(n * float64(unit)), nil
}

// formatSize renders a byte count in the unit, binary or decimal, that
// states it exactly in the fewest digits ("1 GiB", "500 MB", "1500 bytes").
func formatSize(n int64) string {
	best := strconv.FormatInt(n, 10) + " bytes"
	count := n
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}} {
		if n >= u.size && n%u.size == 0 && n/u.size < count {
			count = n / u.size
			best = strconv.FormatInt(count, 10) + " " + u.name
		}
	}
	return best
}

// strMap reads a map of strings (headers); numbers and booleans are
// rendered as text.
func (o *obj) strMap(k string) (map[string]string, error) {
	v, ok := o.get(k)
	if !ok {
		return nil, nil
	}
	m, isMap := asMap(v)
	if !isMap {
		return nil, errAt(o.at(k), "want a map, got %s", typeName(v))
	}
	out := make(map[string]string, len(m))
	for kk, vv := range m {
		switch x := vv.(type) {
		case string:
			out[kk] = x
		case bool:
			out[kk] = fmt.Sprint(x)
		default:
			if f, isNum := toFloat(vv); isNum {
				out[kk] = formatText(f)
				continue
			}
			return nil, errAt(confspec.JoinKey(o.at(k), kk), "want a string, got %s", typeName(vv))
		}
	}
	return out, nil
}

// strList reads a string or a list of strings.
func (o *obj) strList(k string) ([]string, bool, error) {
	v, ok := o.get(k)
	if !ok {
		return nil, false, nil
	}
	switch x := v.(type) {
	case string:
		return []string{x}, true, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, isStr := e.(string)
			if !isStr {
				return nil, false, errAt(fmt.Sprintf("%s[%d]", o.at(k), i), "want a string, got %s", typeName(e))
			}
			out[i] = s
		}
		return out, true, nil
	}
	return nil, false, errAt(o.at(k), "want a string or a list of strings, got %s", typeName(v))
}

// done fails on the first key (sorted) that was not read, suggesting the
// closest declared (or read) key.
func (o *obj) done() error {
	var extra, names []string
	for k := range o.m {
		if !o.seen[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	if o.desc != nil {
		names = o.desc.Names()
	} else {
		for k := range o.seen {
			names = append(names, k)
		}
		sort.Strings(names)
	}
	return confspec.UnknownField(o.path, extra[0], names)
}

// oneOf fails unless s is one of want.
func oneOf(path, what, s string, want ...string) error {
	for _, w := range want {
		if s == w {
			return nil
		}
	}
	return errAt(path, "%s", unknownOf(what, s, want))
}

// unknownOf says s is not one of want, suggesting the closest:
// `unknown method "GTE" (want one of GET, POST; did you mean "GET"?)`.
func unknownOf(what, s string, want []string) string {
	msg := fmt.Sprintf("unknown %s %q (want one of %s", what, s, strings.Join(want, ", "))
	if c := confspec.Suggest(s, want); c != "" {
		msg += fmt.Sprintf("; did you mean %q?", c)
	}
	return msg + ")"
}
