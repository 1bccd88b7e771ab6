package parquet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// supersedeDir holds one marker per load that replaces, truncates or drops
// tables: <load_id>.json lists those tables. The marker is written before
// the load's _dlt_loads file, so once the load is committed readers hide the
// tables' files of earlier loads even if the process dies before deleting
// them; the old files are deleted only after the commit point. A kill at any
// moment thus shows either the old rows or the new ones, never neither.
const supersedeDir = ".sluice-supersede"

type supersedeDoc struct {
	Tables []string `json:"tables"`
}

func supersedePath(dsDir, loadID string) string {
	return filepath.Join(dsDir, supersedeDir, loadID+".json")
}

// writeSupersede records that loadID supersedes the earlier files of tables.
func writeSupersede(dsDir, loadID string, tables []string) error {
	if err := os.MkdirAll(filepath.Join(dsDir, supersedeDir), 0o755); err != nil {
		return err
	}
	b := []byte(`{"tables":[`)
	for i, t := range tables {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, t...) // table names are checked identifiers
		b = append(b, '"')
	}
	b = append(b, "]}"...)
	return writeFileSync(supersedePath(dsDir, loadID), b)
}

// cutoffs maps each table to the newest committed load that superseded it:
// its files of older loads are not part of the dataset any more.
func cutoffs(dsDir string, committed map[string]bool) (map[string]string, error) {
	ents, err := os.ReadDir(filepath.Join(dsDir, supersedeDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("parquet: list %s: %w", supersedeDir, err)
	}
	cut := map[string]string{}
	for _, e := range ents {
		id := strings.TrimSuffix(e.Name(), ".json")
		if !committed[id] {
			continue
		}
		var doc supersedeDoc
		if err := readJSON(filepath.Join(dsDir, supersedeDir, e.Name()), &doc); err != nil {
			return nil, err
		}
		for _, t := range doc.Tables {
			if laterLoad(id, cut[t]) {
				cut[t] = id
			}
		}
	}
	return cut, nil
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
// committed and no committed later load superseded the table.
func visible(f dataFile, table string, committed map[string]bool, cut map[string]string) bool {
	if !committed[f.loadID] {
		return false
	}
	c := cut[table]
	return c == "" || f.loadID == c || laterLoad(f.loadID, c)
}

// removeSuperseded deletes the files that committed supersede markers hide,
// then the markers (done after a commit, and again by Begin when a process
// died between the two).
func removeSuperseded(dsDir string, committed map[string]bool) error {
	cut, err := cutoffs(dsDir, committed)
	if err != nil {
		return err
	}
	for t := range cut {
		files, err := tableFiles(filepath.Join(dsDir, t))
		if err != nil {
			return err
		}
		left := 0
		for _, f := range files {
			if committed[f.loadID] && !visible(f, t, committed, cut) {
				if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
				continue
			}
			left++
		}
		if left == 0 {
			// A dropped table: its folder goes too (init file included).
			_ = os.RemoveAll(filepath.Join(dsDir, t))
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dsDir, supersedeDir))
	for _, e := range ents {
		if committed[strings.TrimSuffix(e.Name(), ".json")] {
			_ = os.Remove(filepath.Join(dsDir, supersedeDir, e.Name()))
		}
	}
	return nil
}
