package rest

import (
	"github.com/sluicehq/sluice/internal/confspec"
	"github.com/valyala/fastjson"
)

// specAutoPaginator is auto's description: no keys.
var specAutoPaginator = &confspec.Object{Name: "auto", Doc: "The first response decides: a Link rel=\"next\" header, a next link in the body, page numbers or offsets with a total, has_more or until an empty page; the choice is logged. Pagination fields it cannot follow (a cursor, has_more alone) are an error asking for an explicit paginator; none at all is a single page."}

func init() {
	declarePaginator(paginatorDecl{
		spec: &confspec.Object{Name: "single_page", Doc: "One request, no paging."},
		build: func(p map[string]any) (PaginatorFactory, error) {
			o, _ := newObj("", p)
			return func() Paginator { return SinglePage{} }, o.done()
		},
	})
	// auto is no paginator of its own: source.go runs detection (auto.go)
	// when an endpoint has none or this one.
	declarePaginator(paginatorDecl{spec: specAutoPaginator})
}

// SinglePage requests one page only.
type SinglePage struct{}

// Init does nothing.
func (SinglePage) Init(*Request) error { return nil }

// Next ends pagination.
func (SinglePage) Next(*Response, []*fastjson.Value, *Request) (bool, error) { return false, nil }
