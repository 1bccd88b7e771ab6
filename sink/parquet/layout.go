package parquet

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/sink"
)

// loadDoc is one _dlt_loads file, as dlt's filesystem destination writes it.
type loadDoc struct {
	LoadID            string  `json:"load_id"`
	SchemaName        string  `json:"schema_name"`
	Status            int64   `json:"status"`
	InsertedAt        string  `json:"inserted_at"`
	SchemaVersionHash *string `json:"schema_version_hash"`
}

// stateDoc is one _dlt_pipeline_state file (dlt's pipeline state document).
type stateDoc struct {
	Version       int64  `json:"version"`
	EngineVersion int64  `json:"engine_version"`
	PipelineName  string `json:"pipeline_name"`
	State         string `json:"state"`
	CreatedAt     string `json:"created_at"`
	VersionHash   string `json:"version_hash"`
	LoadID        string `json:"_dlt_load_id"`
}

// versionDoc is one _dlt_version file (dlt's StorageSchemaInfo).
type versionDoc struct {
	VersionHash   string `json:"version_hash"`
	SchemaName    string `json:"schema_name"`
	Version       int64  `json:"version"`
	EngineVersion int64  `json:"engine_version"`
	InsertedAt    string `json:"inserted_at"`
	Schema        string `json:"schema"`
}

// sysFile is a file of a dlt system folder split into its name parts.
type sysFile struct {
	path  string
	parts []string
}

// listSys lists the files of a system folder whose name (without extension)
// has n parts separated by "__". A missing folder lists nothing.
func (d *Destination) listSys(ctx context.Context, dir string, n int) ([]sysFile, error) {
	ents, err := d.st.List(ctx, dir)
	if err != nil {
		return nil, storeErr(d.st, "list", dir, err)
	}
	var out []sysFile
	for _, e := range ents {
		if e.Dir || e.Name == initFile || strings.HasPrefix(e.Name, ".") {
			continue
		}
		parts := splitSys(trimExt(e.Name), n)
		if parts == nil {
			continue
		}
		out = append(out, sysFile{path: keyJoin(dir, e.Name), parts: parts})
	}
	return out, nil
}

// splitSys splits a system file name into n parts; the first part (schema
// or pipeline name) may itself contain "__", the others do not.
func splitSys(base string, n int) []string {
	parts := strings.Split(base, sep)
	if len(parts) < n {
		return nil
	}
	head := strings.Join(parts[:len(parts)-n+1], sep)
	return append([]string{head}, parts[len(parts)-n+1:]...)
}

// committedLoads reads the dataset's _dlt_loads files.
func (d *Destination) committedLoads(ctx context.Context, dataset string) ([]loadDoc, error) {
	files, err := d.listSys(ctx, keyJoin(dataset, loadsTable), 2)
	if err != nil {
		return nil, err
	}
	out := make([]loadDoc, 0, len(files))
	for _, f := range files {
		var doc loadDoc
		if err := d.readJSON(ctx, f.path, &doc); err != nil {
			return nil, err
		}
		if doc.LoadID == "" {
			doc.LoadID = f.parts[1]
		}
		out = append(out, doc)
	}
	return out, nil
}

func committedSet(loads []loadDoc) map[string]bool {
	m := make(map[string]bool, len(loads))
	for _, l := range loads {
		if l.Status == 0 {
			m[l.LoadID] = true
		}
	}
	return m
}

func (d *Destination) readJSON(ctx context.Context, key string, v any) error {
	b, err := d.st.ReadFile(ctx, key)
	if err != nil {
		return storeErr(d.st, "read", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return storeErr(d.st, "read", key, err)
	}
	return nil
}

// LastState returns the newest state of the pipeline stored by a committed
// load: the highest version, then the latest created_at.
func (d *Destination) LastState(ctx context.Context, dataset, pipeline string) (*sink.StoredState, error) {
	if d.err != nil {
		return nil, d.err
	}
	loads, err := d.committedLoads(ctx, dataset)
	if err != nil {
		return nil, err
	}
	ok := committedSet(loads)
	files, err := d.listSys(ctx, keyJoin(dataset, stateTable), 3)
	if err != nil {
		return nil, err
	}
	var best *sink.StoredState
	for _, f := range files {
		if f.parts[0] != pipeline || !ok[f.parts[1]] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var doc stateDoc
		if err := d.readJSON(ctx, f.path, &doc); err != nil {
			return nil, err
		}
		created, err := parseTime(doc.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("parquet: state %s: %w", d.st.Name(f.path), err)
		}
		s := &sink.StoredState{PipelineName: doc.PipelineName, Version: doc.Version, EngineVersion: doc.EngineVersion,
			State: doc.State, Hash: doc.VersionHash, CreatedAt: created}
		if best == nil || s.Version > best.Version || s.Version == best.Version && s.CreatedAt.After(best.CreatedAt) {
			best = s
		}
	}
	if best == nil {
		return nil, sink.ErrNoState
	}
	return best, nil
}

// LastSchema returns the newest schema document stored in _dlt_version for
// schemaName: the highest version, then the latest inserted_at.
func (d *Destination) LastSchema(ctx context.Context, dataset, schemaName string) ([]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	files, err := d.listSys(ctx, keyJoin(dataset, versionTable), 3)
	if err != nil {
		return nil, err
	}
	var best *versionDoc
	var bestAt time.Time
	for _, f := range files {
		if f.parts[0] != schemaName {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var doc versionDoc
		if err := d.readJSON(ctx, f.path, &doc); err != nil {
			return nil, err
		}
		at, _ := parseTime(doc.InsertedAt)
		if best == nil || doc.Version > best.Version || doc.Version == best.Version && at.After(bestAt) {
			best, bestAt = &doc, at
		}
	}
	if best == nil {
		return nil, sink.ErrNoState
	}
	return []byte(best.Schema), nil
}

// tableDirs lists the data table folders of a dataset (not _dlt_* nor dot
// folders), sorted.
func (d *Destination) tableDirs(ctx context.Context, dataset string) ([]string, error) {
	ents, err := d.st.List(ctx, dataset)
	if err != nil {
		return nil, storeErr(d.st, "list", dataset, err)
	}
	var out []string
	for _, e := range ents {
		if !e.Dir || strings.HasPrefix(e.Name, ".") || strings.HasPrefix(e.Name, "_dlt_") {
			continue
		}
		out = append(out, e.Name)
	}
	slices.Sort(out)
	return out, nil
}

// dataFile is one Parquet file of a table folder.
type dataFile struct {
	path   string // key
	loadID string
}

// name is the file's name in its table folder.
func (f dataFile) name() string { return path.Base(f.path) }

// tableFiles lists the data files of a table folder (key), sorted by name.
// A missing folder lists nothing.
func (d *Destination) tableFiles(ctx context.Context, dir string) ([]dataFile, error) {
	ents, err := d.st.List(ctx, dir)
	if err != nil {
		return nil, storeErr(d.st, "list", dir, err)
	}
	var out []dataFile
	for _, e := range ents {
		if e.Dir || strings.HasPrefix(e.Name, ".") {
			continue
		}
		if id, ok := parseDataFile(e.Name); ok {
			out = append(out, dataFile{path: keyJoin(dir, e.Name), loadID: id})
		}
	}
	slices.SortFunc(out, func(a, b dataFile) int { return strings.Compare(a.path, b.path) })
	return out, nil
}
