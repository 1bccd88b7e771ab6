// Compile layer: a merged resource config becomes a flow resource (a
// generator or a transformer of its parent) with its steps; endpoint.go
// compiles the endpoint it runs. Config errors are found here, before any
// request, and name the spec field.

package rest

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/transform"
)

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
	if rc.TableFormat != "" {
		o = append(o, flow.TableFormat(rc.TableFormat))
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
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
