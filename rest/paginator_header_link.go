package rest

import (
	"net/http"
	"reflect"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/internal/confspec"
	"github.com/valyala/fastjson"
)

func init() {
	declarePaginator(paginatorDecl{
		spec: &confspec.Object{Name: "header_link", Doc: "Follows the Link header's entry with the rel; on GET endpoints the next page is requested while this one is parsed.", Fields: []*confspec.Field{
			key("links_next_key", "string", "next", "The rel of the next page's link."),
		}},
		build: func(p map[string]any) (PaginatorFactory, error) {
			o, _ := newObj("", p)
			key, ok, err := o.str("links_next_key")
			if err != nil {
				return nil, err
			}
			if !ok {
				key = "next"
			}
			return func() Paginator { return &HeaderLink{NextKey: key} }, o.done()
		},
		early: reflect.TypeFor[*HeaderLink](),
		detect: func(d *detection) (Paginator, string, bool) {
			if linkHeader(d.resp.Header, "next") == "" {
				return nil, "", false
			}
			return &HeaderLink{NextKey: "next"}, "header_link", true
		},
		rank: 10,
	})
}

// HeaderLink follows the rel="next" link of the Link header (type
// header_link).
type HeaderLink struct{ NextKey string }

// Init does nothing.
func (*HeaderLink) Init(*Request) error { return nil }

// Next follows the link.
func (p *HeaderLink) Next(resp *Response, _ []*fastjson.Value, req *Request) (bool, error) {
	key := p.NextKey
	if key == "" {
		key = "next"
	}
	next := linkHeader(resp.Header, key)
	if next == "" {
		return false, nil
	}
	return followLink(req, next)
}

// nextEarly is Next: the link is in the headers.
func (p *HeaderLink) nextEarly(resp *Response, req *Request) (more, known bool) {
	more, err := p.Next(resp, nil, req)
	return more, err == nil
}

var linkRe = regexp.MustCompile(`<([^>]*)>\s*((?:;\s*[^;,]+)*)`)

// linkHeader returns the URL of the Link header entry with rel=rel.
func linkHeader(h http.Header, rel string) string {
	for _, line := range h.Values("Link") {
		for _, m := range linkRe.FindAllStringSubmatch(line, -1) {
			for _, param := range strings.Split(m[2], ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(param), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, r := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"'`)) {
					if strings.EqualFold(r, rel) {
						return m[1]
					}
				}
			}
		}
	}
	return ""
}
