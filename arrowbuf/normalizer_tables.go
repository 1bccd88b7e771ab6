package arrowbuf

import (
	"fmt"
	"strings"
)

// typedColumns returns the table's data columns that have a type, with
// their positions.
func (s *Schema) typedColumns(table string) ([]Column, []int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var cols []Column
	var pos []int
	for i, c := range s.byName[table].Columns {
		if c.DataType != "" && !IsSystemColumn(c.Name) {
			cols = append(cols, *c)
			pos = append(pos, i)
		}
	}
	return cols, pos
}

type tableInfo struct {
	rootLike, propRoot, merge bool
	maxNesting                int
	wd                        WriteDisposition
}

// ensureTable creates a table (nested when parent is set) and returns what
// the normalizer needs to know about it. A new table is subject to the
// tables mode of its root's contract, as in dlt: a root table that has not
// seen data yet, and a nested table that appears under a parent that has
// (on the first load of a table its nested tables come with it). Freeze
// fails naming the table; discard_row and discard_value drop the table's
// rows (errDiscardTable).
func (s *Schema) ensureTable(name, parent string) (tableInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byName[name]
	if t == nil || !t.SeenData {
		var mode ContractMode
		switch {
		case parent == "" && t != nil:
			mode = contractOf(t).Tables
		case parent != "":
			if p := s.byName[parent]; p != nil && p.SeenData {
				mode = contractOf(s.rootOfLocked(p)).Tables
			}
		}
		switch mode {
		case Freeze:
			if parent != "" {
				return tableInfo{}, fmt.Errorf("%w: new table %q nested in %q (tables: freeze)", ErrContract, name, parent)
			}
			return tableInfo{}, fmt.Errorf("%w: new table %q (tables: freeze)", ErrContract, name)
		case DiscardRow, DiscardValue:
			return tableInfo{}, errDiscardTable
		}
	}
	if t == nil {
		t = &Table{Name: name, Parent: parent, WriteDisposition: Append}
		s.addTableLocked(t)
		if h, ok := s.nested[name]; ok {
			s.applyTableHintsLocked(t, h)
		}
	}
	root := s.rootOfLocked(t)
	info := tableInfo{propRoot: propagatesRoot(root), merge: root.WriteDisposition == Merge, wd: root.WriteDisposition,
		maxNesting: DefaultMaxTableNesting}
	if t.Parent != "" {
		t.WriteDisposition = root.WriteDisposition
		info.rootLike = hasPrimaryKey(t)
	}
	if root.MaxNesting != nil {
		info.maxNesting = *root.MaxNesting
	}
	return info, nil
}

var errDiscardTable = fmt.Errorf("arrowbuf: nested table discarded by contract")

func contractOf(t *Table) Contract {
	if t.Contract == nil {
		return Contract{}
	}
	return *t.Contract
}

type action uint8

const (
	actOK action = iota
	actDiscardRow
	actDiscardValue
)

// resolveColumn returns the schema column name of table, creating it with
// type typ when it is missing or has no type yet, subject to the table's
// contract (columns mode, or data_type mode for variants).
func (s *Schema) resolveColumn(table string, tmpl Column) (Column, int, action, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byName[table]
	c := s.columnLocked(t, tmpl.Name)
	if c != nil && c.DataType != "" {
		return *c, s.colIdx[table][c.Name], actOK, nil
	}
	if t.SeenData && c == nil && !IsSystemColumn(tmpl.Name) {
		ct := contractOf(s.rootOfLocked(t))
		mode, what := ct.Columns, "columns"
		if tmpl.Variant {
			mode, what = ct.DataType, "data_type"
		}
		switch mode {
		case Freeze:
			if tmpl.Variant {
				// Name the column the value was for, not its variant.
				base := tmpl.Name
				if i := strings.LastIndex(base, PathSeparator+"v_"); i > 0 {
					base = base[:i]
				}
				return Column{}, 0, actOK, fmt.Errorf("%w: table %q column %q: a %s value does not fit its type (%s: freeze)", ErrContract, table, base, tmpl.DataType, what)
			}
			return Column{}, 0, actOK, fmt.Errorf("%w: table %q column %q (%s: freeze)", ErrContract, table, tmpl.Name, what)
		case DiscardRow:
			return Column{}, 0, actDiscardRow, nil
		case DiscardValue:
			return Column{}, 0, actDiscardValue, nil
		}
	}
	if c != nil {
		c.DataType = tmpl.DataType
		return *c, s.colIdx[table][c.Name], actOK, nil
	}
	cp := tmpl
	c, pos := s.addColumnLocked(t, &cp)
	return *c, pos, actOK, nil
}

// isWrittenSysColumn reports whether name is a column the normalizer fills
// itself in some table.
func isWrittenSysColumn(name string) bool {
	switch name {
	case ColID, ColLoadID, ColParentID, ColListIdx, ColRootID:
		return true
	}
	return false
}

// IsSystemColumn reports whether name is one of dlt's _dlt_* columns.
func IsSystemColumn(name string) bool { return len(name) > 5 && name[:5] == "_dlt_" }

func (s *Schema) markSeen(table string) {
	s.mu.Lock()
	if t := s.byName[table]; t != nil {
		t.SeenData = true
	}
	s.mu.Unlock()
}

// columnType is the hinted type of a column, or "" when it has none.
func (s *Schema) columnType(table, name string) DataType {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.byName[table]; t != nil {
		if c := s.columnLocked(t, name); c != nil {
			return c.DataType
		}
	}
	return ""
}

// snapshot returns the table with exactly cols, in schema order.
func (s *Schema) snapshot(name string, cols []*colBuf) *Table {
	s.mu.RLock()
	t := s.byName[name]
	out := &Table{Name: t.Name, Parent: t.Parent, Resource: t.Resource, WriteDisposition: t.WriteDisposition,
		FileFormat: t.FileFormat, TableFormat: t.TableFormat, SeenData: t.SeenData}
	if t.Contract != nil {
		c := *t.Contract
		out.Contract = &c
	}
	if t.Parent != "" {
		root := s.rootOfLocked(t)
		out.WriteDisposition = root.WriteDisposition
		out.TableFormat = root.TableFormat
		if out.Resource == "" {
			out.Resource = root.Resource
		}
	}
	s.mu.RUnlock()
	out.Columns = make([]*Column, len(cols))
	for i, c := range cols {
		cp := c.col
		out.Columns[i] = &cp
	}
	return out
}
