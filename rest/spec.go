package rest

import (
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/confspec"
)

// The description of every key of dlt's RESTAPIConfig as sluice reads it:
// the decoder reads these keys and no others (TestSpecAgreesWithDecoder),
// errors suggest them, and docs/spec-keys.md is generated from them. Each
// paginator declares its own keys (paginator_*.go), each auth type in
// auth_spec.go.

// key, secret and the like shorten the declarations below.
func key(name, typ, def, doc string) *confspec.Field {
	return &confspec.Field{Name: name, Type: typ, Default: def, Doc: doc}
}

func secret(f *confspec.Field) *confspec.Field   { f.Secret = true; return f }
func required(f *confspec.Field) *confspec.Field { f.Required = true; return f }
func stored(f *confspec.Field) *confspec.Field   { f.Stored = true; return f }
func of(f *confspec.Field, o *confspec.Object) *confspec.Field {
	f.Object = o
	return f
}

var specAuth = &confspec.Object{Name: "auth", Doc: "A map with a `type` (see below; without one, `{token: ...}` is a bearer token), or a type registered with RegisterAuth."}

var specPaginator = &confspec.Object{Name: "paginator", Doc: "A paginator type name (`json_link`), or a map with `type` and that type's keys (below), or `auto` (the default): the first response decides. Defaults are dlt's. A `*_body_path` (dotted) puts the value in the JSON body instead of the query."}

var specClient = &confspec.Object{Name: "client", Fields: []*confspec.Field{
	key("base_url", "string", "", "The URL endpoint paths are relative to. Takes no {placeholders}."),
	key("headers", "map of string", "", "Headers sent with every request; values may hold placeholders."),
	of(key("auth", "map", "", "Authentication for every request."), specAuth),
	of(key("paginator", "string | map", "auto", "The paginator of every endpoint that sets none."), specPaginator),
	key("timeout", "duration", "60s", `Per attempt, body included: seconds or "30s"; positive.`),
	key("max_response_size", "size", "1 GiB", `Largest response body read: bytes or "500MB", "1GiB"; a larger one fails the run at once, naming the path and the limit.`),
	key("max_attempts", "integer", "5", "Tries per request, the first included (dlt's 5)."),
	key("max_retries", "integer", "", "Instead of max_attempts: retries after the first try."),
	key("backoff_factor", "duration", "1s", "The first retry's delay, doubling per retry."),
	key("max_retry_delay", "duration", "300s", "Cap on a delay, Retry-After included."),
	key("rate_limit", "number", "unlimited", "Requests per second, client-wide."),
	key("max_concurrency", "integer", "50", "Requests in flight, client-wide."),
}}

var specWriteDisposition = &confspec.Object{Name: "write_disposition", Doc: "The map form of write_disposition.", Fields: []*confspec.Field{
	required(key("disposition", "string", "", "append, replace or merge.")),
	key("strategy", "string", "delete-insert", "For merge: delete-insert or upsert."),
}}

var specContract = &confspec.Object{Name: "schema_contract", Doc: "The map form of schema_contract: a mode per entity.", Fields: []*confspec.Field{
	key("tables", "string", "evolve", "evolve, freeze, discard_row or discard_value."),
	key("columns", "string", "evolve", "evolve, freeze, discard_row or discard_value."),
	key("data_type", "string", "evolve", "evolve, freeze, discard_row or discard_value."),
}}

var specColumn = &confspec.Object{Name: "column", Doc: "A column hint: under columns by name, or in a list with a name.", Fields: []*confspec.Field{
	key("name", "string", "", "The column (required in the list form)."),
	key("data_type", "string", "", strings.Join(dataTypes, ", ")+"."),
	key("primary_key", "boolean", "false", ""),
	key("merge_key", "boolean", "false", ""),
	key("unique", "boolean", "false", ""),
	key("nullable", "boolean", "true", "false makes the column NOT NULL."),
	key("precision", "integer", "", "For decimal: 1 to 38 (38 when only scale is given)."),
	key("scale", "integer", "", "For decimal: at most the precision."),
	key("timezone", "boolean", "", "For timestamp: with or without a time zone."),
	key("description", "string", "", "Accepted, not stored."),
}}

// hintFields are the table hints a resource and a nested hint share.
func hintFields() []*confspec.Field {
	return []*confspec.Field{
		of(key("write_disposition", "string | map", "append", "append, replace, merge, or {disposition, strategy}."), specWriteDisposition),
		key("primary_key", "string | list of strings", "", ""),
		key("merge_key", "string | list of strings", "", ""),
		of(key("columns", "map of column | list of column", "", "Column hints: by name, or a list of hints with a name."), specColumn),
		of(key("schema_contract", "string | map", "evolve", "evolve, freeze, discard_row, discard_value, or a mode per entity."), specContract),
	}
}

var specNestedHint = &confspec.Object{Name: "nested_hint", Doc: "Hints for a nested table, by its path (a.b) under nested_hints.", Fields: hintFields()}

var specResponseAction = &confspec.Object{Name: "response_action", Fields: []*confspec.Field{
	key("status_code", "integer", "", "The status to match."),
	key("content", "string", "", "Text the body must contain."),
	required(key("action", "string", "", "ignore: the response is no rows.")),
}}

var specStep = &confspec.Object{Name: "processing_step", Doc: "Exactly one of filter or map.", Fields: []*confspec.Field{
	key("filter", "expression", "", "Keeps the rows for which it is true."),
	key("map", "expression | map of expression", "", "Replaces the row, or sets fields (a map of field to expression)."),
}}

// incrementalFields are the keys of an incremental; legacy is the
// {type: incremental} param's, which has type and lacks the params.
func incrementalFields(legacy bool) []*confspec.Field {
	var fs []*confspec.Field
	if legacy {
		fs = append(fs, required(key("type", "string", "", "incremental.")))
	}
	fs = append(fs,
		stored(required(key("cursor_path", "string", "", "Where the cursor is in a row: a path (updated_at, author.id)."))),
		stored(key("initial_value", "scalar", "", "The cursor's value on the first run; required with end_value.")),
		key("end_value", "scalar", "", "Where a backfill stops; the run keeps no state."),
		key("last_value_func", "string", "max", "max or min."),
		key("convert", "expression", "", "Turns an incremental value (`value`) into what the request takes."),
		key("on_cursor_value_missing", "string", "raise", "raise, include or exclude."),
		key("range_start", "string", "closed", "closed or open."),
		key("range_end", "string", "open", "open or closed."),
		key("row_order", "string", "", "asc or desc: rows ordered by the cursor stop paging at the first row out of range."),
		key("primary_key", "string | list of strings", "the resource's", "Matches boundary rows; [] turns boundary dedup off."),
		key("lag", "number", "0", "Start the next run this far before the stored value (seconds for date-times, days for dates, units for numbers)."),
		key("allow_external_schedulers", "boolean", "false", "Accepted, no effect: no external scheduler here."),
	)
	if !legacy {
		fs = append(fs,
			key("start_param", "string", "", "The query parameter the start value goes to (legacy)."),
			key("end_param", "string", "", "The query parameter the end value goes to (legacy)."),
		)
	}
	return fs
}

var specIncremental = &confspec.Object{Name: "incremental", Fields: incrementalFields(false)}

var specIncrementalParam = &confspec.Object{Name: "incremental", Doc: "A params value {type: incremental, ...} (dlt's legacy form).", Fields: incrementalFields(true)}

var specResolveParam = &confspec.Object{Name: "resolve", Doc: "A params value {type: resolve, ...}: a field of the parent resource.", Fields: []*confspec.Field{
	required(key("type", "string", "", "resolve.")),
	required(key("resource", "string", "", "The parent resource.")),
	required(key("field", "string", "", "The parent's field (a JSONPath).")),
}}

var specParam = &confspec.Object{Name: "param", Doc: "A params value: a scalar or a list, or one of these maps.", Variants: []*confspec.Object{specResolveParam, specIncrementalParam}}

var specEndpoint = &confspec.Object{Name: "endpoint", Doc: "A path, or a map.", Fields: []*confspec.Field{
	key("path", "string", "the resource's name", "Relative to base_url, or a full URL; may hold placeholders."),
	key("method", "string", "GET", "GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS."),
	of(key("params", "map of param", "", "Query parameters."), specParam),
	key("json", "any", "", "The JSON body; strings may hold placeholders."),
	key("headers", "map of string", "", "Headers of this endpoint's requests."),
	of(key("paginator", "string | map", "the client's", ""), specPaginator),
	key("data_selector", "string", "detected", `A JSONPath to the rows ("data", "$.data[*]").`),
	of(key("response_actions", "list of response_action", "", ""), specResponseAction),
	of(key("incremental", "map", "", ""), specIncremental),
	of(key("auth", "map", "the client's", ""), specAuth),
}}

// resourceFields are a resource's keys; defaults (resource_defaults) lack
// the name.
func resourceFields(defaults bool) []*confspec.Field {
	var fs []*confspec.Field
	if !defaults {
		fs = append(fs, required(key("name", "string", "", "The resource and, by default, its table and endpoint path.")))
	}
	fs = append(fs, of(key("endpoint", "string | map", "the name", ""), specEndpoint))
	fs = append(fs, hintFields()...)
	return append(fs,
		key("table_name", "string", "the name", ""),
		key("max_table_nesting", "integer", "", "How deep nested data becomes child tables."),
		key("file_format", "string", "", "parquet, jsonl, csv, insert_values or preferred (accepted)."),
		key("table_format", "string", "the destination's", "iceberg, delta or native: the open table format of the resource's tables (nested ones take their root's), where the destination writes one."),
		of(key("nested_hints", "map of nested_hint", "", "Hints for nested tables by path."), specNestedHint),
		key("selected", "boolean", "true", "false: the resource only feeds its children."),
		key("parallelized", "boolean", "false", ""),
		key("include_from_parent", "list of strings", "", "Parent fields added to each row as _<parent>_<field>."),
		of(key("processing_steps", "list of processing_step", "", "Steps on each row, in order."), specStep),
	)
}

var specResource = &confspec.Object{Name: "resource", Doc: "A name (its endpoint path), or a map.", Fields: resourceFields(false)}

var specResourceDefaults = &confspec.Object{Name: "resource_defaults", Doc: "Any resource key but name, merged under every resource (endpoint params, json and headers key by key).", Fields: resourceFields(true)}

var specSource = &confspec.Object{Name: "source", Doc: "dlt's RESTAPIConfig: the same keys with the same meaning.", Fields: []*confspec.Field{
	of(key("client", "map", "", "The HTTP client all resources share."), specClient),
	of(required(key("resources", "list of resource", "", "At least one.")), specResource),
	of(key("resource_defaults", "map", "", ""), specResourceDefaults),
}}

func init() {
	confspec.Register("rest", func() *confspec.Object { return specSource })
}

// addVariant adds a type's keys to an object with a "type" key, kept
// sorted by type so the reference is the same whatever the init order.
func addVariant(o, v *confspec.Object) {
	o.Variants = slices.DeleteFunc(o.Variants, func(x *confspec.Object) bool { return x.Name == v.Name })
	o.Variants = append(o.Variants, v)
	slices.SortFunc(o.Variants, func(a, b *confspec.Object) int { return strings.Compare(a.Name, b.Name) })
}
