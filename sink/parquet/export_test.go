package parquet

// SetIcebergCommitHook sets a function called after each Iceberg table's
// snapshot is committed (nil: none), for kill tests.
func SetIcebergCommitHook(f func(table string)) {
	if f == nil {
		f = func(string) {}
	}
	icebergCommitted = f
}
