package bench

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/goccy/go-yaml"
)

// The pipeline and dataset of a CLISpec run.
const (
	CLIPipeline = "bench"
	CLIDataset  = "bench"
)

// CLISpec returns the `sluice run` spec (YAML) that loads the benchmark
// API at baseURL, paging as paging says, into destination ("duckdb": the
// DuckDB file at location; "parquet": the bucket folder at location), as
// pipeline CLIPipeline and dataset CLIDataset. Its source is the config
// RESTSource decodes, key for key, and nothing else is set: the CLI's
// defaults are what a user running the spec gets.
func CLISpec(baseURL string, paging Paging, destination, location string) ([]byte, error) {
	src, err := restConfig(baseURL, false, paging)
	if err != nil {
		return nil, err
	}
	var dest map[string]any
	switch destination {
	case "duckdb":
		dest = map[string]any{"type": "duckdb", "path": location}
	case "parquet":
		dest = map[string]any{"type": "parquet", "bucket_url": location}
	default:
		return nil, fmt.Errorf("bench: unknown CLI destination %q (duckdb or parquet)", destination)
	}
	out, err := yaml.Marshal(map[string]any{
		"pipeline_name": CLIPipeline,
		"dataset_name":  CLIDataset,
		"destination":   dest,
		"source":        src,
	})
	if err != nil {
		return nil, fmt.Errorf("bench: CLI spec: %w", err)
	}
	return out, nil
}

// BuildCLI builds the sluice command (./cmd/sluice of this module) into
// the file out, as the contract says a user builds it.
func BuildCLI(ctx context.Context, out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/sluice")
	cmd.Dir = root
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("bench: go build ./cmd/sluice in %s: %w\n%s", root, err, log.Bytes())
	}
	return nil
}

const modulePath = "github.com/sluicehq/sluice"

// moduleRoot finds the folder of this module's go.mod: up from the working
// directory (go run and go test run inside the module), else up from this
// file's folder as it was compiled.
func moduleRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if isModuleRoot(dir) {
				return dir, nil
			}
			up := filepath.Dir(dir)
			if up == dir {
				break
			}
			dir = up
		}
	}
	return "", fmt.Errorf("bench: no go.mod of %s above the working directory %v: run from inside the module", modulePath, starts)
}

func isModuleRoot(dir string) bool {
	raw, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	return strings.TrimSpace(first) == "module "+modulePath
}

// LoadedRows counts the rows of each data table (not the _dlt_ tables) of
// dataset in destination at location ("duckdb": a DuckDB file, "parquet":
// a local bucket folder), reading them back with DuckDB: what a run
// really left there.
func LoadedRows(ctx context.Context, destination, location, dataset string) (map[string]int64, error) {
	switch destination {
	case "duckdb":
		return duckDBRows(ctx, location, dataset)
	case "parquet":
		return parquetRows(ctx, location, dataset)
	}
	return nil, fmt.Errorf("bench: unknown destination %q (duckdb or parquet)", destination)
}

func duckDBRows(ctx context.Context, path, dataset string) (map[string]int64, error) {
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		return nil, fmt.Errorf("bench: open %s: %w", path, err)
	}
	defer db.Close()
	// Tables are named catalog.schema.table: a file named like its
	// dataset (bench.duckdb) makes "bench.users" ambiguous.
	rs, err := db.QueryContext(ctx, `SELECT table_catalog, table_name FROM information_schema.tables
		WHERE table_schema = ? AND NOT starts_with(table_name, '_dlt_')`, dataset)
	if err != nil {
		return nil, fmt.Errorf("bench: tables of %s in %s: %w", dataset, path, err)
	}
	var tables [][2]string // catalog, table
	for rs.Next() {
		var t [2]string
		if err := rs.Scan(&t[0], &t[1]); err != nil {
			rs.Close()
			return nil, fmt.Errorf("bench: tables of %s in %s: %w", dataset, path, err)
		}
		tables = append(tables, t)
	}
	if err := errors.Join(rs.Err(), rs.Close()); err != nil {
		return nil, fmt.Errorf("bench: tables of %s in %s: %w", dataset, path, err)
	}
	counts := map[string]int64{}
	for _, t := range tables {
		var n int64
		q := "SELECT count(*) FROM " + ident(t[0]) + "." + ident(dataset) + "." + ident(t[1])
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return nil, fmt.Errorf("bench: count %s.%s in %s: %w", dataset, t[1], path, err)
		}
		counts[t[1]] = n
	}
	return counts, nil
}

// parquetRows counts the rows of the Parquet files in each table folder of
// bucket/dataset (one load into a fresh bucket: every file is committed).
func parquetRows(ctx context.Context, bucket, dataset string) (map[string]int64, error) {
	dir := filepath.Join(bucket, dataset)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("bench: tables of %s: %w", dir, err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("bench: count Parquet rows: %w", err)
	}
	defer db.Close()
	counts := map[string]int64{}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, "_dlt_") || strings.HasPrefix(name, ".") {
			continue
		}
		glob := filepath.Join(dir, name, "*.parquet")
		files, err := filepath.Glob(glob)
		if err != nil || len(files) == 0 {
			counts[name] = 0
			continue
		}
		var n int64
		q := "SELECT count(*) FROM read_parquet('" + strings.ReplaceAll(glob, "'", "''") + "', union_by_name = true)"
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return nil, fmt.Errorf("bench: count %s: %w", glob, err)
		}
		counts[name] = n
	}
	return counts, nil
}

// ident quotes a DuckDB identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
