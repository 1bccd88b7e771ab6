package spec

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestMergeOverride: in a YAML merge (<<), a key written in the mapping
// wins over a merged one wherever the merge stands, and an earlier merged
// mapping wins over a later one (YAML's merge key type).
func TestMergeOverride(t *testing.T) {
	const base = "pipeline_name: p\n"
	tests := []struct {
		name, source string
		path         []string // where in source the mapping checked is
		want         map[string]any
		order        []string
	}{
		{"key after merge", `
  x: &ep {path: a, paginator: p1}
  r:
    <<: *ep
    paginator: p2
`, []string{"r"}, map[string]any{"path": "a", "paginator": "p2"}, []string{"path", "paginator"}},
		{"key before merge", `
  x: &ep {path: a, paginator: p1}
  r:
    paginator: p2
    <<: *ep
`, []string{"r"}, map[string]any{"path": "a", "paginator": "p2"}, []string{"paginator", "path"}},
		{"list of merges, first wins", `
  x: &a {k: a, only_a: 1}
  y: &b {k: b, only_b: 2}
  r:
    <<: [*a, *b]
    z: 3
`, []string{"r"}, map[string]any{"k": "a", "only_a": int64(1), "only_b": int64(2), "z": int64(3)}, []string{"k", "only_a", "only_b", "z"}},
		{"merge of a merge with an override", `
  x: &a {k: a, l: a}
  y: &b
    <<: *a
    k: b
  r:
    <<: *b
    l: r
`, []string{"r"}, map[string]any{"k": "b", "l": "r"}, []string{"k", "l"}},
		{"inline merge in a resource", `
  resources:
    - name: issues
      endpoint:
        <<: {path: issues, paginator: {type: header_link}}
        paginator: {type: single_page}
`, []string{"resources", "0", "endpoint"}, map[string]any{"path": "issues", "paginator": map[string]any{"type": "single_page"}}, []string{"path", "paginator"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(base+"source:"+tt.source), "spec.yaml", dir, &Secrets{Env: env(nil)})
			if err != nil {
				t.Fatal(err)
			}
			var got any = s.Source
			orderPath := "source"
			for _, p := range tt.path {
				switch g := got.(type) {
				case map[string]any:
					got = g[p]
					orderPath += "." + p
				case []any:
					got = g[int(p[0]-'0')]
					orderPath += "[" + p + "]"
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("source.%s = %#v, want %#v", strings.Join(tt.path, "."), got, tt.want)
			}
			if o := s.KeyOrder[orderPath]; !slices.Equal(o, tt.order) {
				t.Errorf("KeyOrder[%q] = %q, want %q", orderPath, o, tt.order)
			}
		})
	}
}

func TestMergeErrors(t *testing.T) {
	tests := []struct{ name, spec, want string }{
		{"merge of a scalar", minimal + "x: {<<: 3}\n", "x.<<: a merge (<<) takes a mapping or a list of mappings, got a number"},
		{"merge of a list of scalars", minimal + "x: {<<: [{a: 1}, b]}\n", "x.<<[1]: a merge (<<) takes mappings, got a string"},
		{"alias without anchor", minimal + "x: *nope\n", "x: alias *nope has no anchor &nope before it"},
		{"alias before its anchor", minimal + "x: *a\ny: &a 1\n", "x: alias *a has no anchor &a before it"},
		{"alias inside its anchor", minimal + "x: &a {b: *a}\n", "x.b: alias *a is inside its own anchor &a"},
		{"alias of a mapping as a key", minimal + "x: &a {b: 1}\ny: {*a : 2}\n", "y: a key must be a scalar, not a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.spec), "spec.yaml", dir, &Secrets{Env: env(nil)})
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestXKeys: top-level x- keys hold anchors (as docker-compose's extension
// fields) and are ignored; a secret in one is resolved only where an alias
// uses it.
func TestXKeys(t *testing.T) {
	const text = `x-endpoint: &ep
  data_selector: data
  paginator: {type: json_link, next_url_path: next}
x-unused:
  token: ${NOT_SET}
x-auth: &auth {type: bearer, token: "${TOKEN}"}
pipeline_name: p
source:
  client: {base_url: "http://x/", auth: *auth}
  resources:
    - name: posts
      endpoint:
        <<: *ep
        path: posts
`
	s, err := Parse([]byte(text), "spec.yaml", dir, &Secrets{Env: env(map[string]string{"TOKEN": "tok-123456"})})
	if err != nil {
		t.Fatal(err)
	}
	if o := s.KeyOrder[""]; !slices.Equal(o, []string{"pipeline_name", "source"}) {
		t.Errorf("top-level keys = %q", o)
	}
	src := s.Source.(map[string]any)
	auth := src["client"].(map[string]any)["auth"].(map[string]any)
	if auth["token"] != "tok-123456" || !slices.Equal(s.Secrets, []string{"tok-123456"}) {
		t.Errorf("auth = %v, secrets = %q", auth, s.Secrets)
	}
	ep := src["resources"].([]any)[0].(map[string]any)["endpoint"].(map[string]any)
	if ep["path"] != "posts" || ep["data_selector"] != "data" {
		t.Errorf("endpoint = %v", ep)
	}

	// Only the top level: elsewhere x- is an unknown key for the checks
	// that follow (rest.DecodeConfig for source).
	_, err = Parse([]byte("x_a: 1\n"+minimal), "spec.yaml", dir, &Secrets{Env: env(nil)})
	if err == nil || err.Error() != `spec.yaml:1:1: unknown field "x_a"` {
		t.Errorf("x_a: %v", err)
	}
	_, err = Parse([]byte("pipeline_name: p\nsource: {x-a: 1}\n"), "spec.yaml", dir, &Secrets{Env: env(nil)})
	if want := `spec.yaml:2:10: source: unknown field "x-a" (x- keys are ignored only at the top level of the spec: move it there)`; err == nil || err.Error() != want {
		t.Errorf("source.x-a: %v, want %s", err, want)
	}
}

// TestStateSecrets: a secret where the pipeline state would keep it in
// plain text is refused, naming the field.
func TestStateSecrets(t *testing.T) {
	s := &Secrets{Env: env(map[string]string{"START": "2024-01-01", "CURSOR": "updated_at"})}
	tests := []struct{ name, source, want string }{
		{"initial_value", "resources: [{name: r, endpoint: {incremental: {cursor_path: updated_at, initial_value: '${START}'}}}]",
			"spec.yaml:2:82: source.resources[0].endpoint.incremental.initial_value: ${START} is a secret, but initial_value is stored in plain text in the pipeline state: write the value itself"},
		{"initial_value in a longer string", "resources: [{name: r, endpoint: {incremental: {cursor_path: updated_at, initial_value: '${START}T00:00:00Z'}}}]",
			"spec.yaml:2:82: source.resources[0].endpoint.incremental.initial_value: ${START} is a secret, but initial_value is stored in plain text in the pipeline state: write the value itself"},
		{"cursor_path", "resource_defaults: {endpoint: {incremental: {cursor_path: '${CURSOR}'}}}",
			"spec.yaml:2:55: source.resource_defaults.endpoint.incremental.cursor_path: ${CURSOR} is a secret, but cursor_path is stored in plain text in the pipeline state: write the value itself"},
		{"incremental param", "resources: [{name: r, endpoint: {params: {since: {type: incremental, cursor_path: u, initial_value: '${START}'}}}}]",
			"spec.yaml:2:95: source.resources[0].endpoint.params.since.initial_value: ${START} is a secret, but initial_value is stored in plain text in the pipeline state: write the value itself"},
		{"end_value is not stored", "resources: [{name: r, endpoint: {incremental: {cursor_path: u, initial_value: '2023-01-01', end_value: '${START}'}}}]", ""},
		{"escaped", "resources: [{name: r, endpoint: {incremental: {cursor_path: u, initial_value: '$${START}'}}}]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte("pipeline_name: p\nsource: {"+tt.source+"}\n"), "spec.yaml", dir, s)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}
