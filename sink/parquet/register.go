package parquet

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
)

// Open is the destination's [sink.Factory]: Location is the bucket URL.
// The settings of c.Options it knows are "credentials": a map with dlt's
// keys aws_access_key_id, aws_secret_access_key, aws_session_token,
// endpoint_url and region_name (strings); "table_format": the format of
// tables without their own (WithTableFormat); "catalog": a map with "type"
// and "uri" (WithCatalog).
func Open(c sink.Config) (sink.Destination, error) { return open(c) }

// open is Open with options before the settings of c.Options.
func open(c sink.Config, opts ...Option) (sink.Destination, error) {
	if err := c.CheckOptions("parquet", "credentials", "table_format", "catalog"); err != nil {
		return nil, err
	}
	opts = slices.Clone(opts)
	if v, ok := c.Options["table_format"]; ok {
		s, isString := v.(string)
		if !isString {
			return nil, fmt.Errorf("parquet: setting table_format: want a string (%s)", arrowbuf.TableFormatList())
		}
		opts = append(opts, WithTableFormat(arrowbuf.TableFormat(s)))
	}
	if v, ok := c.Options["catalog"]; ok {
		cat, err := catalogOf(v)
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithCatalog(cat))
	}
	if v, ok := c.Options["credentials"]; ok {
		creds, err := credentialsOf(v)
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithCredentials(creds))
	}
	d := New(c.Location, opts...)
	if d.err != nil {
		return nil, d.err
	}
	return d, nil
}

// catalogOf reads the "catalog" setting: {type, uri}.
func catalogOf(v any) (CatalogSpec, error) {
	var c CatalogSpec
	m, ok := v.(map[string]any)
	if !ok {
		if ms, isStrings := v.(map[string]string); isStrings {
			m = map[string]any{}
			for k, s := range ms {
				m[k] = s
			}
		} else {
			return c, fmt.Errorf("parquet: setting catalog: want a map with type and uri")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s, isString := m[k].(string)
		switch {
		case k != "type" && k != "uri":
			return c, fmt.Errorf("parquet: setting catalog: unknown key %q (want type and uri)", k)
		case !isString:
			return c, fmt.Errorf("parquet: setting catalog.%s: want a string", k)
		case k == "type":
			c.Type = s
		default:
			c.URI = s
		}
	}
	if c.Type == "" {
		return c, fmt.Errorf("parquet: setting catalog: type is missing (want sql)")
	}
	return c, nil
}

// credentialsOf reads the "credentials" setting. Values never appear in
// its errors.
func credentialsOf(v any) (Credentials, error) {
	var c Credentials
	m, ok := v.(map[string]any)
	if !ok {
		if ms, isStrings := v.(map[string]string); isStrings {
			m = map[string]any{}
			for k, s := range ms {
				m[k] = s
			}
		} else {
			return c, fmt.Errorf("parquet: setting credentials: want a map of %s", credentialNames())
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		field, known := credentialKeys[k]
		if !known {
			return c, fmt.Errorf("parquet: setting credentials: unknown key %q (want %s)", k, credentialNames())
		}
		s, isString := m[k].(string)
		if !isString {
			return c, fmt.Errorf("parquet: setting credentials.%s: want a string", k)
		}
		*field(&c) = s
	}
	return c, nil
}

func credentialNames() string {
	names := slices.Sorted(maps.Keys(credentialKeys))
	return fmt.Sprint(names)
}

// Register adds the destination to r as "filesystem" (dlt's name), with
// "parquet" as an alias; opts apply to every destination it opens (the
// CLI passes WithSQL).
func Register(r *sink.Registry, opts ...Option) {
	r.Register("filesystem", func(c sink.Config) (sink.Destination, error) { return open(c, opts...) }, "parquet")
}

// DropDataset removes the dataset's folder with every table and system
// file in it (sink.Dropper).
func (d *Destination) DropDataset(ctx context.Context, dataset string) error {
	if d.err != nil {
		return d.err
	}
	if err := checkName("dataset", dataset); err != nil {
		return fmt.Errorf("parquet: drop dataset %q: not a folder name", dataset)
	}
	// Iceberg tables go through the lake, which takes their catalog rows
	// too.
	if d.catalog != (CatalogSpec{}) {
		if err := d.dropLakeTables(ctx, dataset); err != nil {
			return fmt.Errorf("parquet: drop dataset %s: %w", d.st.Name(dataset), err)
		}
	}
	if err := d.st.RemoveAll(ctx, dataset); err != nil {
		return fmt.Errorf("parquet: drop dataset %s: %w", d.st.Name(dataset), err)
	}
	return nil
}

var _ sink.Dropper = (*Destination)(nil)

var _ sink.Factory = Open
