package serve

import (
	"context"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// prepared is a client's prepared statement: its text, schemas and the
// parameters last bound. It holds no database: each execution prepares it
// again on a database of its own.
type prepared struct {
	query          string
	dataset, param *arrow.Schema

	mu     sync.Mutex
	params arrow.RecordBatch
	closed bool
}

func (p *prepared) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.params != nil {
		p.params.Release()
		p.params = nil
	}
}

// boundParams returns the bound parameters, retained, or nil.
func (p *prepared) boundParams() (arrow.RecordBatch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, status.Error(codes.NotFound, "serve: the prepared statement was closed")
	}
	if p.params != nil {
		p.params.Retain()
	}
	return p.params, nil
}

// CreatePreparedStatement prepares a query and returns its result and
// parameter schemas.
func (h *Handler) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	var res flightsql.ActionCreatePreparedStatementResult
	if len(req.GetTransactionId()) > 0 {
		return res, errNoTransactions
	}
	sess, err := h.open(ctx)
	if err != nil {
		return res, err
	}
	defer sess.close()
	st, err := sess.prepare(req.GetQuery())
	if err != nil {
		return res, err
	}
	defer st.close()
	p := &prepared{query: req.GetQuery(), param: st.paramSchema()}
	if p.dataset, err = st.schema(); err != nil {
		return res, err
	}
	id, err := h.prepared.put(p)
	if err != nil {
		return res, err
	}
	return flightsql.ActionCreatePreparedStatementResult{Handle: []byte(id), DatasetSchema: p.dataset, ParameterSchema: p.param}, nil
}

// ClosePreparedStatement forgets a prepared statement; one already gone
// (closed or expired) is no error.
func (h *Handler) ClosePreparedStatement(_ context.Context, req flightsql.ActionClosePreparedStatementRequest) error {
	if p, ok := h.prepared.take(string(req.GetPreparedStatementHandle())); ok {
		p.close()
	}
	return nil
}

// DoPutPreparedStatementQuery binds parameters: one execution per row.
func (h *Handler) DoPutPreparedStatementQuery(_ context.Context, cmd flightsql.PreparedStatementQuery, rdr flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	handle := cmd.GetPreparedStatementHandle()
	p, ok := h.prepared.get(string(handle))
	if !ok {
		return nil, h.prepared.notFound()
	}
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	rows := 0
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if rows += int(rec.NumRows()); rows > maxParamRows {
			return nil, status.Errorf(codes.InvalidArgument, "serve: more than %d parameter rows", maxParamRows)
		}
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := rdr.Err(); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "serve: read parameters: %v", err)
	}
	var params arrow.RecordBatch
	if rows > 0 {
		var err error
		if params, err = concat(h.Alloc, recs); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		if params != nil {
			params.Release()
		}
		return nil, h.prepared.notFound()
	}
	if p.params != nil {
		p.params.Release()
	}
	p.params = params
	return handle, nil
}

// GetFlightInfoPreparedStatement runs a prepared statement with its bound
// parameters.
func (h *Handler) GetFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	p, ok := h.prepared.get(string(cmd.GetPreparedStatementHandle()))
	if !ok {
		return nil, h.prepared.notFound()
	}
	params, err := p.boundParams()
	if err != nil {
		return nil, err
	}
	return h.run(ctx, p.query, params, desc)
}

// DoGetPreparedStatement runs a prepared statement and streams its result,
// for clients that send the command as the ticket.
func (h *Handler) DoGetPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	p, ok := h.prepared.get(string(cmd.GetPreparedStatementHandle()))
	if !ok {
		return nil, nil, h.prepared.notFound()
	}
	params, err := p.boundParams()
	if err != nil {
		return nil, nil, err
	}
	pe, err := h.start(ctx, p.query, params)
	if err != nil {
		return nil, nil, err
	}
	return h.stream(ctx, pe)
}

// GetSchemaPreparedStatement returns a prepared statement's result schema.
func (h *Handler) GetSchemaPreparedStatement(_ context.Context, cmd flightsql.PreparedStatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	p, ok := h.prepared.get(string(cmd.GetPreparedStatementHandle()))
	if !ok {
		return nil, h.prepared.notFound()
	}
	sch := p.dataset
	if sch == nil {
		sch = arrow.NewSchema(nil, nil)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(sch, h.Alloc)}, nil
}

// concat joins record batches of one schema into one.
func concat(mem memory.Allocator, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	sch := recs[0].Schema()
	if len(recs) == 1 {
		recs[0].Retain()
		return recs[0], nil
	}
	var rows int64
	for _, r := range recs {
		if !r.Schema().Equal(sch) {
			return nil, status.Errorf(codes.InvalidArgument, "serve: parameter batches of different columns (%s, then %s)", sch, r.Schema())
		}
		rows += r.NumRows()
	}
	cols := make([]arrow.Array, sch.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "serve: parameters: %v", err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(sch, cols, rows), nil
}
