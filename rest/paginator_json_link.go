package rest

import (
	"fmt"
	"reflect"

	"github.com/sluicehq/sluice/internal/confspec"
	"github.com/valyala/fastjson"
)

func init() {
	declarePaginator(paginatorDecl{
		spec: &confspec.Object{Name: "json_link", Doc: "Follows a next-page URL in the body; a missing, null or empty one ends paging. When the raw body shows the link for certain (a one-key path, the key once in the body, as the object's last member or after scalars only), the next page is requested while this one is parsed.", Fields: []*confspec.Field{
			key("next_url_path", "string", "next", "A JSONPath to the URL."),
		}},
		build: func(p map[string]any) (PaginatorFactory, error) {
			o, _ := newObj("", p)
			path, ok, err := o.str("next_url_path")
			if err != nil {
				return nil, err
			}
			if !ok {
				path = "next"
			}
			jp, err := parseJSONPath(path)
			if err != nil {
				return nil, errAt("next_url_path", "%v", err)
			}
			return func() Paginator { return &JSONLink{path: jp} }, o.done()
		},
		early:  reflect.TypeFor[*JSONLink](),
		detect: detectJSONLink,
		rank:   20,
	})
}

// detectJSONLink finds a next link, or a null or "" where one goes (the
// last page of a json_link API).
func detectJSONLink(d *detection) (Paginator, string, bool) {
	f, ok := findField(d.root, nextLinkKeys)
	if !ok {
		return nil, "", false
	}
	switch f.v.Type() {
	case fastjson.TypeString:
		if len(f.v.GetStringBytes()) == 0 {
			p, _ := parseJSONPath(f.path)
			return &JSONLink{path: p}, fmt.Sprintf("json_link (next_url_path: %s, last page)", f.path), true
		}
		if looksLikeLink(string(f.v.GetStringBytes())) {
			p, _ := parseJSONPath(f.path)
			return &JSONLink{path: p}, fmt.Sprintf("json_link (next_url_path: %s)", f.path), true
		}
	case fastjson.TypeObject:
		if h := f.v.Get("href"); h != nil && h.Type() == fastjson.TypeString {
			p, _ := parseJSONPath(f.path + ".href")
			return &JSONLink{path: p}, fmt.Sprintf("json_link (next_url_path: %s.href)", f.path), true
		}
	case fastjson.TypeNull:
		p, _ := parseJSONPath(f.path)
		return &JSONLink{path: p}, fmt.Sprintf("json_link (next_url_path: %s, last page)", f.path), true
	}
	return nil, "", false
}

// JSONLink follows a next-page URL found in the body (type json_link).
type JSONLink struct{ path *jsonPath }

// NewJSONLink returns a JSONLink reading the URL at nextURLPath.
func NewJSONLink(nextURLPath string) (*JSONLink, error) {
	p, err := parseJSONPath(nextURLPath)
	if err != nil {
		return nil, err
	}
	return &JSONLink{path: p}, nil
}

// Init does nothing.
func (*JSONLink) Init(*Request) error { return nil }

// Next follows the link; a missing, null or empty link ends pagination.
func (p *JSONLink) Next(resp *Response, _ []*fastjson.Value, req *Request) (bool, error) {
	v := p.path.first(resp.JSON())
	if v == nil || v.Type() != fastjson.TypeString {
		return false, nil
	}
	next := string(v.GetStringBytes())
	if next == "" {
		return false, nil
	}
	return followLink(req, next)
}

// nextEarly follows a link that is a string member of the top-level object
// when the raw body shows it for certain (see rawRootString).
func (p *JSONLink) nextEarly(resp *Response, req *Request) (more, known bool) {
	next, ok := p.path.rawString(resp.Body)
	if !ok || next == "" {
		return false, false
	}
	more, err := followLink(req, next)
	return more, err == nil
}
