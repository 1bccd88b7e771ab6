package serve

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	flightpb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// ticketHandle reads the result handle out of a statement ticket.
func ticketHandle(t *testing.T, info *flight.FlightInfo) *flightpb.TicketStatementQuery {
	t.Helper()
	var a anypb.Any
	if err := proto.Unmarshal(info.Endpoint[0].Ticket.Ticket, &a); err != nil {
		t.Fatal(err)
	}
	var tkt flightpb.TicketStatementQuery
	if err := a.UnmarshalTo(&tkt); err != nil {
		t.Fatal(err)
	}
	return &tkt
}

// TestResultHandlesExpire: a result whose DoGet never comes is closed
// after ResultTTL, and with it its DuckDB database (which holds the file a
// run must commit to); a fetched one is gone at once.
func TestResultHandlesExpire(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir())
	synctest.Test(t, func(t *testing.T) {
		const ttl = 30 * time.Second
		h, err := NewHandler(DuckDBFile(path, testDataset), Options{ResultTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		ctx := context.Background()
		run := func() *flightpb.TicketStatementQuery {
			info, err := h.GetFlightInfoStatement(ctx, &flightpb.CommandStatementQuery{Query: "SELECT * FROM posts"}, &flight.FlightDescriptor{})
			if err != nil {
				t.Fatal(err)
			}
			return ticketHandle(t, info)
		}
		forgotten, fetched := run(), run()
		if n := h.OpenDatabases(); n != 2 {
			t.Fatalf("%d open databases, want 2", n)
		}
		_, ch, err := h.DoGetStatement(ctx, fetched)
		if err != nil {
			t.Fatal(err)
		}
		rows := 0
		for c := range ch {
			if c.Err != nil {
				t.Fatal(c.Err)
			}
			rows += int(c.Data.NumRows())
			c.Data.Release()
		}
		if rows != 101 {
			t.Errorf("%d rows, want 101", rows)
		}
		synctest.Wait()
		if n := h.OpenDatabases(); n != 1 {
			t.Errorf("%d open databases after one result was read, want 1", n)
		}

		time.Sleep(ttl - time.Second)
		synctest.Wait()
		if n := h.OpenDatabases(); n != 1 {
			t.Errorf("%d open databases before the TTL, want 1", n)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := h.OpenDatabases(); n != 0 {
			t.Errorf("%d open databases after the TTL, want 0", n)
		}
		if _, _, err := h.DoGetStatement(ctx, forgotten); status.Code(err) != codes.NotFound {
			t.Errorf("DoGet of the expired result: %v, want NotFound", err)
		}
		if _, _, err := h.DoGetStatement(ctx, fetched); status.Code(err) != codes.NotFound {
			t.Errorf("second DoGet of a result: %v, want NotFound", err)
		}
	})
}

// TestPreparedStatementsExpire: a prepared statement unused for
// PreparedTTL is closed; each use restarts its time.
func TestPreparedStatementsExpire(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir())
	synctest.Test(t, func(t *testing.T) {
		const ttl = 10 * time.Minute
		h, err := NewHandler(DuckDBFile(path, testDataset), Options{PreparedTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		ctx := context.Background()
		res, err := h.CreatePreparedStatement(ctx, &flightpb.ActionCreatePreparedStatementRequest{Query: "SELECT * FROM posts WHERE id = ?"})
		if err != nil {
			t.Fatal(err)
		}
		if n := h.OpenDatabases(); n != 0 {
			t.Errorf("a prepared statement holds %d databases, want 0", n)
		}
		cmd := &flightpb.CommandPreparedStatementQuery{PreparedStatementHandle: res.Handle}
		use := func() error {
			_, err := h.GetSchemaPreparedStatement(ctx, cmd, &flight.FlightDescriptor{})
			return err
		}
		time.Sleep(ttl - time.Minute)
		if err := use(); err != nil {
			t.Fatalf("use before the TTL: %v", err)
		}
		time.Sleep(ttl - time.Minute)
		synctest.Wait()
		if err := use(); err != nil {
			t.Fatalf("use within the TTL of the last use: %v", err)
		}
		time.Sleep(ttl + time.Second)
		synctest.Wait()
		if err := use(); status.Code(err) != codes.NotFound {
			t.Errorf("use after the TTL: %v, want NotFound", err)
		}
		if n := h.prepared.len(); n != 0 {
			t.Errorf("%d prepared statements kept", n)
		}
	})
}
