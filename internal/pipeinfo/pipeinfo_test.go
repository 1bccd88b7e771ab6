package pipeinfo_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/pipeinfo"
)

func TestRead(t *testing.T) {
	rec := pipeinfo.Record{PipelineName: "blog", DestinationType: "duckdb", DestinationLocation: "/d/blog.duckdb",
		DatasetName: "blog_data", DefaultSchemaName: "blog", LastLoadID: "1.000001", LastLoadRows: map[string]int64{"posts": 3}}
	good, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    []byte // nil: no pipeline.json
		want    *pipeinfo.Info
		wantErr string
	}{
		{"recorded", good, &pipeinfo.Info{Name: "blog", DestinationType: "duckdb", DestinationLocation: "/d/blog.duckdb",
			Dataset: "blog_data", SchemaName: "blog", LastLoadID: "1.000001", LastLoadRows: map[string]int64{"posts": 3}}, ""},
		{"missing", nil, nil, `pipeinfo: pipeline "blog" not found in`},
		{"not json", []byte("{"), nil, `pipeinfo: pipeline "blog": bad pipeline.json`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file != nil {
				if err := os.MkdirAll(filepath.Join(dir, "blog"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "blog", pipeinfo.File), tc.file, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := pipeinfo.Read(dir, "blog")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Read error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Read = %+v, want %+v", got, tc.want)
			}
		})
	}
}
