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
)

// TestCancelRunningQuery: a client that gives up on a query DuckDB is
// still computing interrupts it, and the call closes its database before
// it returns.
func TestCancelRunningQuery(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir())
	h, err := NewHandler(DuckDBFile(path, testDataset), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// Hours of work; the client waits 300 ms.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = h.GetFlightInfoStatement(ctx, &flightpb.CommandStatementQuery{Query: "SELECT count(*) FROM range(1000000000000) a"},
		&flight.FlightDescriptor{})
	if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.Canceled {
		t.Fatalf("got %v, want the deadline", err)
	}
	if n := h.OpenDatabases(); n != 0 {
		t.Errorf("%d databases open after the client gave up", n)
	}
}

// TestClientLeavesMidStream: a stream whose client goes away stops, and its
// database closes.
func TestClientLeavesMidStream(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir())
	synctest.Test(t, func(t *testing.T) {
		h, err := NewHandler(DuckDBFile(path, testDataset), Options{BatchRows: 1000})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		info, err := h.GetFlightInfoStatement(context.Background(),
			&flightpb.CommandStatementQuery{Query: "SELECT * FROM range(10000000)"}, &flight.FlightDescriptor{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		_, ch, err := h.DoGetStatement(ctx, ticketHandle(t, info))
		if err != nil {
			t.Fatal(err)
		}
		first := <-ch
		if first.Err != nil || first.Data.NumRows() != 1000 {
			t.Fatalf("first batch: %v", first.Err)
		}
		first.Data.Release()
		cancel()
		synctest.Wait()
		if n := h.OpenDatabases(); n != 0 {
			t.Errorf("%d databases open after the client left", n)
		}
	})
}
