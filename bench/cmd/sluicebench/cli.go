package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/bench"
)

// cliPhases run the sluice command as a user runs it, `sluice run
// spec.yaml` with the CLI's defaults (the -duckdb-memory, -insert,
// -batch-rows and -workers flags do not reach it; -paging does), against
// the loopback API the rest-* runs read: the row issue 20 anchors on.
var cliPhases = map[string]bool{"cli-duckdb": true, "cli-parquet": true}

// sluiceBin is the sluice command the cli-* runs time, built once per
// invocation (buildSluice) and handed to each child process.
var sluiceBin string

// buildSluice builds the sluice command into a new temporary folder, which
// the caller removes, if phases has a cli-* run; else it returns "".
func buildSluice(phases []string) (dir string, err error) {
	for _, ph := range phases {
		if !cliPhases[ph] {
			continue
		}
		if dir, err = os.MkdirTemp("", "sluicebench-cli-"); err != nil {
			return "", err
		}
		sluiceBin = filepath.Join(dir, "sluice")
		if err := bench.BuildCLI(context.Background(), sluiceBin); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
		return dir, nil
	}
	return "", nil
}

// measureCLI starts the API over the records of rows, writes the spec,
// then times `sluice run` from its start to its exit: wall time, and the
// child's peak RSS and CPU seconds from its rusage. The CPU seconds add
// this process's own over the run, the API serving the pages, as the
// rest-* runs' do (their API is in-process). What the run loaded is then
// counted from the destination, untimed: a run that loaded the wrong rows
// is an error, not a row of the table.
func measureCLI(phase string, rows, pageSize int, shape bench.Shape) (result, error) {
	dir, err := os.MkdirTemp("", "sluicebench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	if sluiceBin == "" { // a -phase run of its own
		sluiceBin = filepath.Join(dir, "sluice")
		if err := bench.BuildCLI(context.Background(), sluiceBin); err != nil {
			return result{}, err
		}
	}
	n := (rows + pageSize - 1) / pageSize
	pool := bench.Pages(min(rows, 100*pageSize), pageSize, shape)
	input := bench.Bytes(pool) * int64(n) / int64(len(pool))
	api, err := bench.NewAPI(pool, n, 0)
	if err != nil {
		return result{}, err
	}
	defer api.Close()
	dest, loc := "duckdb", filepath.Join(dir, "bench.duckdb")
	if isParquet(phase) {
		dest, loc = "parquet", filepath.Join(dir, "bucket")
	}
	spec, err := bench.CLISpec(api.URL, bench.Paging(paging), dest, loc)
	if err != nil {
		return result{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), spec, 0o644); err != nil {
		return result{}, err
	}
	cmd := exec.Command(sluiceBin, "run", "spec.yaml")
	cmd.Dir = dir // no .sluice/secrets.toml, no stray files
	cmd.Env = append(os.Environ(), "SLUICE_PIPELINES_DIR="+filepath.Join(dir, "pipelines"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	start, cpu0 := time.Now(), cpuTime()
	err = cmd.Run()
	secs, self := time.Since(start).Seconds(), cpuTime()-cpu0
	if err != nil {
		return result{}, fmt.Errorf("%s: sluice run: %w\n%s", phase, err, out.Bytes())
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		return result{}, fmt.Errorf("%s: no rusage of sluice run", phase)
	}
	cpu := time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds() + self

	counts, err := bench.LoadedRows(context.Background(), dest, loc, bench.CLIDataset)
	if err != nil {
		return result{}, err
	}
	want := map[string]int64{"users": int64(rows)}
	if shape == bench.Nested {
		want["users__orders"] = 5 * int64(rows)
	}
	var total int64
	for t, c := range counts {
		if c != want[t] {
			return result{}, fmt.Errorf("%s: sluice run loaded %d rows into %s, want %d (all: %v)", phase, c, t, want[t], counts)
		}
		total += c
	}
	if len(counts) != len(want) {
		return result{}, fmt.Errorf("%s: sluice run loaded tables %v, want %v", phase, counts, want)
	}
	// Maxrss is in KiB on Linux. Allocations are the child's: not counted.
	return result{Name: phase, Shape: string(shape), Rows: counts["users"], TotalRows: total, Seconds: secs,
		InputBytes: input, PeakRSSMB: float64(ru.Maxrss) / 1024, AllocsPerRow: -1, CPUSeconds: cpu}, nil
}
