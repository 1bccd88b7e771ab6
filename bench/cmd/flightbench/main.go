// Command flightbench measures `sluice serve`: a table of -rows rows (1M by
// default, dlt-like columns) streamed over Arrow Flight SQL on loopback by
// arrow-go's client, against DuckDB's in-process queries of the same table
// in the same invocation: serve's own reader in-process (the same DuckDB
// streaming result and vector-to-Arrow conversion, no gRPC), the dataset
// reader of sink/duckdb (database/sql rows to Arrow builders) and, built
// with -tags duckdb_arrow, duckdb-go's Arrow API. Each measurement runs in
// a child process of its own, so its peak RSS is its own; the Flight
// server is another child, so the server's peak RSS is the server's alone.
// It prints rows/s and peak RSS (the median of -repeat rounds, each
// running every measurement once) and the Flight rate's ratio to each
// in-process rate (the median of the rounds' ratios).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sluicehq/sluice/bench"
	"github.com/sluicehq/sluice/serve"
	"github.com/sluicehq/sluice/sink/duckdb"
)

// phases are the measurements, in the order of a round.
var phases = []struct{ name, desc string }{
	{"serve-in-process", "DuckDB in-process, serve's reader (streamed, no gRPC)"},
	{"sqlarrow", "DuckDB in-process, database/sql rows -> Arrow (sink/duckdb reader)"},
	{"arrow-api", "DuckDB in-process, duckdb-go Arrow API (-tags duckdb_arrow)"},
	{"flight", "Flight SQL on loopback: sluice serve -> arrow-go client"},
}

type result struct {
	Phase           string  `json:"phase"`
	Rows            int64   `json:"rows"`
	Seconds         float64 `json:"seconds"`
	PeakRSSMB       float64 `json:"peak_rss_mb"`
	ServerPeakRSSMB float64 `json:"server_peak_rss_mb,omitempty"`
	Skipped         string  `json:"skipped,omitempty"`
}

func (r result) rate() float64 { return float64(r.Rows) / r.Seconds }

func main() {
	rows := flag.Int("rows", 1_000_000, "rows of the table")
	repeat := flag.Int("repeat", 3, "rounds of all measurements")
	phase := flag.String("phase", "", "internal: run one measurement on -db and print JSON")
	serveDB := flag.String("serve-db", "", "internal: serve -db's dataset until stdin closes")
	db := flag.String("db", "", "internal: the DuckDB file")
	cpuProfile := flag.String("cpuprofile", "", "with -phase or -serve-db: write a CPU profile here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	switch {
	case *serveDB != "":
		if err := serveUntilEOF(*serveDB); err != nil {
			fail(err)
		}
		return // (fail exits without the profile; so be it)
	case *phase != "":
		res, err := measure(*phase, *db)
		if err != nil {
			fail(err)
		}
		res.PeakRSSMB = peakRSSMB()
		json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	dir, err := os.MkdirTemp("", "flightbench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bench.duckdb")
	if err := bench.MakeFlightTable(path, *rows); err != nil {
		fail(err)
	}
	runs := map[string][]result{}
	ratios := map[string][]float64{}
	for round := range *repeat {
		byPhase := map[string]result{}
		for _, p := range phases {
			res, err := child(p.name, path)
			if err != nil {
				fail(err)
			}
			if res.Rows != int64(*rows) && res.Skipped == "" {
				fail(fmt.Errorf("%s read %d rows, want %d", p.name, res.Rows, *rows))
			}
			runs[p.name] = append(runs[p.name], res)
			byPhase[p.name] = res
			fmt.Fprintf(os.Stderr, "round %d: %-16s %s\n", round+1, p.name, show(res))
		}
		for _, p := range phases[:3] {
			if in := byPhase[p.name]; in.Skipped == "" {
				ratios[p.name] = append(ratios[p.name], byPhase["flight"].rate()/in.rate())
			}
		}
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "%d rows, median of %d rounds\t rows/s\t Flight / this\t peak RSS\t\n", *rows, *repeat)
	for _, p := range phases {
		rs := runs[p.name]
		if rs[0].Skipped != "" {
			fmt.Fprintf(w, "%s\t %s\t\t\t\n", p.desc, rs[0].Skipped)
			continue
		}
		slices.SortFunc(rs, func(a, b result) int { return int(a.rate() - b.rate()) })
		med := rs[len(rs)/2]
		ratio := ""
		if r := ratios[p.name]; len(r) > 0 {
			slices.Sort(r)
			ratio = fmt.Sprintf("%.2f", r[len(r)/2])
		}
		rss := fmt.Sprintf("%.0f MB", maxRSS(rs, false))
		if p.name == "flight" {
			rss = fmt.Sprintf("server %.0f MB, client %.0f MB", maxRSS(rs, true), maxRSS(rs, false))
		}
		fmt.Fprintf(w, "%s\t %.0f\t %s\t %s\t\n", p.desc, med.rate(), ratio, rss)
	}
	w.Flush()
}

func show(r result) string {
	if r.Skipped != "" {
		return r.Skipped
	}
	s := fmt.Sprintf("%.0f rows/s, %.0f MB", r.rate(), r.PeakRSSMB)
	if r.ServerPeakRSSMB > 0 {
		s += fmt.Sprintf(", server %.0f MB", r.ServerPeakRSSMB)
	}
	return s
}

// maxRSS is the highest peak RSS of the rounds (the server's or the
// measuring process's).
func maxRSS(rs []result, server bool) float64 {
	m := 0.0
	for _, r := range rs {
		if server {
			m = max(m, r.ServerPeakRSSMB)
		} else {
			m = max(m, r.PeakRSSMB)
		}
	}
	return m
}

// peakRSSMB is this process's peak resident set (VmHWM). A child's
// rusage would not do: Linux keeps the parent's peak across exec.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// child runs one measurement in a fresh process.
func child(phase, db string) (result, error) {
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(exe, "-phase", phase, "-db", db)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("phase %s: %w", phase, err)
	}
	var res result
	return res, json.Unmarshal(out, &res)
}

func measure(phase, db string) (result, error) {
	ctx := context.Background()
	res := result{Phase: phase}
	start := time.Now()
	var err error
	switch phase {
	case "serve-in-process":
		var h *serve.Handler
		if h, err = serve.NewHandler(serve.DuckDBFile(db, bench.FlightDataset), serve.Options{}); err != nil {
			return res, err
		}
		defer h.Close()
		start = time.Now()
		rr, qerr := h.Query(ctx, bench.FlightQuery)
		if qerr != nil {
			return res, qerr
		}
		res.Rows, err = bench.Drain(rr)
	case "sqlarrow":
		r, oerr := duckdb.New(db).OpenDataset(ctx, bench.FlightDataset)
		if oerr != nil {
			return res, oerr
		}
		defer r.Close()
		rr, qerr := r.Query(ctx, bench.FlightQuery)
		if qerr != nil {
			return res, qerr
		}
		res.Rows, err = bench.Drain(rr)
	case "arrow-api":
		res.Rows, err = arrowAPIRows(ctx, db, bench.FlightDataset, bench.FlightQuery)
		if errors.Is(err, errNoArrowAPI) {
			res.Skipped, err = "n/a: build with -tags duckdb_arrow", nil
		}
	case "flight":
		var server float64
		res.Rows, server, err = flightRows(ctx, db, &start)
		res.ServerPeakRSSMB = server
	default:
		err = fmt.Errorf("unknown phase %q", phase)
	}
	res.Seconds = time.Since(start).Seconds()
	return res, err
}

// flightRows starts a server child on db, streams the table from it and
// stops it; start is reset once the server listens.
func flightRows(ctx context.Context, db string, start *time.Time) (rows int64, serverRSS float64, err error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	args := []string{"-serve-db", db}
	if p := os.Getenv("FLIGHTBENCH_SERVER_CPUPROFILE"); p != "" {
		args = append(args, "-cpuprofile", p)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return 0, 0, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	br := bufio.NewReader(out)
	url, rerr := br.ReadString('\n')
	if rerr == nil {
		*start = time.Now()
		rows, err = bench.StreamFlight(ctx, strings.TrimSpace(url), bench.FlightQuery)
	} else {
		err = fmt.Errorf("server: %w", rerr)
	}
	elapsed := time.Since(*start)
	in.Close()
	// The server's last line is its peak RSS.
	last, _ := io.ReadAll(br)
	if werr := cmd.Wait(); err == nil {
		err = werr
	}
	serverRSS, _ = strconv.ParseFloat(strings.TrimSpace(string(last)), 64)
	*start = time.Now().Add(-elapsed) // the server's exit is not timed
	return rows, serverRSS, err
}

// serveUntilEOF serves db on loopback, prints the URL, stops when stdin
// closes and prints its peak RSS in MB.
func serveUntilEOF(db string) error {
	srv, err := serve.NewServer(serve.DuckDBFile(db, bench.FlightDataset), serve.Options{})
	if err != nil {
		return err
	}
	lis, err := listen()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	fmt.Println("grpc://" + lis.Addr().String())
	var g errgroup.Group
	g.Go(func() error { return srv.Serve(ctx, lis) })
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	err = g.Wait()
	fmt.Println(peakRSSMB())
	return err
}

func listen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "flightbench:", err)
	os.Exit(1)
}
