package confspec

import (
	"errors"
	"testing"
)

func TestSuggest(t *testing.T) {
	names := []string{"paginator", "path", "params", "data_selector", "auth"}
	tests := []struct{ key, want string }{
		{"paginatr", "paginator"},
		{"pagiantor", "paginator"}, // a transposition is one edit
		{"paht", "path"},
		{"param", "params"},
		{"data_selectr", "data_selector"},
		{"a", ""}, // too short to guess
		{"zzzzzzzz", ""},
		{"authentication", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := Suggest(tt.key, names); got != tt.want {
				t.Errorf("Suggest(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	tests := []struct{ path, key, joined, parent string }{
		{"", "source", "source", ""},
		{"source", "client", "source.client", "source"},
		{"source.resources", "[0]", "source.resources[0]", "source.resources"},
		{"source.resources[0].columns", "a.b", `source.resources[0].columns["a.b"]`, "source.resources[0].columns"},
		{"", "a b", `["a b"]`, ""},
		{"source.resources[0]", "", "source.resources[0]", "source.resources"},
	}
	for _, tt := range tests {
		t.Run(tt.joined, func(t *testing.T) {
			got := JoinKey(tt.path, tt.key)
			if got != tt.joined {
				t.Fatalf("JoinKey(%q, %q) = %q, want %q", tt.path, tt.key, got, tt.joined)
			}
			if p := Parent(got); p != tt.parent {
				t.Errorf("Parent(%q) = %q, want %q", got, p, tt.parent)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	pos := Positions{"a": {1, 1}, "a.b": {2, 3}, "a.b[0]": {3, 5}, "a.b[0].c": {3, 7}}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown key: its own place", UnknownField("a.b[0]", "c", nil), `f.yaml:3:7: a.b[0]: unknown field "c"`},
		{"missing key: its map's place", Errorf("a.b[0].d", "required"), "f.yaml:3:5: a.b[0].d: required"},
		{"missing top-level key: the file", Errorf("z", "required"), "f.yaml: z: required"},
		{"other errors as they are", errors.New("boom"), "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pos.Locate(tt.err, "f.yaml").Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
