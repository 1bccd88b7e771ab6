// Compile layer: an endpoint config becomes an endpoint: templates for its
// path, params, headers and body, the placeholders' sources, the data
// selector, the paginator, auth and actions. Running it is run.go's job.

package rest

import (
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/sluicehq/sluice/arrowbuf"
)

// endpoint is a compiled resource endpoint.
type endpoint struct {
	name      string
	c         *client
	log       *slog.Logger
	method    string
	path      template
	params    []param
	json      *tree
	headers   []header
	paginator func() Paginator
	selector  *jsonPath
	auth      Auth
	actions   []ResponseAction
	inc       *incremental
	parent    string
	fields    map[string]*jsonPath // placeholder name -> path in the parent item
	include   []include

	// selectorImplied: the selector is "$" of a single-entity path, not
	// the spec's data_selector. pages counts the pages with JSON and
	// matched whether the selector matched in any (warnUnmatched).
	selectorImplied bool
	pages           atomic.Int64
	matched, warned atomic.Bool
}

type param struct {
	key   string
	tpl   template
	multi []string // list values, sent as repeated keys
}

type header struct {
	key string
	tpl template
}

type include struct {
	key  string // _<parent>_<field>
	path *jsonPath
}

// endpoint compiles rc's endpoint, part by part, in the order its errors
// are reported.
func (b *builder) endpoint(path string, rc ResourceConfig) (*endpoint, error) {
	e := &endpoint{name: rc.Name, c: b.client, log: b.opts.log, fields: map[string]*jsonPath{}}
	ec := rc.Endpoint
	if ec == nil {
		ec = &EndpointConfig{}
	}
	epath := path + ".endpoint"
	if ec.Path == "" {
		ec2 := *ec
		ec2.Path = rc.Name
		ec = &ec2
	}
	if err := b.checkBaseURL(path, rc.Name, ec.Path); err != nil {
		return nil, err
	}
	e.method = ec.Method
	if e.method == "" {
		e.method = http.MethodGet
	}
	ph, plain, err := b.params(e, ec, epath, rc.PrimaryKey)
	if err != nil {
		return nil, err
	}
	if err := b.requestParts(ph, ec, plain); err != nil {
		return nil, err
	}
	// dlt's rule for a path whose last segment holds a {placeholder}
	// (posts/{resources.posts.id}): it returns one entity, so unless the
	// endpoint says otherwise the whole response is the record and there
	// is one page.
	single := singleEntityPath(ec.Path)
	if err := e.compileSelector(ec.DataSelector, single, epath); err != nil {
		return nil, err
	}
	if e.paginator, err = b.paginator(rc.Name, ec.Paginator, single, epath); err != nil {
		return nil, err
	}
	e.auth = b.clientAuth
	if ec.Auth != nil {
		a, err := b.auth(ec.Auth, epath+".auth")
		if err != nil {
			return nil, err
		}
		e.auth = a
	}
	e.actions = append(append([]ResponseAction(nil), ec.ResponseActions...), b.opts.actions[rc.Name]...)
	if err := e.compileInclude(path, rc.IncludeFromParent); err != nil {
		return nil, err
	}
	return e, nil
}

// placeholders checks the placeholders of one endpoint's templates and
// records where their values come from (e.fields, e.parent).
type placeholders struct {
	b       *builder
	e       *endpoint
	epath   string
	resolve map[string]ResolveParam // resolve params by name
}

// params sorts the endpoint's legacy params: resolve params become
// placeholders, an incremental param becomes the incremental's
// start_param (e.inc is set here), the rest are plain query params.
func (b *builder) params(e *endpoint, ec *EndpointConfig, epath string, pk []string) (*placeholders, map[string]any, error) {
	ph := &placeholders{b: b, e: e, epath: epath, resolve: map[string]ResolveParam{}}
	incCfg := ec.Incremental
	plain := map[string]any{}
	for _, k := range sortedKeys(ec.Params) {
		switch v := ec.Params[k].(type) {
		case ResolveParam:
			ph.resolve[k] = v
		case *ResolveParam:
			ph.resolve[k] = *v
		case *IncrementalConfig:
			if incCfg != nil {
				return nil, nil, errAt(epath+".params."+k, "only one incremental per endpoint (endpoint.incremental is also set)")
			}
			c := *v
			c.StartParam = k
			incCfg = &c
		default:
			plain[k] = v
		}
	}
	if incCfg != nil {
		in, err := newIncremental(incCfg, pk)
		if err != nil {
			return nil, nil, prefixErr(epath+".incremental", err)
		}
		e.inc = in
	}
	return ph, plain, nil
}

// known reports whether name is a placeholder rather than literal text in
// braces.
func (ph *placeholders) known(name string) bool {
	if _, ok := ph.resolve[name]; ok {
		return true
	}
	return strings.HasPrefix(name, "resources.") || strings.HasPrefix(name, "incremental.")
}

// check checks the placeholder names of the template at where: which
// parent, which fields.
func (ph *placeholders) check(where string, names []string) error {
	b, e := ph.b, ph.e
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "incremental."):
			which := strings.TrimPrefix(n, "incremental.")
			if !incrementalNames[which] {
				return errAt(where, "unknown placeholder {%s} (want incremental.start_value, initial_value, last_value or end_value)", n)
			}
			if e.inc == nil {
				return errAt(where, "placeholder {%s} needs endpoint.incremental", n)
			}
		case strings.HasPrefix(n, "resources."):
			parent, field, ok := b.splitResourceRef(strings.TrimPrefix(n, "resources."))
			if !ok {
				return errAt(where, "placeholder {%s}: want {resources.<resource>.<field>} naming a resource of this source", n)
			}
			if err := e.setParent(where, parent); err != nil {
				return err
			}
			jp, err := parseJSONPath(field)
			if err != nil {
				return errAt(where, "placeholder {%s}: %v", n, err)
			}
			e.fields[n] = jp
		default:
			rp, ok := ph.resolve[n]
			if !ok {
				return errAt(where, "unknown placeholder {%s}", n)
			}
			if _, ok := b.byName[rp.Resource]; !ok && b.goRes[rp.Resource] == nil {
				return errAt(ph.epath+".params."+n+".resource", "no resource named %q in this source", rp.Resource)
			}
			if err := e.setParent(ph.epath+".params."+n, rp.Resource); err != nil {
				return err
			}
			jp, _ := parseJSONPath(rp.Field)
			e.fields[n] = jp
		}
	}
	return nil
}

// requestParts compiles the templates of the request: path, query params,
// JSON body and headers (the client's, then the endpoint's).
func (b *builder) requestParts(ph *placeholders, ec *EndpointConfig, plain map[string]any) error {
	e, epath := ph.e, ph.epath
	e.path = parsePathTemplate(ec.Path).withSecrets(append(authSecrets(b.cfg), b.opts.secrets...))
	if err := ph.check(epath+".path", e.path.names()); err != nil {
		return err
	}
	for _, k := range sortedKeys(plain) {
		p := param{key: k}
		switch v := plain[k].(type) {
		case nil:
			continue
		case string:
			p.tpl = parseTemplate(v, ph.known)
			if err := ph.check(epath+".params."+k, p.tpl.names()); err != nil {
				return err
			}
		case []any:
			for _, x := range v {
				p.multi = append(p.multi, formatText(x))
			}
		default:
			if f, ok := toFloat(v); ok {
				p.tpl = template{parts: []tplPart{{lit: formatText(f)}}}
			} else {
				p.tpl = template{parts: []tplPart{{lit: formatText(v)}}}
			}
		}
		e.params = append(e.params, p)
	}
	for _, name := range sortedKeys(ph.resolve) {
		if !strings.Contains(ec.Path, "{"+name+"}") {
			// dlt's resolve works for path parameters only; one that is
			// not in the path is sent as a query parameter.
			p := param{key: name, tpl: template{parts: []tplPart{{name: name}}}}
			if err := ph.check(epath+".params."+name, []string{name}); err != nil {
				return err
			}
			e.params = append(e.params, p)
		}
	}
	if ec.JSON != nil {
		e.json = parseTree(ec.JSON, ph.known)
		if err := ph.check(epath+".json", e.json.names()); err != nil {
			return err
		}
	}
	hdrs := map[string]string{}
	for k, v := range b.client.headers {
		hdrs[k] = v
	}
	for k, v := range ec.Headers {
		hdrs[k] = v
	}
	for _, k := range sortedKeys(hdrs) {
		h := header{key: k, tpl: parseTemplate(hdrs[k], ph.known)}
		if err := ph.check(epath+".headers."+k, h.tpl.names()); err != nil {
			return err
		}
		e.headers = append(e.headers, h)
	}
	return nil
}

// compileSelector compiles the data selector; a single-entity path without
// one selects the whole response ("$").
func (e *endpoint) compileSelector(selector string, single bool, epath string) error {
	if selector == "" && single {
		selector = "$"
		e.selectorImplied = true
	}
	if selector == "" {
		return nil
	}
	sel, err := parseJSONPath(selector)
	if err != nil {
		return errAt(epath+".data_selector", "%v", err)
	}
	e.selector = sel
	return nil
}

// paginator returns the paginator factory of an endpoint: its own
// paginator, single_page for a single-entity path, the client's, or auto
// detection.
func (b *builder) paginator(resource string, pc *PaginatorConfig, single bool, epath string) (func() Paginator, error) {
	if pc == nil && single {
		pc = &PaginatorConfig{Type: "single_page"}
	}
	if pc == nil {
		pc = b.cfg.Client.Paginator
	}
	switch {
	case pc == nil || (pc.New == nil && (pc.Type == "auto" || pc.Type == "")):
		log, name, logged := b.opts.log, resource, new(atomic.Bool)
		return func() Paginator { return &autoPaginator{log: log, resource: name, logged: logged} }, nil
	case pc.New != nil:
		return pc.New, nil
	}
	bld, ok := lookupPaginator(pc.Type)
	if !ok {
		return nil, errAt(epath+".paginator.type", "unknown paginator %q (want one of %s)", pc.Type, strings.Join(paginatorTypes(), ", "))
	}
	f, err := bld(pc.Params)
	if err != nil {
		return nil, prefixErr(epath+".paginator", err)
	}
	return f, nil
}

// compileInclude compiles include_from_parent: each field is copied from
// the parent item into the rows as _<parent>_<field>.
func (e *endpoint) compileInclude(path string, fields []string) error {
	if len(fields) == 0 {
		return nil
	}
	if e.parent == "" {
		return errAt(path+".include_from_parent", "the resource has no parent resource")
	}
	for _, f := range fields {
		jp, err := parseJSONPath(f)
		if err != nil {
			return errAt(path+".include_from_parent", "%v", err)
		}
		e.include = append(e.include, include{key: arrowbuf.NormalizeIdentifier("_" + e.parent + "_" + f), path: jp})
	}
	return nil
}
