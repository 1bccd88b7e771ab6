// Run layer: the first request of a request sequence, built from the
// endpoint's templates and the values of its placeholders (a parent item's
// fields, the incremental's values).

package rest

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/valyala/fastjson"
)

// vars resolves placeholders for one request; item is the parent item (nil
// for a root resource).
func (e *endpoint) vars(ctx context.Context, item *fastjson.Value) vars {
	return func(name string) (any, error) {
		if which, ok := strings.CutPrefix(name, "incremental."); ok {
			return e.inc.value(ctx, which)
		}
		jp := e.fields[name]
		if jp == nil {
			return nil, fmt.Errorf("rest: unknown placeholder {%s}", name)
		}
		v := jp.first(item)
		if v == nil {
			return nil, fmt.Errorf("rest: field %q not found in an item of parent resource %q", jp.String(), e.parent)
		}
		return jsonToGo(v), nil
	}
}

// placeholderSource names where a placeholder's value comes from, for
// errors.
func (e *endpoint) placeholderSource(name string) string {
	if which, ok := strings.CutPrefix(name, "incremental."); ok {
		return "the incremental's " + which
	}
	if jp := e.fields[name]; jp != nil {
		return fmt.Sprintf("field %q of an item of parent resource %q", jp.String(), e.parent)
	}
	return "its value"
}

// request builds the first request.
func (e *endpoint) request(ctx context.Context, item *fastjson.Value) (*Request, error) {
	v := e.vars(ctx, item)
	p, err := e.path.path(v, e.placeholderSource)
	if err != nil {
		return nil, err
	}
	u, err := e.c.resolve(p)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	for _, pr := range e.params {
		if pr.multi != nil {
			for _, m := range pr.multi {
				q.Add(pr.key, m)
			}
			continue
		}
		s, err := pr.tpl.text(v)
		if err != nil {
			return nil, err
		}
		q.Set(pr.key, s)
	}
	if e.inc != nil {
		for _, sp := range []struct{ key, which string }{{e.inc.cfg.StartParam, "start_value"}, {e.inc.cfg.EndParam, "end_value"}} {
			if sp.key == "" {
				continue
			}
			val, err := e.inc.value(ctx, sp.which)
			if err != nil {
				return nil, err
			}
			if val != nil {
				q.Set(sp.key, formatText(val))
			}
		}
	}
	u.RawQuery = q.Encode()
	req := &Request{Method: e.method, URL: u, Header: http.Header{}}
	for _, h := range e.headers {
		s, err := h.tpl.text(v)
		if err != nil {
			return nil, err
		}
		req.Header.Set(h.key, s)
	}
	if e.json != nil {
		body, err := e.json.expand(v)
		if err != nil {
			return nil, err
		}
		req.JSON = cloneJSON(body)
	}
	return req, nil
}
