package arrowbuf

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

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
