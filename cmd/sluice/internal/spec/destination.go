package spec

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/arrowbuf"
)

// The destination types a spec can name.
const (
	DuckDB  = "duckdb"
	Parquet = "parquet"
)

// The credential keys of a Parquet destination, dlt's filesystem names.
const (
	AWSAccessKeyID     = "aws_access_key_id"
	AWSSecretAccessKey = "aws_secret_access_key"
	EndpointURL        = "endpoint_url"
	RegionName         = "region_name"
)

// Destination is the spec's destination: a DuckDB file or a Parquet bucket
// (local, or object storage with dlt's filesystem settings).
type Destination struct {
	Type string // DuckDB or Parquet
	Path string // DuckDB file (Type DuckDB)
	// BucketURL is where Parquet files go (Type Parquet): a local path
	// (made absolute) or a URL the destination judges (file://, s3://,
	// gs://, az://).
	BucketURL string
	// TableFormat is the default table_format of resources without their
	// own ("" for none).
	TableFormat arrowbuf.TableFormat
	// Credentials are dlt's filesystem credentials by their names
	// (AWSAccessKeyID, ...), secrets resolved; nil when not given.
	Credentials map[string]string
	// Catalog is the Iceberg catalog the tables are also registered in;
	// nil for none.
	Catalog *Catalog
}

// Catalog is a destination's catalog: {type: sql, uri: "sqlite:///..."}
// or {type: rest, uri: ...}.
type Catalog struct {
	Type string // "sql" or "rest"
	URI  string
}

// secretValues lists the values of the destination's secret settings.
func (d Destination) secretValues() []string {
	var out []string
	for _, f := range specCredentials.Fields {
		if v := d.Credentials[f.Name]; f.Secret && v != "" {
			out = append(out, v)
		}
	}
	return out
}

func parseDestination(v any, pipeline, dir string) (Destination, error) {
	d := Destination{Type: DuckDB}
	var fields map[string]any
	switch v := v.(type) {
	case nil:
	case string:
		d.Type = v
	case map[string]any:
		fields = v
		t, ok := v["type"]
		if !ok || t == nil {
			return d, errAt("destination.type", "required field is missing (duckdb or parquet)")
		}
		ts, ok := t.(string)
		if !ok {
			return d, errAt("destination.type", "expected duckdb or parquet, got %s", show(t))
		}
		d.Type = ts
	default:
		return d, errAt("destination", "expected duckdb, parquet or a mapping with type, got %s", show(v))
	}
	path := "destination"
	if fields != nil {
		path = "destination.type"
	}
	str := func(key string) (string, error) {
		v, ok := fields[key]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return "", errAt("destination."+key, "expected a non-empty string, got %s", show(v))
		}
		return s, nil
	}
	var err error
	switch strings.ToLower(strings.TrimSpace(d.Type)) {
	case DuckDB:
		d.Type = DuckDB
		if err := checkDestinationKeys(DuckDB, fields); err != nil {
			return d, err
		}
		if d.Path, err = str("path"); err != nil {
			return d, err
		}
		if d.Path == "" {
			d.Path = pipeline + ".duckdb"
		}
		d.Path = absUnder(dir, d.Path)
	case Parquet, "filesystem":
		d.Type = Parquet
		if err := checkDestinationKeys(Parquet, fields); err != nil {
			return d, err
		}
		if d.BucketURL, err = str("bucket_url"); err != nil {
			return d, err
		}
		if d.BucketURL == "" {
			d.BucketURL = "."
		}
		// The scheme is the destination's to judge when it opens: the
		// CLI places its error at this field.
		if !strings.Contains(d.BucketURL, "://") {
			d.BucketURL = absUnder(dir, d.BucketURL)
		}
		tf, err := str("table_format")
		if err != nil {
			return d, err
		}
		d.TableFormat = arrowbuf.TableFormat(tf)
		if err := arrowbuf.CheckTableFormat(d.TableFormat); err != nil {
			return d, errAt("destination.table_format", "%v", err)
		}
		if d.Credentials, err = parseCredentials(fields["credentials"]); err != nil {
			return d, err
		}
		if d.Catalog, err = parseCatalog(fields["catalog"]); err != nil {
			return d, err
		}
	default:
		return d, errAt(path, "unknown destination %q (want duckdb or parquet)", d.Type)
	}
	return d, nil
}

// checkDestinationKeys refuses keys the type does not take; a key of the
// other type is named as such.
func checkDestinationKeys(typ string, fields map[string]any) error {
	own := specDestination.Variant(typ)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if own.Lookup(k) != nil {
			continue
		}
		for _, other := range specDestination.Variants {
			if other.Lookup(k) != nil {
				return &Error{Path: "destination", Key: k, Msg: "field " + strconv.Quote(k) + " is for type " + other.Name + ", not " + typ}
			}
		}
	}
	return own.Check("destination", slices.Collect(maps.Keys(fields)))
}

// parseCredentials reads destination.credentials: a map of dlt's names to
// non-empty strings. Errors never quote a value.
func parseCredentials(v any) (map[string]string, error) {
	const path = "destination.credentials"
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errAt(path, "expected a mapping of %s, got %s", strings.Join(specCredentials.Names(), ", "), kindOf(v))
	}
	if err := specCredentials.Check(path, slices.Collect(maps.Keys(m))); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s, ok := m[k].(string)
		if !ok || strings.TrimSpace(s) == "" {
			return nil, errAt(path+"."+k, "expected a non-empty string, got %s", blankOrKind(m[k]))
		}
		out[k] = s
	}
	return out, nil
}

// parseCatalog reads destination.catalog: {type: sql|rest, uri: ...}. The
// uri may hold a password: errors never quote it.
func parseCatalog(v any) (*Catalog, error) {
	const path = "destination.catalog"
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errAt(path, "expected a mapping with type and uri, got %s", kindOf(v))
	}
	if err := specCatalog.Check(path, slices.Collect(maps.Keys(m))); err != nil {
		return nil, err
	}
	c := &Catalog{}
	for _, f := range specCatalog.Fields {
		fv, ok := m[f.Name]
		if !ok || fv == nil {
			return nil, errAt(path+"."+f.Name, "required field is missing")
		}
		s, ok := fv.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return nil, errAt(path+"."+f.Name, "expected a non-empty string, got %s", blankOrKind(fv))
		}
		if f.Name == "type" {
			c.Type = s
		} else {
			c.URI = s
		}
	}
	if c.Type != "sql" && c.Type != "rest" {
		return nil, errAt(path+".type", "unknown catalog type %s (want sql or rest)", show(c.Type))
	}
	return c, nil
}

// blankOrKind shows a blank string as it is and names the kind of
// anything else: a value that may be a secret is never quoted.
func blankOrKind(v any) string {
	if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
		return strconv.Quote(s)
	}
	return kindOf(v)
}
