package spec

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/spec-keys.md from the description")

// TestSpecKeysDoc: docs/spec-keys.md is what the description generates, so
// it cannot drift from the keys the decoders accept. Regenerate it with
// `go generate ./cmd/sluice/internal/spec`.
func TestSpecKeysDoc(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "docs", "spec-keys.md")
	want := KeyReference()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the description: run go generate ./cmd/sluice/internal/spec", path)
	}
}
