package flow

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/internal/jsonconv"
)

// Batch is the unit that flows between stages: a page, a chunk, a record
// batch. It carries exactly one payload: Go values (Items), Go values of
// one type kept as their []T (Typed: structs are read field by field, not
// boxed one by one; see TypedBatch), parsed JSON values (JSON, owned by the
// parser that made them until Release), or an Arrow record batch (Record)
// — or File: an external file to load as it is (dlt's with_file_import),
// without parsing or normalizing it.
//
// Table, when set, sends the batch to that table instead of the resource's
// (dlt's with_table_name mark); Hints, when set, apply to that table (dlt's
// make_hints/apply_hints marks).
type Batch struct {
	Table  string
	Hints  *arrowbuf.TableHints
	Items  []any
	Typed  arrowbuf.Typed
	JSON   []*fastjson.Value
	Record arrow.RecordBatch
	File   *arrowbuf.ImportFile

	release []func()
}

// FileImport returns a batch that loads the file at path as it is, in format
// "csv" (with a header), "parquet" or "jsonl". Column hints on the resource
// (Columns) or on the batch (Hints) give the table's schema; without them
// the destination takes the file's own columns and types.
func FileImport(path, format string) Batch {
	return Batch{File: &arrowbuf.ImportFile{Path: path, Format: format}}
}

// ItemsBatch returns a batch of Go values: maps, structs or scalars.
func ItemsBatch(items ...any) Batch { return Batch{Items: items} }

// JSONBatch returns a batch of parsed JSON values; release, if not nil, is
// called once the values are no longer used (to return a parser to a pool).
func JSONBatch(vals []*fastjson.Value, release func()) Batch {
	b := Batch{JSON: vals}
	if release != nil {
		b.release = []func(){release}
	}
	return b
}

// ArrowBatch returns a batch holding an Arrow record batch. The batch takes
// ownership of rec: it is released with the batch.
func ArrowBatch(rec arrow.RecordBatch) Batch {
	return Batch{Record: rec, release: []func(){rec.Release}}
}

// RecordBatch returns a batch holding an Arrow record batch.
//
// Deprecated: use ArrowBatch (arrow.RecordBatch is Arrow's type).
func RecordBatch(rec arrow.RecordBatch) Batch { return ArrowBatch(rec) }

// Len reports the number of items (rows) in the batch.
func (b Batch) Len() int {
	switch {
	case b.File != nil:
		return 1
	case b.Record != nil:
		return int(b.Record.NumRows())
	case b.JSON != nil:
		return len(b.JSON)
	case !b.Typed.IsZero():
		return b.Typed.Len()
	default:
		return len(b.Items)
	}
}

// OnRelease adds f to what Release calls.
func (b *Batch) OnRelease(f func()) { b.release = append(b.release, f) }

// Release frees what the batch owns. It is safe to call more than once.
func (b *Batch) Release() {
	rel := b.release
	b.release = nil
	for i := len(rel) - 1; i >= 0; i-- {
		rel[i]()
	}
}

// derive returns a batch with b's marks and release duties but no payload;
// b keeps nothing to release.
func (b *Batch) derive() Batch {
	out := Batch{Table: b.Table, Hints: b.Hints, release: b.release}
	b.release = nil
	return out
}

// Values returns the batch's items as Go values; JSON objects become
// map[string]any (integers int64, other numbers float64). Record batches are
// not converted.
func (b Batch) Values() ([]any, error) {
	if b.Record != nil {
		return nil, fmt.Errorf("flow: cannot convert an Arrow record batch to Go values")
	}
	if !b.Typed.IsZero() {
		return b.Typed.Values(), nil
	}
	if b.JSON == nil {
		return b.Items, nil
	}
	out := make([]any, len(b.JSON))
	for i, v := range b.JSON {
		out[i] = jsonconv.ToGo(v, jsonconv.Native)
	}
	return out, nil
}

// freezeJSON makes parsed values safe to read from several goroutines:
// fastjson unescapes object keys and strings lazily on first read, which
// writes to the values, so a batch shared between stages is walked once by
// its producer first.
func freezeJSON(vals []*fastjson.Value) {
	for _, v := range vals {
		freezeValue(v)
	}
}

func freezeValue(v *fastjson.Value) {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(_ []byte, child *fastjson.Value) { freezeValue(child) })
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, child := range a {
			freezeValue(child)
		}
	}
}
