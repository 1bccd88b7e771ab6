package parquet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/internal/family"
	"github.com/sluicehq/sluice/sink/internal/loadstate"
)

// active holds the loads in progress in this process, by the name of
// their staging folder (store.Name of <dataset>/.sluice-staging/<load_id>.<id>),
// so that Begin's cleanup leaves them alone.
var active = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

type load struct {
	loadstate.State // Begin's context, end and first failure

	d       *Destination
	st      store
	req     sink.LoadRequest
	ds      string // the dataset's key
	dsName  string // the dataset as errors name it
	staging string // key of the staging folder (local buckets)
	tabs    family.Tables
	writers map[string]*fileWriter // open file per table
	// files are the finished data files of each table: in staging on a
	// local bucket, in their table folders on an object store.
	files    map[string][]string
	tables   []string        // tables written, in first-write order
	replaced map[string]bool // replace tables written
	merged   map[string]bool // roots of merge families written
	imported map[string]bool // data files that are imported files
	// ice tells the tables that are Iceberg tables: their data files go
	// straight to <table>/data/ and are committed as snapshots.
	ice map[string]bool
}

var _ sink.Load = (*load)(nil)

// Begin starts a load. It first removes what killed processes left behind:
// staging folders of loads not running in this process, data files of
// loads that never reached _dlt_loads, and files that committed loads
// superseded.
func (d *Destination) Begin(ctx context.Context, req sink.LoadRequest) (sink.Load, error) {
	if d.err != nil {
		return nil, d.err
	}
	if err := checkName("dataset", req.Dataset); err != nil {
		return nil, err
	}
	if req.LoadID == "" || strings.ContainsAny(req.LoadID, `/\`) || strings.Contains(req.LoadID, sep) {
		return nil, fmt.Errorf("parquet: begin load: invalid load id %q", req.LoadID)
	}
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	active.Lock()
	defer active.Unlock()
	if err := d.cleanup(ctx, req.Dataset); err != nil {
		return nil, err
	}
	staging := keyJoin(req.Dataset, stagingDir, req.LoadID+"."+fileID())
	active.m[d.st.Name(staging)] = true
	return &load{
		d: d, st: d.st, req: req, State: loadstate.State{Name: "parquet", Ctx: ctx},
		ds: req.Dataset, dsName: d.st.Name(req.Dataset), staging: staging,
		tabs:     family.Tables{Schema: req.Schema, Snaps: map[string]*arrowbuf.Table{}},
		writers:  map[string]*fileWriter{},
		files:    map[string][]string{},
		replaced: map[string]bool{},
		merged:   map[string]bool{},
		imported: map[string]bool{},
		ice:      map[string]bool{},
	}, nil
}

// cleanup removes stray staging folders and data files of loads that are
// neither committed nor running in this process. Called with active locked.
func (d *Destination) cleanup(ctx context.Context, dataset string) error {
	stg := keyJoin(dataset, stagingDir)
	ents, err := d.st.List(ctx, stg)
	if err != nil {
		return storeErr(d.st, "clean", stg, err)
	}
	running := map[string]bool{}
	for name := range active.m {
		if dir, base := path.Split(name); dir == d.st.Name(stg)+"/" {
			running[trimExt(base)] = true
		}
	}
	for _, e := range ents {
		p := keyJoin(stg, e.Name)
		if active.m[d.st.Name(p)] {
			continue
		}
		if err := d.st.RemoveAll(ctx, p); err != nil {
			return storeErr(d.st, "clean", p, err)
		}
	}
	loads, err := d.committedLoads(ctx, dataset)
	if err != nil {
		return err
	}
	ok := committedSet(loads)
	// Iceberg tables: snapshots of loads killed before _dlt_loads go.
	// Their data files stay (other engines may read old snapshots).
	if err := d.rewindLake(ctx, dataset, func(id string) bool { return ok[id] || running[id] }); err != nil {
		return err
	}
	if err := d.removeSuperseded(ctx, dataset, ok); err != nil {
		return storeErr(d.st, "clean", dataset, err)
	}
	// Markers of loads that never committed.
	if ents, err := d.st.List(ctx, keyJoin(dataset, supersedeDir)); err == nil {
		for _, e := range ents {
			if id := strings.TrimSuffix(e.Name, ".json"); !ok[id] && !running[id] {
				_ = d.st.Remove(ctx, keyJoin(dataset, supersedeDir, e.Name))
			}
		}
	}
	tables, err := d.tableDirs(ctx, dataset)
	if err != nil {
		return err
	}
	for _, t := range tables {
		files, err := d.tableFiles(ctx, keyJoin(dataset, t))
		if err != nil {
			return err
		}
		for _, f := range files {
			if !ok[f.loadID] && !running[f.loadID] {
				if err := d.st.Remove(ctx, f.path); err != nil {
					return storeErr(d.st, "clean", f.path, err)
				}
			}
		}
	}
	return nil
}

// fileID returns a random id of 10 hex characters, like dlt's file ids.
func fileID() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newFileKey is where the load writes a new data file of table t: its
// staging folder on a local bucket, the table's folder on an object store
// (a file whose load has no _dlt_loads file is invisible; renaming objects
// would copy them).
func (l *load) newFileKey(t string) string {
	name := dataFileName(l.req.LoadID, fileID())
	if l.ice[t] {
		// Not referenced by a snapshot until the load commits.
		return keyJoin(l.ds, t, icebergData, name)
	}
	if l.st.Local() {
		return keyJoin(l.staging, t, name)
	}
	return keyJoin(l.ds, t, name)
}

// Rollback removes the load's files. It is a no-op after Commit.
func (l *load) Rollback() error {
	if l.Done {
		return nil
	}
	l.Done = true
	for _, w := range l.writers {
		w.abort()
	}
	clear(l.writers)
	var err error
	ctx := context.WithoutCancel(l.Ctx)
	for t, files := range l.files {
		if !l.st.Local() || l.ice[t] {
			// The load's files are in their table folders.
			for _, p := range files {
				if rerr := l.st.Remove(ctx, p); err == nil {
					err = rerr
				}
			}
		}
	}
	if rerr := l.release(); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("parquet: rollback load %s: %w", l.req.LoadID, err)
	}
	return nil
}

// release removes the staging folder (and the staging root when empty).
func (l *load) release() error {
	active.Lock()
	defer active.Unlock()
	delete(active.m, l.st.Name(l.staging))
	if !l.st.Local() {
		return nil
	}
	err := l.st.RemoveAll(l.Ctx, l.staging)
	_ = os.Remove(l.st.Name(path.Dir(l.staging))) // fails while other loads run
	return err
}
