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
		{Name: "type", Type: "string", Required: true, Doc: "parquet, or filesystem."},
		{Name: "bucket_url", Type: "string", Default: ".", Doc: "A local path or a file:// URL."},
	}},
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
