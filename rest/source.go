package rest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/valyala/fastjson"
	"golang.org/x/sync/errgroup"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/internal/jsonconv"
	"github.com/sluicehq/sluice/internal/runctx"
	"github.com/sluicehq/sluice/internal/safecall"
	"github.com/sluicehq/sluice/transform"
)

// SourceOption configures NewSource.
type SourceOption func(*sourceOpts)

type sourceOpts struct {
	name       string
	maxNesting *int
	httpClient *http.Client
	log        *slog.Logger
	resources  []*flow.Resource
	actions    map[string][]ResponseAction
	steps      map[string][]ProcessingStep
	retry      *Retry
	secrets    []string
	onRetry    func(RetryWait)
}

// Name names the source (default "rest_api"); state is kept under it.
func Name(name string) SourceOption { return func(o *sourceOpts) { o.name = name } }

// MaxTableNesting sets max_table_nesting for resources that do not set
// their own (rest_api_source(max_table_nesting=)).
func MaxTableNesting(n int) SourceOption { return func(o *sourceOpts) { o.maxNesting = &n } }

// HTTPClient sets the client whose Transport (and cookie jar and redirect
// policy) requests go through; retries, rate and concurrency limits and
// timeouts are still added on top of its Transport.
func HTTPClient(c *http.Client) SourceOption { return func(o *sourceOpts) { o.httpClient = c } }

// Logger sets where the source logs (paginator detection, retries).
func Logger(l *slog.Logger) SourceOption { return func(o *sourceOpts) { o.log = l } }

// Resources adds Go resources to the source: they load like the others
// (unless Selected(false)) and REST resources may use them as parents by
// name, as dlt's config takes resources that are not REST endpoints.
func Resources(rs ...*flow.Resource) SourceOption {
	return func(o *sourceOpts) { o.resources = append(o.resources, rs...) }
}

// ResponseActions adds Go response actions to the named resource, after
// those of its config.
func ResponseActions(resource string, actions ...ResponseAction) SourceOption {
	return func(o *sourceOpts) {
		if o.actions == nil {
			o.actions = map[string][]ResponseAction{}
		}
		o.actions[resource] = append(o.actions[resource], actions...)
	}
}

// ProcessingSteps adds Go processing steps to the named resource, after
// those of its config.
func ProcessingSteps(resource string, steps ...ProcessingStep) SourceOption {
	return func(o *sourceOpts) {
		if o.steps == nil {
			o.steps = map[string][]ProcessingStep{}
		}
		o.steps[resource] = append(o.steps[resource], steps...)
	}
}

// WithRetry overrides the client's retry policy (tests use tiny backoffs).
func WithRetry(r Retry) SourceOption { return func(o *sourceOpts) { o.retry = &r } }

// NewSource turns a config into a flow.Source named "rest_api": one
// resource per config resource; a resource whose endpoint references
// another ({resources.<name>.<field>} or a resolve param) is a transformer
// fed by it, making one request sequence per parent item.
func NewSource(cfg *Config, opts ...SourceOption) (*flow.Source, error) {
	src, err := newSource(cfg, opts...)
	var ce *ConfigError
	if err != nil && cfg != nil && cfg.prefix != "" && errors.As(err, &ce) {
		return nil, prefixErr(cfg.prefix, ce)
	}
	return src, err
}

func newSource(cfg *Config, opts ...SourceOption) (*flow.Source, error) {
	if cfg == nil {
		return nil, errors.New("rest: nil config")
	}
	o := &sourceOpts{name: "rest_api"}
	for _, f := range opts {
		f(o)
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	cc := cfg.Client
	if o.retry != nil {
		cc.Retry = *o.retry
	}
	secrets := append(authSecrets(cfg), o.secrets...)
	var err error
	if cc.BaseURL, err = escapeBaseURL(cc.BaseURL, secrets); err != nil {
		return nil, err
	}
	cl, err := newClient(cc, o.httpClient, o.log)
	if err != nil {
		return nil, err
	}
	cl.secrets = newSecretSet(secrets...)
	cl.setOnRetry(o.onRetry)
	b := &builder{cfg: cfg, opts: o, client: cl, built: map[string]*flow.Resource{}, byName: map[string]int{}, goRes: map[string]*flow.Resource{}}
	for _, r := range o.resources {
		b.goRes[r.Name()] = r
	}
	if b.clientAuth, err = b.auth(cfg.Client.Auth, "client.auth"); err != nil {
		return nil, err
	}
	b.merged = make([]ResourceConfig, len(cfg.Resources))
	for i, r := range cfg.Resources {
		if r.Name == "" {
			return nil, errAt(fmt.Sprintf("resources[%d].name", i), "required")
		}
		if _, dup := b.byName[r.Name]; dup {
			return nil, errAt(fmt.Sprintf("resources[%d].name", i), "duplicate resource name %q", r.Name)
		}
		if _, dup := b.goRes[r.Name]; dup {
			return nil, errAt(fmt.Sprintf("resources[%d].name", i), "resource name %q is also a Go resource", r.Name)
		}
		b.byName[r.Name] = i
		b.merged[i] = mergeResource(cfg.ResourceDefaults, r)
	}
	var out []*flow.Resource
	for i := range b.merged {
		r, err := b.build(i, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	out = append(out, o.resources...)
	var sopts []flow.SourceOption
	if o.maxNesting != nil {
		sopts = append(sopts, flow.SourceMaxTableNesting(*o.maxNesting))
	}
	return flow.NewSource(o.name, out, sopts...), nil
}

type builder struct {
	cfg        *Config
	opts       *sourceOpts
	client     *client
	clientAuth Auth
	merged     []ResourceConfig
	byName     map[string]int
	built      map[string]*flow.Resource
	goRes      map[string]*flow.Resource
}

func (b *builder) auth(c *AuthConfig, path string) (Auth, error) {
	a, err := buildAuth(c)
	if err != nil {
		return nil, prefixErr(path, err)
	}
	if oa, ok := a.(*OAuth2ClientCredentials); ok && oa.Client == nil {
		oa.Client = b.client.http
	}
	return a, nil
}

// build returns the flow resource of config resource i, building its
// parent first.
func (b *builder) build(i int, visiting []string) (*flow.Resource, error) {
	rc := b.merged[i]
	if r := b.built[rc.Name]; r != nil {
		return r, nil
	}
	for _, v := range visiting {
		if v == rc.Name {
			return nil, errAt(fmt.Sprintf("resources[%d]", i), "resources depend on each other in a cycle: %s", strings.Join(append(visiting, rc.Name), " -> "))
		}
	}
	path := fmt.Sprintf("resources[%d]", i)
	ep, err := b.endpoint(path, rc)
	if err != nil {
		return nil, err
	}
	var res *flow.Resource
	ropts := resourceOptions(rc)
	if ep.parent == "" {
		res = flow.NewResource(rc.Name, ep.generate, ropts...)
	} else {
		var parent *flow.Resource
		if j, ok := b.byName[ep.parent]; ok {
			if parent, err = b.build(j, append(visiting, rc.Name)); err != nil {
				return nil, err
			}
		} else {
			parent = b.goRes[ep.parent]
		}
		res = parent.Pipe(flow.NewTransformer(rc.Name, ep.transform, ropts...))
	}
	if ep.inc != nil {
		res = res.AddStep(ep.inc.inc.Step())
	}
	steps := append(append([]ProcessingStep(nil), rc.ProcessingSteps...), b.opts.steps[rc.Name]...)
	for k, s := range steps {
		st, err := compileStep(s)
		if err != nil {
			return nil, prefixErr(fmt.Sprintf("%s.processing_steps[%d]", path, k), err)
		}
		res = res.AddStep(st)
	}
	b.built[rc.Name] = res
	return res, nil
}

func resourceOptions(rc ResourceConfig) []flow.Option {
	var o []flow.Option
	if rc.TableName != "" {
		o = append(o, flow.TableName(rc.TableName))
	}
	if rc.WriteDisposition != "" {
		o = append(o, flow.WriteDisposition(rc.WriteDisposition))
	}
	if len(rc.PrimaryKey) > 0 {
		o = append(o, flow.PrimaryKey(rc.PrimaryKey...))
	}
	if len(rc.MergeKey) > 0 {
		o = append(o, flow.MergeKey(rc.MergeKey...))
	}
	if len(rc.Columns) > 0 {
		o = append(o, flow.Columns(rc.Columns...))
	}
	if rc.MaxTableNesting != nil {
		o = append(o, flow.MaxTableNesting(*rc.MaxTableNesting))
	}
	if rc.FileFormat == "parquet" {
		o = append(o, flow.FileFormat(rc.FileFormat))
	}
	if len(rc.NestedHints) > 0 {
		o = append(o, flow.NestedHints(rc.NestedHints))
	}
	if rc.SchemaContract != nil {
		o = append(o, flow.SchemaContract(*rc.SchemaContract))
	}
	if rc.Selected != nil {
		o = append(o, flow.Selected(*rc.Selected))
	}
	if rc.Parallelized != nil && *rc.Parallelized {
		o = append(o, flow.Parallelized())
	}
	return o
}

func compileStep(s ProcessingStep) (flow.Step, error) {
	n := 0
	for _, set := range []bool{s.Filter != "", s.Map != "", s.MapFields != nil, s.FilterFunc != nil, s.MapFunc != nil, s.Step != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("want exactly one of filter or map")
	}
	switch {
	case s.Filter != "":
		return transform.Filter(s.Filter)
	case s.Map != "":
		return transform.MapRecord(s.Map)
	case s.MapFields != nil:
		return mapFieldsStep(s)
	case s.FilterFunc != nil:
		return flow.FilterItems(s.FilterFunc), nil
	case s.MapFunc != nil:
		return flow.MapItems(s.MapFunc), nil
	}
	return s.Step, nil
}

// mergeResource lays r over the defaults d as dlt does: r's fields win;
// endpoint params, json and headers merge key by key.
func mergeResource(d *ResourceConfig, r ResourceConfig) ResourceConfig {
	if d == nil {
		return r
	}
	out := r
	orDefault(&out.WriteDisposition, d.WriteDisposition)
	orDefaultSlice(&out.PrimaryKey, d.PrimaryKey)
	orDefaultSlice(&out.MergeKey, d.MergeKey)
	orDefault(&out.TableName, d.TableName)
	orDefaultSlice(&out.Columns, d.Columns)
	orDefault(&out.MaxTableNesting, d.MaxTableNesting)
	orDefault(&out.FileFormat, d.FileFormat)
	orDefaultMap(&out.NestedHints, d.NestedHints)
	orDefault(&out.SchemaContract, d.SchemaContract)
	orDefault(&out.Selected, d.Selected)
	orDefault(&out.Parallelized, d.Parallelized)
	orDefaultSlice(&out.IncludeFromParent, d.IncludeFromParent)
	orDefaultSlice(&out.ProcessingSteps, d.ProcessingSteps)
	out.Endpoint = mergeEndpoint(d.Endpoint, r.Endpoint)
	return out
}

func mergeEndpoint(d, e *EndpointConfig) *EndpointConfig {
	if d == nil {
		return e
	}
	if e == nil {
		c := *d
		return &c
	}
	out := *e
	orDefault(&out.Path, d.Path)
	orDefault(&out.Method, d.Method)
	out.Params = mergeMaps(d.Params, e.Params)
	if dm, ok := d.JSON.(map[string]any); ok {
		if em, ok := e.JSON.(map[string]any); ok || e.JSON == nil {
			out.JSON = mergeMaps(dm, em)
		}
	} else if out.JSON == nil {
		out.JSON = d.JSON
	}
	if d.Headers != nil || e.Headers != nil {
		h := map[string]string{}
		for k, v := range d.Headers {
			h[k] = v
		}
		for k, v := range e.Headers {
			h[k] = v
		}
		out.Headers = h
	}
	orDefault(&out.Paginator, d.Paginator)
	orDefault(&out.DataSelector, d.DataSelector)
	orDefaultSlice(&out.ResponseActions, d.ResponseActions)
	orDefault(&out.Incremental, d.Incremental)
	orDefault(&out.Auth, d.Auth)
	return &out
}

// orDefault sets *v to the default d when the resource left it unset (the
// zero value); orDefaultSlice and orDefaultMap do the same for nil.
func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

func orDefaultSlice[S ~[]E, E any](v *S, d S) {
	if *v == nil {
		*v = d
	}
}

func orDefaultMap[M ~map[K]V, K comparable, V any](v *M, d M) {
	if *v == nil {
		*v = d
	}
}

func mergeMaps(d, e map[string]any) map[string]any {
	if d == nil {
		return e
	}
	out := make(map[string]any, len(d)+len(e))
	for k, v := range d {
		out[k] = v
	}
	for k, v := range e {
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

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

type incremental struct {
	cfg     *IncrementalConfig
	inc     *transform.Incremental
	convert func(any) (any, error)
}

// canClose reports whether a page of an ordered source (row_order) holds a
// row past the range, after which no row can load; nil in is never done.
func (in *incremental) canClose(ctx context.Context, rows []*fastjson.Value) bool {
	if in == nil || in.cfg.RowOrder == "" {
		return false
	}
	for _, r := range rows {
		if in.inc.CanClose(ctx, r) {
			return true
		}
	}
	return false
}

// value returns an incremental placeholder's value, converted.
func (in *incremental) value(ctx context.Context, which string) (any, error) {
	var v any
	var err error
	switch which {
	case "start_value":
		v, err = in.inc.StartValue(ctx)
	case "last_value":
		v, err = in.inc.LastValueNow(ctx)
	case "initial_value":
		v = in.cfg.InitialValue
	case "end_value":
		v = in.cfg.EndValue
	default:
		return nil, fmt.Errorf("rest: unknown placeholder {incremental.%s}", which)
	}
	if err != nil || v == nil || in.convert == nil {
		return v, err
	}
	return in.convert(v)
}

var incrementalNames = map[string]bool{"start_value": true, "initial_value": true, "last_value": true, "end_value": true}

// endpoint compiles rc's endpoint.
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
	// Legacy params: resolve params become placeholders, an incremental
	// param becomes the incremental's start_param.
	resolve := map[string]ResolveParam{}
	incCfg := ec.Incremental
	plain := map[string]any{}
	for _, k := range sortedKeys(ec.Params) {
		switch v := ec.Params[k].(type) {
		case ResolveParam:
			resolve[k] = v
		case *ResolveParam:
			resolve[k] = *v
		case *IncrementalConfig:
			if incCfg != nil {
				return nil, errAt(epath+".params."+k, "only one incremental per endpoint (endpoint.incremental is also set)")
			}
			c := *v
			c.StartParam = k
			incCfg = &c
		default:
			plain[k] = v
		}
	}
	if incCfg != nil {
		in, err := newIncremental(incCfg, rc.PrimaryKey)
		if err != nil {
			return nil, prefixErr(epath+".incremental", err)
		}
		e.inc = in
	}
	known := func(name string) bool {
		if _, ok := resolve[name]; ok {
			return true
		}
		return strings.HasPrefix(name, "resources.") || strings.HasPrefix(name, "incremental.")
	}
	// Check the placeholders: which parent, which fields.
	check := func(where string, names []string) error {
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
				rp, ok := resolve[n]
				if !ok {
					return errAt(where, "unknown placeholder {%s}", n)
				}
				if _, ok := b.byName[rp.Resource]; !ok && b.goRes[rp.Resource] == nil {
					return errAt(epath+".params."+n+".resource", "no resource named %q in this source", rp.Resource)
				}
				if err := e.setParent(epath+".params."+n, rp.Resource); err != nil {
					return err
				}
				jp, _ := parseJSONPath(rp.Field)
				e.fields[n] = jp
			}
		}
		return nil
	}
	e.path = parsePathTemplate(ec.Path).withSecrets(append(authSecrets(b.cfg), b.opts.secrets...))
	if err := check(epath+".path", e.path.names()); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(plain) {
		p := param{key: k}
		switch v := plain[k].(type) {
		case nil:
			continue
		case string:
			p.tpl = parseTemplate(v, known)
			if err := check(epath+".params."+k, p.tpl.names()); err != nil {
				return nil, err
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
	for name := range resolve {
		if !strings.Contains(ec.Path, "{"+name+"}") {
			// dlt's resolve works for path parameters only; one that is
			// not in the path is sent as a query parameter.
			p := param{key: name, tpl: template{parts: []tplPart{{name: name}}}}
			if err := check(epath+".params."+name, []string{name}); err != nil {
				return nil, err
			}
			e.params = append(e.params, p)
		}
	}
	if ec.JSON != nil {
		e.json = parseTree(ec.JSON, known)
		if err := check(epath+".json", e.json.names()); err != nil {
			return nil, err
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
		h := header{key: k, tpl: parseTemplate(hdrs[k], known)}
		if err := check(epath+".headers."+k, h.tpl.names()); err != nil {
			return nil, err
		}
		e.headers = append(e.headers, h)
	}
	// dlt's rule for a path whose last segment holds a {placeholder}
	// (posts/{resources.posts.id}): it returns one entity, so unless the
	// endpoint says otherwise the whole response is the record and there
	// is one page.
	single := singleEntityPath(ec.Path)
	selector := ec.DataSelector
	if selector == "" && single {
		selector = "$"
		e.selectorImplied = true
	}
	if selector != "" {
		sel, err := parseJSONPath(selector)
		if err != nil {
			return nil, errAt(epath+".data_selector", "%v", err)
		}
		e.selector = sel
	}
	pc := ec.Paginator
	if pc == nil && single {
		pc = &PaginatorConfig{Type: "single_page"}
	}
	if pc == nil {
		pc = b.cfg.Client.Paginator
	}
	switch {
	case pc == nil || (pc.New == nil && (pc.Type == "auto" || pc.Type == "")):
		log, name, logged := b.opts.log, rc.Name, new(atomic.Bool)
		e.paginator = func() Paginator { return &autoPaginator{log: log, resource: name, logged: logged} }
	case pc.New != nil:
		e.paginator = pc.New
	default:
		bld, ok := lookupPaginator(pc.Type)
		if !ok {
			return nil, errAt(epath+".paginator.type", "unknown paginator %q (want one of %s)", pc.Type, strings.Join(paginatorTypes(), ", "))
		}
		f, err := bld(pc.Params)
		if err != nil {
			return nil, prefixErr(epath+".paginator", err)
		}
		e.paginator = f
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
	if len(rc.IncludeFromParent) > 0 {
		if e.parent == "" {
			return nil, errAt(path+".include_from_parent", "the resource has no parent resource")
		}
		for _, f := range rc.IncludeFromParent {
			jp, err := parseJSONPath(f)
			if err != nil {
				return nil, errAt(path+".include_from_parent", "%v", err)
			}
			e.include = append(e.include, include{key: arrowbuf.NormalizeIdentifier("_" + e.parent + "_" + f), path: jp})
		}
	}
	return e, nil
}

// singleEntityRE is dlt's test for a single-entity path segment.
var singleEntityRE = regexp.MustCompile(`\{[a-zA-Z0-9._-]+\}`)

// singleEntityPath reports whether the last segment of an endpoint path
// holds a placeholder, as dlt's single_entity_path does.
func singleEntityPath(p string) bool {
	p = strings.TrimRight(p, "/")
	return singleEntityRE.MatchString(p[strings.LastIndexByte(p, '/')+1:])
}

// checkBaseURL fails a relative endpoint path without client.base_url
// before any request, naming the field the path came from. A path that
// starts with a placeholder may be a full URL once filled in: the request
// checks it.
func (b *builder) checkBaseURL(path, name, epath string) error {
	if b.client.base != nil || isFullURL(epath) || strings.HasPrefix(epath, "{") {
		return nil
	}
	where, what := path+".endpoint.path", fmt.Sprintf("%q", epath)
	own := b.cfg.Resources[b.byName[name]].Endpoint
	switch d := b.cfg.ResourceDefaults; {
	case own != nil && own.Path != "":
	case d != nil && d.Endpoint != nil && d.Endpoint.Path != "":
		where = "resource_defaults.endpoint.path"
	default:
		what += " (the resource name)"
	}
	return errAt(where, "%s is not a full URL and %s is not set", what, joinPath(b.cfg.prefix, "client.base_url"))
}

// splitResourceRef splits "posts.author.id" into a known resource name and
// a field path, preferring the longest resource name.
func (b *builder) splitResourceRef(ref string) (string, string, bool) {
	best := ""
	for name := range b.byName {
		if strings.HasPrefix(ref, name+".") && len(name) > len(best) {
			best = name
		}
	}
	for name := range b.goRes {
		if strings.HasPrefix(ref, name+".") && len(name) > len(best) {
			best = name
		}
	}
	if best == "" {
		return "", "", false
	}
	return best, ref[len(best)+1:], true
}

func (e *endpoint) setParent(where, parent string) error {
	if parent == e.name {
		return errAt(where, "resource %q cannot be its own parent", parent)
	}
	if e.parent != "" && e.parent != parent {
		return errAt(where, "a resource can have one parent; found %q and %q", e.parent, parent)
	}
	e.parent = parent
	return nil
}

func newIncremental(c *IncrementalConfig, pk []string) (*incremental, error) {
	in := &incremental{cfg: c}
	ic, err := transform.NewIncremental(c.CursorPath, c.InitialValue)
	if err != nil {
		return nil, errAt("cursor_path", "%v", err)
	}
	ic.EndValue = c.EndValue
	if c.LastValueFunc == "min" {
		ic.LastValue = transform.Min
	}
	ic.OnMissing = c.OnCursorValueMissing
	ic.RangeStart, ic.RangeEnd = c.RangeStart, c.RangeEnd
	ic.RowOrder = c.RowOrder
	ic.Lag = c.Lag
	switch {
	case c.PrimaryKey == nil:
		// dlt: the incremental's primary_key defaults to the resource's.
		ic.PrimaryKey = pk
	case len(c.PrimaryKey) == 0:
		ic.NoDedup = true
	default:
		ic.PrimaryKey = c.PrimaryKey
	}
	in.inc = ic
	switch {
	case c.ConvertFunc != nil:
		in.convert = c.ConvertFunc
	case c.Convert != "":
		f, err := transform.Value(c.Convert)
		if err != nil {
			return nil, errAt("convert", "bad expression: %v", err)
		}
		in.convert = f
	}
	return in, nil
}

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

// generate is the generator of a root resource.
func (e *endpoint) generate(ctx context.Context, yield flow.Yield) error {
	req, err := e.request(ctx, nil)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	if err := e.paginate(ctx, req, nil, lockedYield(&mu, yield)); err != nil {
		return err
	}
	e.warnUnmatched()
	return nil
}

func lockedYield(mu *sync.Mutex, yield flow.Yield) flow.Yield {
	return func(b flow.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		return yield(b)
	}
}

// transform is the transformer of a child resource: one request sequence
// per parent item, up to the client's concurrency at once.
func (e *endpoint) transform(ctx context.Context, in flow.Batch, yield flow.Yield) error {
	items := in.JSON
	if items == nil {
		vals, err := in.Values()
		if err != nil {
			return err
		}
		for _, v := range vals {
			j, err := jsonconv.FromGo(v)
			if err != nil {
				return fmt.Errorf("rest: parent item: %w", err)
			}
			items = append(items, j)
		}
	}
	var mu sync.Mutex
	y := lockedYield(&mu, yield)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.c.concurrency)
	for _, item := range items {
		if item.Type() != fastjson.TypeObject {
			return fmt.Errorf("rest: parent %q yielded an item that is not an object", e.parent)
		}
		req, err := e.request(ctx, item)
		if err != nil {
			_ = g.Wait()
			return err
		}
		extra, err := e.parentFields(item)
		if err != nil {
			_ = g.Wait()
			return err
		}
		g.Go(func() error { return e.paginate(gctx, req, extra, y) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// A transformer is not told when its last parent batch came: it warns
	// after the first batch of parents none of whose pages matched.
	e.warnUnmatched()
	return nil
}

// parentFields copies the include_from_parent fields of item (the parent's
// batch is released when the transformer returns; rows live longer). A
// missing field is an error, as in dlt (a null one is copied).
func (e *endpoint) parentFields(item *fastjson.Value) ([]extraField, error) {
	if len(e.include) == 0 {
		return nil, nil
	}
	out := make([]extraField, 0, len(e.include))
	for _, inc := range e.include {
		v := inc.path.first(item)
		if v == nil {
			return nil, fmt.Errorf("rest: include_from_parent field %q not found in an item of parent resource %q", inc.path.String(), e.parent)
		}
		out = append(out, extraField{key: inc.key, raw: arrowbuf.AppendJSONText(nil, v)})
	}
	return out, nil
}

type extraField struct {
	key string
	raw []byte
}

// paginate fetches req and the pages after it, yielding their rows.
func (e *endpoint) paginate(ctx context.Context, req *Request, extra []extraField, yield flow.Yield) error {
	pg := e.paginator()
	if err := pg.Init(req); err != nil {
		return err
	}
	early := earlyOf(pg)
	if e.inc != nil && e.inc.cfg.RowOrder != "" {
		early = nil // paging may stop at any row: nothing is requested ahead
	}
	inParts := streamSafe(pg) && !limited(ctx)
	// The next page, requested while this one is parsed and handed on.
	var ahead *pageAhead
	defer func() { ahead.abandon(e.c) }()
	first := true
	for {
		cur := req.Clone()
		var p *page
		var err error
		if ahead != nil {
			p, err = ahead.wait()
			ahead = nil
		} else {
			p, err = e.c.fetchRaw(ctx, cur, e.auth, e.actions)
		}
		if err != nil {
			return e.wrap(err)
		}
		if p.ignored {
			return nil
		}
		more, known := false, false
		// Not for a big page: two of them would be held at once.
		if early != nil && safeMethod(cur) && 2*len(p.resp.Body) <= aheadBytes && looksJSON(p.resp.Body) && !lastYield(ctx) {
			if more, known = early.nextEarly(p.resp, req); known && more && !sameRequest(cur, req) {
				ahead = e.fetchAhead(ctx, req.Clone())
			}
		}
		pr, err := e.rowsOf(p, inParts)
		if err != nil {
			return e.wrap(err)
		}
		if !known {
			if more, err = pg.Next(p.resp, pr.forPaginator(), req); err != nil {
				p.release(e.c)
				return e.wrap(err)
			}
		}
		done, err := e.emitPage(ctx, p, pr, extra, yield)
		if err != nil {
			return err
		}
		if !more || done {
			return nil
		}
		if sameRequest(cur, req) {
			return fmt.Errorf("rest: the paginator asked for the same page again (%s); set endpoint.paginator", req.URL.EscapedPath())
		}
		if first {
			first = false
			// Ordered rows (row_order) are paged one by one, so paging can
			// stop at the first row out of range.
			if pl, ok := pg.(Planner); ok && ahead == nil && (e.inc == nil || e.inc.cfg.RowOrder == "") {
				if plan, ok := pl.Plan(req); ok {
					return e.fetchAll(ctx, plan, extra, yield)
				}
			}
		}
	}
}

// safeMethod reports whether r is a GET (or HEAD): only such requests are
// sent ahead, since a page that then fails (not JSON, a step's error) ends
// paging with the next one already sent.
func safeMethod(r *Request) bool {
	return r.Method == "" || r.Method == http.MethodGet || r.Method == http.MethodHead
}

// looksJSON reports whether body starts like a JSON object or array, so an
// HTML error page served with 200 is not followed by a request ahead.
func looksJSON(body []byte) bool {
	i := skipWS(body, 0)
	return i < len(body) && (body[i] == '{' || body[i] == '[')
}

// lastYield reports whether a resource limit (add_limit) allows one more
// page at most: the page after it is not requested ahead.
func lastYield(ctx context.Context) bool {
	n, ok := runctx.YieldsLeft(ctx)
	return ok && n <= 1
}

// fetched is a page fetched by another goroutine.
type fetched struct {
	p   *page
	err error
}

// fetchSafe is fetchRaw for a goroutine of its own: a panic in a response
// hook or an Auth is returned as the run's error (a *flow.PanicError)
// instead of ending the process.
func (e *endpoint) fetchSafe(ctx context.Context, r *Request) (f fetched) {
	if err := safecall.Do(func() error {
		f.p, f.err = e.c.fetchRaw(ctx, r, e.auth, e.actions)
		return nil
	}); err != nil {
		return fetched{err: err}
	}
	return f
}

// pageAhead is a page being fetched while the one before it is parsed and
// handed on.
type pageAhead struct {
	cancel context.CancelFunc
	done   chan fetched
}

// fetchAhead starts fetching r in a goroutine of its own.
func (e *endpoint) fetchAhead(ctx context.Context, r *Request) *pageAhead {
	ctx, cancel := context.WithCancel(ctx)
	a := &pageAhead{cancel: cancel, done: make(chan fetched, 1)}
	go func() { a.done <- e.fetchSafe(ctx, r) }()
	return a
}

// wait returns the page once fetched.
func (a *pageAhead) wait() (*page, error) {
	f := <-a.done
	a.cancel()
	return f.p, f.err
}

// abandon cancels a page no longer wanted (paging ended or failed) and
// releases it.
func (a *pageAhead) abandon(c *client) {
	if a == nil {
		return
	}
	a.cancel()
	if f := <-a.done; f.p != nil {
		f.p.release(c)
	}
}

// wrap prefixes a fetch or paginator error with the package once. Errors
// of a running resource do not name it: the pipeline (flow.Run, Collect)
// does, and naming it here too printed it twice.
func (e *endpoint) wrap(err error) error {
	var he *HTTPError
	if errors.As(err, &he) || strings.HasPrefix(err.Error(), "rest: ") {
		return err
	}
	return fmt.Errorf("rest: %w", err)
}

func sameRequest(a, b *Request) bool {
	if a.URL.String() != b.URL.String() {
		return false
	}
	if a.JSON == nil && b.JSON == nil {
		return true
	}
	return fmt.Sprint(a.JSON) == fmt.Sprint(b.JSON)
}

// aheadBytes bounds, by the size of the last body, the bytes of the pages
// a resource holds at once: the one being handed on and those requested
// ahead of it (planned pages, or the next page of a link or cursor). Pages
// of more than half of it are fetched one by one.
var aheadBytes = 64 << 20

// fetchAll fetches planned pages concurrently, at most the client's
// concurrency ahead of the page being emitted, and emits them in order, so
// that an ignored page or (with plan.StopAtEmpty) an empty one ends paging
// where paging one by one would end it.
func (e *endpoint) fetchAll(ctx context.Context, plan PagePlan, extra []extraField, yield flow.Yield) error {
	// A resource limit (add_limit, bench --limit) drops pages past it:
	// they are not requested.
	if n, ok := runctx.YieldsLeft(ctx); ok && n < len(plan.Requests) {
		plan.Requests = plan.Requests[:n]
	}
	e.log.Debug("rest: prefetching pages", "resource", e.name, "pages", len(plan.Requests))
	inParts := !limited(ctx) // planned pages are not given to the paginator
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Each page's result has a slot, queued in request order. The pages
	// held as bytes (fetched or being fetched, and the one being handed
	// on) are bounded by count and, for big pages, by size: another is
	// requested while held*size < aheadBytes, or when none is held.
	slots := make(chan chan fetched, max(e.c.concurrency-1, 0))
	var held atomic.Int64
	room := make(chan struct{}, 1)
	go func() {
		defer close(slots)
		for _, r := range plan.Requests {
			for n := held.Load(); n > 0 && (n+1)*e.c.bodies.last.Load() > int64(aheadBytes); n = held.Load() {
				select {
				case <-room:
				case <-ctx.Done():
					return
				}
			}
			held.Add(1)
			slot := make(chan fetched, 1)
			select {
			case slots <- slot:
			case <-ctx.Done():
				return
			}
			go func() { slot <- e.fetchSafe(ctx, r) }()
		}
	}()
	var err error
	stopped := false
	for slot := range slots {
		f := <-slot
		switch {
		case stopped:
			if f.p != nil {
				f.p.release(e.c)
			}
		case f.err != nil:
			err, stopped = e.wrap(f.err), true
		case f.p.ignored:
			f.p.release(e.c)
			stopped = true
		default:
			// Parsed here, in page order, rather than where it was fetched:
			// see fetchRaw.
			var pr pageRows
			if pr, err = e.rowsOf(f.p, inParts); err != nil {
				err, stopped = e.wrap(err), true
				break
			}
			empty := pr.count() == 0
			_, err = e.emitPage(ctx, f.p, pr, extra, yield)
			stopped = err != nil || (empty && plan.StopAtEmpty)
		}
		held.Add(-1)
		select {
		case room <- struct{}{}:
		default:
		}
		// An error, an ignored page or an empty one: cancel the pages in
		// flight and release what arrives.
		if stopped {
			cancel()
		}
	}
	return err
}
