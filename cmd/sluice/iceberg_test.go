package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// icebergEnv is a crash environment whose destination is a filesystem
// bucket with Iceberg tables: the destination's default (resource false)
// or the items resource's table_format (resource true).
func icebergEnv(t *testing.T, api *crashAPI, resource bool) *crashEnv {
	t.Helper()
	e := newCrashEnv(t, api, true)
	dest := fmt.Sprintf("{type: filesystem, bucket_url: %q, table_format: iceberg}", "file://"+e.bucket)
	spec := ""
	if resource {
		dest = fmt.Sprintf("{type: filesystem, bucket_url: %q}", "file://"+e.bucket)
		spec = strings.Replace(crashSpec(api.URL+"/", dest), "      write_disposition: merge\n", "      write_disposition: merge\n      table_format: iceberg\n", 1)
	} else {
		spec = crashSpec(api.URL+"/", dest)
	}
	if err := os.WriteFile(e.spec, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// isIceberg reports whether a table of the crash dataset is an Iceberg
// table (its metadata folder with a current version).
func (e *crashEnv) isIceberg(table string) bool {
	_, err := os.Stat(filepath.Join(e.bucket, crashDataset, table, "metadata", "version-hint.text"))
	return err == nil
}

// TestIcebergRun: `sluice run` into a filesystem destination whose
// table_format is iceberg makes every table (nested ones too) an Iceberg
// table; a resource's table_format makes only its tables Iceberg tables.
// Two runs merge and append as on plain Parquet: each item once, each
// event once, read back through the destination's reader.
func TestIcebergRun(t *testing.T) {
	sluiceBinary(t)
	for _, tc := range []struct {
		name     string
		resource bool
	}{{"destination default", false}, {"resource table_format", true}} {
		t.Run(tc.name, func(t *testing.T) {
			api := newCrashAPI(t)
			e := icebergEnv(t, api, tc.resource)
			for i := range 2 {
				if r := runSluice(t, e.dir, e.env, "run", e.spec); r.code != 0 {
					t.Fatalf("run %d: exit %d: %s", i+1, r.code, r.stderr)
				}
			}
			s, ok := e.check(t, "after two runs")
			if !ok || s.items != crashItems || len(s.loads) != 2 {
				t.Errorf("items %d (want %d), loads %v", s.items, crashItems, s.loads)
			}
			for table, want := range map[string]bool{"items": true, "items__tags": true, "events": !tc.resource} {
				if got := e.isIceberg(table); got != want {
					t.Errorf("%s: Iceberg table %v, want %v", table, got, want)
				}
			}
			for _, f := range []string{"_dlt_loads", "_dlt_pipeline_state", "_dlt_version"} {
				if e.isIceberg(f) {
					t.Errorf("%s is an Iceberg table: dlt's system files stay plain", f)
				}
			}
		})
	}
}
