package rest

import (
	"fmt"

	"github.com/sluicehq/sluice/internal/confspec"
)

func init() {
	declarePaginator(paginatorDecl{
		spec: &confspec.Object{Name: "page_number", Doc: "Steps a page number by 1 until the total (of pages), the maximum, an empty page or has_more false; with a known total or maximum, pages are fetched concurrently as for offset.", Fields: append([]*confspec.Field{
			key("base_page", "integer", "0", "The number of the first page."),
			key("page", "integer", "base_page", "The page to start at."),
			key("page_param", "string", "page", "The query parameter of the page number."),
			key("page_body_path", "string", "", "Instead of page_param: a dotted path in the JSON body."),
		}, rangeFields("maximum_page", "Paging stops at this page.")...)},
		build: func(p map[string]any) (PaginatorFactory, error) {
			o, _ := newObj("", p)
			cfg := rangeConfig{step: 1, stopAfterEmpty: true, kind: "page_number"}
			var err error
			if cfg.base, _, err = o.integer("base_page"); err != nil {
				return nil, err
			}
			cfg.initial = cfg.base
			if v, ok, err := o.integer("page"); err != nil {
				return nil, err
			} else if ok {
				cfg.initial = v
			}
			if cfg.param, cfg.bodyPath, err = paramOrBody(o, "page_param", "page_body_path", "page"); err != nil {
				return nil, err
			}
			if err := cfg.common(o, "maximum_page"); err != nil {
				return nil, err
			}
			return cfg.factory(), o.done()
		},
		detect: detectPageNumber,
		rank:   30,
	})
}

// detectPageNumber finds a page number with a page count, a last page, a
// total and a page size, or has_more. The first request carried no page
// parameter, so the page the API reports is its first page.
func detectPageNumber(d *detection) (Paginator, string, bool) {
	pf, ok := findField(d.root, pageKeys)
	if !ok {
		return nil, "", false
	}
	cur, ok := intOf(pf.v)
	if !ok {
		return nil, "", false
	}
	param := lastKey(pf.path)
	if param != "page_number" && param != "pageNumber" {
		param = "page"
	}
	cfg := rangeConfig{kind: "page_number", param: param, step: 1, base: cur, initial: cur}
	p := &RangePaginator{cfg: cfg, current: cur}
	desc := fmt.Sprintf("page_number (page_param: %s, base_page: %d", param, cur)
	if tp, ok := findField(d.root, totalPagesKeys); ok {
		if n, isInt := intOf(tp.v); isInt {
			if lastKey(tp.path) == "last_page" || lastKey(tp.path) == "lastPage" {
				// last_page is the number of the last page, not a count.
				m := n + 1
				p.cfg.maximum = &m
				return p, desc + fmt.Sprintf(", maximum_page: %d)", m), true
			}
			p.cfg.totalPath, _ = parseJSONPath(tp.path)
			return p, desc + ", total_path: " + tp.path + ")", true
		}
	}
	if d.totalInt && d.limitOK {
		if size, ok := intOf(d.limit.v); ok && size > 0 {
			m := cur + (d.totalN+size-1)/size
			p.cfg.maximum = &m
			return p, desc + fmt.Sprintf(", %d items of %d per page)", d.totalN, size), true
		}
	}
	if d.hasMoreOK {
		p.cfg.hasMorePath, _ = parseJSONPath(d.hasMore.path)
		p.cfg.stopAfterEmpty = true
		return p, desc + ", has_more_path: " + d.hasMore.path + ")", true
	}
	return nil, "", false
}
