// Package sinktest is the test suite every destination passes: Run builds
// normalized batches by hand and checks the dataset through DatasetReader.
// sinktest.go holds Run and the helpers that build batches, load them and
// read the dataset back; the cases are grouped by what they check:
// dispositions.go (append, replace, merge, schema evolution), commit.go
// (rollback, failed commit, state, truncate and drop), types.go (column
// types, many rows, a read-only Query), text.go (invalid UTF-8) and
// disk.go (a full disk).
package sinktest
