package arrowbuf

import (
	"crypto/rand"
	"crypto/sha3"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	randv2 "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/valyala/fastjson"
)

// NormalizerOption configures a Normalizer.
type NormalizerOption func(*Normalizer)

// WithBatchRows sets how many rows of one table are buffered before a
// TableBatch is emitted (default 100,000).
func WithBatchRows(n int) NormalizerOption {
	return func(nz *Normalizer) {
		if n > 0 {
			nz.batchRows = n
		}
	}
}

// WithAllocator sets the Arrow allocator for builders and records.
func WithAllocator(mem memory.Allocator) NormalizerOption {
	return func(nz *Normalizer) {
		if mem != nil {
			nz.mem = mem
		}
	}
}

// Normalizer turns items into dlt's relational tables as Arrow record
// batches. One goroutine uses a Normalizer; many may share one Schema.
type Normalizer struct {
	s         *Schema
	loadID    string
	emit      func(TableBatch) error
	batchRows int
	mem       memory.Allocator

	tables map[string]*tstate // by normalized name
	order  []*tstate          // creation order: parents before children
	roots  map[string]*tstate // by raw root name

	rng    *randv2.PCG
	rowSeq uint64
	// userID is the current row's _dlt_id taken from its data, if any.
	userID   string
	staged   []staged
	deferred []deferredList
	scratch  []byte

	// visit state for fastjson's Visit callback (a method value, so no
	// closure is allocated per object).
	vTS    *tstate
	vNode  *fieldNode
	vLvl   int
	vPos   int // position of the key in the object being visited
	vErr   error
	idBuf  [14]byte
	visitF func(k []byte, v *fastjson.Value)

	// typed holds the layouts of struct types on tables (typed_row.go);
	// lastBind is the last one used by a row given as an interface value.
	typed    map[bindKey]*typedBinding
	lastBind *typedBinding
}

// tstate is a normalizer's local view of one table: its builders, the
// columns it has seen, and cached flattening paths.
type tstate struct {
	name       string
	parent     string
	isRoot     bool
	rootLike   bool // nested table with a primary key: no parent link
	propRoot   bool // carries _dlt_root_id
	detChildID bool // nested rows get ids derived from the parent id
	maxNesting int
	wd         WriteDisposition

	top       *fieldNode
	nodes     map[string]*fieldNode // canonical node per flattened name
	cols      []*colBuf
	colByName map[string]*colBuf
	rows      int
	seen      bool

	sysLoad, sysID, sysParent, sysIdx, sysRoot *colBuf
	sysReady                                   bool
	// notNull are the data columns every row must fill: nullable: false
	// hints and primary keys.
	notNull []*colBuf
	// dataFull is set by a string column that reached maxBatchData.
	dataFull bool
}

// fieldNode is one flattened path of a table: the column it feeds and the
// keys nested under it.
type fieldNode struct {
	name     string
	children map[string]*fieldNode
	col      *colBuf
	variant  [nKinds]*colBuf
	jsonCol  int8 // 0 unknown, 1 the column is json (keep nested values), 2 not
	stamp    uint64
	stagedAt int
	// childName is the nested table a list under this key goes to.
	childName string
	// system marks a top-level key named like a column the normalizer
	// writes itself (_dlt_id, _dlt_load_id, ...): data may not fill it.
	system bool
	// order caches the child node seen at each key position of the last
	// object: rows of an API mostly repeat their keys in the same order, so
	// a byte comparison replaces a map lookup.
	order []keyedNode
	// sorted caches the sorted keys of the last Go map under this key
	// (items.go's goObject).
	sorted []keyedNode
}

type keyedNode struct {
	key string
	nd  *fieldNode
}

type staged struct {
	node *fieldNode
	col  *colBuf // set by resolveStaged; nil drops the value
	v    value
}

type deferredList struct {
	ts   *tstate
	jv   *fastjson.Value
	gv   []any
	tl   *boundList     // a struct's slice field, with tp
	tp   unsafe.Pointer // the slice (its header) in the row
	lvl  int
	name string // nested table name
}

// colBuf is a column's Arrow builder in one normalizer.
type colBuf struct {
	col Column
	pos int // position in the schema table, for dlt column order
	// stamp and stagedAt mark the staged value of the current row that
	// goes to this column, so that a second one replaces it.
	stamp    uint64
	stagedAt int
	b        colBuilder
	i64      *fixedCol[int64] // bigint, timestamp, time
	f64      *fixedCol[float64]
	d32      *fixedCol[int32]
	str      *varCol // text, json, binary
	bl       *array.BooleanBuilder
	dec      *array.Decimal128Builder
}

// NewNormalizer returns a Normalizer that appends rows of load loadID and
// calls emit with every finished batch. emit owns the batch's record.
func NewNormalizer(s *Schema, loadID string, emit func(TableBatch) error, opts ...NormalizerOption) *Normalizer {
	n := &Normalizer{s: s, loadID: validUTF8(loadID), emit: emit, batchRows: 100_000, mem: DefaultPool,
		tables: map[string]*tstate{}, roots: map[string]*tstate{}}
	for _, o := range opts {
		o(n)
	}
	var seed [16]byte
	_, _ = rand.Read(seed[:])
	n.rng = randv2.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))
	n.visitF = n.visitKV
	return n
}

// newID returns a random 14-char id like dlt's uniq_id_base64(10).
func (n *Normalizer) newID() []byte {
	var raw [10]byte
	a, b := n.rng.Uint64(), n.rng.Uint64()
	binary.LittleEndian.PutUint64(raw[:8], a)
	binary.LittleEndian.PutUint16(raw[8:], uint16(b))
	// Into a reused buffer: a row without nested data needs no string.
	base64.RawStdEncoding.Encode(n.idBuf[:], raw[:])
	return n.idBuf[:]
}

// childID derives a nested row id from its parent row, table and position,
// as dlt does for nested tables of merge tables and for list values.
func childID(parentID, table string, idx int) string {
	buf := make([]byte, 0, len(parentID)+len(table)+24)
	buf = append(buf, parentID...)
	buf = append(buf, '_')
	buf = append(buf, table...)
	buf = append(buf, '_')
	buf = strconv.AppendInt(buf, int64(idx), 10)
	return base64.RawStdEncoding.EncodeToString(sha3.SumSHAKE128(buf, 10))
}

// rootTable returns the state of a root table by raw name, creating the
// table in the schema if needed.
func (n *Normalizer) rootTable(raw string) (*tstate, error) {
	if ts := n.roots[raw]; ts != nil {
		return ts, nil
	}
	name := NormalizeTableIdentifier(raw)
	ts, err := n.table(name, "", "")
	if err != nil {
		return nil, err
	}
	n.roots[raw] = ts
	return ts, nil
}

// table returns the local state of a table, creating it in the schema.
func (n *Normalizer) table(name, parent, rootName string) (*tstate, error) {
	if ts := n.tables[name]; ts != nil {
		return ts, nil
	}
	info, err := n.s.ensureTable(name, parent)
	if err != nil {
		return nil, err
	}
	ts := &tstate{name: name, parent: parent, isRoot: parent == "", rootLike: info.rootLike,
		propRoot: info.propRoot, detChildID: info.merge, maxNesting: info.maxNesting, wd: info.wd,
		nodes: map[string]*fieldNode{}, colByName: map[string]*colBuf{}}
	ts.top = &fieldNode{children: map[string]*fieldNode{}}
	// Columns the table already has with a type (hinted, or from earlier
	// loads) are in every batch, null where rows lack them: dlt creates a
	// hinted column with a data type even when no row carries it.
	cols, pos := n.s.typedColumns(name)
	for i, c := range cols {
		n.localColumn(ts, c, pos[i])
	}
	n.tables[name] = ts
	n.order = append(n.order, ts)
	return ts, nil
}

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
		FileFormat: t.FileFormat, SeenData: t.SeenData}
	if t.Contract != nil {
		c := *t.Contract
		out.Contract = &c
	}
	if t.Parent != "" {
		root := s.rootOfLocked(t)
		out.WriteDisposition = root.WriteDisposition
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

// localColumn returns this normalizer's buffer for a schema column,
// creating the builder and back-filling nulls for rows already buffered.
func (n *Normalizer) localColumn(ts *tstate, c Column, pos int) *colBuf {
	if cb := ts.colByName[c.Name]; cb != nil {
		return cb
	}
	cb := &colBuf{col: c, pos: pos}
	switch dt := ArrowType(&c); dt.ID() {
	case arrow.INT64, arrow.TIMESTAMP, arrow.TIME64:
		cb.i64 = newFixedCol[int64](n.mem, dt)
		cb.b = cb.i64
	case arrow.FLOAT64:
		cb.f64 = newFixedCol[float64](n.mem, dt)
		cb.b = cb.f64
	case arrow.DATE32:
		cb.d32 = newFixedCol[int32](n.mem, dt)
		cb.b = cb.d32
	case arrow.STRING, arrow.BINARY:
		cb.str = newVarCol(n.mem, dt, &ts.dataFull)
		cb.b = cb.str
	case arrow.BOOL:
		cb.bl = array.NewBooleanBuilder(n.mem)
		cb.b = cb.bl
	case arrow.DECIMAL128:
		cb.dec = array.NewDecimal128Builder(n.mem, dt.(*arrow.Decimal128Type))
		cb.b = cb.dec
	default:
		cb.b = array.NewBuilder(n.mem, dt)
	}
	if ts.rows > 0 {
		cb.b.AppendNulls(ts.rows)
	}
	ts.colByName[c.Name] = cb
	if !c.Nullable && !IsSystemColumn(c.Name) {
		ts.notNull = append(ts.notNull, cb)
	}
	// Keep local columns in schema order so batches list them as dlt does.
	i, _ := slices.BinarySearchFunc(ts.cols, pos, func(a *colBuf, p int) int { return a.pos - p })
	ts.cols = slices.Insert(ts.cols, i, cb)
	return cb
}

// appendValue appends a value already coerced to the column's type.
func (n *Normalizer) appendValue(cb *colBuf, v *value) error {
	switch {
	case cb.i64 != nil:
		cb.i64.Append(v.i)
	case cb.f64 != nil:
		cb.f64.Append(v.f)
	case cb.str != nil:
		if v.k == kJSON {
			n.scratch = jsonText(n.scratch[:0], v)
			cb.str.AppendBytes(n.scratch)
		} else {
			cb.str.AppendString(v.s)
		}
	case cb.bl != nil:
		cb.bl.Append(v.b)
	case cb.d32 != nil:
		cb.d32.Append(int32(v.i))
	case cb.dec != nil:
		dt := cb.dec.Type().(*arrow.Decimal128Type)
		d, err := decimal128.FromString(v.s, dt.Precision, dt.Scale)
		if err != nil {
			// Out of range for the column: dlt would fail the load too.
			num := textOf(v)
			if len(num) > 40 {
				num = num[:37] + "..."
			}
			return fmt.Errorf("arrowbuf: column %q: the number %s does not fit its type decimal(%d,%d)", cb.col.Name, num, dt.Precision, dt.Scale)
		}
		cb.dec.Append(d)
	default:
		return fmt.Errorf("arrowbuf: column %q: no builder for %s", cb.col.Name, cb.col.DataType)
	}
	return nil
}

// stage records a value of the current row, the last value winning when
// two keys normalize to the same name (dlt keeps the first position).
func (n *Normalizer) stage(node *fieldNode, v value) {
	*n.slot(node) = v
}

// slot returns the staged value of node in the current row, zeroed, for
// the caller to fill in place: a value is written once instead of being
// copied through the stack (~7% of the normalizer on nested rows).
func (n *Normalizer) slot(node *fieldNode) *value {
	if node.stamp == n.rowSeq {
		v := &n.staged[node.stagedAt].v
		*v = value{}
		return v
	}
	node.stamp = n.rowSeq
	i := len(n.staged)
	node.stagedAt = i
	if i < cap(n.staged) {
		n.staged = n.staged[:i+1]
	} else {
		n.staged = append(n.staged, staged{})
	}
	st := &n.staged[i]
	st.node = node
	st.v = value{}
	return &st.v
}

// node returns the field node for key under parent, computing and caching
// its flattened name.
func (n *Normalizer) node(ts *tstate, parent *fieldNode, key []byte) *fieldNode {
	if nd := parent.children[string(key)]; nd != nil {
		return nd
	}
	name := NormalizePath(string(key))
	if name == "" {
		// dlt's path of a key of separators only ("__") is empty: name it
		// like a blank key rather than make a column without a name.
		name = emptyKeyIdentifier
	}
	if parent.name != "" {
		name = parent.name + PathSeparator + name
	}
	nd := ts.nodes[name]
	if nd == nil {
		nd = &fieldNode{name: name, children: map[string]*fieldNode{}, stagedAt: -1, system: isWrittenSysColumn(name)}
		ts.nodes[name] = nd
	}
	parent.children[string(key)] = nd
	return nd
}

// nodeAt is node with the positional cache of parent: pos is the key's
// index in the object being visited.
func (n *Normalizer) nodeAt(ts *tstate, parent *fieldNode, key []byte, pos int) *fieldNode {
	if pos < len(parent.order) && parent.order[pos].key == string(key) {
		return parent.order[pos].nd
	}
	nd := n.node(ts, parent, key)
	switch {
	case pos < len(parent.order):
		parent.order[pos] = keyedNode{key: string(key), nd: nd}
	case pos == len(parent.order) && pos < 256:
		parent.order = append(parent.order, keyedNode{key: string(key), nd: nd})
	}
	return nd
}

// isJSONColumn reports whether the column at node is typed json, where
// nested values are kept instead of flattened.
func (n *Normalizer) isJSONColumn(ts *tstate, nd *fieldNode) bool {
	if nd.jsonCol == 0 {
		nd.jsonCol = 2
		if n.s.columnType(ts.name, nd.name) == TypeJSON {
			nd.jsonCol = 1
		}
	}
	return nd.jsonCol == 1
}

// beginRow starts staging a row.
func (n *Normalizer) beginRow() {
	n.rowSeq++
	n.staged = n.staged[:0]
}

// resolveStaged maps the staged values of the current row to columns in
// place, coercing or creating variants. It reports whether the row is kept.
func (n *Normalizer) resolveStaged(ts *tstate) (bool, error) {
	n.userID = ""
	for i := range n.staged {
		st := &n.staged[i]
		st.col = nil
		if st.v.k == kNull {
			continue
		}
		if st.node.system {
			// The normalizer writes these; a text _dlt_id in the data is
			// the row's id, as in dlt. Other values are dropped.
			if st.node.name == ColID && st.v.k == kStr && st.v.s != "" {
				n.userID = validUTF8(st.v.s)
			}
			continue
		}
		if cb := st.node.col; cb != nil && pyType[st.v.k] == cb.col.DataType {
			st.col = cb // fast path: the value already has the column's type
		} else {
			cb, v, act, err := n.target(ts, st.node, &st.v)
			if err != nil {
				return false, err
			}
			switch act {
			case actDiscardRow:
				return false, nil
			case actDiscardValue:
				continue
			}
			if v.k == kNull {
				continue // text "null" for a json column
			}
			st.col, st.v = cb, v
		}
		// Two keys can meet in one column: a variant (a -> a__v_text) and
		// a key of that name. The later one wins, as in dlt's row dict.
		if cb := st.col; cb.stamp == n.rowSeq {
			if cb.stagedAt < 0 {
				st.col = nil // a typed row appended its field already
				continue
			}
			n.staged[cb.stagedAt].col = nil
		}
		st.col.stamp, st.col.stagedAt = n.rowSeq, i
	}
	return true, nil
}

// target finds the column for a value: the node's column when the value
// coerces to its type, else the variant column for the value's type.
func (n *Normalizer) target(ts *tstate, nd *fieldNode, v *value) (*colBuf, value, action, error) {
	cb := nd.col
	if cb == nil {
		c, pos, act, err := n.s.resolveColumn(ts.name, Column{Name: nd.name, DataType: inferType(v), Nullable: true})
		if err != nil || act != actOK {
			return nil, value{}, act, err
		}
		if !c.Nullable && ts.seen {
			return nil, value{}, actOK, notNullError(ts, c.Name)
		}
		cb = n.localColumn(ts, c, pos)
		nd.col = cb
		if c.DataType == TypeJSON {
			nd.jsonCol = 1
		}
	}
	if pyType[v.k] == cb.col.DataType {
		return cb, *v, actOK, nil
	}
	if cv, ok := coerce(cb.col.DataType, v); ok {
		return cb, cv, actOK, nil
	}
	vc := nd.variant[v.k]
	if vc == nil {
		name := nd.name + PathSeparator + "v_" + string(pyType[v.k])
		c, pos, act, err := n.s.resolveColumn(ts.name, Column{Name: name, DataType: inferType(v), Nullable: true, Variant: true})
		if err != nil || act != actOK {
			return nil, value{}, act, err
		}
		vc = n.localColumn(ts, c, pos)
		nd.variant[v.k] = vc
	}
	if cv, ok := coerce(vc.col.DataType, v); ok {
		return vc, cv, actOK, nil
	}
	return nil, value{}, actOK, fmt.Errorf("arrowbuf: table %q column %q: cannot coerce %s value to %s", ts.name, vc.col.Name, pyType[v.k], vc.col.DataType)
}

var (
	sysLoadCol   = Column{Name: ColLoadID, DataType: TypeText}
	sysIDCol     = Column{Name: ColID, DataType: TypeText, Unique: true, RowKey: true}
	sysParentCol = Column{Name: ColParentID, DataType: TypeText, ParentKey: true}
	sysIdxCol    = Column{Name: ColListIdx, DataType: TypeBigint}
	sysRootCol   = Column{Name: ColRootID, DataType: TypeText, RootKey: true}
)

func (n *Normalizer) sysColumn(ts *tstate, tmpl Column) (*colBuf, error) {
	c, pos, _, err := n.s.resolveColumn(ts.name, tmpl)
	if err != nil {
		return nil, err
	}
	return n.localColumn(ts, c, pos), nil
}

// ensureSys creates the system columns after the first row's data columns,
// in dlt's order.
func (n *Normalizer) ensureSys(ts *tstate) error {
	if ts.sysReady {
		return nil
	}
	var err error
	add := func(dst **colBuf, c Column) {
		if err == nil {
			*dst, err = n.sysColumn(ts, c)
		}
	}
	nested := !ts.isRoot
	if ts.propRoot && nested {
		add(&ts.sysRoot, sysRootCol)
	}
	if nested && !ts.rootLike {
		add(&ts.sysParent, sysParentCol)
		add(&ts.sysIdx, sysIdxCol)
	}
	if !nested || ts.rootLike {
		add(&ts.sysLoad, sysLoadCol)
	}
	add(&ts.sysID, sysIDCol)
	ts.sysReady = err == nil
	return err
}

// commitRow appends the resolved row plus system values to the builders
// and completes the other columns with nulls.
func (n *Normalizer) commitRow(ts *tstate, id []byte, parentID, rootID string, idx int) error {
	if err := n.ensureSys(ts); err != nil {
		return err
	}
	// dlt raises CannotCoerceNullException on a null in a column that is
	// not nullable (and the load fails on a missing one): fail the run.
	for _, cb := range ts.notNull {
		if cb.stamp != n.rowSeq {
			return n.missingError(ts, cb)
		}
	}
	filled := 0
	for i := range n.staged {
		if st := &n.staged[i]; st.col != nil {
			if err := n.appendValue(st.col, &st.v); err != nil {
				return err
			}
			filled++
		}
	}
	return n.commitSys(ts, id, parentID, rootID, idx, filled)
}

// commitSys appends the system values of a row whose data values are
// appended (filled columns), completes the other columns with nulls and
// flushes a full batch.
func (n *Normalizer) commitSys(ts *tstate, id []byte, parentID, rootID string, idx, filled int) error {
	filled++ // _dlt_id
	if ts.sysRoot != nil {
		ts.sysRoot.str.AppendValid(rootID)
		filled++
	}
	if ts.sysParent != nil {
		ts.sysParent.str.AppendValid(parentID)
		ts.sysIdx.i64.Append(int64(idx))
		filled += 2
	}
	if ts.sysLoad != nil {
		ts.sysLoad.str.AppendValid(n.loadID)
		filled++
	}
	ts.sysID.str.AppendBytes(id)
	ts.rows++
	// Each staged value went to its own column (resolveStaged maps one
	// node to one column), so a row that filled every column needs no
	// search for the ones it left out: the usual case for API rows.
	if filled < len(ts.cols) {
		for _, cb := range ts.cols {
			if cb.b.Len() < ts.rows {
				cb.b.AppendNull()
			}
		}
	}
	ts.seen = true
	if ts.rows >= n.batchRows || ts.dataFull {
		return n.flushTable(ts)
	}
	return nil
}

func notNullError(ts *tstate, col string) error {
	return fmt.Errorf("arrowbuf: table %q column %q is not nullable, but a row has null or lacks it", ts.name, col)
}

// missingError is notNullError for a row of the current row's staging: when
// the row had a value for the column that its type does not take (ints
// loaded first, then a string id), the value went to a variant column or a
// contract discarded it, and the error names both types.
func (n *Normalizer) missingError(ts *tstate, cb *colBuf) error {
	for i := range n.staged {
		st := &n.staged[i]
		if st.node.col != cb || st.col == cb || st.v.k == kNull {
			continue
		}
		why := "nullable: false"
		if cb.col.PrimaryKey {
			why = "a primary key"
		}
		if st.col == nil {
			return fmt.Errorf("arrowbuf: table %q column %q: a row has a %s value, but the column has type %s and, as %s, cannot be left empty (the schema contract discards the value)",
				ts.name, cb.col.Name, pyType[st.v.k], cb.col.DataType, why)
		}
		typ := strings.TrimPrefix(st.col.col.Name, cb.col.Name+PathSeparator+"v_")
		return fmt.Errorf("arrowbuf: table %q column %q: a row has a %s value, but the column has type %s and, as %s, cannot leave the value to a variant column (%s)",
			ts.name, cb.col.Name, typ, cb.col.DataType, why, st.col.col.Name)
	}
	return notNullError(ts, cb.col.Name)
}

// flushTable emits the table's buffered rows as one batch.
func (n *Normalizer) flushTable(ts *tstate) error {
	if ts.rows == 0 {
		return nil
	}
	full := ts.rows >= n.batchRows
	fields := make([]arrow.Field, len(ts.cols))
	arrs := make([]arrow.Array, len(ts.cols))
	for i, cb := range ts.cols {
		fields[i] = arrowField(&cb.col)
		data := 0
		if cb.str != nil {
			data = cb.str.DataLen()
		}
		arrs[i] = cb.b.NewArray()
		if full {
			// The next batch is most likely like this one: size the
			// builders now instead of growing them by doubling.
			cb.b.Reserve(ts.rows)
			if cb.str != nil {
				cb.str.ReserveData(data)
			}
		}
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(ts.rows))
	for _, a := range arrs {
		a.Release()
	}
	tbl := n.s.snapshot(ts.name, ts.cols)
	ts.rows, ts.dataFull = 0, false
	return n.emit(TableBatch{Table: tbl, Record: rec})
}

// Flush emits all buffered rows of all tables, parents before children,
// and marks the tables as having seen data: like dlt, which sets seen-data
// after a load's normalization, contracts on new columns and nested tables
// apply from then on, so a new table takes all columns of its first load.
func (n *Normalizer) Flush() error {
	for _, ts := range n.order {
		if err := n.flushTable(ts); err != nil {
			return err
		}
	}
	for _, ts := range n.order {
		if ts.seen {
			n.s.markSeen(ts.name)
		}
	}
	return nil
}

// Release frees the builders; buffered rows are dropped.
func (n *Normalizer) Release() {
	for _, ts := range n.tables {
		for _, cb := range ts.cols {
			cb.b.Release()
		}
		ts.cols = nil
		ts.colByName = map[string]*colBuf{}
		ts.rows = 0
	}
	n.tables = map[string]*tstate{}
	n.roots = map[string]*tstate{}
	n.order = nil
	n.typed, n.lastBind = nil, nil
}

// AppendJSON normalizes rows of the root table (a raw name). A row that is
// not an object is stored as {"value": row}, as dlt does.
func (n *Normalizer) AppendJSON(table string, rows []*fastjson.Value) error {
	ts, err := n.rootTable(table)
	if err == errDiscardTable {
		return nil
	}
	if err != nil {
		return err
	}
	for _, row := range rows {
		if row == nil {
			continue
		}
		if err := n.jsonRow(ts, row, "", "", 0, ts.maxNesting); err != nil {
			return err
		}
	}
	return nil
}

var valueKey = []byte("value")
var listKey = []byte("list")

// jsonRow normalizes one row of ts and then its nested lists.
func (n *Normalizer) jsonRow(ts *tstate, row *fastjson.Value, parentID, rootID string, idx, lvl int) error {
	mark := len(n.deferred)
	n.beginRow()
	switch row.Type() {
	case fastjson.TypeObject:
		o, _ := row.Object()
		n.vTS, n.vNode, n.vLvl, n.vPos, n.vErr = ts, ts.top, lvl, 0, nil
		o.Visit(n.visitF)
		if n.vErr != nil {
			return n.vErr
		}
	case fastjson.TypeArray:
		// a list inside a list: an intermediate row holding it as "list"
		n.vTS, n.vNode, n.vLvl, n.vPos = ts, ts.top, lvl, 0
		n.visitKV(listKey, row)
	default:
		n.vTS, n.vNode, n.vLvl, n.vPos = ts, ts.top, lvl, 0
		n.visitKV(valueKey, row)
	}
	return n.finishRow(ts, mark, parentID, rootID, idx)
}

// finishRow resolves and commits the staged row, then normalizes the lists
// it deferred (entries from mark on), depth first like dlt.
func (n *Normalizer) finishRow(ts *tstate, mark int, parentID, rootID string, idx int) error {
	keep, err := n.resolveStaged(ts)
	if err != nil || !keep {
		n.deferred = n.deferred[:mark]
		return err
	}
	var idb []byte
	switch {
	case n.userID != "":
		idb = []byte(n.userID)
	case !ts.isRoot && ts.detChildID && !ts.rootLike:
		idb = []byte(childID(parentID, ts.name, idx))
	default:
		idb = n.newID()
	}
	end := len(n.deferred)
	var id string
	if end > mark { // nested rows link to this one
		id = string(idb)
		if ts.isRoot {
			rootID = id
		}
	}
	if err := n.commitRow(ts, idb, parentID, rootID, idx); err != nil {
		return err
	}
	for i := mark; i < end; i++ {
		if err := n.normalizeList(n.deferred[i], id, rootID); err != nil {
			return err
		}
	}
	n.deferred = n.deferred[:mark]
	return nil
}

// visitKV stages one key of an object of the current row.
func (n *Normalizer) visitKV(k []byte, v *fastjson.Value) {
	if n.vErr != nil {
		return
	}
	ts, parent, lvl := n.vTS, n.vNode, n.vLvl
	nd := n.nodeAt(ts, parent, k, n.vPos)
	n.vPos++
	switch v.Type() {
	case fastjson.TypeNull:
		if nd.stamp == n.rowSeq {
			n.staged[nd.stagedAt].v = value{}
		}
	case fastjson.TypeTrue, fastjson.TypeFalse:
		sv := n.slot(nd)
		sv.k, sv.b = kBool, v.Type() == fastjson.TypeTrue
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		sv := n.slot(nd)
		sv.k, sv.s = kStr, unsafe.String(unsafe.SliceData(b), len(b))
	case fastjson.TypeNumber:
		n.jsonNumber(v, n.slot(nd))
	case fastjson.TypeObject:
		o, _ := v.Object()
		if lvl <= 0 || n.isJSONColumn(ts, nd) {
			n.stage(nd, value{k: kJSON, jv: v})
			return
		}
		pos := n.vPos
		n.vNode, n.vLvl, n.vPos = nd, lvl-1, 0
		o.Visit(n.visitF)
		n.vNode, n.vLvl, n.vPos = parent, lvl, pos
	case fastjson.TypeArray:
		if lvl <= 0 || n.isJSONColumn(ts, nd) {
			n.stage(nd, value{k: kJSON, jv: v})
			return
		}
		arr, _ := v.Array()
		if len(arr) == 0 {
			return
		}
		n.deferList(ts, nd, parent, k, deferredList{jv: v, lvl: lvl - 1})
	}
}

// deferList queues a list for normalization into a nested table after the
// current row is committed.
func (n *Normalizer) deferList(ts *tstate, nd, parent *fieldNode, k []byte, d deferredList) {
	if nd.childName == "" {
		name := NormalizeTableIdentifier(string(k))
		if parent.name != "" {
			name = parent.name + PathSeparator + name
		}
		nd.childName = ts.name + PathSeparator + name
	}
	d.ts = ts
	d.name = nd.childName
	n.deferred = append(n.deferred, d)
}

// normalizeList writes the items of a deferred list as rows of its nested
// table.
func (n *Normalizer) normalizeList(d deferredList, parentID, rootID string) error {
	child, err := n.table(d.name, d.ts.name, "")
	if err == errDiscardTable {
		return nil
	}
	if err != nil {
		return err
	}
	if d.tl != nil {
		return n.typedList(child, d, parentID, rootID)
	}
	if d.jv != nil {
		arr, _ := d.jv.Array()
		for i, item := range arr {
			if err := n.jsonListItem(child, item, d.lvl, parentID, rootID, i); err != nil {
				return err
			}
		}
		return nil
	}
	for i, item := range d.gv {
		switch item.(type) {
		case map[string]any, []any:
			_, isList := item.([]any)
			if err := n.goRow(child, item, parentID, rootID, i, itemLevel(d.lvl, isList)); err != nil {
				return err
			}
		default:
			if _, _, ok := structData(item); ok && !isScalar(item) {
				// A struct item is a row, through its type's plan.
				if err := n.goRow(child, item, parentID, rootID, i, d.lvl); err != nil {
					return err
				}
				continue
			}
			if item != nil && !isScalar(item) {
				// A typed slice or map, or a type with its own JSON form:
				// as encoding/json writes it (scalarRow would drop it).
				jv, err := viaJSON(item)
				if err != nil {
					return fmt.Errorf("arrowbuf: table %q: %w", child.name, err)
				}
				if err := n.jsonListItem(child, jv, d.lvl, parentID, rootID, i); err != nil {
					return err
				}
				continue
			}
			if err := n.scalarRow(child, nil, item, parentID, rootID, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonListItem writes one JSON item of a list as a row of its nested table.
func (n *Normalizer) jsonListItem(child *tstate, item *fastjson.Value, lvl int, parentID, rootID string, i int) error {
	switch item.Type() {
	case fastjson.TypeObject, fastjson.TypeArray:
		return n.jsonRow(child, item, parentID, rootID, i, itemLevel(lvl, item.Type() == fastjson.TypeArray))
	}
	return n.scalarRow(child, item, nil, parentID, rootID, i)
}

// itemLevel is the nesting level left to a list item's row: a list in a
// list becomes an intermediate row holding it as "list", which dlt counts
// as one level deeper than the list (max_table_nesting 2 keeps a list of
// lists as a json "list" column of the first child table).
func itemLevel(lvl int, isList bool) int {
	if isList {
		return lvl - 1
	}
	return lvl
}

// scalarRow writes a list item that is a scalar as a row with a "value"
// column; its id derives from the parent row as in dlt.
func (n *Normalizer) scalarRow(ts *tstate, jv *fastjson.Value, gv any, parentID, rootID string, idx int) error {
	n.beginRow()
	nd := n.node(ts, ts.top, valueKey)
	if jv != nil {
		n.vTS, n.vNode, n.vLvl, n.vPos = ts, ts.top, 0, 0
		n.visitKV(valueKey, jv)
	} else if v, ok := goScalar(gv); ok {
		n.stage(nd, v)
	}
	keep, err := n.resolveStaged(ts)
	if err != nil || !keep {
		return err
	}
	return n.commitRow(ts, []byte(childID(parentID, ts.name, idx)), parentID, rootID, idx)
}

// jsonNumber reads a JSON number into dst: bigint when it is written as
// an integer that fits, else double (Python's json does the same split).
func (n *Normalizer) jsonNumber(v *fastjson.Value, dst *value) {
	n.scratch = v.MarshalTo(n.scratch[:0])
	raw := n.scratch
	// One pass for the common case; fastjson's own parsers build an error
	// value for every miss.
	if i, ok := parseInt64(raw); ok {
		dst.k, dst.i = kInt, i
		return
	}
	if isInteger(raw) {
		// Too big for bigint: keep the digits as a decimal.
		if _, ok := new(big.Int).SetString(string(raw), 10); ok {
			dst.k, dst.s = kDecimal, string(raw)
			return
		}
	}
	dst.k = kFloat
	dst.f, _ = v.Float64()
}

// isInteger reports whether b is an optionally signed run of digits.
func isInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// parseInt64 parses an optionally signed decimal integer that fits int64.
func parseInt64(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case !neg && u <= math.MaxInt64:
		return int64(u), true
	case neg && u <= math.MaxInt64+1:
		return -int64(u), true
	}
	return 0, false
}
