package spec

import (
	"slices"
	"strings"
	"testing"
)

// TestParseErrorKeepsSecrets: an error found after secrets were resolved
// may quote a value holding one (an unknown destination type); Parse then
// returns a Spec with the secrets so the CLI can mask them.
func TestParseErrorKeepsSecrets(t *testing.T) {
	s := &Secrets{Env: env(map[string]string{"TOK": "tok-123456"})}
	sp, err := Parse([]byte("pipeline_name: p\ndestination: {type: \"${TOK}\"}\nsource: {}\n"), "spec.yaml", dir, s)
	if err == nil || !strings.Contains(err.Error(), "unknown destination") {
		t.Fatalf("err = %v", err)
	}
	if sp == nil || !slices.Contains(sp.Secrets, "tok-123456") {
		t.Fatalf("spec with the error = %+v, want its secrets", sp)
	}
	if sp, err := Parse([]byte("pipeline_name: p\ndestination: {type: \"${NOPE}\"}\nsource: {}\n"), "spec.yaml", dir, s); err == nil || sp != nil {
		t.Fatalf("missing secret: %+v, %v", sp, err)
	}
}
