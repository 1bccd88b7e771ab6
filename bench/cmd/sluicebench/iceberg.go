package main

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink/parquet"
)

// icebergPhase is REST -> Iceberg tables (table_format iceberg) in a local
// folder, next to rest-parquet (the same into plain Parquet files): one
// append snapshot per table, its data files written once, straight into
// the table's data/ folder.
const icebergPhase = "rest-iceberg"

// withIceberg puts the Iceberg phase after rest-parquet.
func withIceberg(phases []string) []string {
	if i := slices.Index(phases, "rest-parquet"); i >= 0 && !slices.Contains(phases, icebergPhase) {
		phases = slices.Insert(phases, i+1, icebergPhase)
	}
	return phases
}

// icebergDest is the destination of the Iceberg phase.
func icebergDest(dir string) *parquet.Destination {
	return parquet.New(filepath.Join(dir, "bucket"), parquet.WithTableFormat(arrowbuf.Iceberg))
}

// icebergRatio prints REST -> Iceberg against REST -> local Parquet (issue
// 17 asks for the ratio, reported).
func icebergRatio(shape string, results []result) {
	var local, lake *result
	for i := range results {
		switch results[i].Name {
		case "rest-parquet":
			local = &results[i]
		case icebergPhase:
			lake = &results[i]
		}
	}
	if local != nil && lake != nil && local.rate() > 0 {
		fmt.Printf("%s: %s / rest-parquet = %.2f, peak RSS %.0f MB (rest-parquet %.0f MB)\n",
			shape, icebergPhase, lake.rate()/local.rate(), lake.PeakRSSMB, local.PeakRSSMB)
	}
}
