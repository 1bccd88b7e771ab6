// Command sluicebench measures sluice against the machine's raw ceiling on
// the same data, in one invocation: rows/s and MB/s for REST -> DuckDB and
// REST -> Parquet, the ceilings (fastjson -> Arrow builders -> DuckDB
// insert or Parquet file, no pipeline), the input floor (fastjson parse of
// the pages and nothing else), the same records loaded from Go structs and
// from map[string]any (structs-*, maps-*: a pool of 100,000 records held
// in memory, cycled as the pages are), each run's ratio to its
// destination's ceiling, to DuckDB's own JSON reader over the same records
// as local NDJSON files (duckdb-native, duckdb-native-parquet: the "vs
// native" column) and to real dlt's measured rate, peak RSS, allocations
// per row and CPU seconds (all threads: on a shared machine they move less
// than the wall time), for flat and nested records; the sluice command
// itself, `sluice run spec.yaml` against the same API with the CLI's
// defaults (cli-duckdb, cli-parquet: built once per invocation, its peak
// RSS and CPU seconds from the child's rusage); then the latency run
// (child requests against a slow API). Nested runs are also compared with
// the flat run of the same phase; the ceilings' own nested/flat ratio is
// what the data allows that comparison. Each measurement runs in a child
// process of its own so its peak RSS is its own.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/bench"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/source"
)

// dlt 1.11's measured rates on this machine kind (the numbers):
// flat rows/s, and parent rows/s for records with 5 children each.
const (
	dltFlat   = 10_500.0
	dltNested = 3_750.0
)

var (
	memLimit  string
	insert    string
	batchRows int
	workers   int
	paging    string
)

type result struct {
	Name         string  `json:"name"`
	Shape        string  `json:"shape"`
	Rows         int64   `json:"rows"`       // root rows
	TotalRows    int64   `json:"total_rows"` // all tables
	Seconds      float64 `json:"seconds"`
	InputBytes   int64   `json:"input_bytes"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	AllocsPerRow float64 `json:"allocs_per_row"`
	// CPUSeconds is the process's user+system time over the timed part,
	// all threads (DuckDB's own included): on a shared machine it moves
	// less than the wall time does.
	CPUSeconds float64 `json:"cpu_seconds"`
}

func (r result) rate() float64 { return float64(r.Rows) / r.Seconds }

func main() {
	arrowbuf.MakeArrowDefault() // as the sluice command does
	rows := flag.Int("rows", 1_000_000, "records to load per run")
	pageSize := flag.Int("page", 1000, "records per page")
	shapes := flag.String("shapes", "flat,nested", "record shapes to run: flat, nested (5 children per record)")
	phases := flag.String("phases", "parse,ceiling,duckdb-native,pages-duckdb,rest-duckdb,cli-duckdb,structs-duckdb,maps-duckdb,ceiling-parquet,duckdb-native-parquet,rest-parquet,cli-parquet,structs-parquet,maps-parquet",
		"runs per shape (parse: fastjson parse of the pages alone, the input floor; ceiling: fastjson -> Arrow -> DuckDB; ceiling-parquet: the same into Parquet; duckdb-native: DuckDB's read_ndjson of the same records as local NDJSON files into a DuckDB file, DuckDB's defaults (all threads); duckdb-native-parquet: the same, COPY ... TO a Parquet file; pages-duckdb: the pipeline without HTTP; rest-duckdb-during: rest-duckdb inserting while it extracts, duckdb.WithLoadDuringExtract; cli-duckdb, cli-parquet: `sluice run` of a spec reading the rest-* runs' API, the CLI's defaults, as a user runs it; structs-*, maps-*: the records as Go structs or map[string]any, source.Slice's typed batches)")
	latency := flag.Bool("latency", true, "also time 1,000 child requests against a 50 ms API")
	repeat := flag.Int("repeat", 3, "rounds of all measurements (each round runs every shape and phase once); the table shows the median by rate (peak RSS: the highest)")
	phase := flag.String("phase", "", "internal: run one measurement and print JSON")
	shape := flag.String("shape", "flat", "internal: the shape of -phase")
	flag.StringVar(&sluiceBin, "sluice", "", "internal: the sluice command the cli-* runs time (default: built for the run)")
	flag.StringVar(&memLimit, "duckdb-memory", "64MB", "DuckDB memory_limit during loads (the destination's default)")
	flag.StringVar(&insert, "insert", "parquet", "DuckDB insert method: parquet (the default), scan or appender")
	flag.IntVar(&batchRows, "batch-rows", 0, "rows per record batch (0: the destination's default: DuckDB 25,000, Parquet 50,000)")
	flag.IntVar(&workers, "workers", 0, "normalizer goroutines (0: the pipeline default)")
	flag.StringVar(&paging, "paging", string(bench.JSONLink), "how the REST runs page: json_link (one page after the other) or page_number (a page count from the first page, the rest fetched ahead)")
	cpuProfile := flag.String("cpuprofile", "", "with -phase: write a CPU profile here")
	memProfile := flag.String("memprofile", "", "with -phase: write an allocation profile here")
	traceFile := flag.String("trace", "", "with -phase: write an execution trace here (go tool trace)")
	flag.Parse()

	if *phase != "" {
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				fail(err)
			}
			pprof.StartCPUProfile(f)
		}
		if *traceFile != "" {
			f, err := os.Create(*traceFile)
			if err != nil {
				fail(err)
			}
			if err := trace.Start(f); err != nil {
				fail(err)
			}
		}
		res, err := measure(*phase, *rows, *pageSize, bench.Shape(*shape))
		pprof.StopCPUProfile()
		trace.Stop()
		if err != nil {
			fail(err)
		}
		if *memProfile != "" {
			f, err := os.Create(*memProfile)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fail(err)
			}
		}
		json.NewEncoder(os.Stdout).Encode(res)
		return
	}

	fmt.Printf("sluicebench: %d records per run, pages of %d (%s), GOMAXPROCS=%d, DuckDB insert %s, memory_limit %s, median of %d rounds\n\n",
		*rows, *pageSize, paging, runtime.GOMAXPROCS(0), insert, memLimit, max(*repeat, 1))
	// Rounds: each repeat runs every shape and phase once, so the runs a
	// ratio compares (nested vs flat, sluice vs ceiling) come from the same
	// minutes; this machine's speed drifts by a third from one stretch of
	// minutes to the next.
	shapeList, phaseList := strings.Split(*shapes, ","), strings.Split(*phases, ",")
	phaseList = withIceberg(withS3(phaseList))
	// Outside every timed part: the cli-* runs time the built command.
	if cliDir, err := buildSluice(phaseList); err != nil {
		fail(err)
	} else if cliDir != "" {
		cleanup = func() { os.RemoveAll(cliDir) }
		defer cleanup()
	}
	runs := map[string][]result{}
	for range max(*repeat, 1) {
		for _, sh := range shapeList {
			for _, ph := range phaseList {
				r, err := child(ph, *rows, *pageSize, sh)
				if err != nil {
					fail(err)
				}
				runs[sh+"/"+ph] = append(runs[sh+"/"+ph], r)
			}
		}
	}
	flatRates := map[string]float64{}
	for _, sh := range shapeList {
		var results []result
		for _, ph := range phaseList {
			results = append(results, median(runs[sh+"/"+ph]))
		}
		table(sh, results, flatRates)
		s3Ratio(sh, results)
		icebergRatio(sh, results)
	}
	if *latency {
		latencyTable()
	}
}

// median returns the run with the median rate, carrying the highest peak
// RSS seen: one machine's runs vary by ~20%, and the median of a few is
// what a repeat invocation reproduces.
func median(runs []result) result {
	peak := 0.0
	for _, r := range runs {
		peak = max(peak, r.PeakRSSMB)
	}
	slices.SortFunc(runs, func(a, b result) int { return cmp.Compare(a.rate(), b.rate()) })
	m := runs[len(runs)/2]
	m.PeakRSSMB = peak
	return m
}

// table prints one shape's results. Each run is compared with the ceiling
// of its destination (ceiling: DuckDB, ceiling-parquet: Parquet). Flat runs
// record their rate by phase in flatRates; nested runs are compared with
// the flat run of the same phase, so the ceilings' own nested/flat ratio
// shows what the machine allows that comparison.
func table(shape string, results []result, flatRates map[string]float64) {
	rates := map[string]float64{}
	for _, r := range results {
		rates[r.Name] = r.rate()
	}
	vsCeiling := func(r result) string {
		if r.Name == "parse" {
			return "-" // not a load
		}
		c := rates["ceiling"]
		if isParquet(r.Name) {
			c = rates["ceiling-parquet"]
		}
		if c == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", r.rate()/c)
	}
	vsNative := func(r result) string {
		if c := rates[nativeOf(r.Name)]; c > 0 && r.Name != "parse" {
			return fmt.Sprintf("%.2f", r.rate()/c)
		}
		return "-"
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	if shape == "flat" {
		fmt.Fprintln(w, "flat run\trows\tseconds\trows/s\tMB/s\tvs ceiling\tvs native\tvs dlt\tpeak RSS MB\tallocs/row\tCPU s\t")
	} else {
		fmt.Fprintln(w, "nested run\tparents\tall rows\tseconds\tparents/s\tMB/s\tvs ceiling\tvs native\tvs flat\tvs dlt\tpeak RSS MB\tallocs/row\tCPU s\t")
	}
	for _, r := range results {
		mbs := float64(r.InputBytes) / r.Seconds / 1e6
		vsDLT := func(rate float64) string {
			if r.Name == "parse" {
				return "-"
			}
			return fmt.Sprintf("%.0fx", r.rate()/rate)
		}
		if shape == "flat" {
			flatRates[r.Name] = r.rate()
			fmt.Fprintf(w, "%s\t%d\t%.2f\t%.0f\t%.1f\t%s\t%s\t%s\t%.0f\t%s\t%.2f\t\n", r.Name, r.Rows, r.Seconds, r.rate(),
				mbs, vsCeiling(r), vsNative(r), vsDLT(dltFlat), r.PeakRSSMB, allocs(r), r.CPUSeconds)
			continue
		}
		vsFlat := "-"
		if f := flatRates[r.Name]; f > 0 {
			vsFlat = fmt.Sprintf("%.2f", r.rate()/f)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%.2f\t%.0f\t%.1f\t%s\t%s\t%s\t%s\t%.0f\t%s\t%.2f\t\n", r.Name, r.Rows, r.TotalRows, r.Seconds,
			r.rate(), mbs, vsCeiling(r), vsNative(r), vsFlat, vsDLT(dltNested), r.PeakRSSMB, allocs(r), r.CPUSeconds)
	}
	w.Flush()
	// Issue 20's goal: REST (`sluice run` as a user runs it) >= 0.8 of
	// DuckDB's own reader; and what the command costs over the library.
	var goal, gap []string
	for _, ph := range []string{"rest-duckdb", "cli-duckdb", "rest-parquet", "cli-parquet"} {
		if n := rates[nativeOf(ph)]; n > 0 && rates[ph] > 0 {
			goal = append(goal, fmt.Sprintf("%s / %s = %.2f", ph, nativeOf(ph), rates[ph]/n))
		}
		if lib := strings.Replace(ph, "cli-", "rest-", 1); lib != ph && rates[ph] > 0 && rates[lib] > 0 {
			gap = append(gap, fmt.Sprintf("%s / %s = %.2f", ph, lib, rates[ph]/rates[lib]))
		}
	}
	if len(goal) > 0 {
		fmt.Printf("%s: %s (goal >= 0.8)\n", shape, strings.Join(goal, ", "))
	}
	if len(gap) > 0 {
		fmt.Printf("%s: %s (the command over the library)\n", shape, strings.Join(gap, ", "))
	}
	fmt.Println()
}

// allocs formats a run's allocations per row: "-" for a run whose
// allocations are another process's (cli-*).
func allocs(r result) string {
	if r.AllocsPerRow < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", r.AllocsPerRow)
}

// isParquet says whether phase loads into Parquet (else DuckDB).
func isParquet(phase string) bool {
	return strings.HasSuffix(phase, "-parquet") || phase == s3Phase || phase == icebergPhase
}

func latencyTable() {
	ctx := context.Background()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "latency run (50 ms per request)\tchild requests\tconcurrency\tseconds\trequests/s\t")
	for _, c := range []struct {
		parents, conc int
		label         string
	}{{1000, 0, "default"}, {100, 1, "1 (sequential)"}} {
		d, err := bench.LatencyRun(ctx, c.parents, 50*time.Millisecond, c.conc)
		if err != nil {
			fail(err)
		}
		fmt.Fprintf(w, "parent/child placeholders\t%d\t%s\t%.2f\t%.0f\t\n", c.parents, c.label, d.Seconds(), float64(c.parents)/d.Seconds())
	}
	w.Flush()
}

// cleanup removes what the invocation made (the built sluice command),
// also when it fails.
var cleanup = func() {}

func fail(err error) {
	cleanup()
	fmt.Fprintln(os.Stderr, "sluicebench:", err)
	os.Exit(1)
}

// child runs one phase in a fresh process.
func child(phase string, rows, pageSize int, shape string) (result, error) {
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(exe, "-phase", phase, "-shape", shape, "-duckdb-memory", memLimit, "-insert", insert,
		"-batch-rows", strconv.Itoa(batchRows), "-workers", strconv.Itoa(workers), "-paging", paging,
		"-sluice", sluiceBin, "-rows", strconv.Itoa(rows), "-page", strconv.Itoa(pageSize))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("phase %s (%s): %w", phase, shape, err)
	}
	var res result
	return res, json.Unmarshal(out, &res)
}

func measure(phase string, rows, pageSize int, shape bench.Shape) (result, error) {
	if nativePhases[phase] {
		return measureNative(phase, rows, pageSize, shape)
	}
	if cliPhases[phase] {
		return measureCLI(phase, rows, pageSize, shape)
	}
	ctx := context.Background()
	// A fixed pool of distinct pages (or records), cycled: input memory
	// does not grow with the number of rows. Go values are measured
	// against the bytes of the same records as JSON.
	n := (rows + pageSize - 1) / pageSize
	goValues := strings.HasPrefix(phase, "structs-") || strings.HasPrefix(phase, "maps-")
	var pool [][]byte
	var input int64
	if goValues {
		input = bench.Bytes(bench.Pages(pageSize, pageSize, shape)) * int64(n)
	} else {
		pool = bench.Pages(min(rows, 100*pageSize), pageSize, shape)
		input = bench.Bytes(pool) * int64(n) / int64(len(pool))
	}
	dir, err := os.MkdirTemp("", "sluicebench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	method := map[string]duckdb.InsertMethod{"scan": duckdb.InsertScan, "parquet": duckdb.InsertParquet, "appender": duckdb.InsertAppender}[insert]
	opts := []duckdb.Option{duckdb.WithMemoryLimit(memLimit), duckdb.WithInsertMethod(method)}
	if phase == "rest-duckdb-during" {
		opts = append(opts, duckdb.WithLoadDuringExtract())
	}
	var dest sink.Destination = duckdb.New(filepath.Join(dir, "bench.duckdb"), opts...)
	if isParquet(phase) {
		dest = parquet.New(filepath.Join(dir, "bucket"))
	}
	if phase == icebergPhase {
		dest = icebergDest(dir)
	}
	if phase == s3Phase {
		d, stop, err := s3Dest(dir)
		if err != nil {
			return result{}, err
		}
		defer stop()
		dest = d
	}

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	start, cpu0 := time.Now(), cpuTime()
	var loaded, total int64
	switch phase {
	case "parse":
		loaded, total, err = bench.ParseFloor(shape, pool, n)
	case "ceiling", "ceiling-parquet":
		loaded, total, err = bench.Ceiling(ctx, dest, shape, pool, n, 100_000)
	case "pages-duckdb", "rest-duckdb", "rest-duckdb-during", "rest-parquet", s3Phase, icebergPhase, "structs-duckdb", "structs-parquet", "maps-duckdb", "maps-parquet":
		var src flow.Sourcer
		switch {
		case goValues:
			recs := bench.Records(min(rows, 100_000), shape)
			if strings.HasPrefix(phase, "maps-") {
				src = bench.ItemsResource("users", bench.Maps(recs), rows, source.ChunkSize)
			} else {
				src = bench.ItemsResource("users", recs, rows, source.ChunkSize)
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			mallocs = ms.Mallocs
			start, cpu0 = time.Now(), cpuTime()
		case !strings.HasPrefix(phase, "rest-"):
			src = bench.PagesResource("users", pool, n)
		default:
			api, err := bench.NewAPI(pool, n, 0)
			if err != nil {
				return result{}, err
			}
			defer api.Close()
			// The API serves its pages from a file: drop them from memory so
			// that peak RSS is the pipeline's alone.
			pool = nil
			debug.FreeOSMemory()
			runtime.ReadMemStats(&ms)
			mallocs = ms.Mallocs
			start, cpu0 = time.Now(), cpuTime()
			if src, err = bench.RESTSource(api.URL, false, bench.Paging(paging)); err != nil {
				return result{}, err
			}
		}
		p, err := flow.NewPipeline("bench", dest, flow.PipelinesDir(filepath.Join(dir, "pipelines")), flow.DatasetName("bench"),
			flow.BatchRows(batchRows), flow.NormalizeWorkers(workers))
		if err != nil {
			return result{}, err
		}
		info, err := p.Run(ctx, src)
		if err != nil {
			return result{}, err
		}
		loaded = info.RowCounts["users"]
		for _, c := range info.RowCounts {
			total += c
		}
	default:
		return result{}, fmt.Errorf("unknown phase %q", phase)
	}
	if err != nil {
		return result{}, err
	}
	secs, cpu := time.Since(start).Seconds(), cpuTime()-cpu0
	runtime.ReadMemStats(&ms)
	return result{Name: phase, Shape: string(shape), Rows: loaded, TotalRows: total, Seconds: secs, InputBytes: input,
		PeakRSSMB: peakRSSMB(), AllocsPerRow: float64(ms.Mallocs-mallocs) / float64(max(loaded, 1)), CPUSeconds: cpu}, nil
}

// cpuTime is the process's user+system CPU time so far, all threads.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakRSSMB reads VmHWM (peak resident set) from /proc/self/status.
func peakRSSMB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
