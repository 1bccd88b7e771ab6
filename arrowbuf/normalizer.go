package arrowbuf

import (
	"crypto/rand"
	"crypto/sha3"
	"encoding/base64"
	"encoding/binary"
	randv2 "math/rand/v2"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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
