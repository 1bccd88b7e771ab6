package parquet_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// TestIcebergSuite runs the destination suite with every table an Iceberg
// table, on a local bucket and on versitygw, read back through the
// destination's reader (the current snapshots' data files).
func TestIcebergSuite(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) sink.Destination {
			d := newDest(t.TempDir(), parquet.WithTableFormat(arrowbuf.Iceberg))
			t.Cleanup(func() { d.Close() })
			return d
		})
	})
	t.Run("versitygw", func(t *testing.T) {
		s := sinktest.Versitygw(t)
		s.CreateBucket(t, "lake")
		var n atomic.Int64
		sinktest.Run(t, func(t *testing.T) sink.Destination {
			d := newDest(fmt.Sprintf("s3://lake/run%d", n.Add(1)), parquet.WithCredentials(s3Creds(s)), parquet.WithTableFormat(arrowbuf.Iceberg))
			t.Cleanup(func() { d.Close() })
			return d
		})
	})
}
