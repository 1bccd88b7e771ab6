package arrowbuf

import (
	"bytes"
	"crypto/sha3"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/valyala/fastjson"
)

// ErrContract is wrapped by errors returned when a schema contract in
// freeze mode rejects a new table, column or data type.
var ErrContract = errors.New("arrowbuf: schema contract violation")

// EngineVersion is dlt 1.11's schema engine version: the schema document's
// engine_version and the _dlt_version row's must agree.
const EngineVersion = 11

// DefaultMaxTableNesting is dlt's default max_table_nesting.
const DefaultMaxTableNesting = 1000

// System column names.
const (
	ColLoadID   = "_dlt_load_id"
	ColID       = "_dlt_id"
	ColParentID = "_dlt_parent_id"
	ColListIdx  = "_dlt_list_idx"
	ColRootID   = "_dlt_root_id"
)

// IsSystemTable reports whether name is one of dlt's own tables (_dlt_*).
func IsSystemTable(name string) bool { return strings.HasPrefix(name, "_dlt_") }

// completeClone clones t without columns that have no data type yet.
func completeClone(t *Table) *Table {
	c := t.Clone()
	c.Columns = slices.DeleteFunc(c.Columns, func(col *Column) bool { return col.DataType == "" })
	return c
}

// ArrowType maps a column's dlt type to the Arrow type of its record field.
func ArrowType(c *Column) arrow.DataType {
	switch c.DataType {
	case TypeBigint:
		return arrow.PrimitiveTypes.Int64
	case TypeDouble:
		return arrow.PrimitiveTypes.Float64
	case TypeBool:
		return arrow.FixedWidthTypes.Boolean
	case TypeTimestamp:
		if c.Timezone != nil && !*c.Timezone {
			return &arrow.TimestampType{Unit: arrow.Microsecond}
		}
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case TypeDate:
		return arrow.FixedWidthTypes.Date32
	case TypeTime:
		return arrow.FixedWidthTypes.Time64us
	case TypeDecimal:
		p, s := decimalPS(c)
		return &arrow.Decimal128Type{Precision: int32(p), Scale: int32(s)}
	case TypeWei:
		return &arrow.Decimal128Type{Precision: 38, Scale: 0}
	case TypeBinary:
		return arrow.BinaryTypes.Binary
	default: // text, json
		return arrow.BinaryTypes.String
	}
}

func decimalPS(c *Column) (int, int) {
	p, s := c.Precision, c.Scale
	if p == 0 {
		p, s = 38, 9
		if c.Scale != 0 {
			s = c.Scale
		}
	}
	return p, s
}

// MetaDataType is the Arrow field metadata key naming a column's dlt data
// type where the Arrow type does not tell it: "json" for JSON as text.
const MetaDataType = "dlt.data_type"

// arrowField is the record field for a column; JSON columns say so in the
// field metadata because their Arrow type is plain string.
func arrowField(c *Column) arrow.Field {
	f := arrow.Field{Name: c.Name, Type: ArrowType(c), Nullable: c.Nullable}
	if c.DataType == TypeJSON {
		f.Metadata = arrow.NewMetadata([]string{MetaDataType}, []string{string(TypeJSON)})
	}
	return f
}

// ApplyHints creates or updates the root table of a resource from its hints.
// table is the raw table name (normalized here). Hinted columns are created
// first, in order, nullable unless NotNull is set (see Column); primary key
// columns become not null. It may be called again with the same hints at
// no cost.
func (s *Schema) ApplyHints(table, resource string, h TableHints) error {
	name := NormalizeTableIdentifier(table)
	if name == "" {
		return fmt.Errorf("arrowbuf: ApplyHints: empty table name")
	}
	if err := checkNullHints(name, h); err != nil {
		return err
	}
	if err := checkTableFormatHints(name, h); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byName[name]
	if t == nil {
		t = s.addTableLocked(&Table{Name: name, WriteDisposition: Append})
	}
	if resource != "" {
		t.Resource = resource
	}
	s.applyTableHintsLocked(t, h)
	for path, nh := range h.NestedHints {
		var parts []string
		for _, p := range strings.Split(path, PathSeparator) {
			if strings.TrimSpace(p) != "" {
				parts = append(parts, NormalizeTableIdentifier(p))
			}
		}
		full := name + PathSeparator + strings.Join(parts, PathSeparator)
		s.nested[full] = nh
		if nt := s.byName[full]; nt != nil {
			s.applyTableHintsLocked(nt, nh)
		}
	}
	return nil
}

func (s *Schema) addTableLocked(t *Table) *Table {
	s.tables = append(s.tables, t)
	s.byName[t.Name] = t
	idx := make(map[string]int, len(t.Columns))
	for i, c := range t.Columns {
		idx[c.Name] = i
	}
	s.colIdx[t.Name] = idx
	return t
}

func (s *Schema) columnLocked(t *Table, name string) *Column {
	if i, ok := s.colIdx[t.Name][name]; ok {
		return t.Columns[i]
	}
	return nil
}

func (s *Schema) addColumnLocked(t *Table, c *Column) (*Column, int) {
	t.Columns = append(t.Columns, c)
	pos := len(t.Columns) - 1
	s.colIdx[t.Name][c.Name] = pos
	return c, pos
}

func (s *Schema) applyTableHintsLocked(t *Table, h TableHints) {
	if h.WriteDisposition != "" && t.Parent == "" {
		t.WriteDisposition = h.WriteDisposition
	}
	if h.Contract != nil {
		c := *h.Contract
		t.Contract = &c
	}
	if h.FileFormat != "" {
		t.FileFormat = h.FileFormat
	}
	if h.TableFormat != "" && t.Parent == "" {
		t.TableFormat = h.TableFormat
	}
	if h.MaxTableNesting != nil {
		m := *h.MaxTableNesting
		t.MaxNesting = &m
	}
	for _, hc := range h.Columns {
		hc.Name = NormalizePath(hc.Name)
		c := s.columnLocked(t, hc.Name)
		if c == nil {
			cp := hc
			cp.Nullable = !hc.NotNull && !hc.PrimaryKey
			cp.NotNull = false
			s.addColumnLocked(t, &cp)
			continue
		}
		// A type set by data stays: existing rows were written with it.
		if c.DataType == "" || !t.SeenData {
			if hc.DataType != "" {
				c.DataType = hc.DataType
			}
			if hc.Precision != 0 {
				c.Precision, c.Scale = hc.Precision, hc.Scale
			}
			if hc.Timezone != nil {
				tz := *hc.Timezone
				c.Timezone = &tz
			}
		}
		c.PrimaryKey = c.PrimaryKey || hc.PrimaryKey
		c.MergeKey = c.MergeKey || hc.MergeKey
		c.Unique = c.Unique || hc.Unique
		switch {
		case hc.NotNull || c.PrimaryKey:
			c.Nullable = false
		case hc.Nullable:
			c.Nullable = true
		}
	}
	if len(h.PrimaryKey) > 0 {
		pk := normalizeNames(h.PrimaryKey)
		for _, c := range t.Columns {
			if c.PrimaryKey && !slices.Contains(pk, c.Name) {
				c.PrimaryKey = false
				c.Nullable = true
			}
		}
		for _, n := range pk {
			c := s.columnLocked(t, n)
			if c == nil {
				c, _ = s.addColumnLocked(t, &Column{Name: n})
			}
			c.PrimaryKey, c.Nullable = true, false
		}
	}
	if len(h.MergeKey) > 0 {
		mk := normalizeNames(h.MergeKey)
		for _, c := range t.Columns {
			c.MergeKey = slices.Contains(mk, c.Name)
		}
		for _, n := range mk {
			if c := s.columnLocked(t, n); c == nil {
				s.addColumnLocked(t, &Column{Name: n, MergeKey: true, Nullable: true})
			}
		}
	}
}

// checkNullHints refuses a column hint that is both Nullable and NotNull.
func checkNullHints(table string, h TableHints) error {
	for _, c := range h.Columns {
		if c.Nullable && c.NotNull {
			return fmt.Errorf("arrowbuf: table %q column %q: hint sets both Nullable and NotNull", table, c.Name)
		}
	}
	for path, nh := range h.NestedHints {
		if err := checkNullHints(table+PathSeparator+path, nh); err != nil {
			return err
		}
	}
	return nil
}

func normalizeNames(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		// dlt accepts "a,b" as a compound key written as one string.
		for _, p := range strings.Split(n, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, NormalizePath(p))
			}
		}
	}
	return out
}

// PutTable adds or replaces a table (a deep copy of t).
func (s *Schema) PutTable(t *Table) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := t.Clone()
	if old := s.byName[c.Name]; old != nil {
		i := slices.Index(s.tables, old)
		s.tables[i] = c
		s.byName[c.Name] = c
		idx := make(map[string]int, len(c.Columns))
		for i, col := range c.Columns {
			idx[col.Name] = i
		}
		s.colIdx[c.Name] = idx
		return
	}
	s.addTableLocked(c)
}

// AddColumn adds a column to an existing table unless one of that name
// exists; it reports whether the column was added.
func (s *Schema) AddColumn(table string, c Column) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byName[table]
	if t == nil {
		return false, fmt.Errorf("arrowbuf: AddColumn: no table %q", table)
	}
	if s.columnLocked(t, c.Name) != nil {
		return false, nil
	}
	s.addColumnLocked(t, &c)
	return true, nil
}

// Column returns a copy of the named column of a table, or nil.
func (s *Schema) Column(table, name string) *Column {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.byName[table]; t != nil {
		if c := s.columnLocked(t, name); c != nil {
			cp := *c
			return &cp
		}
	}
	return nil
}

// rootOfLocked walks parents up to the root table.
func (s *Schema) rootOfLocked(t *Table) *Table {
	for i := 0; t.Parent != "" && i < 1000; i++ {
		p := s.byName[t.Parent]
		if p == nil {
			break
		}
		t = p
	}
	return t
}

// propagatesRootLocked reports whether nested tables of root carry
// _dlt_root_id: merge tables with a primary or merge key.
func propagatesRoot(root *Table) bool {
	if root.WriteDisposition != Merge {
		return false
	}
	for _, c := range root.Columns {
		if c.PrimaryKey || c.MergeKey {
			return true
		}
	}
	return false
}

func hasPrimaryKey(t *Table) bool {
	for _, c := range t.Columns {
		if c.PrimaryKey {
			return true
		}
	}
	return false
}

// Version returns the schema version: it grows by one whenever the content
// changed since the previous call (or since the schema was loaded).
func (s *Schema) Version() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bumpLocked()
	return s.version
}

// VersionHash returns the content hash of the current version.
func (s *Schema) VersionHash() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bumpLocked()
	return s.hash
}

func (s *Schema) bumpLocked() {
	h := s.contentHashLocked()
	if h != s.hash {
		if s.hash != "" {
			s.previous = append([]string{s.hash}, s.previous...)
			if len(s.previous) > 10 {
				s.previous = s.previous[:10]
			}
		}
		s.version++
		s.hash = h
	}
}

// contentHashLocked hashes the tables document: SHA3-256, base64, as dlt's
// version_hash (dlt hashes its own document, so values differ from dlt's).
func (s *Schema) contentHashLocked() string {
	var b bytes.Buffer
	b.WriteString(s.name)
	s.writeTablesLocked(&b)
	sum := sha3.Sum256(b.Bytes())
	return base64.StdEncoding.EncodeToString(sum[:])
}

// MarshalJSON writes dlt's schema document: version, version_hash,
// engine_version, name, tables (columns as an ordered object) and the
// normalizer settings.
func (s *Schema) MarshalJSON() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bumpLocked()
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"version":%d,"version_hash":%q,"engine_version":%d,"name":`, s.version, s.hash, EngineVersion)
	writeJSONString(&b, s.name)
	b.WriteString(`,"tables":`)
	s.writeTablesLocked(&b)
	b.WriteString(`,"settings":{"detections":["iso_timestamp"]},"normalizers":{"names":"snake_case","json":{"module":"dlt.common.normalizers.json.relational"}},"previous_hashes":`)
	prev, _ := json.Marshal(append([]string{}, s.previous...))
	b.Write(prev)
	b.WriteString("}")
	return b.Bytes(), nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	raw, _ := json.Marshal(s)
	b.Write(raw)
}

func (s *Schema) writeTablesLocked(b *bytes.Buffer) {
	b.WriteByte('{')
	for i, t := range s.tables {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, t.Name)
		b.WriteString(`:{"name":`)
		writeJSONString(b, t.Name)
		b.WriteString(`,"columns":{`)
		for j, c := range t.Columns {
			if j > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, c.Name)
			b.WriteByte(':')
			raw, _ := json.Marshal(c)
			b.Write(raw)
		}
		b.WriteByte('}')
		if t.Parent != "" {
			b.WriteString(`,"parent":`)
			writeJSONString(b, t.Parent)
		} else if t.WriteDisposition != "" {
			b.WriteString(`,"write_disposition":`)
			writeJSONString(b, string(t.WriteDisposition))
		}
		if t.Resource != "" {
			b.WriteString(`,"resource":`)
			writeJSONString(b, t.Resource)
		}
		// Root tables only, as dlt: nested tables inherit it.
		if t.TableFormat != "" && t.Parent == "" {
			b.WriteString(`,"table_format":`)
			writeJSONString(b, string(t.TableFormat))
		}
		if t.Contract != nil {
			raw, _ := json.Marshal(t.Contract)
			b.WriteString(`,"schema_contract":`)
			b.Write(raw)
		}
		if t.FileFormat != "" {
			b.WriteString(`,"file_format":`)
			writeJSONString(b, t.FileFormat)
		}
		if t.SeenData || t.MaxNesting != nil {
			b.WriteString(`,"x-normalizer":{`)
			sep := ""
			if t.MaxNesting != nil {
				fmt.Fprintf(b, `"max_nesting":%d`, *t.MaxNesting)
				sep = ","
			}
			if t.SeenData {
				b.WriteString(sep + `"seen-data":true`)
			}
			b.WriteByte('}')
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
}

// LoadSchema reads a schema document written by MarshalJSON (or by dlt),
// keeping table and column order.
func LoadSchema(data []byte) (*Schema, error) {
	var p fastjson.Parser
	doc, err := p.ParseBytes(data)
	if err != nil {
		return nil, fmt.Errorf("arrowbuf: LoadSchema: %w", err)
	}
	s := NewSchema(string(doc.GetStringBytes("name")))
	tables := doc.GetObject("tables")
	if tables == nil {
		return nil, fmt.Errorf("arrowbuf: LoadSchema: document has no tables")
	}
	var ferr error
	tables.Visit(func(key []byte, tv *fastjson.Value) {
		if ferr != nil {
			return
		}
		t := &Table{Name: string(key)}
		if n := tv.GetStringBytes("name"); n != nil {
			t.Name = string(n)
		}
		t.Parent = string(tv.GetStringBytes("parent"))
		t.Resource = string(tv.GetStringBytes("resource"))
		t.WriteDisposition = WriteDisposition(tv.GetStringBytes("write_disposition"))
		t.FileFormat = string(tv.GetStringBytes("file_format"))
		t.TableFormat = TableFormat(tv.GetStringBytes("table_format"))
		if c := tv.Get("schema_contract"); c != nil && c.Type() == fastjson.TypeObject {
			t.Contract = &Contract{}
			if err := json.Unmarshal(c.MarshalTo(nil), t.Contract); err != nil {
				ferr = fmt.Errorf("arrowbuf: LoadSchema: table %q: schema_contract: %w", t.Name, err)
				return
			}
		}
		if xn := tv.Get("x-normalizer"); xn != nil {
			t.SeenData = xn.GetBool("seen-data")
			if mn := xn.Get("max_nesting"); mn != nil {
				m := mn.GetInt()
				t.MaxNesting = &m
			}
		}
		if cols := tv.GetObject("columns"); cols != nil {
			cols.Visit(func(ck []byte, cv *fastjson.Value) {
				if ferr != nil {
					return
				}
				c := &Column{Nullable: true}
				if err := json.Unmarshal(cv.MarshalTo(nil), c); err != nil {
					ferr = fmt.Errorf("arrowbuf: LoadSchema: table %q column %q: %w", t.Name, ck, err)
					return
				}
				if c.Name == "" {
					c.Name = string(ck)
				}
				t.Columns = append(t.Columns, c)
			})
		}
		if IsSystemTable(t.Name) {
			return // dlt's own tables are the destination's business
		}
		s.addTableLocked(t)
	})
	if ferr != nil {
		return nil, ferr
	}
	// Nested tables follow their root's write disposition.
	for _, t := range s.tables {
		if t.Parent != "" {
			t.WriteDisposition = s.rootOfLocked(t).WriteDisposition
		}
	}
	s.version = int64(doc.GetInt("version"))
	s.hash = s.contentHashLocked()
	for _, h := range doc.GetArray("previous_hashes") {
		s.previous = append(s.previous, string(h.GetStringBytes()))
	}
	return s, nil
}
