package parquet

import (
	"context"
	"encoding/json"
	"strings"
)

// supersedeDir holds one marker per load that supersedes earlier data
// files: <load_id>.json lists the tables the load replaces, truncates or
// drops (all their files of earlier loads) and the single files a merge
// rewrote without its removed rows ("table/name"). The marker is written
// before the load's _dlt_loads file, so once the load is committed readers
// hide those files even if the process dies before deleting them; the old
// files are deleted only after the commit point. A kill at any moment thus
// shows either the old rows or the new ones, never neither and never both.
const supersedeDir = ".sluice-supersede"

type supersedeDoc struct {
	Tables []string `json:"tables"`
	Files  []string `json:"files,omitempty"`
}

func supersedePath(dataset, loadID string) string {
	return keyJoin(dataset, supersedeDir, loadID+".json")
}

// writeSupersede records that loadID supersedes the earlier files of tables
// and the single files ("table/name").
func (d *Destination) writeSupersede(ctx context.Context, dataset, loadID string, tables, files []string) error {
	if tables == nil {
		tables = []string{} // "tables" stays a list, as older markers have it
	}
	b, err := json.Marshal(supersedeDoc{Tables: tables, Files: files})
	if err != nil {
		return err
	}
	return writeFile(ctx, d.st, supersedePath(dataset, loadID), b)
}

// hidden is what the committed supersede markers hide.
type hidden struct {
	// cut maps each table to the newest committed load that superseded it:
	// its files of older loads are not part of the dataset any more.
	cut map[string]string
	// files are single files ("table/name") replaced by rewritten copies.
	files map[string]bool
}

// readHidden reads the markers of committed loads.
func (d *Destination) readHidden(ctx context.Context, dataset string, committed map[string]bool) (hidden, error) {
	h := hidden{cut: map[string]string{}, files: map[string]bool{}}
	dir := keyJoin(dataset, supersedeDir)
	ents, err := d.st.List(ctx, dir)
	if err != nil {
		return h, storeErr(d.st, "list", dir, err)
	}
	for _, e := range ents {
		id := strings.TrimSuffix(e.Name, ".json")
		if !committed[id] {
			continue
		}
		var doc supersedeDoc
		if err := d.readJSON(ctx, keyJoin(dir, e.Name), &doc); err != nil {
			return h, err
		}
		for _, t := range doc.Tables {
			if laterLoad(id, h.cut[t]) {
				h.cut[t] = id
			}
		}
		for _, f := range doc.Files {
			h.files[f] = true
		}
	}
	return h, nil
}

// laterLoad reports whether load id a is newer than b ("" is oldest). Load
// ids are unix seconds with a fraction.
func laterLoad(a, b string) bool {
	if b == "" {
		return true
	}
	ai, af, _ := strings.Cut(a, ".")
	bi, bf, _ := strings.Cut(b, ".")
	if len(ai) != len(bi) {
		return len(ai) > len(bi)
	}
	if ai != bi {
		return ai > bi
	}
	return af > bf
}

// visible reports whether a table's file belongs to the dataset: its load
// committed, no committed later load superseded the table and no committed
// merge replaced the file.
func (h hidden) visible(f dataFile, table string, committed map[string]bool) bool {
	if !committed[f.loadID] || h.files[table+"/"+f.name()] {
		return false
	}
	c := h.cut[table]
	return c == "" || f.loadID == c || laterLoad(f.loadID, c)
}

// removeSuperseded deletes the files that committed supersede markers hide,
// then the markers (done after a commit, and again by Begin when a process
// died between the two).
func (d *Destination) removeSuperseded(ctx context.Context, dataset string, committed map[string]bool) error {
	h, err := d.readHidden(ctx, dataset, committed)
	if err != nil {
		return err
	}
	for f := range h.files {
		table, name, _ := strings.Cut(f, "/")
		if checkName("table", table) != nil || checkName("file", name) != nil {
			continue // not a name this package writes
		}
		if err := d.st.Remove(ctx, keyJoin(dataset, table, name)); err != nil {
			return err
		}
	}
	for t := range h.cut {
		files, err := d.tableFiles(ctx, keyJoin(dataset, t))
		if err != nil {
			return err
		}
		left := 0
		for _, f := range files {
			if committed[f.loadID] && !h.visible(f, t, committed) {
				if err := d.st.Remove(ctx, f.path); err != nil {
					return err
				}
				continue
			}
			left++
		}
		if ice, _ := d.isLakeTable(ctx, dataset, t); left == 0 && !ice {
			// A dropped table: its folder goes too (init file included).
			_ = d.st.RemoveAll(ctx, keyJoin(dataset, t))
		}
	}
	ents, _ := d.st.List(ctx, keyJoin(dataset, supersedeDir))
	for _, e := range ents {
		if committed[strings.TrimSuffix(e.Name, ".json")] {
			_ = d.st.Remove(ctx, keyJoin(dataset, supersedeDir, e.Name))
		}
	}
	return nil
}
