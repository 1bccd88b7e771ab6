package flow_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/transform"
)

// TestBadStateJSONNamesRemedy: a state.json or a local schema file that is
// not JSON fails the run with the remedy (remove the working folder,
// named); done, the next run restores the state from the destination and
// loads nothing twice.
func TestBadStateJSONNamesRemedy(t *testing.T) {
	for _, file := range []string{"state.json", filepath.Join("schemas", "bad_state.schema.json")} {
		t.Run(file, func(t *testing.T) { testBadWorkingFile(t, file) })
	}
}

func testBadWorkingFile(t *testing.T, file string) {
	rows := []any{
		map[string]any{"id": 1, "updated_at": "2024-01-01T00:00:00Z"},
		map[string]any{"id": 2, "updated_at": "2024-01-02T00:00:00Z"},
	}
	mk := func() *flow.Resource {
		inc, _ := transform.NewIncremental("updated_at", "2024-01-01T00:00:00Z")
		return flow.NewResource("items", func(ctx context.Context, yield flow.Yield) error {
			return yield(flow.ItemsBatch(rows...))
		}).AddStep(inc.Step())
	}
	e := newEnv(t)
	p := e.pipeline("bad_state")
	e.run(p, mk())
	dir := p.WorkingDir()
	if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
		t.Fatalf("the first run left no %s: %v", file, err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(`{"sources": {`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := p.Run(context.Background(), mk())
	if err == nil {
		t.Fatalf("run with a bad %s succeeded", file)
	}
	for _, want := range []string{filepath.Join(dir, file), "remove the folder " + dir, "restore the pipeline's state from the destination"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error has more than one line: %q", err)
	}

	// The remedy works: the cursor comes back from the destination, so the
	// rows at or before it are not loaded again.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	e.run(p, mk())
	if n := e.count("items"); n != 2 {
		t.Errorf("items = %d rows after the remedy, want 2", n)
	}
}
