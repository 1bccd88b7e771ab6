// Command sluicebench measures sluice against the machine's raw ceiling on
// the same data, in one invocation, and prints rows/s, MB/s, their ratio,
// peak RSS and allocations per row. Each measurement runs in a child process
// of its own so its peak RSS is its own.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluicehq/sluice/bench"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
)

var (
	memLimit  string
	insert    string
	batchRows int
	workers   int
)

type result struct {
	Name         string  `json:"name"`
	Rows         int64   `json:"rows"`
	Seconds      float64 `json:"seconds"`
	InputBytes   int64   `json:"input_bytes"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	AllocsPerRow float64 `json:"allocs_per_row"`
}

func main() {
	rows := flag.Int("rows", 1_000_000, "records to load")
	pageSize := flag.Int("page", 1000, "records per page")
	shape := flag.String("shape", "flat", "flat or nested (5 children per record)")
	phase := flag.String("phase", "", "internal: run one measurement and print JSON")
	flag.StringVar(&memLimit, "duckdb-memory", "256MB", "DuckDB memory_limit during loads")
	flag.StringVar(&insert, "insert", "scan", "DuckDB insert method: scan, parquet or appender")
	flag.IntVar(&batchRows, "batch-rows", 0, "rows per record batch (0: the pipeline default)")
	flag.IntVar(&workers, "workers", 0, "normalizer goroutines (0: the pipeline default)")
	cpuProfile := flag.String("cpuprofile", "", "with -phase: write a CPU profile here")
	flag.Parse()

	if *phase != "" {
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "sluicebench:", err)
				os.Exit(1)
			}
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
		res, err := measure(*phase, *rows, *pageSize, bench.Shape(*shape))
		if err != nil {
			fmt.Fprintln(os.Stderr, "sluicebench:", err)
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(res)
		pprof.StopCPUProfile()
		return
	}

	fmt.Printf("sluicebench: %d %s records, pages of %d, GOMAXPROCS=%d\n", *rows, *shape, *pageSize, runtime.GOMAXPROCS(0))
	phases := []string{"pages-duckdb", "rest-duckdb"}
	if *shape == "flat" {
		phases = append([]string{"ceiling"}, phases...)
	}
	var results []result
	for _, ph := range phases {
		res, err := child(ph, *rows, *pageSize, *shape)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sluicebench:", err)
			os.Exit(1)
		}
		results = append(results, res)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "run\trows\tseconds\trows/s\tMB/s\tvs ceiling\tpeak RSS MB\tallocs/row\t")
	ceiling := 0.0
	for _, r := range results {
		rps := float64(r.Rows) / r.Seconds
		if r.Name == "ceiling" {
			ceiling = rps
		}
		ratio := "-"
		if ceiling > 0 {
			ratio = fmt.Sprintf("%.2f", rps/ceiling)
		}
		fmt.Fprintf(w, "%s\t%d\t%.2f\t%.0f\t%.1f\t%s\t%.0f\t%.2f\t\n", r.Name, r.Rows, r.Seconds, rps,
			float64(r.InputBytes)/r.Seconds/1e6, ratio, r.PeakRSSMB, r.AllocsPerRow)
	}
	w.Flush()
}

// child runs one phase in a fresh process.
func child(phase string, rows, pageSize int, shape string) (result, error) {
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(exe, "-phase", phase, "-duckdb-memory", memLimit, "-insert", insert, "-batch-rows", strconv.Itoa(batchRows), "-workers", strconv.Itoa(workers), "-rows", strconv.Itoa(rows), "-page", strconv.Itoa(pageSize), "-shape", shape)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("phase %s: %w", phase, err)
	}
	var res result
	return res, json.Unmarshal(out, &res)
}

func measure(phase string, rows, pageSize int, shape bench.Shape) (result, error) {
	ctx := context.Background()
	// A fixed pool of distinct pages, cycled: input memory does not grow
	// with the number of rows.
	pool := bench.Pages(min(rows, 100*pageSize), pageSize, shape)
	n := (rows + pageSize - 1) / pageSize
	input := bench.Bytes(pool) * int64(n) / int64(len(pool))
	dir, err := os.MkdirTemp("", "sluicebench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	method := map[string]duckdb.InsertMethod{"scan": duckdb.InsertScan, "parquet": duckdb.InsertParquet, "appender": duckdb.InsertAppender}[insert]
	dest := duckdb.New(filepath.Join(dir, "bench.duckdb"), duckdb.WithMemoryLimit(memLimit), duckdb.WithInsertMethod(method))

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	start := time.Now()
	var loaded int64
	switch phase {
	case "ceiling":
		loaded, err = bench.Ceiling(ctx, dest, pool, n, 100_000)
	case "pages-duckdb", "rest-duckdb":
		var src flow.Sourcer = bench.PagesResource("users", pool, n)
		if phase == "rest-duckdb" {
			api, err := bench.NewAPI(pool, n, 0)
			if err != nil {
				return result{}, err
			}
			defer api.Close()
			if src, err = bench.RESTSource(api.URL, false); err != nil {
				return result{}, err
			}
		}
		var p *flow.Pipeline
		p, err = flow.NewPipeline("bench", dest, flow.PipelinesDir(filepath.Join(dir, "pipelines")), flow.Dataset("bench"),
			flow.BatchRows(batchRows), flow.NormalizeWorkers(workers))
		if err != nil {
			return result{}, err
		}
		var info *flow.LoadInfo
		if info, err = p.Run(ctx, src); err == nil {
			loaded = info.RowCounts["users"]
		}
	default:
		return result{}, fmt.Errorf("unknown phase %q", phase)
	}
	if err != nil {
		return result{}, err
	}
	secs := time.Since(start).Seconds()
	runtime.ReadMemStats(&ms)
	return result{Name: phase, Rows: loaded, Seconds: secs, InputBytes: input, PeakRSSMB: peakRSSMB(),
		AllocsPerRow: float64(ms.Mallocs-mallocs) / float64(max(loaded, 1))}, nil
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
