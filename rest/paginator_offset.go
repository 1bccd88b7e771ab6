package rest

import (
	"fmt"

	"github.com/sluicehq/sluice/internal/confspec"
)

func init() {
	declarePaginator(paginatorDecl{
		spec: &confspec.Object{Name: "offset", Doc: "Steps an offset by limit until the total, the maximum, an empty page or has_more false. With a known total or maximum the pages are fetched concurrently (up to the client's concurrency ahead) and handed on in order; an empty page still ends paging.", Fields: append([]*confspec.Field{
			required(key("limit", "integer", "", "Rows per page, positive.")),
			key("offset", "integer", "0", "The first offset."),
			key("offset_param", "string", "offset", "The query parameter of the offset."),
			key("offset_body_path", "string", "", "Instead of offset_param: a dotted path in the JSON body."),
			key("limit_param", "string", "limit", "The query parameter of the limit."),
			key("limit_body_path", "string", "", "Instead of limit_param: a dotted path in the JSON body."),
		}, rangeFields("maximum_offset", "Paging stops at this offset.")...)},
		build: func(p map[string]any) (PaginatorFactory, error) {
			o, _ := newObj("", p)
			cfg := rangeConfig{stopAfterEmpty: true, kind: "offset"}
			limit, ok, err := o.integer("limit")
			if err != nil {
				return nil, err
			}
			if !ok || limit <= 0 {
				return nil, errAt("limit", "required: a positive integer")
			}
			cfg.step, cfg.limit = limit, limit
			if cfg.initial, _, err = o.integer("offset"); err != nil {
				return nil, err
			}
			if cfg.param, cfg.bodyPath, err = paramOrBody(o, "offset_param", "offset_body_path", "offset"); err != nil {
				return nil, err
			}
			if cfg.limitParam, cfg.limitBodyPath, err = paramOrBody(o, "limit_param", "limit_body_path", "limit"); err != nil {
				return nil, err
			}
			if err := cfg.common(o, "maximum_offset"); err != nil {
				return nil, err
			}
			return cfg.factory(), o.done()
		},
		detect: detectOffset,
		rank:   40,
	})
}

// detectOffset finds an offset and steps it by the limit the response
// gives, else by the page's row count, until the total, has_more false or
// an empty page.
func detectOffset(d *detection) (Paginator, string, bool) {
	of, ok := findField(d.root, offsetKeys)
	if !ok {
		return nil, "", false
	}
	cur, ok := intOf(of.v)
	if !ok {
		return nil, "", false
	}
	limit := len(d.rows)
	limitParam := "limit"
	if d.limitOK {
		if n, ok := intOf(d.limit.v); ok && n > 0 {
			limit = n
			limitParam = lastKey(d.limit.path)
		}
	}
	if limit <= 0 {
		return nil, "", false
	}
	cfg := rangeConfig{kind: "offset", param: lastKey(of.path), limitParam: limitParam, limit: limit, step: limit, initial: cur}
	p := &RangePaginator{cfg: cfg, current: cur}
	desc := fmt.Sprintf("offset (offset_param: %s, limit_param: %s, limit: %d", cfg.param, limitParam, limit)
	switch {
	case d.totalInt:
		p.cfg.totalPath, _ = parseJSONPath(d.total.path)
		return p, desc + ", total_path: " + d.total.path + ")", true
	case d.hasMoreOK:
		p.cfg.hasMorePath, _ = parseJSONPath(d.hasMore.path)
		p.cfg.stopAfterEmpty = true
		return p, desc + ", has_more_path: " + d.hasMore.path + ")", true
	default:
		p.cfg.stopAfterEmpty = true
		return p, desc + ", until an empty page)", true
	}
}
