package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/arrowbuf"
)

// scanFunc is the name of the Go table function that reads a registered
// Arrow record: SELECT * FROM sluice_arrow_scan(<job id>).
const scanFunc = "sluice_arrow_scan"

// seqColumn orders staged merge rows: the latest row per key wins.
const seqColumn = "_sluice_seq"

var (
	scanJobs  sync.Map // int64 -> *scanJob
	scanJobID atomic.Int64
)

// colKind says how a column's Arrow values are written to a DuckDB vector.
type colKind int

const (
	kInt64 colKind = iota
	kFloat64
	kBool
	kString
	kBinary
	kTimestamp
	kTimestampTZ
	kDate
	kTime
	kText // any other type, written as text and cast by SQL
)

// scanJob is a set of records with the same columns being inserted
// through the table function, cut into units of at most one chunk.
type scanJob struct {
	parts []scanPart
	kinds []colKind
	units []arrow.TimeUnit
	work  []scanUnit
	rows  int64
	seq   bool // adds a sequence column
	next  atomic.Int64
}

type scanPart struct {
	cols    []arrow.Array
	seqBase int64
}

type scanUnit struct{ part, start, end int }

func kindOf(t arrow.DataType) (colKind, arrow.TimeUnit) {
	switch tt := t.(type) {
	case *arrow.Int64Type:
		return kInt64, 0
	case *arrow.Float64Type:
		return kFloat64, 0
	case *arrow.BooleanType:
		return kBool, 0
	case *arrow.StringType, *arrow.LargeStringType:
		return kString, 0
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		return kBinary, 0
	case *arrow.TimestampType:
		if tt.TimeZone == "" {
			return kTimestamp, tt.Unit
		}
		return kTimestampTZ, tt.Unit
	case *arrow.Date32Type:
		return kDate, 0
	case *arrow.Time64Type:
		return kTime, tt.Unit
	}
	return kText, 0
}

func (k colKind) typeInfo() (duckdb.TypeInfo, error) {
	switch k {
	case kInt64:
		return duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
	case kFloat64:
		return duckdb.NewTypeInfo(duckdb.TYPE_DOUBLE)
	case kBool:
		return duckdb.NewTypeInfo(duckdb.TYPE_BOOLEAN)
	case kBinary:
		return duckdb.NewTypeInfo(duckdb.TYPE_BLOB)
	case kTimestamp:
		return duckdb.NewTypeInfo(duckdb.TYPE_TIMESTAMP)
	case kTimestampTZ:
		return duckdb.NewTypeInfo(duckdb.TYPE_TIMESTAMP_TZ)
	case kDate:
		return duckdb.NewTypeInfo(duckdb.TYPE_DATE)
	case kTime:
		return duckdb.NewTypeInfo(duckdb.TYPE_TIME)
	}
	return duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
}

// newScanJob builds a job over recs (same schema); seqBases[i] >= 0 numbers
// the rows of recs[i] from there.
func newScanJob(recs []arrow.RecordBatch, seqBases []int64) *scanJob {
	j := &scanJob{}
	for _, f := range recs[0].Schema().Fields() {
		k, u := kindOf(f.Type)
		j.kinds = append(j.kinds, k)
		j.units = append(j.units, u)
	}
	size := duckdb.GetDataChunkCapacity()
	for p, rec := range recs {
		j.parts = append(j.parts, scanPart{cols: rec.Columns(), seqBase: seqBases[p]})
		j.seq = j.seq || seqBases[p] >= 0
		n := int(rec.NumRows())
		for start := 0; start < n; start += size {
			j.work = append(j.work, scanUnit{part: p, start: start, end: min(start+size, n)})
		}
		j.rows += int64(n)
	}
	return j
}

// scanSource is the table function's source for one job.
type scanSource struct{ job *scanJob }

func (s scanSource) ColumnInfos() []duckdb.ColumnInfo {
	infos := make([]duckdb.ColumnInfo, 0, len(s.job.kinds)+1)
	for i, k := range s.job.kinds {
		ti, _ := k.typeInfo()
		infos = append(infos, duckdb.ColumnInfo{Name: fmt.Sprintf("c%d", i), T: ti})
	}
	if s.job.seq {
		ti, _ := duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
		infos = append(infos, duckdb.ColumnInfo{Name: "seq", T: ti})
	}
	return infos
}

func (s scanSource) Cardinality() *duckdb.CardinalityInfo {
	return &duckdb.CardinalityInfo{Cardinality: uint(s.job.rows), Exact: true}
}

func (s scanSource) Init() duckdb.ParallelTableSourceInfo {
	return duckdb.ParallelTableSourceInfo{MaxThreads: scanThreads}
}

func (s scanSource) NewLocalState() any { return nil }

// FillChunk claims the next unit of rows and writes it into the chunk.
func (s scanSource) FillChunk(_ any, chunk duckdb.DataChunk) error {
	j := s.job
	u := j.next.Add(1) - 1
	if u >= int64(len(j.work)) {
		return chunk.SetSize(0)
	}
	w := j.work[u]
	part := j.parts[w.part]
	for c, col := range part.cols {
		if err := fillColumn(chunk, c, col, j.kinds[c], j.units[c], w.start, w.end); err != nil {
			return err
		}
	}
	if j.seq {
		c := len(part.cols)
		for i := w.start; i < w.end; i++ {
			if err := duckdb.SetChunkValue(chunk, c, i-w.start, part.seqBase+int64(i)); err != nil {
				return err
			}
		}
	}
	return chunk.SetSize(w.end - w.start)
}

func setNull(chunk duckdb.DataChunk, c, r int) error {
	return duckdb.SetChunkValue[any](chunk, c, r, nil)
}

// fillTyped writes rows [start,end) of a column with value getter get.
func fillTyped[T any](chunk duckdb.DataChunk, c int, col arrow.Array, start, end int, get func(int) T) error {
	if col.NullN() == 0 {
		for i := start; i < end; i++ {
			if err := duckdb.SetChunkValue(chunk, c, i-start, get(i)); err != nil {
				return err
			}
		}
		return nil
	}
	for i := start; i < end; i++ {
		var err error
		if col.IsNull(i) {
			err = setNull(chunk, c, i-start)
		} else {
			err = duckdb.SetChunkValue(chunk, c, i-start, get(i))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func fillColumn(chunk duckdb.DataChunk, c int, col arrow.Array, k colKind, unit arrow.TimeUnit, start, end int) error {
	switch k {
	case kInt64:
		return fillTyped(chunk, c, col, start, end, col.(*array.Int64).Value)
	case kFloat64:
		return fillTyped(chunk, c, col, start, end, col.(*array.Float64).Value)
	case kBool:
		return fillTyped(chunk, c, col, start, end, col.(*array.Boolean).Value)
	case kString:
		switch a := col.(type) {
		case *array.String:
			return fillTyped(chunk, c, col, start, end, a.Value)
		case *array.LargeString:
			return fillTyped(chunk, c, col, start, end, a.Value)
		}
	case kBinary:
		switch a := col.(type) {
		case *array.Binary:
			return fillTyped(chunk, c, col, start, end, a.Value)
		case *array.LargeBinary:
			return fillTyped(chunk, c, col, start, end, a.Value)
		}
	case kTimestamp, kTimestampTZ:
		a := col.(*array.Timestamp)
		return fillTyped(chunk, c, col, start, end, func(i int) time.Time { return a.Value(i).ToTime(unit) })
	case kDate:
		a := col.(*array.Date32)
		return fillTyped(chunk, c, col, start, end, func(i int) time.Time { return a.Value(i).ToTime() })
	case kTime:
		a := col.(*array.Time64)
		return fillTyped(chunk, c, col, start, end, func(i int) time.Time { return a.Value(i).ToTime(unit) })
	}
	return fillTyped(chunk, c, col, start, end, func(i int) string { return textValue(col, i) })
}

// textValue formats a value of an Arrow type without a direct DuckDB mapping
// (decimals and others) as text that DuckDB casts to the column type.
func textValue(col arrow.Array, i int) string {
	switch a := col.(type) {
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Decimal256:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal256Type).Scale)
	}
	return col.ValueStr(i)
}

// registerScan registers the table function on a newly opened instance.
func registerScan(db *sql.DB) error {
	conn, err := db.Conn(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	bigint, err := duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
	if err != nil {
		return err
	}
	err = duckdb.RegisterTableUDF(conn, scanFunc, duckdb.ParallelChunkTableFunction{
		Config: duckdb.TableFunctionConfig{Arguments: []duckdb.TypeInfo{bigint}},
		BindArguments: func(_ map[string]any, args ...any) (duckdb.ParallelChunkTableSource, error) {
			id, _ := args[0].(int64)
			j, ok := scanJobs.Load(id)
			if !ok {
				return nil, fmt.Errorf("no scan job %d", id)
			}
			return scanSource{job: j.(*scanJob)}, nil
		},
	})
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return nil
	}
	return err
}

// insertScan inserts recs into target through the table function in one
// statement. cols are the target columns for the records' fields; casts the
// SQL cast per field ("" for none); seqBases[i] >= 0 also fills seqColumn.
func insertScan(ctx context.Context, conn *sql.Conn, target string, cols []string, casts []string, recs []arrow.RecordBatch, seqBases []int64) error {
	job := newScanJob(recs, seqBases)
	id := scanJobID.Add(1)
	scanJobs.Store(id, job)
	defer scanJobs.Delete(id)

	ins, sel := insertLists(cols, casts, func(i int) string { return fmt.Sprintf("c%d", i) })
	if job.seq {
		ins += ", " + quote(seqColumn)
		sel += ", seq"
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s(%d)", target, ins, sel, scanFunc, id)
	_, err := conn.ExecContext(ctx, q)
	return err
}

// insertAppender appends rec row by row with the DuckDB Appender.
func insertAppender(ctx context.Context, conn *sql.Conn, catalog, schema, table string, cols []string, tcols []*arrowbuf.Column, rec arrow.RecordBatch, seqBase int64) error {
	names := cols
	if seqBase >= 0 {
		names = append(append([]string(nil), cols...), seqColumn)
	}
	return conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderWithColumns(dc.(driver.Conn), catalog, schema, table, names)
		if err != nil {
			return err
		}
		n := int(rec.NumRows())
		arrs := rec.Columns()
		row := make([]driver.Value, len(names))
		for i := 0; i < n; i++ {
			if i%8192 == 0 && ctx.Err() != nil {
				_ = app.Close()
				return context.Cause(ctx)
			}
			for c, a := range arrs {
				row[c] = appenderValue(a, i, tcols[c])
			}
			if seqBase >= 0 {
				row[len(arrs)] = seqBase + int64(i)
			}
			if err := app.AppendRow(row...); err != nil {
				_ = app.Close()
				return err
			}
		}
		return app.Close()
	})
}

func appenderValue(col arrow.Array, i int, tc *arrowbuf.Column) driver.Value {
	if col.IsNull(i) {
		return nil
	}
	switch a := col.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		if tc.DataType == arrowbuf.TypeJSON {
			return jsonRaw(a.Value(i))
		}
		return a.Value(i)
	case *array.Binary:
		return a.Value(i)
	case *array.Timestamp:
		return a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit)
	case *array.Date32:
		return a.Value(i).ToTime()
	case *array.Time64:
		return a.Value(i).ToTime(a.DataType().(*arrow.Time64Type).Unit)
	case *array.Decimal128:
		// The appender takes the value's digits as they are, so a batch
		// whose scale differs from the column's (a Load.Write of a record
		// built by hand) is rescaled first: 9.99 must not become 999.
		s := a.DataType().(*arrow.Decimal128Type)
		v := a.Value(i)
		if want, ok := arrowbuf.ArrowType(tc).(*arrow.Decimal128Type); ok && want.Scale != s.Scale {
			r, err := v.Rescale(s.Scale, want.Scale)
			if err != nil {
				return col.ValueStr(i) // DuckDB casts the text, or names the value it cannot hold
			}
			return duckdb.Decimal{Width: uint8(want.Precision), Scale: uint8(want.Scale), Value: r.BigInt()}
		}
		return duckdb.Decimal{Width: uint8(s.Precision), Scale: uint8(s.Scale), Value: v.BigInt()}
	}
	return col.ValueStr(i)
}

func jsonRaw(s string) json.RawMessage { return json.RawMessage(s) }

// scanThreads is how many DuckDB threads call FillChunk at once.
var scanThreads = runtime.GOMAXPROCS(0)

// insertLists renders the column list of an INSERT and the matching SELECT
// list: the source expression of each column (src), cast where casts says.
func insertLists(cols, casts []string, src func(i int) string) (ins, sel string) {
	var ib, sb strings.Builder
	for i, c := range cols {
		if i > 0 {
			ib.WriteString(", ")
			sb.WriteString(", ")
		}
		ib.WriteString(quote(c))
		if casts[i] != "" {
			fmt.Fprintf(&sb, "CAST(%s AS %s)", src(i), casts[i])
		} else {
			sb.WriteString(src(i))
		}
	}
	return ib.String(), sb.String()
}
