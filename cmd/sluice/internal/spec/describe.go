package spec

import (
	"github.com/sluicehq/sluice/internal/confspec"
	"github.com/sluicehq/sluice/rest"
)

// The spec file's own keys; source's are rest's (rest/spec.go).

var specDestination = &confspec.Object{Name: "destination", Doc: "`duckdb` (the default), `parquet` (or `filesystem`), or a map with `type` and that type's keys.", Variants: []*confspec.Object{
	{Name: DuckDB, Fields: []*confspec.Field{
		{Name: "type", Type: "string", Required: true, Doc: "duckdb."},
		{Name: "path", Type: "string", Default: "<pipeline_name>.duckdb", Doc: "The DuckDB file, relative to the working dir."},
	}},
	{Name: Parquet, Fields: []*confspec.Field{
		{Name: "type", Type: "string", Required: true, Doc: "parquet, or filesystem (dlt's name)."},
		{Name: "bucket_url", Type: "string", Default: ".", Doc: "A local path, a file:// URL, or object storage (s3://bucket/path; gs://, az:// where supported). The destination judges the scheme when it opens."},
		{Name: "table_format", Type: "string", Doc: "iceberg, delta or native: the default table_format of resources without their own (a resource's, or resource_defaults', wins)."},
		{Name: "credentials", Type: "map", Doc: "Object storage credentials, dlt's names; without them the AWS_* environment variables, as the AWS SDK reads them.", Object: specCredentials},
		{Name: "catalog", Type: "map", Doc: "A catalog the Iceberg tables are also registered in.", Object: specCatalog},
	}},
}}

var specCredentials = &confspec.Object{Name: "credentials", Doc: "dlt's filesystem credentials for S3-compatible storage.", Fields: []*confspec.Field{
	{Name: AWSAccessKeyID, Type: "string", Secret: true, Doc: "The access key."},
	{Name: AWSSecretAccessKey, Type: "string", Secret: true, Doc: "The secret key."},
	{Name: EndpointURL, Type: "string", Doc: "An S3-compatible server (http://127.0.0.1:9000), with path-style addressing; without it, AWS S3."},
	{Name: RegionName, Type: "string", Doc: "The region (us-east-1)."},
}}

var specCatalog = &confspec.Object{Name: "catalog", Doc: "An Iceberg catalog; the tables are findable by path without one.", Fields: []*confspec.Field{
	{Name: "type", Type: "string", Required: true, Doc: "sql or rest."},
	{Name: "uri", Type: "string", Required: true, Doc: "sql: sqlite:///path/catalog.db or a postgres:// URL; rest: the catalog's http(s) URL. Write a password as `${NAME}`."},
}}

var specFile = &confspec.Object{Name: "spec", Doc: "A YAML (or JSON) file. Top-level keys starting with `x-` are ignored: they can hold anchors for the rest of the spec.", Fields: []*confspec.Field{
	{Name: "pipeline_name", Type: "string", Required: true, Doc: "Normalized to [a-z0-9_]; names the working state and the DuckDB file."},
	{Name: "dataset_name", Type: "string", Default: "<pipeline_name>_dataset", Doc: "Normalized as dlt does."},
	{Name: "destination", Type: "string | map", Default: "duckdb", Object: specDestination},
	{Name: "max_table_nesting", Type: "integer", Doc: "How deep nested data becomes child tables; a resource's own wins."},
	{Name: "source", Type: "map", Required: true, Doc: "The REST API source.", Object: sourceSpec()},
}}

// sourceSpec is rest's description of the source; importing rest
// registers it.
func sourceSpec() *confspec.Object {
	var _ rest.ConfigError // the import that registers it
	return confspec.Lookup("rest")
}

//go:generate go test -run TestSpecKeysDoc -update .

// KeyReference is docs/spec-keys.md: every key of a spec file, generated
// from the description.
func KeyReference() []byte {
	return confspec.Markdown("Spec keys", `
Every key a spec file may have, generated from the description the
decoders check specs against (`+"`go generate ./cmd/sluice/internal/spec`"+`):
an unknown key is an error naming its place, with the closest known key.
Durations are seconds (a number) or a Go duration ("30s"); sizes are
bytes or a string with a unit ("500MB", "1GiB"). Placeholders, paging,
incremental loading and the other behaviour are described in
[cli.md](cli.md) and `+"`go doc github.com/sluicehq/sluice/rest`"+`.`, specFile, "")
}
