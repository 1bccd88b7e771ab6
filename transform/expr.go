package transform

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/internal/jsonconv"
)

// compile compiles an expression over a record's fields; unknown names are
// nil rather than errors, since records differ in their fields.
func compile(code string, opts ...expr.Option) (*vm.Program, error) {
	opts = append([]expr.Option{expr.AllowUndefinedVariables()}, opts...)
	prog, err := expr.Compile(code, opts...)
	if err != nil {
		return nil, fmt.Errorf("transform: expression %q: %w", code, err)
	}
	return prog, nil
}

func asMap(item any) (map[string]any, error) {
	m, ok := item.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("transform: expression steps need records (objects), got %T", item)
	}
	return m, nil
}

// Filter returns a step keeping the records for which code is true, e.g.
// `id < 10 && status == "open"`.
func Filter(code string) (flow.Step, error) {
	prog, err := compile(code, expr.AsBool())
	if err != nil {
		return nil, err
	}
	return flow.FilterItems(func(item any) (bool, error) {
		m, err := asMap(item)
		if err != nil {
			return false, err
		}
		out, err := expr.Run(prog, m)
		if err != nil {
			return false, fmt.Errorf("transform: filter %q: %w", code, err)
		}
		return out.(bool), nil
	}), nil
}

// Field is one field a map step sets: its name and its expression.
type Field struct {
	Name, Expr string
}

// MapFields returns a step that sets each field to its expression's value,
// like SetFields; new fields follow in name order, since a Go map has none.
func MapFields(fields map[string]string) (flow.Step, error) {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	list := make([]Field, len(names))
	for i, k := range names {
		list[i] = Field{Name: k, Expr: fields[k]}
	}
	return SetFields(list...)
}

// SetFields returns a step that sets each field to its expression's value
// and keeps the record's other fields; expressions see the record as it
// was. JSON records keep their key order (fields already there stay where
// they are, new ones follow in the given order), so the table's columns
// keep dlt's order: the first record's keys as they came.
func SetFields(fields ...Field) (flow.Step, error) {
	progs := make([]*vm.Program, len(fields))
	for i, f := range fields {
		p, err := compile(f.Expr)
		if err != nil {
			return nil, fmt.Errorf("map field %q: %w", f.Name, err)
		}
		progs[i] = p
	}
	eval := func(m map[string]any) ([]any, error) {
		vals := make([]any, len(fields))
		for i, f := range fields {
			v, err := expr.Run(progs[i], m)
			if err != nil {
				return nil, fmt.Errorf("transform: map field %q: %w", f.Name, err)
			}
			vals[i] = v
		}
		return vals, nil
	}
	jsonFn := func(v *fastjson.Value, a *fastjson.Arena) (*fastjson.Value, error) {
		obj, err := v.Object()
		if err != nil {
			return nil, fmt.Errorf("transform: expression steps need records (objects), got a JSON %s", v.Type())
		}
		vals, err := eval(jsonconv.ToGo(v, jsonconv.Native).(map[string]any))
		if err != nil {
			return nil, err
		}
		jvals := make([]*fastjson.Value, len(vals))
		for i, x := range vals {
			if jvals[i], err = jsonconv.FromGo(x); err != nil {
				return nil, fmt.Errorf("transform: map field %q: %w", fields[i].Name, err)
			}
		}
		out := a.NewObject()
		o, _ := out.Object()
		done := make([]bool, len(fields))
		obj.Visit(func(k []byte, c *fastjson.Value) {
			key := string(k)
			for i, f := range fields {
				if f.Name == key {
					c, done[i] = jvals[i], true
				}
			}
			o.Set(key, c)
		})
		for i, f := range fields {
			if !done[i] {
				o.Set(f.Name, jvals[i])
			}
		}
		return out, nil
	}
	goFn := func(item any) (any, error) {
		m, err := asMap(item)
		if err != nil {
			return nil, err
		}
		vals, err := eval(m)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(m)+len(fields))
		for k, v := range m {
			out[k] = v
		}
		for i, f := range fields {
			out[f.Name] = vals[i]
		}
		return out, nil
	}
	return flow.MapJSON(jsonFn, goFn), nil
}

// MapRecord returns a step replacing each record by the map code returns,
// e.g. `{"id": id, "name": upper(name)}`. When code is a map literal, JSON
// records get its keys in the order written; other maps, sorted keys.
func MapRecord(code string) (flow.Step, error) {
	prog, err := compile(code)
	if err != nil {
		return nil, err
	}
	order := literalKeys(prog.Node())
	run := func(m map[string]any) (map[string]any, error) {
		out, err := expr.Run(prog, m)
		if err != nil {
			return nil, fmt.Errorf("transform: map %q: %w", code, err)
		}
		if out == nil {
			return nil, nil
		}
		rec, ok := out.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("transform: map %q returned %T, want a map", code, out)
		}
		return rec, nil
	}
	jsonFn := func(v *fastjson.Value, a *fastjson.Arena) (*fastjson.Value, error) {
		m, ok := jsonconv.ToGo(v, jsonconv.Native).(map[string]any)
		if !ok {
			return nil, fmt.Errorf("transform: expression steps need records (objects), got a JSON %s", v.Type())
		}
		rec, err := run(m)
		if rec == nil || err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(rec))
		for _, k := range order {
			if _, ok := rec[k]; ok {
				keys = append(keys, k)
			}
		}
		if len(keys) < len(rec) { // keys the literal did not name
			var rest []string
			for k := range rec {
				if !slices.Contains(keys, k) {
					rest = append(rest, k)
				}
			}
			sort.Strings(rest)
			keys = append(keys, rest...)
		}
		out := a.NewObject()
		o, _ := out.Object()
		for _, k := range keys {
			jv, err := jsonconv.FromGo(rec[k])
			if err != nil {
				return nil, fmt.Errorf("transform: map %q: field %q: %w", code, k, err)
			}
			o.Set(k, jv)
		}
		return out, nil
	}
	goFn := func(item any) (any, error) {
		m, err := asMap(item)
		if err != nil {
			return nil, err
		}
		rec, err := run(m)
		if rec == nil || err != nil {
			return nil, err
		}
		return rec, nil
	}
	return flow.MapJSON(jsonFn, goFn), nil
}

// literalKeys returns the keys of a map literal in the order written, or
// nil when the expression is not one.
func literalKeys(n ast.Node) []string {
	m, ok := n.(*ast.MapNode)
	if !ok {
		return nil
	}
	var keys []string
	for _, p := range m.Pairs {
		if pair, ok := p.(*ast.PairNode); ok {
			if s, ok := pair.Key.(*ast.StringNode); ok {
				keys = append(keys, s.Value)
			}
		}
	}
	return keys
}

// Value compiles an expression over one variable named value (used by
// incremental convert) and returns a function evaluating it.
func Value(code string) (func(v any) (any, error), error) {
	prog, err := compile(code)
	if err != nil {
		return nil, err
	}
	return func(v any) (any, error) {
		out, err := expr.Run(prog, map[string]any{"value": v})
		if err != nil {
			return nil, fmt.Errorf("transform: %q: %w", code, err)
		}
		return out, nil
	}, nil
}

// Steps chains steps into one.
func Steps(steps ...flow.Step) flow.Step {
	return func(ctx context.Context, b flow.Batch) (flow.Batch, error) {
		var err error
		for _, s := range steps {
			if b, err = s(ctx, b); err != nil {
				return b, err
			}
		}
		return b, nil
	}
}
