package rest

import (
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/internal/confspec"
	"github.com/valyala/fastjson"
)

// rangeFields are the keys offset and page_number share after their own;
// max is maximum_offset or maximum_page.
func rangeFields(max, maxDoc string) []*confspec.Field {
	return []*confspec.Field{
		key("total_path", "string | null", "total", "A JSONPath to the total; null: the API gives none."),
		key(max, "integer", "", maxDoc),
		key("stop_after_empty_page", "boolean", "true", "A page without rows ends paging."),
		key("has_more_path", "string", "", "A JSONPath to a boolean: false or null ends paging."),
	}
}

// rangeConfig is shared by offset and page_number.
type rangeConfig struct {
	kind           string
	param          string
	bodyPath       *jsonPath // instead of param
	limitParam     string    // offset only
	limitBodyPath  *jsonPath // offset only, instead of limitParam
	limit          int       // offset only
	initial        int
	base           int
	step           int
	totalPath      *jsonPath
	maximum        *int
	stopAfterEmpty bool
	hasMorePath    *jsonPath
}

func (c *rangeConfig) common(o *obj, maxKey string) error {
	tp, present := o.raw("total_path")
	switch {
	case !present:
		c.totalPath, _ = parseJSONPath("total")
	case tp == nil:
	default:
		s, ok := tp.(string)
		if !ok {
			return errAt("total_path", "want a string or null, got %s", typeName(tp))
		}
		p, err := parseJSONPath(s)
		if err != nil {
			return errAt("total_path", "%v", err)
		}
		c.totalPath = p
	}
	if m, ok, err := o.integer(maxKey); err != nil {
		return err
	} else if ok {
		c.maximum = &m
	}
	if b, ok, err := o.boolean("stop_after_empty_page"); err != nil {
		return err
	} else if ok {
		c.stopAfterEmpty = b
	}
	if s, ok, err := o.str("has_more_path"); err != nil {
		return err
	} else if ok {
		p, err := parseJSONPath(s)
		if err != nil {
			return errAt("has_more_path", "%v", err)
		}
		c.hasMorePath = p
	}
	if c.totalPath == nil && c.maximum == nil && !c.stopAfterEmpty && c.hasMorePath == nil {
		return errAt("", "%s paginator needs total_path, %s, has_more_path or stop_after_empty_page", c.kind, maxKey)
	}
	return nil
}

func (c rangeConfig) factory() PaginatorFactory {
	return func() Paginator { return &RangePaginator{cfg: c, current: c.initial} }
}

// RangePaginator is the offset and page_number paginator: it steps a query
// parameter until the total, the maximum, an empty page or has_more false.
type RangePaginator struct {
	cfg     rangeConfig
	current int
	total   *int
}

var _ Planner = (*RangePaginator)(nil)

// Init sets the first page's parameters.
func (p *RangePaginator) Init(req *Request) error {
	p.current = p.cfg.initial
	p.set(req)
	return nil
}

func (p *RangePaginator) set(req *Request) {
	if p.cfg.bodyPath != nil {
		p.cfg.bodyPath.setIn(req, p.current)
	} else {
		req.SetParam(p.cfg.param, strconv.Itoa(p.current))
	}
	switch {
	case p.cfg.limitBodyPath != nil:
		p.cfg.limitBodyPath.setIn(req, p.cfg.limit)
	case p.cfg.limitParam != "":
		req.SetParam(p.cfg.limitParam, strconv.Itoa(p.cfg.limit))
	}
}

// Next steps to the next page.
func (p *RangePaginator) Next(resp *Response, rows []*fastjson.Value, req *Request) (bool, error) {
	if p.cfg.stopAfterEmpty && len(rows) == 0 {
		return false, nil
	}
	if p.cfg.hasMorePath != nil {
		v := p.cfg.hasMorePath.first(resp.JSON())
		if v == nil || v.Type() == fastjson.TypeFalse || v.Type() == fastjson.TypeNull {
			return false, nil
		}
	}
	if p.cfg.totalPath != nil {
		v := p.cfg.totalPath.first(resp.JSON())
		if v == nil || v.Type() == fastjson.TypeNull {
			return false, fmt.Errorf("rest: %s paginator: total not found at %q in the response (set total_path: null if the API has none)", p.cfg.kind, p.cfg.totalPath)
		}
		var total int
		switch v.Type() {
		case fastjson.TypeNumber:
			total = v.GetInt()
		case fastjson.TypeString:
			n, err := strconv.Atoi(string(v.GetStringBytes()))
			if err != nil {
				return false, fmt.Errorf("rest: %s paginator: total at %q is not an integer", p.cfg.kind, p.cfg.totalPath)
			}
			total = n
		default:
			return false, fmt.Errorf("rest: %s paginator: total at %q is not an integer", p.cfg.kind, p.cfg.totalPath)
		}
		p.total = &total
	}
	p.current += p.cfg.step
	if p.done(p.current) {
		return false, nil
	}
	p.set(req)
	return true, nil
}

func (p *RangePaginator) done(v int) bool {
	if p.total != nil && v >= *p.total+p.cfg.base {
		return true
	}
	return p.cfg.maximum != nil && v >= *p.cfg.maximum
}

// Plan lists the remaining pages when a total or maximum bounds them and
// has_more may not end pagination earlier. An empty page still ends it
// (stop_after_empty_page): the plan says so.
func (p *RangePaginator) Plan(req *Request) (PagePlan, bool) {
	if p.cfg.hasMorePath != nil || (p.total == nil && p.cfg.maximum == nil) {
		return PagePlan{}, false
	}
	if p.total == nil && p.cfg.stopAfterEmpty {
		return PagePlan{}, false
	}
	plan := PagePlan{StopAtEmpty: p.cfg.stopAfterEmpty}
	for v := p.current; !p.done(v) && len(plan.Requests) < 100_000; v += p.cfg.step {
		r := req.Clone()
		p.current = v
		p.set(r)
		plan.Requests = append(plan.Requests, r)
	}
	return plan, true
}
