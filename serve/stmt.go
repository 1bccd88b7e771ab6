package serve

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	bindings "github.com/duckdb/duckdb-go-bindings"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// stmt is a statement prepared on a session.
type stmt struct {
	s *session
	p bindings.PreparedStatement
}

// readOnlyTypes are the statement types a client may run: queries
// (SHOW, DESCRIBE, SUMMARIZE and PRAGMA table_info are queries too) and
// EXPLAIN. Everything else would change the session or the data.
var readOnlyTypes = map[bindings.StatementType]bool{
	bindings.StatementTypeSelect:  true,
	bindings.StatementTypeExplain: true,
}

var statementNames = map[bindings.StatementType]string{
	bindings.StatementTypeInsert: "INSERT", bindings.StatementTypeUpdate: "UPDATE",
	bindings.StatementTypeDelete: "DELETE", bindings.StatementTypeCreate: "CREATE",
	bindings.StatementTypeAlter: "ALTER", bindings.StatementTypeDrop: "DROP",
	bindings.StatementTypeCopy: "COPY", bindings.StatementTypeAttach: "ATTACH",
	bindings.StatementTypeDetach: "DETACH", bindings.StatementTypeSet: "SET",
	bindings.StatementTypeVariableSet: "SET VARIABLE", bindings.StatementTypePragma: "PRAGMA",
	bindings.StatementTypeLoad: "INSTALL/LOAD", bindings.StatementTypeCall: "CALL",
	bindings.StatementTypeExport: "EXPORT", bindings.StatementTypeTransaction: "transaction",
	bindings.StatementTypeVacuum: "VACUUM", bindings.StatementTypeAnalyze: "ANALYZE",
	bindings.StatementTypeCreateFunc: "CREATE FUNCTION", bindings.StatementTypeMergeInto: "MERGE",
	bindings.StatementTypeCopyDatabase: "COPY DATABASE", bindings.StatementTypePrepare: "PREPARE",
	bindings.StatementTypeExecute: "EXECUTE", bindings.StatementTypeUpdateExtensions: "UPDATE EXTENSIONS",
}

// ErrReadOnly is wrapped by the status of a statement refused because it
// is not a query.
var ErrReadOnly = errors.New("serve: the dataset is served read-only")

// prepare prepares one client statement and refuses all but queries.
func (s *session) prepare(sql string) (*stmt, error) {
	if strings.TrimSpace(sql) == "" {
		return nil, status.Error(codes.InvalidArgument, "serve: empty query")
	}
	st := &stmt{s: s}
	if bindings.Prepare(s.conn, sql, &st.p) == bindings.StateError {
		msg := bindings.PrepareError(st.p)
		bindings.DestroyPrepare(&st.p)
		return nil, duckError(msg)
	}
	if t := bindings.PreparedStatementType(st.p); !readOnlyTypes[t] {
		st.close()
		name := statementNames[t]
		if name == "" {
			name = "this kind of"
		}
		return nil, status.Errorf(codes.PermissionDenied, "%v: %s statements are not allowed, only queries (SELECT, DESCRIBE, SHOW, EXPLAIN)", ErrReadOnly, name)
	}
	return st, nil
}

func (st *stmt) close() { bindings.DestroyPrepare(&st.p) }

// schema is the result schema DuckDB knows before running the statement;
// nil when a column's type depends on parameters not yet bound.
func (st *stmt) schema() (*arrow.Schema, error) {
	n := int(bindings.PreparedStatementColumnCount(st.p))
	fields := make([]arrow.Field, n)
	for i := range n {
		name := bindings.PreparedStatementColumnName(st.p, bindings.IdxT(i))
		lt := bindings.PreparedStatementColumnLogicalType(st.p, bindings.IdxT(i))
		if bindings.GetTypeId(lt) == bindings.TypeInvalid {
			bindings.DestroyLogicalType(&lt)
			return nil, nil
		}
		ct, err := newColType(name, lt)
		bindings.DestroyLogicalType(&lt)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		fields[i] = ct.field(name)
	}
	return arrow.NewSchema(fields, nil), nil
}

// paramSchema describes the statement's parameters, named by DuckDB's
// names ($name) or positions (1, 2, ...); a parameter whose type DuckDB
// cannot tell (SELECT ?) is typed null: any value binds.
func (st *stmt) paramSchema() *arrow.Schema {
	n := int(bindings.NParams(st.p))
	fields := make([]arrow.Field, n)
	for i := range n {
		name := bindings.ParameterName(st.p, bindings.IdxT(i+1))
		if name == "" {
			name = strconv.Itoa(i + 1)
		}
		f := arrow.Field{Name: name, Type: arrow.Null, Nullable: true}
		lt := bindings.ParamLogicalType(st.p, bindings.IdxT(i+1))
		if lt.Ptr != nil {
			if ct, err := newColType(name, lt); err == nil {
				f.Type = ct.arrow
			}
			bindings.DestroyLogicalType(&lt)
		}
		fields[i] = f
	}
	return arrow.NewSchema(fields, nil)
}

// duckError turns DuckDB's error message into a status with a code that
// says whose fault it is; the message stays DuckDB's own.
func duckError(msg string) error {
	code := codes.InvalidArgument
	switch {
	case strings.HasPrefix(msg, "Permission Error"):
		code = codes.PermissionDenied
	case strings.HasPrefix(msg, "Out of Memory Error"):
		code = codes.ResourceExhausted
	case strings.HasPrefix(msg, "INTERRUPT Error"):
		code = codes.Canceled
	case strings.HasPrefix(msg, "INTERNAL Error"), strings.HasPrefix(msg, "FATAL Error"):
		code = codes.Internal
	case strings.Contains(msg, "read-only mode"):
		code = codes.PermissionDenied
	}
	return status.Error(code, strings.TrimSpace(msg))
}

// result is a running statement's streaming result.
type result struct {
	st   *stmt
	res  *bindings.Result
	cols []*colType
	sch  *arrow.Schema
}

// execute runs the statement with its bound parameters. DuckDB streams
// the result: rows are computed as they are fetched, not materialized.
// ctx interrupts the execution if it ends first.
func (st *stmt) execute(ctx context.Context) (*result, error) {
	var pend bindings.PendingResult
	// Deprecated in DuckDB's C API but the only way to a streaming result
	// there; duckdb-go's own queries materialize the whole result.
	if bindings.PendingPreparedStreaming(st.p, &pend) == bindings.StateError {
		msg := bindings.PendingError(pend)
		bindings.DestroyPending(&pend)
		return nil, duckError(msg)
	}
	stop := context.AfterFunc(ctx, st.s.interrupt)
	res := &bindings.Result{}
	state := bindings.ExecutePending(pend, res)
	stop()
	bindings.DestroyPending(&pend)
	if state == bindings.StateError {
		msg := bindings.ResultError(res)
		bindings.DestroyResult(res)
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return nil, duckError(msg)
	}
	r := &result{st: st, res: res}
	n := int(bindings.ColumnCount(res))
	fields := make([]arrow.Field, n)
	for i := range n {
		name := bindings.ColumnName(res, bindings.IdxT(i))
		lt := bindings.ColumnLogicalType(res, bindings.IdxT(i))
		ct, err := newColType(name, lt)
		bindings.DestroyLogicalType(&lt)
		if err != nil {
			r.close()
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		r.cols = append(r.cols, ct)
		fields[i] = ct.field(name)
	}
	r.sch = arrow.NewSchema(fields, nil)
	return r, nil
}

// fetch returns the next chunk, or a nil chunk at the end; an error that
// ends the stream early is DuckDB's.
func (r *result) fetch() (bindings.DataChunk, error) {
	ch := bindings.FetchChunk(*r.res)
	if ch.Ptr == nil {
		if msg := bindings.ResultError(r.res); msg != "" {
			return ch, duckError(msg)
		}
	}
	return ch, nil
}

func (r *result) close() {
	if r.res != nil {
		bindings.DestroyResult(r.res)
		r.res = nil
	}
}

// sameSchema checks that a later execution of a statement (the next
// parameter row) gives the columns the stream started with.
func sameSchema(a, b *arrow.Schema) error {
	if a.Equal(b) {
		return nil
	}
	return status.Error(codes.InvalidArgument, fmt.Sprintf("serve: the parameter rows give results of different columns (%s, then %s)", a, b))
}

func (st *stmt) nparams() int { return int(bindings.NParams(st.p)) }
