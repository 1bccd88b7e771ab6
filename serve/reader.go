package serve

import (
	"context"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	bindings "github.com/duckdb/duckdb-go-bindings"
)

// sliceRows is how many rows of a DuckDB chunk (2,048 rows) are appended
// between checks of a batch's size, so a batch of wide rows stops near
// its byte limit.
const sliceRows = 512

// reader streams a statement's results as record batches of up to
// batchRows rows and about batchBytes bytes: at most one batch and one
// DuckDB chunk are in memory, whatever the result's size. With several
// parameter rows it runs the statement once per row, one result after the
// other. It owns the session, the statement and the parameters, and
// closes them all at the end of the stream or on Release.
type reader struct {
	refs       atomic.Int64
	sess       *session
	st         *stmt
	res        *result
	params     arrow.RecordBatch // nil: no parameters
	nextParam  int               // the next parameter row to run
	schema     *arrow.Schema
	bld        *array.RecordBuilder
	cols       []column
	batchRows  int
	batchBytes int

	ctx       context.Context
	stopWatch func() bool

	chunk     bindings.DataChunk // the chunk being read; Ptr nil: none
	chunkRow  int
	chunkSize int
	cur       arrow.RecordBatch
	err       error
	done      bool
	closed    bool
	// lastRows and lastData (per column, for text and binary) size the
	// previous batch, to reserve the next one's buffers at once instead
	// of growing them by doubling.
	lastRows int
	lastData []int
}

var _ array.RecordReader = (*reader)(nil)

// newReader streams res, the result of st run with parameter row
// nextParam-1 (if any), and the results of the later rows.
func newReader(mem memory.Allocator, sess *session, st *stmt, res *result, params arrow.RecordBatch, nextParam, batchRows, batchBytes int) *reader {
	r := &reader{sess: sess, st: st, res: res, params: params, nextParam: nextParam, schema: res.sch,
		batchRows: batchRows, batchBytes: batchBytes, ctx: context.Background()}
	r.refs.Store(1)
	r.bld = array.NewRecordBuilder(mem, res.sch)
	r.lastData = make([]int, len(res.cols))
	for i, c := range res.cols {
		r.cols = append(r.cols, c.newColumn(r.bld.Field(i)))
	}
	return r
}

// watch interrupts DuckDB when ctx ends (the client went away) and makes
// the reader stop at its next batch.
func (r *reader) watch(ctx context.Context) {
	r.ctx = ctx
	r.stopWatch = context.AfterFunc(ctx, r.sess.interrupt)
}

func (r *reader) Schema() *arrow.Schema          { return r.schema }
func (r *reader) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *reader) Record() arrow.RecordBatch      { return r.cur }
func (r *reader) Err() error                     { return r.err }
func (r *reader) Retain()                        { r.refs.Add(1) }

func (r *reader) Release() {
	if r.refs.Add(-1) == 0 {
		r.close()
	}
}

func (r *reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done || r.err != nil || r.closed {
		return false
	}
	r.reserve()
	rows, bytes := 0, 0
	for rows < r.batchRows && bytes < r.batchBytes {
		if r.chunk.Ptr == nil {
			if err := r.ctx.Err(); err != nil {
				r.err = err
				break
			}
			ch, err := r.res.fetch()
			if err != nil {
				r.err = err
				break
			}
			if ch.Ptr == nil {
				if !r.nextResult() {
					r.done = true
					break
				}
				continue
			}
			r.chunk, r.chunkRow, r.chunkSize = ch, 0, int(bindings.DataChunkGetSize(ch))
		}
		take := min(r.chunkSize-r.chunkRow, r.batchRows-rows, sliceRows)
		for i, c := range r.cols {
			bytes += c.appendRows(bindings.DataChunkGetVector(r.chunk, bindings.IdxT(i)), r.chunkRow, r.chunkRow+take)
		}
		rows += take
		r.chunkRow += take
		if r.chunkRow >= r.chunkSize {
			bindings.DestroyDataChunk(&r.chunk)
		}
	}
	rec := r.bld.NewRecordBatch()
	if r.err != nil || rows == 0 {
		rec.Release()
		r.finish()
		return false
	}
	r.cur = rec
	r.lastRows = rows
	for i, c := range rec.Columns() {
		if b, ok := c.(interface{ ValueBytes() []byte }); ok {
			r.lastData[i] = len(b.ValueBytes())
		}
	}
	return true
}

// reserve sizes the builders like the last batch.
func (r *reader) reserve() {
	if r.lastRows == 0 {
		return
	}
	r.bld.Reserve(r.lastRows)
	for i, n := range r.lastData {
		if b, ok := r.bld.Field(i).(interface{ ReserveData(int) }); ok && n > 0 {
			b.ReserveData(n)
		}
	}
}

// nextResult runs the statement with the next parameter row, if any.
func (r *reader) nextResult() bool {
	if r.params == nil || r.nextParam >= int(r.params.NumRows()) {
		return false
	}
	r.res.close()
	if err := r.st.bind(r.params, r.nextParam); err != nil {
		r.err = err
		return false
	}
	r.nextParam++
	res, err := r.st.execute(r.ctx)
	if err == nil {
		err = sameSchema(r.schema, res.sch)
	}
	if err != nil {
		if res != nil {
			res.close()
		}
		r.err = err
		return false
	}
	r.res = res
	return true
}

// finish lets go of the DuckDB database as soon as the stream ends, before
// the last Release.
func (r *reader) finish() {
	if r.stopWatch != nil {
		r.stopWatch()
	}
	if r.chunk.Ptr != nil {
		bindings.DestroyDataChunk(&r.chunk)
	}
	if r.res != nil {
		r.res.close()
	}
	if r.st != nil {
		r.st.close()
		r.st = nil
	}
	r.sess.close()
}

func (r *reader) close() {
	if r.closed {
		return
	}
	r.closed = true
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.finish()
	r.bld.Release()
	if r.params != nil {
		r.params.Release()
	}
}
