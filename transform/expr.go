package transform

import (
	"context"
	"fmt"
	"sort"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/sluicehq/sluice/flow"
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

// MapFields returns a step that sets each field to its expression's value and
// keeps the record's other fields; expressions see the record as it was.
func MapFields(fields map[string]string) (flow.Step, error) {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	progs := make([]*vm.Program, len(names))
	for i, k := range names {
		p, err := compile(fields[k])
		if err != nil {
			return nil, fmt.Errorf("map field %q: %w", k, err)
		}
		progs[i] = p
	}
	return flow.MapItems(func(item any) (any, error) {
		m, err := asMap(item)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(m)+len(names))
		for k, v := range m {
			out[k] = v
		}
		for i, k := range names {
			v, err := expr.Run(progs[i], m)
			if err != nil {
				return nil, fmt.Errorf("transform: map field %q: %w", k, err)
			}
			out[k] = v
		}
		return out, nil
	}), nil
}

// MapRecord returns a step replacing each record by the map code returns,
// e.g. `{"id": id, "name": upper(name)}`.
func MapRecord(code string) (flow.Step, error) {
	prog, err := compile(code)
	if err != nil {
		return nil, err
	}
	return flow.MapItems(func(item any) (any, error) {
		m, err := asMap(item)
		if err != nil {
			return nil, err
		}
		out, err := expr.Run(prog, m)
		if err != nil {
			return nil, fmt.Errorf("transform: map %q: %w", code, err)
		}
		if out == nil {
			return nil, nil
		}
		if _, ok := out.(map[string]any); !ok {
			return nil, fmt.Errorf("transform: map %q returned %T, want a map", code, out)
		}
		return out, nil
	}), nil
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
