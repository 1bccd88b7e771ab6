package arrowbuf

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// DataType is a dlt data type name, as stored in schemas and shown to users.
type DataType string

// The dlt data types.
const (
	TypeBigint    DataType = "bigint"
	TypeDouble    DataType = "double"
	TypeBool      DataType = "bool"
	TypeText      DataType = "text"
	TypeTimestamp DataType = "timestamp"
	TypeDate      DataType = "date"
	TypeTime      DataType = "time"
	TypeDecimal   DataType = "decimal"
	TypeJSON      DataType = "json"
	TypeBinary    DataType = "binary"
	TypeWei       DataType = "wei"
)

// WriteDisposition says how a load changes a table: append, replace or merge.
type WriteDisposition string

// The write dispositions.
const (
	Append  WriteDisposition = "append"
	Replace WriteDisposition = "replace"
	Merge   WriteDisposition = "merge"
)

// ContractMode is one of dlt's schema contract modes.
type ContractMode string

// The schema contract modes.
const (
	Evolve       ContractMode = "evolve"
	Freeze       ContractMode = "freeze"
	DiscardRow   ContractMode = "discard_row"
	DiscardValue ContractMode = "discard_value"
)

// Contract is dlt's schema_contract: what happens to new tables, new columns
// and values of a new data type. Empty fields mean evolve.
type Contract struct {
	Tables   ContractMode `json:"tables,omitempty"`
	Columns  ContractMode `json:"columns,omitempty"`
	DataType ContractMode `json:"data_type,omitempty"`
}

// Column is one column of a table, with dlt's column hints.
//
// In a schema, Nullable says whether the column takes nulls. In a hint
// (TableHints.Columns) a column is nullable unless it says otherwise, as in
// dlt: NotNull is dlt's nullable: false (NOT NULL: a row without a value
// fails the run), Nullable true makes a NOT NULL column nullable again, and
// with neither a new column is nullable and a known one stays as it is.
// Primary key columns are NOT NULL.
type Column struct {
	Name       string   `json:"name"`
	DataType   DataType `json:"data_type,omitempty"`
	Nullable   bool     `json:"nullable"`
	PrimaryKey bool     `json:"primary_key,omitempty"`
	MergeKey   bool     `json:"merge_key,omitempty"`
	Unique     bool     `json:"unique,omitempty"`
	RowKey     bool     `json:"row_key,omitempty"`
	ParentKey  bool     `json:"parent_key,omitempty"`
	RootKey    bool     `json:"root_key,omitempty"`
	Variant    bool     `json:"variant,omitempty"`
	Precision  int      `json:"precision,omitempty"`
	Scale      int      `json:"scale,omitempty"`
	// Timezone false stores timestamps without time zone; nil or true is UTC.
	Timezone *bool `json:"timezone,omitempty"`
	// NotNull is a hint only (see Column); a schema keeps it in Nullable.
	NotNull bool `json:"-"`
}

// Table is one table of a schema. Columns are in dlt's order.
type Table struct {
	Name             string           `json:"name"`
	Parent           string           `json:"parent,omitempty"`
	Resource         string           `json:"resource,omitempty"`
	WriteDisposition WriteDisposition `json:"write_disposition,omitempty"`
	Contract         *Contract        `json:"schema_contract,omitempty"`
	FileFormat       string           `json:"file_format,omitempty"`
	// TableFormat is the table's table_format; in a snapshot, a nested
	// table's is its root's (see TableFormat).
	TableFormat TableFormat `json:"table_format,omitempty"`
	Columns     []*Column   `json:"columns"`
	// MaxNesting is the resource's max_table_nesting (dlt keeps it under
	// "x-normalizer"); nil means the default.
	MaxNesting *int `json:"-"`
	// SeenData is set once rows were normalized into the table; schema
	// contracts for new columns apply only after that, as in dlt.
	SeenData bool `json:"-"`
}

// Column returns the named column or nil.
func (t *Table) Column(name string) *Column {
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Clone returns a deep copy of the table.
func (t *Table) Clone() *Table {
	c := *t
	if t.Contract != nil {
		cc := *t.Contract
		c.Contract = &cc
	}
	if t.MaxNesting != nil {
		m := *t.MaxNesting
		c.MaxNesting = &m
	}
	c.Columns = make([]*Column, len(t.Columns))
	for i, col := range t.Columns {
		cp := *col
		c.Columns[i] = &cp
	}
	return &c
}

// Schema is the set of tables of one pipeline's dataset. It evolves while a
// load runs; all methods are safe for concurrent use.
type Schema struct {
	mu     sync.RWMutex
	name   string
	tables []*Table // creation order
	byName map[string]*Table
	// colIdx indexes byName[table].Columns by name.
	colIdx map[string]map[string]int
	// nested holds nested hints by full nested table name, applied when the
	// table is created (or right away when it exists).
	nested map[string]TableHints
	// version counts content changes seen by Version; hash is the content
	// hash that version was taken at.
	version  int64
	hash     string
	previous []string
}

// NewSchema returns an empty schema with the given name.
func NewSchema(name string) *Schema {
	return &Schema{name: name, byName: map[string]*Table{}, colIdx: map[string]map[string]int{}, nested: map[string]TableHints{}}
}

// Name returns the schema's name.
func (s *Schema) Name() string { return s.name }

// TableBatch is one record batch of normalized rows for one table. Table is
// a snapshot of the table's schema when the batch was built; the record's
// fields are exactly Table.Columns, in that order, typed by ArrowType. The
// receiver of a TableBatch owns Record and must Release it.
//
// A TableBatch may instead carry File: an external file whose rows load
// as they are, unparsed and unnormalized (dlt's with_file_import); Record
// is then nil.
type TableBatch struct {
	Table  *Table
	Record arrow.RecordBatch
	File   *ImportFile
}

// ImportFile names a file to load as it is.
type ImportFile struct {
	Path string
	// Format is "csv" (with a header row), "parquet" or "jsonl".
	Format string
}

// Rows reports the batch's row count, or -1 for a file (not read here).
func (b TableBatch) Rows() int64 {
	if b.Record == nil {
		return -1
	}
	return b.Record.NumRows()
}

// Release releases the record, if any.
func (b TableBatch) Release() {
	if b.Record != nil {
		b.Record.Release()
	}
}

// TableHints are a resource's hints for its root table (and, through
// NestedHints, for its nested tables), as dlt's resource hints.
type TableHints struct {
	WriteDisposition WriteDisposition
	PrimaryKey       []string
	MergeKey         []string
	// Columns are column hints; a hinted column is created before inferred ones.
	Columns []Column
	// MaxTableNesting limits nesting depth; nil means dlt's default (1000).
	MaxTableNesting *int
	Contract        *Contract
	FileFormat      string
	// TableFormat is dlt's table_format ("iceberg", "delta", "native");
	// "" leaves the table's as it is. Only for the root table: nested
	// tables take their root's, and nested hints must not set it.
	TableFormat TableFormat
	// NestedHints maps a nested path (list fields joined by "__", without the
	// root table name, e.g. "purchases__coupons") to hints for that table.
	NestedHints map[string]TableHints
}

// Tables returns snapshots of all tables in creation order. Snapshots leave
// out hinted columns that have no data type yet (dlt's incomplete columns):
// destinations cannot create them.
func (s *Schema) Tables() []*Table {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Table, len(s.tables))
	for i, t := range s.tables {
		out[i] = completeClone(t)
		out[i].TableFormat = s.rootOfLocked(t).TableFormat
	}
	return out
}

// Table returns a snapshot of the named table, or nil.
func (s *Schema) Table(name string) *Table {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.byName[name]; t != nil {
		c := completeClone(t)
		c.TableFormat = s.rootOfLocked(t).TableFormat
		return c
	}
	return nil
}
