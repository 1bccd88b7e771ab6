package sink_test

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sink"
)

// fake is the least a Factory can return; the registry never calls it.
type fake struct {
	sink.Destination
	loc string
}

func TestRegistry(t *testing.T) {
	var r sink.Registry
	r.Register("duckdb", func(c sink.Config) (sink.Destination, error) { return fake{loc: "db:" + c.Location}, nil })
	r.Register("filesystem", func(c sink.Config) (sink.Destination, error) {
		if c.Logger == nil {
			t.Error("Open passed a nil logger")
		}
		return fake{loc: "fs:" + c.Location}, nil
	}, "parquet")

	for _, tc := range []struct {
		typ, want, wantErr string
	}{
		{typ: "duckdb", want: "db:x"},
		{typ: "filesystem", want: "fs:x"},
		{typ: "parquet", want: "fs:x"},
		{typ: "postgres", wantErr: `destination type "postgres" is not supported (want one of duckdb, filesystem, parquet)`},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			d, err := r.Open(sink.Config{Type: tc.typ, Location: "x"})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := d.(fake).loc; got != tc.want {
				t.Errorf("opened %q, want %q", got, tc.want)
			}
		})
	}
	if name, ok := r.Lookup("parquet"); !ok || name != "filesystem" {
		t.Errorf(`Lookup("parquet") = %q, %v; want "filesystem", true`, name, ok)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	var r sink.Registry
	r.Register("a", nil, "b")
	defer func() {
		if recover() == nil {
			t.Error("registering an alias again did not panic")
		}
	}()
	r.Register("c", nil, "b")
}

func TestCheckOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    map[string]any
		known   []string
		wantErr string
	}{
		{"none", nil, nil, ""},
		{"known", map[string]any{"a": 1}, []string{"a", "b"}, ""},
		{"unknown named, first sorted", map[string]any{"z": 1, "c": 2, "a": 3}, []string{"a"}, `kind: unknown destination setting "c"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sink.Config{Options: tc.opts}.CheckOptions("kind", tc.known...)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
