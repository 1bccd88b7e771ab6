// Package spec reads the pipeline spec files `sluice run` takes: YAML or JSON
// (JSON is YAML) with pipeline_name, dataset_name, destination,
// max_table_nesting and source. It checks the top-level keys, resolves
// ${NAME} secrets in every string value and hands the source tree on
// untouched: the rest package decodes and checks it.
//
// YAML anchors, aliases and merges (<<) work anywhere, with YAML's rule that
// a key written in a mapping wins over a merged one. Top-level keys that
// start with x- are ignored: they hold anchors for the rest of the spec, as
// docker-compose's extension fields do. Elsewhere an x- key is an unknown
// field like any other.
//
// A Parquet destination also takes dlt's filesystem keys (destination.go):
// a bucket_url of any scheme (the destination judges it when it opens),
// table_format, credentials and catalog; these are refused with duckdb.
// Secret credentials are masked like ${NAME} values, even when written
// as they are.
//
// Errors are *Error (rest's ConfigError): the file, the line and column
// of the field that is wrong and its path, as
// `spec.yaml:4:3: destination: unknown field "paht" (did you mean "path"?)`;
// a missing secret is a *MissingSecretError. The keys are described once
// (describe.go and the rest package); docs/spec-keys.md is generated from
// that description.
package spec

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/sluicehq/sluice/internal/confspec"
	"github.com/sluicehq/sluice/internal/names"
)

// Spec is a parsed, checked pipeline spec with its secrets resolved.
type Spec struct {
	PipelineName    string // normalized, [a-z0-9_]+
	DatasetName     string // normalized; default <pipeline_name>_dataset
	Destination     Destination
	MaxTableNesting *int
	// Source is the `source` tree with secrets resolved, for
	// rest.DecodeConfig: maps are map[string]any, lists []any, numbers
	// int64 or float64.
	Source any
	// Secrets lists the secret values the spec used, to redact them from
	// output.
	Secrets []string
	// SecretsByName holds the value of each secret the spec used, by the
	// name it is referenced with.
	SecretsByName map[string]string
	// KeyOrder is the order of each map's keys as written, by path
	// ("source.resources[0].columns"), for rest.KeyOrder.
	KeyOrder map[string][]string

	file string
	pos  confspec.Positions
}

// Error is a problem at a path of the spec, with the file, line and
// column when known: the one config error type, shared with rest.
type Error = confspec.Error

func errAt(path, format string, args ...any) error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Locate adds the spec's file name and the line and column of the field
// an error names (a *rest.ConfigError from rest.DecodeConfig or
// rest.NewSource, paths under "source") to it; other errors are returned
// as they are.
func (s *Spec) Locate(err error) error {
	if s == nil || err == nil {
		return err
	}
	return s.pos.Locate(err, s.file)
}

// Parse decodes a spec (name is the file name used in syntax errors),
// resolves its secrets and checks its top-level fields. Relative DuckDB paths
// and bucket URLs are made absolute against dir (the working dir).
//
// An error found after the secrets were resolved comes with a Spec holding
// only Secrets, so that the caller can mask them: an error may quote a
// field's value (an unknown destination type), and that value may hold one.
func Parse(data []byte, name, dir string, secrets *Secrets) (sp *Spec, err error) {
	d, err := decodeOrdered(data, name)
	if err != nil {
		return nil, err
	}
	defer func() { err = d.pos.Locate(err, name) }()
	tree, order := d.tree, d.order
	if root, ok := tree.(map[string]any); ok {
		for k := range root {
			// x- keys hold YAML anchors for the rest of the spec, as
			// docker-compose's extension fields do: ignored, and their
			// secrets need not be set.
			if strings.HasPrefix(k, "x-") {
				delete(root, k)
			}
		}
		order[""] = slices.DeleteFunc(slices.Clone(order[""]), func(k string) bool { return strings.HasPrefix(k, "x-") })
		if err := checkStateSecrets(root["source"], "source"); err != nil {
			return nil, err
		}
	}
	if secrets == nil {
		secrets = &Secrets{}
	}
	var used []string
	refs := map[string]string{}
	if tree, err = secrets.expandTree(tree, func(name, value string) {
		used = append(used, value)
		refs[name] = value
	}); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && len(used) > 0 {
			sp = &Spec{Secrets: used}
		}
	}()
	root, ok := tree.(map[string]any)
	if !ok {
		return nil, &Error{File: name, Msg: fmt.Sprintf("the spec must be a mapping of %s, not %s", strings.Join(specFile.Names(), ", "), kindOf(tree))}
	}
	if err := specFile.Check("", slices.Collect(maps.Keys(root))); err != nil {
		return nil, err
	}
	s := &Spec{Secrets: used, SecretsByName: refs, KeyOrder: order, file: name, pos: d.pos}

	pn, ok := root["pipeline_name"]
	if !ok || pn == nil {
		return nil, errAt("pipeline_name", "required field is missing")
	}
	if s.PipelineName, err = nameField("pipeline_name", pn); err != nil {
		return nil, err
	}
	s.DatasetName = s.PipelineName + "_dataset" // the name is normalized already
	if dn, ok := root["dataset_name"]; ok && dn != nil {
		str, ok := dn.(string)
		if !ok {
			return nil, errAt("dataset_name", "expected a string, got %s", show(dn))
		}
		if s.DatasetName, err = NormalizeDatasetName("dataset_name", str); err != nil {
			return nil, err
		}
	}
	if s.Destination, err = parseDestination(root["destination"], s.PipelineName, dir); err != nil {
		return nil, err
	}
	// Credentials are masked even when written in the spec as they are.
	for _, v := range s.Destination.secretValues() {
		if !slices.Contains(s.Secrets, v) {
			s.Secrets = append(s.Secrets, v)
		}
	}
	if v, ok := root["max_table_nesting"]; ok && v != nil {
		n, ok := v.(int64)
		if !ok || n < 0 || n > math.MaxInt32 {
			return nil, errAt("max_table_nesting", "expected a non-negative integer, got %s", show(v))
		}
		i := int(n)
		s.MaxTableNesting = &i
	}
	src, ok := root["source"]
	if !ok || src == nil {
		return nil, errAt("source", "required field is missing")
	}
	srcMap, ok := src.(map[string]any)
	if !ok {
		return nil, errAt("source", "expected a mapping with client and resources, got %s", kindOf(src))
	}
	for _, k := range slices.Sorted(maps.Keys(srcMap)) {
		if strings.HasPrefix(k, "x-") {
			return nil, &Error{Path: "source", Key: k, Msg: fmt.Sprintf("unknown field %q (x- keys are ignored only at the top level of the spec: move it there)", k)}
		}
	}
	s.Source = src
	return s, nil
}

// NormalizeName normalizes a pipeline name to [a-z0-9_]+ and
// rejects names that are left with no letter or digit. path names the field
// in the error.
func NormalizeName(path, name string) (string, error) {
	n := names.Pipeline(strings.TrimSpace(name))
	if strings.Trim(n, "_") == "" {
		return "", errAt(path, "%q is not a valid name: it needs letters or digits", name)
	}
	return n, nil
}

// NormalizeDatasetName normalizes a dataset name as dlt does (see
// names.Dataset: "MyData Set" is my_data_set) and rejects names
// with no letter or digit. path names the field in the error.
func NormalizeDatasetName(path, name string) (string, error) {
	// The same rule as for pipeline names: snake_case would turn " " or "日本"
	// into a made-up name ("x") instead of failing.
	if !strings.ContainsFunc(name, func(r rune) bool { return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }) {
		return "", errAt(path, "%q is not a valid name: it needs letters or digits", name)
	}
	return names.Dataset(name), nil
}

func nameField(path string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", errAt(path, "expected a string, got %s", show(v))
	}
	return NormalizeName(path, s)
}

func absUnder(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// show renders a scalar for an error message, or names the kind of anything
// else.
func show(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case int64, float64, bool:
		return fmt.Sprint(v)
	}
	return kindOf(v)
}
