// Package iceberg writes the Parquet destination's tables as Apache Iceberg
// (format v2) tables on a gocloud.dev blob bucket (file://, s3://, and any
// other gocloud driver), for table_format "iceberg".
//
// # Layout
//
// A table lives at <root>/<dataset>/<table>/, findable by path as Iceberg's
// Hadoop catalog lays it out:
//
//	<table>/metadata/vN.metadata.json     table metadata, version N
//	<table>/metadata/version-hint.text    N, for readers that look there first
//	<table>/metadata/*.avro               manifest lists and manifests
//	<table>/data/*.parquet                data files
//
// The current version is the highest vN.metadata.json; it is written
// create-only (If-None-Match on S3), which makes it the commit point of the
// table: a process killed before leaves the previous version current, one
// killed after (before the hint) is found by probing past the hint.
//
// # Loads
//
// Each load makes at most one snapshot per table, whose summary carries the
// load id (LoadIDProperty). Lake.Prepare writes the data files and
// manifests and stages the snapshot; Pending.Commit publishes it. The rows
// come as an Arrow RecordReader (written into data/ by iceberg-go) or as
// Parquet files the caller already wrote into the bucket (Write.Files,
// added as they are, columns matched by name through the table's name
// mapping: no second write). append
// adds files; replace removes every data file of the current snapshot;
// merge removes the existing rows whose key equals one of the load's rows
// (or that Write.Drop lists) copy-on-write: the data files holding them are
// rewritten without them, never with delete files, so a reader that lists
// a snapshot's data files (DuckDB's read_parquet over Lake.DataFiles) sees
// the right rows. Columns new to a table are added to its schema (optional,
// in the load's order) in the same snapshot; a column the rows lack is
// null. A table a load creates appears at its first commit.
//
// A load that prepared tables and died before committing them all is
// rerun with the same load id: tables already committed for it are
// skipped (Pending.Skipped), so nothing is doubled; their removed key
// values (Pending.Removed, for nested tables) come from the snapshot
// before the load's.
//
// New tables get the Parquet destination's writer settings as table
// properties: Snappy, no dictionary encoding, no column metrics for the
// random row ids (_dlt_id, _dlt_parent_id, _dlt_root_id); Iceberg's
// defaults (zstd, dictionaries, metrics on every column) made a 1M-row
// append several times slower here (BenchmarkAppend1M).
//
// # Types
//
// The Arrow types of arrowbuf.ArrowType map to Iceberg's: int64 long,
// float64 double, bool boolean, string string (json too, with column doc
// "dlt:json"), binary binary, date32 date, time64[us] time, timestamp[us]
// with a zone timestamptz (without: timestamp), decimal128(p,s) decimal(p,s).
// Unsigned integers (which sluice does not produce) are refused.
//
// A dataset takes one writing process at a time, as with the Parquet
// destination; two writers committing the same version cannot both win:
// the create-only write refuses the second (table.ErrCommitFailed).
package iceberg
