// Defaults layer: resource_defaults merged into each resource before it is
// compiled, as dlt merges them.

package rest

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
	orDefault(&out.TableFormat, d.TableFormat)
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
