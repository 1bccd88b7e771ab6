package rest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/internal/confspec"
)

// DecodeConfig validates a decoded YAML or JSON tree (maps, lists and
// scalars) as dlt's RESTAPIConfig and returns it. Errors are *ConfigError
// naming the field under prefix ("source.resources[0]: unknown field
// \"params\""); they never include values, which may be secrets.
func DecodeConfig(raw any, prefix string, opts ...DecodeOption) (*Config, error) {
	o, err := newObjOf(prefix, raw, specSource)
	if err != nil {
		return nil, err
	}
	cfg := &Config{prefix: prefix}
	if v, ok := o.get("client"); ok {
		if err := decodeClient(o.at("client"), v, &cfg.Client); err != nil {
			return nil, err
		}
	}
	if v, ok := o.get("resource_defaults"); ok {
		d, err := decodeResource(o.at("resource_defaults"), v, true)
		if err != nil {
			return nil, err
		}
		cfg.ResourceDefaults = d
	}
	v, ok := o.get("resources")
	if !ok {
		return nil, errAt(o.at("resources"), "required: a list of resources")
	}
	list, isList := v.([]any)
	if !isList {
		return nil, errAt(o.at("resources"), "want a list, got %s", typeName(v))
	}
	if len(list) == 0 {
		return nil, errAt(o.at("resources"), "required: at least one resource")
	}
	names := map[string]bool{}
	for i, item := range list {
		path := fmt.Sprintf("%s[%d]", o.at("resources"), i)
		r, err := decodeResource(path, item, false)
		if err != nil {
			return nil, err
		}
		if names[r.Name] {
			return nil, errAt(path+".name", "duplicate resource name %q", r.Name)
		}
		names[r.Name] = true
		cfg.Resources = append(cfg.Resources, *r)
	}
	if err := o.done(); err != nil {
		return nil, err
	}
	var do decodeOptions
	for _, opt := range opts {
		opt(&do)
	}
	if do.keyOrder != nil {
		applyKeyOrder(cfg, prefix, do.keyOrder)
	}
	return cfg, nil
}

func decodeClient(path string, v any, c *ClientConfig) error {
	o, err := newObjOf(path, v, specClient)
	if err != nil {
		return err
	}
	if c.BaseURL, _, err = o.str("base_url"); err != nil {
		return err
	}
	if c.Headers, err = o.strMap("headers"); err != nil {
		return err
	}
	if err := checkHeaders(o.at("headers"), c.Headers); err != nil {
		return err
	}
	if a, ok := o.get("auth"); ok {
		if c.Auth, err = decodeAuth(o.at("auth"), a); err != nil {
			return err
		}
	}
	if p, ok := o.get("paginator"); ok {
		if c.Paginator, err = decodePaginator(o.at("paginator"), p); err != nil {
			return err
		}
	}
	if c.Timeout, _, err = o.positiveDuration("timeout"); err != nil {
		return err
	}
	if c.MaxResponseSize, err = o.size("max_response_size"); err != nil {
		return err
	}
	attempts, hasAttempts, err := o.integer("max_attempts")
	if err != nil {
		return err
	}
	retries, hasRetries, err := o.integer("max_retries")
	if err != nil {
		return err
	}
	switch {
	case hasAttempts && hasRetries:
		return errAt(o.at("max_retries"), "set either max_attempts or max_retries, not both")
	case hasAttempts && attempts < 1:
		return errAt(o.at("max_attempts"), "want at least 1")
	case hasRetries && retries < 0:
		return errAt(o.at("max_retries"), "want 0 or more")
	case hasAttempts:
		c.Retry.MaxAttempts = attempts
	case hasRetries:
		c.Retry.MaxAttempts = retries + 1
	}
	if c.Retry.Backoff, _, err = o.duration("backoff_factor"); err != nil {
		return err
	}
	if c.Retry.MaxDelay, _, err = o.duration("max_retry_delay"); err != nil {
		return err
	}
	if c.RateLimit, _, err = o.number("rate_limit"); err != nil {
		return err
	} else if c.RateLimit < 0 {
		return errAt(o.at("rate_limit"), "want requests per second >= 0")
	}
	if c.MaxConcurrency, _, err = o.integer("max_concurrency"); err != nil {
		return err
	} else if c.MaxConcurrency < 0 {
		return errAt(o.at("max_concurrency"), "want 1 or more")
	}
	return o.done()
}

// splitType separates a map's "type" key (a string, "" when absent) from its
// other keys, the parameters of that type.
func splitType(path string, m map[string]any) (string, map[string]any, error) {
	params := make(map[string]any, len(m))
	typ := ""
	for k, v := range m {
		if k == "type" {
			s, isStr := v.(string)
			if !isStr {
				return "", nil, errAt(path+".type", "want a string, got %s", typeName(v))
			}
			typ = s
			continue
		}
		params[k] = v
	}
	return typ, params, nil
}

func decodeAuth(path string, v any) (*AuthConfig, error) {
	m, ok := asMap(v)
	if !ok {
		return nil, errAt(path, "want a map, got %s", typeName(v))
	}
	typ, params, err := splitType(path, m)
	if err != nil {
		return nil, err
	}
	if typ == "" {
		if _, hasToken := params["token"]; !hasToken {
			return nil, errAt(path+".type", "required (or give {token: ...} for a bearer token)")
		}
		typ = "bearer"
	}
	f, found := lookupAuth(typ)
	if !found {
		return nil, errAt(path+".type", "%s", unknownOf("auth type", typ, authTypes()))
	}
	if err := undeclared(path, specAuth.Variant(typ), params); err != nil {
		return nil, err
	}
	a, err := f(params)
	if err != nil {
		return nil, prefixErr(path, err)
	}
	return &AuthConfig{Type: typ, Params: params, Auth: a}, nil
}

// undeclared reports a key a built-in auth or paginator type (desc) does
// not declare before its builder runs, so {type: offset, limt: 10} suggests
// "limit" instead of saying that limit is required. Types registered by
// users (desc nil) judge their own keys.
func undeclared(path string, desc *confspec.Object, params map[string]any) error {
	if desc == nil {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if desc.Lookup(k) == nil {
			return confspec.UnknownField(path, k, desc.Names())
		}
	}
	return nil
}

func decodePaginator(path string, v any) (*PaginatorConfig, error) {
	var typ string
	params := map[string]any{}
	switch x := v.(type) {
	case string:
		typ = x
	default:
		m, ok := asMap(v)
		if !ok {
			return nil, errAt(path, "want a map or a paginator type, got %s", typeName(v))
		}
		var err error
		if typ, params, err = splitType(path, m); err != nil {
			return nil, err
		}
		if typ == "" {
			return nil, errAt(path+".type", "required (want one of %s)", strings.Join(paginatorTypes(), ", "))
		}
	}
	if typ == "auto" {
		if len(params) > 0 {
			o, _ := newObjOf(path, params, specAutoPaginator)
			return nil, o.done()
		}
		return &PaginatorConfig{Type: "auto"}, nil
	}
	b, ok := lookupPaginator(typ)
	if !ok {
		p := path + ".type"
		if _, isStr := v.(string); isStr {
			p = path
		}
		return nil, errAt(p, "%s", unknownOf("paginator", typ, paginatorTypes()))
	}
	if err := undeclared(path, specPaginator.Variant(typ), params); err != nil {
		return nil, err
	}
	f, err := b(params)
	if err != nil {
		return nil, prefixErr(path, err)
	}
	return &PaginatorConfig{Type: typ, Params: params, New: f}, nil
}

func decodeResource(path string, v any, defaults bool) (*ResourceConfig, error) {
	if s, ok := v.(string); ok && !defaults {
		if s == "" {
			return nil, errAt(path, "empty resource name")
		}
		return &ResourceConfig{Name: s}, nil
	}
	desc := specResource
	if defaults {
		desc = specResourceDefaults
	}
	o, err := newObjOf(path, v, desc)
	if err != nil {
		if !defaults {
			return nil, errAt(path, "want a resource name or a map, got %s", typeName(v))
		}
		return nil, err
	}
	r := &ResourceConfig{}
	if !defaults {
		var ok bool
		if r.Name, ok, err = o.str("name"); err != nil {
			return nil, err
		} else if !ok || r.Name == "" {
			return nil, errAt(o.at("name"), "required")
		}
	}
	if ev, ok := o.get("endpoint"); ok {
		if r.Endpoint, err = decodeEndpoint(o.at("endpoint"), ev); err != nil {
			return nil, err
		}
	}
	h, err := decodeHints(o, true)
	if err != nil {
		return nil, err
	}
	r.WriteDisposition, r.PrimaryKey, r.MergeKey, r.Columns, r.SchemaContract = h.WriteDisposition, h.PrimaryKey, h.MergeKey, h.Columns, h.Contract
	if r.TableName, _, err = o.str("table_name"); err != nil {
		return nil, err
	}
	if n, ok, err := o.integer("max_table_nesting"); err != nil {
		return nil, err
	} else if ok {
		if n < 0 {
			return nil, errAt(o.at("max_table_nesting"), "want 0 or more")
		}
		r.MaxTableNesting = &n
	}
	if r.FileFormat, _, err = o.str("file_format"); err != nil {
		return nil, err
	}
	switch r.FileFormat {
	case "", "parquet", "jsonl", "csv", "insert_values", "preferred":
	default:
		return nil, errAt(o.at("file_format"), "unknown file format (want parquet, jsonl, csv, insert_values or preferred)")
	}
	tf, _, err := o.str("table_format")
	if err != nil {
		return nil, err
	}
	r.TableFormat = arrowbuf.TableFormat(tf)
	if err := arrowbuf.CheckTableFormat(r.TableFormat); err != nil {
		if r.Name != "" {
			return nil, errAt(o.at("table_format"), "resource %q: %v", r.Name, err)
		}
		return nil, errAt(o.at("table_format"), "%v", err)
	}
	if nv, ok := o.get("nested_hints"); ok {
		no, err := newObj(o.at("nested_hints"), nv)
		if err != nil {
			return nil, err
		}
		r.NestedHints = map[string]arrowbuf.TableHints{}
		for k, hv := range no.m {
			no.seen[k] = true
			ho, err := newObjOf(no.at(k), hv, specNestedHint)
			if err != nil {
				return nil, err
			}
			nh, err := decodeHints(ho, false)
			if err != nil {
				return nil, err
			}
			if err := ho.done(); err != nil {
				return nil, err
			}
			r.NestedHints[strings.ReplaceAll(k, ".", "__")] = nh
		}
	}
	if b, ok, err := o.boolean("selected"); err != nil {
		return nil, err
	} else if ok {
		r.Selected = &b
	}
	if b, ok, err := o.boolean("parallelized"); err != nil {
		return nil, err
	} else if ok {
		r.Parallelized = &b
	}
	if r.IncludeFromParent, _, err = o.strList("include_from_parent"); err != nil {
		return nil, err
	}
	if sv, ok := o.get("processing_steps"); ok {
		if r.ProcessingSteps, err = decodeSteps(o.at("processing_steps"), sv); err != nil {
			return nil, err
		}
	}
	return r, o.done()
}

// decodeHints reads the table hints a resource and a nested hint share.
func decodeHints(o *obj, resource bool) (arrowbuf.TableHints, error) {
	var h arrowbuf.TableHints
	if wv, ok := o.get("write_disposition"); ok {
		var d string
		switch x := wv.(type) {
		case string:
			d = x
		default:
			wo, err := newObjOf(o.at("write_disposition"), wv, specWriteDisposition)
			if err != nil {
				return h, errAt(o.at("write_disposition"), "want a string or a map, got %s", typeName(wv))
			}
			s, ok, err := wo.str("disposition")
			if err != nil {
				return h, err
			} else if !ok {
				return h, errAt(wo.at("disposition"), "required")
			}
			d = s
			if st, ok, err := wo.str("strategy"); err != nil {
				return h, err
			} else if ok {
				if err := oneOf(wo.at("strategy"), "merge strategy", st, "delete-insert", "upsert"); err != nil {
					return h, err
				}
			}
			if err := wo.done(); err != nil {
				return h, err
			}
		}
		if err := oneOf(o.at("write_disposition"), "write_disposition", d, "append", "replace", "merge"); err != nil {
			return h, err
		}
		h.WriteDisposition = arrowbuf.WriteDisposition(d)
	}
	var err error
	if h.PrimaryKey, _, err = o.strList("primary_key"); err != nil {
		return h, err
	}
	if h.MergeKey, _, err = o.strList("merge_key"); err != nil {
		return h, err
	}
	if cv, ok := o.get("columns"); ok {
		if h.Columns, err = decodeColumns(o.at("columns"), cv); err != nil {
			return h, err
		}
	}
	if sc, ok := o.get("schema_contract"); ok {
		c, err := decodeContract(o.at("schema_contract"), sc)
		if err != nil {
			return h, err
		}
		h.Contract = c
	}
	return h, nil
}

var contractModes = []string{"evolve", "freeze", "discard_row", "discard_value"}

func decodeContract(path string, v any) (*arrowbuf.Contract, error) {
	if s, ok := v.(string); ok {
		if err := oneOf(path, "schema_contract mode", s, contractModes...); err != nil {
			return nil, err
		}
		m := arrowbuf.ContractMode(s)
		return &arrowbuf.Contract{Tables: m, Columns: m, DataType: m}, nil
	}
	o, err := newObjOf(path, v, specContract)
	if err != nil {
		return nil, err
	}
	c := &arrowbuf.Contract{}
	for _, f := range []struct {
		key string
		dst *arrowbuf.ContractMode
	}{{"tables", &c.Tables}, {"columns", &c.Columns}, {"data_type", &c.DataType}} {
		s, ok, err := o.str(f.key)
		if err != nil {
			return nil, err
		}
		if ok {
			if err := oneOf(o.at(f.key), "schema_contract mode", s, contractModes...); err != nil {
				return nil, err
			}
			*f.dst = arrowbuf.ContractMode(s)
		}
	}
	return c, o.done()
}

var dataTypes = []string{"text", "bigint", "double", "bool", "timestamp", "date", "time", "decimal", "json", "binary", "wei"}

// decodeColumns reads dlt's columns: a map of name to hints, or a list of
// hint maps with a name.
func decodeColumns(path string, v any) ([]arrowbuf.Column, error) {
	var out []arrowbuf.Column
	if list, ok := v.([]any); ok {
		for i, item := range list {
			c, err := decodeColumn(fmt.Sprintf("%s[%d]", path, i), "", item)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	o, err := newObj(path, v)
	if err != nil {
		return nil, errAt(path, "want a map or a list, got %s", typeName(v))
	}
	keys := sortedKeys(o.m)
	for _, name := range keys {
		o.seen[name] = true
		c, err := decodeColumn(o.at(name), name, o.m[name])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func decodeColumn(path, name string, v any) (arrowbuf.Column, error) {
	c := arrowbuf.Column{Name: name}
	o, err := newObjOf(path, v, specColumn)
	if err != nil {
		return c, err
	}
	if n, ok, err := o.str("name"); err != nil {
		return c, err
	} else if ok {
		c.Name = n
	}
	if c.Name == "" {
		return c, errAt(o.at("name"), "required")
	}
	if t, ok, err := o.str("data_type"); err != nil {
		return c, err
	} else if ok {
		if err := oneOf(o.at("data_type"), "data_type", t, dataTypes...); err != nil {
			return c, err
		}
		c.DataType = arrowbuf.DataType(t)
	}
	bools := []struct {
		key string
		dst *bool
	}{{"primary_key", &c.PrimaryKey}, {"merge_key", &c.MergeKey}, {"unique", &c.Unique}}
	for _, b := range bools {
		if x, ok, err := o.boolean(b.key); err != nil {
			return c, err
		} else if ok {
			*b.dst = x
		}
	}
	if x, ok, err := o.boolean("nullable"); err != nil {
		return c, err
	} else if ok {
		// nullable: false is NOT NULL; without the key the column is nullable.
		c.Nullable, c.NotNull = x, !x
	}
	hasP, hasS := false, false
	if c.Precision, hasP, err = o.integer("precision"); err != nil {
		return c, err
	}
	if c.Scale, hasS, err = o.integer("scale"); err != nil {
		return c, err
	}
	if err := checkDecimal(o, c, hasP, hasS); err != nil {
		return c, err
	}
	if tz, ok, err := o.boolean("timezone"); err != nil {
		return c, err
	} else if ok {
		c.Timezone = &tz
	}
	if _, _, err := o.str("description"); err != nil {
		return c, err
	}
	return c, o.done()
}

// maxDecimalPrecision is DuckDB's (and Arrow decimal128's) widest decimal.
const maxDecimalPrecision = 38

// checkDecimal rejects precision and scale hints no destination can create,
// so the spec fails before any request rather than at load. Other types
// leave precision to dlt's meanings (text length, timestamp digits), which
// sluice ignores, but a negative value is wrong for every type.
func checkDecimal(o *obj, c arrowbuf.Column, hasP, hasS bool) error {
	for _, f := range []struct {
		key string
		v   int
	}{{"precision", c.Precision}, {"scale", c.Scale}} {
		if f.v < 0 {
			return errAt(o.at(f.key), "want 0 or more")
		}
	}
	if c.DataType != arrowbuf.TypeDecimal {
		return nil
	}
	p := maxDecimalPrecision // the default when only scale is given
	if hasP {
		if c.Precision < 1 || c.Precision > maxDecimalPrecision {
			return errAt(o.at("precision"), "a decimal's precision must be between 1 and %d, got %d", maxDecimalPrecision, c.Precision)
		}
		p = c.Precision
	}
	if hasS && c.Scale > p {
		return errAt(o.at("scale"), "a decimal's scale must be at most its precision (%d), got %d", p, c.Scale)
	}
	return nil
}
