package flow

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/names"
	"github.com/sluicehq/sluice/sink"
)

// Pipeline loads sources into one dataset of one destination. A Pipeline
// keeps its working state in PipelinesDir/<name>/. Run may be called many
// times, one at a time.
type Pipeline struct {
	name       string
	dataset    string
	dest       sink.Destination
	dir        string
	sequential bool
	workers    int
	batchRows  int
	progress   progressCounters
}

// PipelineOption configures a Pipeline.
type PipelineOption func(*Pipeline)

// DatasetName sets the dataset name (default <pipeline>_dataset).
// NewPipeline normalizes it as dlt does: "MyData Set" is my_data_set.
func DatasetName(name string) PipelineOption { return func(p *Pipeline) { p.dataset = name } }

// Dataset sets the dataset name.
//
// Deprecated: use DatasetName (Pipeline.Dataset is the dataset's handle).
func Dataset(name string) PipelineOption { return DatasetName(name) }

// PipelinesDir sets where working state is kept (default
// $SLUICE_PIPELINES_DIR, else ~/.sluice/pipelines).
func PipelinesDir(dir string) PipelineOption { return func(p *Pipeline) { p.dir = dir } }

// Sequential runs resources one after another in declaration order, except
// those marked Parallelized. By default resources run concurrently.
func Sequential() PipelineOption { return func(p *Pipeline) { p.sequential = true } }

// NormalizeWorkers sets how many goroutines normalize (default GOMAXPROCS).
func NormalizeWorkers(n int) PipelineOption {
	return func(p *Pipeline) {
		if n > 0 {
			p.workers = n
		}
	}
}

// BatchRows sets how many rows per table are gathered into one record batch
// before it goes to the destination. The default is the destination's own
// (see BatchSizer), else 50,000: larger batches cost less per row, smaller
// ones keep less memory in flight.
func BatchRows(n int) PipelineOption {
	return func(p *Pipeline) {
		if n > 0 {
			p.batchRows = n
		}
	}
}

var validName = regexp.MustCompile(`^[a-z0-9_]+$`)

// NewPipeline returns a pipeline named name loading into dest.
func NewPipeline(name string, dest sink.Destination, opts ...PipelineOption) (*Pipeline, error) {
	if dest == nil {
		return nil, errors.New("flow: pipeline needs a destination")
	}
	p := &Pipeline{name: names.Pipeline(name), dest: dest, workers: runtime.GOMAXPROCS(0)}
	if !validName.MatchString(p.name) {
		return nil, fmt.Errorf("flow: pipeline name %q: must have letters, digits or _", name)
	}
	for _, o := range opts {
		o(p)
	}
	if p.batchRows == 0 {
		p.batchRows = 50_000
		if bs, ok := dest.(sink.BatchSizer); ok && bs.BatchRows() > 0 {
			p.batchRows = bs.BatchRows()
		}
	}
	p.dataset = names.Dataset(p.dataset)
	if p.dataset == "" {
		// Literally <pipeline>_dataset: the name is normalized already,
		// and the table rule would fold its "__" ("a  b" is a__b).
		p.dataset = p.name + "_dataset"
	}
	if !validName.MatchString(p.dataset) {
		return nil, fmt.Errorf("flow: dataset name %q: must have letters, digits or _", p.dataset)
	}
	if p.dir == "" {
		p.dir = DefaultPipelinesDir()
	}
	return p, nil
}

// DefaultPipelinesDir is $SLUICE_PIPELINES_DIR, else ~/.sluice/pipelines.
func DefaultPipelinesDir() string {
	if d := os.Getenv("SLUICE_PIPELINES_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".sluice", "pipelines")
}

// Name returns the pipeline name.
func (p *Pipeline) Name() string { return p.name }

// DatasetName returns the dataset name.
func (p *Pipeline) DatasetName() string { return p.dataset }

// Destination returns the pipeline's destination.
func (p *Pipeline) Destination() sink.Destination { return p.dest }

// WorkingDir is the pipeline's folder holding its local state.
func (p *Pipeline) WorkingDir() string { return filepath.Join(p.dir, p.name) }

// Progress is a snapshot of a run's counters.
type Progress struct {
	ResourcesRunning int64
	ResourcesDone    int64
	Batches          int64 // pages or chunks extracted
	Rows             int64 // items extracted
	RowsLoaded       int64 // root rows written to the destination
	Started          time.Time
}

type progressCounters struct {
	running, done, batches, rows, loaded atomic.Int64
	started                              atomic.Int64
}

// Progress returns the counters of the current (or last) run. It is safe to
// call from another goroutine while Run is in progress.
func (p *Pipeline) Progress() Progress {
	c := &p.progress
	return Progress{
		ResourcesRunning: c.running.Load(), ResourcesDone: c.done.Load(),
		Batches: c.batches.Load(), Rows: c.rows.Load(), RowsLoaded: c.loaded.Load(),
		Started: time.Unix(0, c.started.Load()),
	}
}

// LoadInfo describes a finished load, printed in dlt's shape by String.
type LoadInfo struct {
	PipelineName    string
	DestinationType string
	Location        string
	Dataset         string
	LoadID          string
	Started         time.Time
	Finished        time.Time
	// RowCounts holds rows written per table in this load.
	RowCounts map[string]int64
	// ResourceRows holds the rows each loaded resource passed on to its
	// tables (after its steps), nested rows not counted.
	ResourceRows map[string]int64
	// Warnings name what looks wrong though the load succeeded: a resource
	// that yielded no rows, or whose steps kept none.
	Warnings []string
}

// loadInfo describes the load just committed, with a warning for each
// loaded resource that passed no rows on (unless its limit is 0).
func (p *Pipeline) loadInfo(loadID string, started time.Time, plan *plan, counts map[string]int64) *LoadInfo {
	info := &LoadInfo{PipelineName: p.name, DestinationType: p.dest.Kind(), Location: p.dest.Location(),
		Dataset: p.dataset, LoadID: loadID, Started: started, Finished: time.Now(), RowCounts: counts,
		ResourceRows: map[string]int64{}}
	for _, n := range plan.loaded {
		kept, yielded := n.kept.Load(), n.yielded.Load()
		info.ResourceRows[n.res.name] = kept
		switch {
		case kept > 0 || n.res.limit != nil && n.res.limit.maxItems == 0:
		case yielded == 0:
			info.Warnings = append(info.Warnings, fmt.Sprintf("resource %q yielded no rows", n.res.name))
		default:
			info.Warnings = append(info.Warnings, fmt.Sprintf("resource %q yielded %d rows, but its steps (filters, incremental) kept none", n.res.name, yielded))
		}
	}
	return info
}

// String renders the load info as dlt prints it, then the rows per table
// as dlt's trace shows them and a line per warning.
func (li *LoadInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Pipeline %s load step completed in %.2f seconds\n", li.PipelineName, li.Finished.Sub(li.Started).Seconds())
	fmt.Fprintf(&b, "1 load package(s) were loaded to destination %s and into dataset %s\n", li.DestinationType, li.Dataset)
	fmt.Fprintf(&b, "The %s destination used %s location to store data\n", li.DestinationType, li.Location)
	fmt.Fprintf(&b, "Load package %s is LOADED and contains no failed jobs", li.LoadID)
	if len(li.RowCounts) > 0 {
		b.WriteString("\nNormalized data for the following tables:")
		for _, t := range slices.Sorted(maps.Keys(li.RowCounts)) {
			fmt.Fprintf(&b, "\n- %s: %d row(s)", t, li.RowCounts[t])
		}
	}
	for _, w := range li.Warnings {
		fmt.Fprintf(&b, "\nWarning: %s", w)
	}
	return b.String()
}

// writeFileAtomic writes through a temporary file and a rename so a crash
// never leaves a half-written file.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func newLoadID(now time.Time) string {
	return fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
}
