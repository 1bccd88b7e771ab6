// Command bigpage measures the peak memory of loading one big JSON page
// (issue 16: a 200 MB page peaked at 15x its size): for each page size and
// destination it serves one {"data":[...]} page from a file on a loopback
// API (sendfile, so the page takes none of the loader's memory), loads it
// with the REST source in a child process of its own, and prints the
// child's peak RSS (VmHWM) and its ratio to the page size.
//
//	go run ./bench/cmd/bigpage -mb 100,200 -dest duckdb,parquet
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/bench"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/rest"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/parquet"
)

type result struct {
	Rows      int64   `json:"rows"`
	PageMB    float64 `json:"page_mb"`
	Seconds   float64 `json:"seconds"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

func main() {
	mbs := flag.String("mb", "100,200", "page sizes in MB")
	dests := flag.String("dest", "duckdb,parquet", "destinations")
	chunked := flag.Bool("chunked", false, "send the page without Content-Length (chunked), as many APIs do")
	shape := flag.String("shape", "flat", "record shape: flat, nested (5 child rows each) or idtags ({\"id\":N,\"tags\":[\"a\",\"b\"]})")
	selector := flag.String("selector", "data", "the resource's data_selector (data[*].id reaches into the rows)")
	child := flag.String("child", "", "internal: load this page file into -dest and print JSON")
	flag.Parse()
	if *child != "" {
		res, err := load(*child, *dests, *selector, *chunked)
		if err != nil {
			fail(err)
		}
		json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	dir, err := os.MkdirTemp("", "bigpage-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "page MB\tdest\troot rows\tseconds\tpeak RSS MB\tx page\t")
	for _, s := range strings.Split(*mbs, ",") {
		mb, err := strconv.Atoi(s)
		if err != nil {
			fail(err)
		}
		file := filepath.Join(dir, s+".json")
		if err := writePage(file, mb, *shape); err != nil {
			fail(err)
		}
		for _, d := range strings.Split(*dests, ",") {
			res, err := runChild(file, d, *selector, *chunked)
			if err != nil {
				fail(err)
			}
			fmt.Fprintf(w, "%.0f\t%s\t%d\t%.2f\t%.0f\t%.1f\t\n", res.PageMB, d, res.Rows, res.Seconds, res.PeakRSSMB, res.PeakRSSMB/res.PageMB)
		}
		os.Remove(file)
	}
	w.Flush()
}

// writePage writes one {"data":[...]} page of about mb MB of records.
func writePage(path string, mb int, shape string) error {
	if shape == "idtags" {
		return writeIDTags(path, mb)
	}
	sample := bench.Pages(1000, 1000, bench.Shape(shape))[0]
	rows := int(float64(mb) * 1e6 / (float64(len(sample)) / 1000))
	return os.WriteFile(path, bench.Pages(rows, rows, bench.Shape(shape))[0], 0o600)
}

// writeIDTags writes a page of small records, {"id":N,"tags":["a","b"]},
// the shape whose parsed tree is largest for its bytes.
func writeIDTags(path string, mb int) error {
	b := append(make([]byte, 0, mb*1_000_000+64), `{"data":[`...)
	for n := 0; len(b) < mb*1_000_000; n++ {
		if n > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"id":%d,"tags":["a","b"]}`, n)
	}
	return os.WriteFile(path, append(b, "]}"...), 0o600)
}

func runChild(file, dest, selector string, chunked bool) (result, error) {
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(exe, "-child", file, "-dest", dest, "-selector", selector, "-chunked="+strconv.FormatBool(chunked))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("%s into %s: %w", file, dest, err)
	}
	var res result
	return res, json.Unmarshal(out, &res)
}

func load(file, dest, selector string, chunked bool) (result, error) {
	arrowbuf.MakeArrowDefault() // as the sluice command does
	st, err := os.Stat(file)
	if err != nil {
		return result{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/json")
		if !chunked {
			w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
			io.Copy(w, f) // sendfile
			return
		}
		io.Copy(w, struct{ io.Reader }{f}) // no ReaderFrom: chunked
	})}
	go srv.Serve(ln)
	defer srv.Close()

	dir, err := os.MkdirTemp("", "bigpage-load-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	var d sink.Destination = duckdb.New(filepath.Join(dir, "big.duckdb"))
	if dest == "parquet" {
		d = parquet.New(filepath.Join(dir, "bucket"))
	}
	cfg, err := rest.DecodeConfig(map[string]any{
		"client": map[string]any{"base_url": "http://" + ln.Addr().String() + "/"},
		"resources": []any{map[string]any{
			"name":     "users",
			"endpoint": map[string]any{"path": "page", "data_selector": selector, "paginator": "single_page"},
		}},
	}, "source")
	if err != nil {
		return result{}, err
	}
	src, err := rest.NewSource(cfg)
	if err != nil {
		return result{}, err
	}
	p, err := flow.NewPipeline("bigpage", d, flow.PipelinesDir(filepath.Join(dir, "pipelines")), flow.DatasetName("big"))
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	info, err := p.Run(context.Background(), src)
	if err != nil {
		return result{}, err
	}
	return result{Rows: info.RowCounts["users"], PageMB: float64(st.Size()) / 1e6,
		Seconds: time.Since(start).Seconds(), PeakRSSMB: peakRSSMB()}, nil
}

// peakRSSMB reads VmHWM (peak resident set) from /proc/self/status.
func peakRSSMB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bigpage:", err)
	os.Exit(1)
}
