// The REST source in layers. A config becomes a flow.Source in four steps,
// each in its own files:
//
//   - options (this file): SourceOption and NewSource, which runs the rest;
//   - defaults (merge.go): resource_defaults laid under each resource;
//   - compile (compile.go, endpoint.go, incremental.go): each resource's
//     config checked and turned into an endpoint, the flow resource that
//     runs it and its steps;
//   - run (run.go, request.go, prefetch.go, rows.go, bigpage.go): at run
//     time, an endpoint's requests, paging, pages fetched ahead by
//     goroutines it owns, and rows handed on.
//
// Below them: HTTP (client.go, transport.go, bodypool.go, auth.go,
// secrets.go, charset.go, parsers.go) and JSONPath (jsonpath.go, an
// adapter over internal/jsonpath, which transform's paths share).

package rest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/sluicehq/sluice/flow"
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
