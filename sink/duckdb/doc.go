// Package duckdb is the DuckDB destination: it loads normalized Arrow record
// batches into a DuckDB file with dlt's dataset layout, so SQL and dbt models
// written for dlt keep working.
//
// # Contracts
//
//   - A Destination holds no open handle between calls. Begin opens the file
//     and the Load closes it when Commit or Rollback ends it; OpenDataset's
//     reader closes it on Close. Loads and readers in one process share one
//     DuckDB instance per file. A file held by another process fails with an
//     error naming the file that wraps ErrLocked.
//   - A dataset is a DuckDB schema. Tables are created from the first
//     TableBatch's Table snapshot (dlt types mapped by SQLType; NOT NULL for
//     columns that are not nullable), and columns the table lacks are added
//     with ALTER TABLE ADD COLUMN (always nullable) before the rows that
//     carry them.
//   - One Load is one transaction on one connection. Nothing it writes is
//     visible before Commit returns nil; an error from Write or Commit, a
//     cancelled context or Rollback leaves the dataset as it was.
//   - Rows are inserted without build tags. By default each insert (up to
//     a million rows, merge staging included) is written by arrow-go to an
//     uncompressed Parquet file beside the database and read by INSERT ...
//     SELECT FROM read_parquet: no cgo call per value, measured faster than
//     the alternatives, and no Go code runs inside a DuckDB query, where a
//     C++ exception would abort the process. A Go table function filling
//     DuckDB vectors from the Arrow arrays (InsertScan) and the DuckDB
//     Appender (InsertAppender) are kept as options (WithInsertMethod).
//   - A full disk fails the load with an error that reads "no space left
//     on device: <file>" and wraps syscall.ENOSPC, whether the system said
//     so or DuckDB did (an IO error, or an out-of-memory error when it
//     could not spill to its temp directory); the load rolls back.
//   - Dispositions: append inserts; replace empties a table on its first
//     write in the load (Commit empties the family's other tables and
//     Commit.Truncate); merge with a primary key or merge key stages rows in
//     temporary tables and, at Commit, deletes matching target rows (and
//     nested rows through _dlt_root_id) and inserts the staged rows, the last
//     row per primary key winning. merge without keys appends.
//   - Commit writes _dlt_version, _dlt_pipeline_state and _dlt_loads with
//     dlt's columns, drops Commit.Drop tables and commits.
//   - Write owns and releases the record in every case, also on error.
//   - Memory: a load streams under WithMemoryLimit (default 64MB), raised
//     for inserts of wide rows to what DuckDB's in-flight row groups need
//     and, for merges and file imports, to DuckDB's own default. Opening a
//     file sets DuckDB's jemalloc (Linux builds) to return freed pages at
//     once: measured, a 10M-row load peaks at ~325MB instead of ~465MB for
//     ~4% of its speed.
package duckdb
