package rest

import (
	"fmt"
	"math"
	"strings"

	"github.com/sluicehq/sluice/internal/confspec"
	"github.com/sluicehq/sluice/transform"
)

// The endpoint's keys: params, the JSON body, incremental, response
// actions; and the resource's processing steps.

func decodeEndpoint(path string, v any) (*EndpointConfig, error) {
	if s, ok := v.(string); ok {
		if err := checkPathBraces(s); err != nil {
			return nil, errAt(joinPath(path, "path"), "%v", err)
		}
		return &EndpointConfig{Path: s}, nil
	}
	o, err := newObjOf(path, v, specEndpoint)
	if err != nil {
		return nil, errAt(path, "want a path or a map, got %s", typeName(v))
	}
	e := &EndpointConfig{}
	if e.Path, _, err = o.str("path"); err != nil {
		return nil, err
	}
	if err := checkPathBraces(e.Path); err != nil {
		return nil, errAt(o.at("path"), "%v", err)
	}
	if e.Method, _, err = o.str("method"); err != nil {
		return nil, err
	}
	if e.Method != "" {
		e.Method = strings.ToUpper(e.Method)
		if err := oneOf(o.at("method"), "method", e.Method, "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"); err != nil {
			return nil, err
		}
	}
	if pv, ok := o.get("params"); ok {
		po, err := newObj(o.at("params"), pv)
		if err != nil {
			return nil, err
		}
		e.Params = map[string]any{}
		for _, k := range sortedKeys(po.m) {
			po.seen[k] = true
			val, err := decodeParam(po.at(k), po.m[k])
			if err != nil {
				return nil, err
			}
			e.Params[k] = val
		}
	}
	if jv, ok := o.get("json"); ok {
		e.JSON = normalizeTree(jv)
		if err := checkTree(o.at("json"), e.JSON); err != nil {
			return nil, err
		}
	}
	if e.Headers, err = o.strMap("headers"); err != nil {
		return nil, err
	}
	if err := checkHeaders(o.at("headers"), e.Headers); err != nil {
		return nil, err
	}
	if pv, ok := o.get("paginator"); ok {
		if e.Paginator, err = decodePaginator(o.at("paginator"), pv); err != nil {
			return nil, err
		}
	}
	if e.DataSelector, _, err = o.str("data_selector"); err != nil {
		return nil, err
	} else if e.DataSelector != "" {
		if _, err := parseJSONPath(e.DataSelector); err != nil {
			return nil, errAt(o.at("data_selector"), "%v", err)
		}
	}
	if av, ok := o.get("response_actions"); ok {
		if e.ResponseActions, err = decodeActions(o.at("response_actions"), av); err != nil {
			return nil, err
		}
	}
	if iv, ok := o.get("incremental"); ok {
		if e.Incremental, err = decodeIncremental(o.at("incremental"), iv, false); err != nil {
			return nil, err
		}
	}
	if av, ok := o.get("auth"); ok {
		if e.Auth, err = decodeAuth(o.at("auth"), av); err != nil {
			return nil, err
		}
	}
	return e, o.done()
}

// normalizeTree turns map[any]any (some YAML decoders) into map[string]any.
func normalizeTree(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, c := range x {
			m[k] = normalizeTree(c)
		}
		return m
	case map[any]any:
		m, _ := asMap(x)
		return normalizeTree(m)
	case []any:
		out := make([]any, len(x))
		for i, c := range x {
			out[i] = normalizeTree(c)
		}
		return out
	}
	return v
}

// checkHeaders rejects an unclosed placeholder in a header value.
func checkHeaders(path string, h map[string]string) error {
	for _, k := range sortedKeys(h) {
		if err := checkUnclosed(h[k]); err != nil {
			return errAt(confspec.JoinKey(path, k), "%v", err)
		}
	}
	return nil
}

// checkTree rejects an unclosed placeholder in a string of a JSON body
// (keys are not templates).
func checkTree(path string, v any) error {
	switch x := v.(type) {
	case string:
		if err := checkUnclosed(x); err != nil {
			return errAt(path, "%v", err)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if err := checkTree(confspec.JoinKey(path, k), x[k]); err != nil {
				return err
			}
		}
	case []any:
		for i, c := range x {
			if err := checkTree(fmt.Sprintf("%s[%d]", path, i), c); err != nil {
				return err
			}
		}
	}
	return nil
}

func decodeParam(path string, v any) (any, error) {
	m, isMap := asMap(v)
	if !isMap {
		switch x := v.(type) {
		case []any:
			return normalizeTree(v), nil
		case string:
			if err := checkUnclosed(x); err != nil {
				return nil, errAt(path, "%v", err)
			}
			return v, nil
		case nil, bool:
			return v, nil
		}
		if _, ok := toFloat(v); ok {
			return v, nil
		}
		return nil, errAt(path, "want a scalar, a list or {type: resolve|incremental, ...}, got %s", typeName(v))
	}
	typ, _ := m["type"].(string)
	switch typ {
	case "resolve":
		o, _ := newObjOf(path, m, specResolveParam)
		o.raw("type")
		res, ok, err := o.str("resource")
		if err != nil {
			return nil, err
		} else if !ok {
			return nil, errAt(o.at("resource"), "required")
		}
		field, ok, err := o.str("field")
		if err != nil {
			return nil, err
		} else if !ok {
			return nil, errAt(o.at("field"), "required")
		}
		if _, err := parseJSONPath(field); err != nil {
			return nil, errAt(o.at("field"), "%v", err)
		}
		return ResolveParam{Resource: res, Field: field}, o.done()
	case "incremental":
		return decodeIncremental(path, m, true)
	case "":
		return nil, errAt(path+".type", "required: resolve or incremental")
	}
	return nil, errAt(path+".type", "unknown param type %q (want one of resolve, incremental)", typ)
}

func decodeIncremental(path string, v any, legacy bool) (*IncrementalConfig, error) {
	desc := specIncremental
	if legacy {
		desc = specIncrementalParam
	}
	o, err := newObjOf(path, v, desc)
	if err != nil {
		return nil, err
	}
	if legacy {
		o.raw("type")
	}
	c := &IncrementalConfig{}
	var ok bool
	if c.CursorPath, ok, err = o.str("cursor_path"); err != nil {
		return nil, err
	} else if !ok || c.CursorPath == "" {
		return nil, errAt(o.at("cursor_path"), "required")
	}
	if _, err := transform.ParsePath(c.CursorPath); err != nil {
		return nil, errAt(o.at("cursor_path"), "bad path")
	}
	c.InitialValue, _ = o.get("initial_value")
	c.EndValue, _ = o.get("end_value")
	// A cursor is a scalar: a list or map would fail only after a request,
	// when compared with the first row's cursor.
	for _, k := range []string{"initial_value", "end_value"} {
		v, _ := o.get(k)
		if t := typeName(v); t == "a map" || t == "a list" {
			return nil, errAt(o.at(k), "want a cursor value (a string, number or boolean), got %s", t)
		}
	}
	if c.EndValue != nil && c.InitialValue == nil {
		return nil, errAt(o.at("initial_value"), "required when end_value is set")
	}
	if c.LastValueFunc, err = o.enum("last_value_func", "max", "min"); err != nil {
		return nil, err
	}
	if c.Convert, _, err = o.str("convert"); err != nil {
		return nil, err
	} else if c.Convert != "" {
		if _, err := transform.Value(c.Convert); err != nil {
			return nil, errAt(o.at("convert"), "bad expression: %v", err)
		}
	}
	if c.OnCursorValueMissing, err = o.enum("on_cursor_value_missing", "raise", "include", "exclude"); err != nil {
		return nil, err
	}
	if c.RangeStart, err = o.enum("range_start", "closed", "open"); err != nil {
		return nil, err
	}
	if c.RangeEnd, err = o.enum("range_end", "open", "closed"); err != nil {
		return nil, err
	}
	if c.RowOrder, err = o.enum("row_order", "asc", "desc"); err != nil {
		return nil, err
	}
	if c.PrimaryKey, _, err = o.strList("primary_key"); err != nil {
		return nil, err
	}
	if c.Lag, _, err = o.number("lag"); err != nil {
		return nil, err
	} else if c.Lag < 0 || math.IsNaN(c.Lag) || math.IsInf(c.Lag, 0) {
		return nil, errAt(o.at("lag"), "want a number of seconds (date-time cursors) or units (numeric cursors), not negative")
	} else if c.Lag != 0 && c.InitialValue != nil {
		// The cursor's kind is known before any data when initial_value
		// gives it; the error names the kind, not the value.
		if _, err := transform.ApplyLag(c.InitialValue, c.Lag, transform.Max); err != nil {
			return nil, errAt(o.at("lag"), "%v (initial_value is %s)", err, transform.Kind(c.InitialValue))
		}
	}
	if c.AllowExternalSchedulers, _, err = o.boolean("allow_external_schedulers"); err != nil {
		return nil, err
	}
	if c.EndValue != nil && !transform.Comparable(c.InitialValue, c.EndValue) {
		return nil, errAt(o.at("end_value"), "%s cannot be compared with initial_value (%s)", transform.Kind(c.EndValue), transform.Kind(c.InitialValue))
	}
	if !legacy {
		if c.StartParam, _, err = o.str("start_param"); err != nil {
			return nil, err
		}
		if c.EndParam, _, err = o.str("end_param"); err != nil {
			return nil, err
		}
	}
	return c, o.done()
}

func decodeActions(path string, v any) ([]ResponseAction, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, errAt(path, "want a list, got %s", typeName(v))
	}
	var out []ResponseAction
	for i, item := range list {
		o, err := newObjOf(fmt.Sprintf("%s[%d]", path, i), item, specResponseAction)
		if err != nil {
			return nil, err
		}
		var a ResponseAction
		if a.StatusCode, _, err = o.integer("status_code"); err != nil {
			return nil, err
		}
		if a.Content, _, err = o.str("content"); err != nil {
			return nil, err
		}
		act, ok, err := o.str("action")
		if err != nil {
			return nil, err
		} else if !ok {
			return nil, errAt(o.at("action"), "required (ignore)")
		}
		if err := oneOf(o.at("action"), "action", act, "ignore"); err != nil {
			return nil, err
		}
		a.Action = act
		if err := o.done(); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func decodeSteps(path string, v any) ([]ProcessingStep, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, errAt(path, "want a list, got %s", typeName(v))
	}
	var out []ProcessingStep
	for i, item := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		o, err := newObjOf(p, item, specStep)
		if err != nil {
			return nil, err
		}
		if len(o.m) != 1 {
			return nil, errAt(p, "want exactly one of filter or map")
		}
		var s ProcessingStep
		if f, ok, err := o.str("filter"); err != nil {
			return nil, err
		} else if ok {
			s.Filter = f
			if _, err := transform.Filter(f); err != nil {
				return nil, errAt(o.at("filter"), "bad expression: %v", err)
			}
		}
		if mv, ok := o.get("map"); ok {
			switch x := mv.(type) {
			case string:
				s.Map = x
				if _, err := transform.MapRecord(x); err != nil {
					return nil, errAt(o.at("map"), "bad expression: %v", err)
				}
			default:
				fields, err := o.strMap("map")
				if err != nil {
					return nil, errAt(o.at("map"), "want an expression or a map of field to expression")
				}
				s.MapFields = fields
				if _, err := transform.MapFields(fields); err != nil {
					return nil, errAt(o.at("map"), "bad expression: %v", err)
				}
			}
		}
		if err := o.done(); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
