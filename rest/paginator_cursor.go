package rest

import (
	"reflect"

	"github.com/sluicehq/sluice/internal/confspec"
	"github.com/valyala/fastjson"
)

func init() {
	declarePaginator(paginatorDecl{
		spec: &confspec.Object{Name: "cursor", Doc: "Sends the cursor found in each response with the next request; a missing, null, false or empty cursor ends paging. A text cursor the raw body shows for certain (as for json_link) requests the next page while this one is parsed. Never detected by auto: a cursor in a first response is an error naming it.", Fields: []*confspec.Field{
			key("cursor_path", "string", "cursors.next", "A JSONPath to the cursor."),
			key("cursor_param", "string", "cursor", "The query parameter it goes to."),
			key("cursor_body_path", "string", "", "Instead of cursor_param: a dotted path in the JSON body."),
		}},
		build: func(p map[string]any) (PaginatorFactory, error) {
			o, _ := newObj("", p)
			path, ok, err := o.str("cursor_path")
			if err != nil {
				return nil, err
			}
			if !ok {
				path = "cursors.next"
			}
			jp, err := parseJSONPath(path)
			if err != nil {
				return nil, errAt("cursor_path", "%v", err)
			}
			param, bp, err := paramOrBody(o, "cursor_param", "cursor_body_path", "cursor")
			if err != nil {
				return nil, err
			}
			return func() Paginator { return &Cursor{path: jp, Param: param, bodyPath: bp} }, o.done()
		},
		early: reflect.TypeFor[*Cursor](),
	})
}

// Cursor sends the cursor found in each response with the next request, as
// a query parameter or in the JSON body (type cursor).
type Cursor struct {
	path     *jsonPath
	Param    string
	bodyPath *jsonPath
}

// Init does nothing.
func (*Cursor) Init(*Request) error { return nil }

// Next sets the cursor; a missing, null or empty cursor ends pagination.
func (p *Cursor) Next(resp *Response, _ []*fastjson.Value, req *Request) (bool, error) {
	v := p.path.first(resp.JSON())
	if v == nil {
		return false, nil
	}
	var cur any
	switch v.Type() {
	case fastjson.TypeNull, fastjson.TypeFalse:
		return false, nil
	case fastjson.TypeString:
		s := string(v.GetStringBytes())
		if s == "" {
			return false, nil
		}
		cur = s
	default:
		cur = jsonToGo(v)
	}
	if p.bodyPath != nil {
		p.bodyPath.setIn(req, cur)
		return true, nil
	}
	req.SetParam(p.Param, formatText(cur))
	return true, nil
}

// nextEarly sets a cursor that is a string member of the top-level object
// when the raw body shows it for certain (see rawRootString).
func (p *Cursor) nextEarly(resp *Response, req *Request) (more, known bool) {
	cur, ok := p.path.rawString(resp.Body)
	if !ok || cur == "" {
		return false, false
	}
	if p.bodyPath != nil {
		p.bodyPath.setIn(req, cur)
	} else {
		req.SetParam(p.Param, cur)
	}
	return true, true
}
