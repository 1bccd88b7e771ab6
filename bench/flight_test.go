package bench_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/sourcegraph/conc"

	"github.com/sluicehq/sluice/bench"
	"github.com/sluicehq/sluice/serve"
)

// TestFlightStreamsTheTable: the Flight bench's client reads every row of
// the table through a server, as the bench does with 1M rows.
func TestFlightStreamsTheTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.duckdb")
	const rows = 20_000
	if err := bench.MakeFlightTable(path, rows); err != nil {
		t.Fatal(err)
	}
	srv, err := serve.NewServer(serve.DuckDBFile(path, bench.FlightDataset), serve.Options{BatchRows: 3000})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg conc.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ctx, lis); err != nil {
			t.Error(err)
		}
	})
	defer wg.Wait()
	defer cancel()
	n, err := bench.StreamFlight(context.Background(), "grpc://"+lis.Addr().String(), bench.FlightQuery)
	if err != nil {
		t.Fatal(err)
	}
	if n != rows {
		t.Errorf("%d rows, want %d", n, rows)
	}
	rr, err := srv.Handler().Query(context.Background(), "SELECT * FROM "+bench.FlightTable+" WHERE id < 10")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := bench.Drain(rr); err != nil || n != 10 {
		t.Errorf("in-process: %d rows, %v", n, err)
	}
}
