package spec

import (
	"testing"

	"github.com/sluicehq/sluice/rest"
)

// TestNestedErrorPosition: an error rest finds deep in the source names
// the file, the line and the column of the field, as written (through a
// YAML merge, where the anchor writes it).
func TestNestedErrorPosition(t *testing.T) {
	const head = "pipeline_name: p\nsource:\n  client:\n    base_url: http://x\n"
	tests := []struct{ name, spec, want string }{
		{"unknown nested key", head + `  resources:
    - name: a
      endpoint:
        path: a
        paginatr: auto
`, `spec.yaml:9:9: source.resources[0].endpoint: unknown field "paginatr" (did you mean "paginator"?)`},
		{"unknown key in a paginator", head + `    paginator:
      type: offset
      limit: 10
      ofset: 0
  resources: [a]
`, `spec.yaml:8:7: source.client.paginator: unknown field "ofset" (did you mean "offset"?)`},
		{"bad value", head + "    timeout: soon\n  resources: [a]\n", `spec.yaml:5:5: source.client.timeout: want seconds (a number) or a duration like "30s"`},
		{"missing key: its map", head + `  resources:
    - a
    - endpoint: b
`, `spec.yaml:7:7: source.resources[1].name: required`},
		{"column name with a dot", head + `  resources:
    - name: a
      columns:
        "a.b": {nulable: true}
`, `spec.yaml:8:17: source.resources[0].columns["a.b"]: unknown field "nulable" (did you mean "nullable"?)`},
		{"through a merge", `x-ep: &ep
  data_selectr: data
` + head + `  resources:
    - name: a
      endpoint:
        <<: *ep
        path: a
`, `spec.yaml:2:3: source.resources[0].endpoint: unknown field "data_selectr" (did you mean "data_selector"?)`},
		{"NewSource error", head + `  resources:
    - name: a
      endpoint: "a/{resources.nope.id}"
`, `spec.yaml:7:7: source.resources[0].endpoint.path: placeholder {resources.nope.id}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.spec), "spec.yaml", t.TempDir(), &Secrets{Env: env(nil)})
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := rest.DecodeConfig(s.Source, "source", rest.KeyOrder(s.KeyOrder))
			if err == nil {
				_, err = rest.NewSource(cfg)
			}
			if err == nil {
				t.Fatal("no error")
			}
			got := s.Locate(err).Error()
			if len(got) < len(tt.want) || got[:len(tt.want)] != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
