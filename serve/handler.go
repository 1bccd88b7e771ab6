package serve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sourcegraph/conc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Defaults of Options.
const (
	DefaultResultTTL   = 30 * time.Second
	DefaultPreparedTTL = 10 * time.Minute
	DefaultLockWait    = 30 * time.Second
	DefaultBatchRows   = 64 * 1024
	// DefaultBatchBytes keeps each record batch message under gRPC's
	// default 4 MiB receive limit, which arrow-go's Flight client keeps.
	DefaultBatchBytes = 2 << 20
	DefaultMaxHandles = 1024
	// DefaultMemoryLimit is DuckDB's memory_limit for each statement.
	DefaultMemoryLimit = "256MB"
	maxParamRows       = 10_000
)

// Options configure a Handler. Zero values mean the defaults.
type Options struct {
	// Token, when set, is the bearer token every call must carry
	// (authorization: Bearer <token>); others fail Unauthenticated.
	Token string
	// ResultTTL is how long a statement's result waits for its DoGet
	// before it is closed (default 30s). A waiting result holds the
	// DuckDB file, which a run must wait for to commit.
	ResultTTL time.Duration
	// PreparedTTL closes prepared statements unused for that long
	// (default 10m). They hold no file, only their text and parameters.
	PreparedTTL time.Duration
	// LockWait is how long a statement waits for a DuckDB file a run
	// holds while it commits (default 30s); then it fails Unavailable.
	LockWait time.Duration
	// BatchRows and BatchBytes bound each record batch sent (defaults
	// 65,536 rows, 2 MiB).
	BatchRows, BatchBytes int
	// MaxHandles bounds the open results and, separately, the prepared
	// statements (default 1,024 each).
	MaxHandles int
	// MemoryLimit is DuckDB's memory_limit for each statement (default
	// 256MB): past it DuckDB drops the file's blocks it cached and spills
	// big sorts, joins and aggregates to disk, so a server's memory does
	// not grow with the tables it reads.
	MemoryLimit string
	// TempDir is where statements spill (default os.TempDir()); each
	// statement gets a folder of its own in it, removed when it ends.
	TempDir string
	// Allocator allocates record batches (default memory.DefaultAllocator).
	Allocator memory.Allocator
	// Version is the server version GetSqlInfo reports.
	Version string
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ResultTTL, DefaultResultTTL)
	def(&o.PreparedTTL, DefaultPreparedTTL)
	def(&o.LockWait, DefaultLockWait)
	for _, f := range []struct {
		p *int
		v int
	}{{&o.BatchRows, DefaultBatchRows}, {&o.BatchBytes, DefaultBatchBytes}, {&o.MaxHandles, DefaultMaxHandles}} {
		if *f.p <= 0 {
			*f.p = f.v
		}
	}
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	if o.MemoryLimit == "" {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.Version == "" {
		o.Version = "dev"
	}
}

// Handler is a Flight SQL server (flightsql.Server) over one dataset.
// Mount it on a gRPC server of your own with Register and the options of
// ServerOptions (authentication, and no panic reaching gRPC), or let
// Server do it. Every statement gets a DuckDB database of its own, with
// the dataset attached read-only, closed when its result is drained,
// expires or fails: between statements the dataset's files are free for
// runs. Close it after the gRPC server stops.
type Handler struct {
	flightsql.BaseServer
	src  Source
	opts Options

	results  *handles[*pending]
	prepared *handles[*prepared]

	ctx       context.Context // ends with Close: stops the streams
	cancel    context.CancelFunc
	producers conc.WaitGroup
	sessions  atomic.Int64  // open DuckDB databases
	tempRoot  string        // the statements' spill folders are in it
	seq       atomic.Uint64 // names them
	// onLockWait, if set, is called each time a statement waits for the
	// DuckDB file (tests).
	onLockWait func()
}

var _ flightsql.Server = (*Handler)(nil)

// NewHandler returns a Handler serving src.
func NewHandler(src Source, opts Options) (*Handler, error) {
	if src.path == "" && (src.opener == nil || src.dir == "") {
		return nil, errors.New("serve: no dataset: build the Source with DuckDBFile or ParquetFiles")
	}
	if src.dataset == "" {
		return nil, errors.New("serve: no dataset name")
	}
	opts.defaults()
	root, err := os.MkdirTemp(opts.TempDir, "sluice-serve-")
	if err != nil {
		return nil, fmt.Errorf("serve: spill folder: %w", err)
	}
	h := &Handler{src: src, opts: opts, tempRoot: root}
	h.Alloc = opts.Allocator
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.results = newHandles("result handle", opts.ResultTTL, opts.MaxHandles, (*pending).close)
	h.prepared = newHandles("prepared statement", opts.PreparedTTL, opts.MaxHandles, (*prepared).close)
	if err := h.registerSqlInfo(); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	return h, nil
}

// Register registers the handler's Flight service on s.
func (h *Handler) Register(s *grpc.Server) {
	flight.RegisterFlightServiceServer(s, flightsql.NewFlightServer(h))
}

// Source is what the handler serves.
func (h *Handler) Source() Source { return h.src }

// OpenDatabases counts the DuckDB databases open for statements and
// results not yet drained or expired.
func (h *Handler) OpenDatabases() int { return int(h.sessions.Load()) }

// Close ends the streams still running (with an Unavailable status),
// closes the results and prepared statements still open and waits for
// the streams to end.
func (h *Handler) Close() error {
	h.cancel()
	h.results.closeAll()
	h.prepared.closeAll()
	h.producers.Wait()
	return os.RemoveAll(h.tempRoot)
}

// open opens a statement's DuckDB database.
func (h *Handler) open(ctx context.Context) (*session, error) {
	if h.ctx.Err() != nil {
		return nil, errStopping
	}
	tmp := filepath.Join(h.tempRoot, strconv.FormatUint(h.seq.Add(1), 10))
	s, err := openSession(ctx, h.src, h.opts.MemoryLimit, tmp, h.opts.LockWait, h.onLockWait)
	if err != nil {
		return nil, err
	}
	h.sessions.Add(1)
	s.release = func() { h.sessions.Add(-1) }
	return s, nil
}

// pending is a statement's result waiting for its DoGet.
type pending struct {
	sess      *session
	st        *stmt
	res       *result
	params    arrow.RecordBatch
	nextParam int
}

func (p *pending) close() {
	p.res.close()
	p.st.close()
	p.sess.close()
	if p.params != nil {
		p.params.Release()
	}
}

// run prepares query on a new session, binds the first parameter row and
// executes it; the result waits for its DoGet under the returned ticket.
func (h *Handler) run(ctx context.Context, query string, params arrow.RecordBatch, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	p, err := h.start(ctx, query, params)
	if err != nil {
		return nil, err
	}
	sch := p.res.sch
	id, err := h.results.put(p)
	if err != nil {
		p.close()
		return nil, err
	}
	if h.ctx.Err() != nil { // closed meanwhile: its closeAll missed this one
		if p, ok := h.results.take(id); ok {
			p.close()
		}
		return nil, errStopping
	}
	tkt, err := flightsql.CreateStatementQueryTicket([]byte(id))
	if err != nil {
		if p, ok := h.results.take(id); ok {
			p.close()
		}
		return nil, status.Errorf(codes.Internal, "serve: ticket: %v", err)
	}
	return &flight.FlightInfo{
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: tkt}}},
		FlightDescriptor: desc,
		Schema:           flight.SerializeSchema(sch, h.Alloc),
		TotalRecords:     -1,
		TotalBytes:       -1,
	}, nil
}

// start runs query with the first row of params. It takes ownership of
// params. Whatever happens, even a panic, what it opened is closed unless
// it returns the pending result.
func (h *Handler) start(ctx context.Context, query string, params arrow.RecordBatch) (p *pending, err error) {
	var sess *session
	var st *stmt
	defer func() {
		if p != nil {
			return
		}
		if st != nil {
			st.close()
		}
		if sess != nil {
			sess.close()
		}
		if params != nil {
			params.Release()
		}
	}()
	if sess, err = h.open(ctx); err != nil {
		return nil, err
	}
	if st, err = sess.prepare(query); err != nil {
		return nil, err
	}
	next := 0
	if params != nil && params.NumRows() > 0 {
		if err := st.bind(params, 0); err != nil {
			return nil, err
		}
		next = 1
	} else if n := st.nparams(); n > 0 {
		return nil, status.Errorf(codes.InvalidArgument, "serve: the statement takes %d parameters: bind them before executing it", n)
	}
	res, err := st.execute(ctx)
	if err != nil {
		return nil, err
	}
	return &pending{sess: sess, st: st, res: res, params: params, nextParam: next}, nil
}

// stream streams p's result, closing everything at its end. The stream
// ends with an error status, never silently, when the result fails or the
// handler closes.
func (h *Handler) stream(ctx context.Context, p *pending) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	rdr := newReader(h.Alloc, p.sess, p.st, p.res, p.params, p.nextParam, h.opts.BatchRows, h.opts.BatchBytes)
	rctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(h.ctx, cancel)
	rdr.watch(rctx)
	// Unbuffered: the reader builds the next batch while gRPC sends this
	// one, no further ahead.
	ch := make(chan flight.StreamChunk)
	h.producers.Go(func() {
		defer close(ch)
		defer cancel()
		defer stop()
		defer rdr.Release()
		send := func(c flight.StreamChunk) bool {
			select {
			case ch <- c:
				return true
			case <-ctx.Done(): // the client went away: nobody to tell
				if c.Data != nil {
					c.Data.Release()
				}
				return false
			}
		}
		defer func() {
			if v := recover(); v != nil {
				send(flight.StreamChunk{Err: panicError("DoGet", v)})
			}
		}()
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			if !send(flight.StreamChunk{Data: rec}) {
				return
			}
		}
		if err := rdr.Err(); err != nil {
			if h.ctx.Err() != nil {
				err = errStopping
			} else if _, ok := status.FromError(err); !ok {
				err = status.FromContextError(err).Err()
			}
			send(flight.StreamChunk{Err: err})
		}
	})
	return rdr.Schema(), ch, nil
}

var errStopping = status.Error(codes.Unavailable, "serve: the server is stopping")

// Query runs a read-only query in this process, as a client's statement
// runs (a DuckDB database of its own, streamed in batches), for Go
// programs that want the server's Arrow without the network. Release the
// reader when done: that closes the database.
func (h *Handler) Query(ctx context.Context, query string) (array.RecordReader, error) {
	p, err := h.start(ctx, query, nil)
	if err != nil {
		return nil, err
	}
	rdr := newReader(h.Alloc, p.sess, p.st, p.res, nil, 0, h.opts.BatchRows, h.opts.BatchBytes)
	rdr.watch(ctx)
	return rdr, nil
}

// GetFlightInfoStatement runs a query and returns the ticket of its
// result, which waits ResultTTL for its DoGet.
func (h *Handler) GetFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if len(cmd.GetTransactionId()) > 0 {
		return nil, errNoTransactions
	}
	return h.run(ctx, cmd.GetQuery(), nil, desc)
}

// DoGetStatement streams the result a ticket refers to.
func (h *Handler) DoGetStatement(ctx context.Context, tkt flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	p, ok := h.results.take(string(tkt.GetStatementHandle()))
	if !ok {
		return nil, nil, h.results.notFound()
	}
	return h.stream(ctx, p)
}

// GetSchemaStatement prepares a query for its result schema.
func (h *Handler) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	if len(cmd.GetTransactionId()) > 0 {
		return nil, errNoTransactions
	}
	sess, err := h.open(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.close()
	st, err := sess.prepare(cmd.GetQuery())
	if err != nil {
		return nil, err
	}
	defer st.close()
	sch, err := st.schema()
	if err != nil {
		return nil, err
	}
	if sch == nil {
		sch = arrow.NewSchema(nil, nil)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(sch, h.Alloc)}, nil
}
