// Package duckdb is the DuckDB destination: it loads normalized Arrow record
// batches into a DuckDB file with dlt's dataset layout, so SQL and dbt models
// written for dlt keep working.
//
// # Contracts
//
//   - The lock window. DuckDB lets one process write a file, and while it
//     holds the file no other process can open it, not even read-only. So a
//     load opens the file only for its load step, as dlt does: Begin
//     creates the load's stage folder (.<file>.sluice-staging/ beside the
//     database, locked by the load) and, if missing, the database file
//     (whole: made in the stage folder, then linked into place, so a kill
//     never leaves a file DuckDB cannot open); Write stages every record there
//     as uncompressed Parquet, one file per table and column set (disk
//     about the size of the load's rows). Commit opens the file, creates
//     and evolves the tables, inserts each table's files in one statement,
//     runs merges, writes the system tables, commits and closes the file:
//     the lock is held from Commit's start to its end. While a run
//     extracts, other processes (BI tools, dbt, `sluice pipeline NAME
//     info`) open the file and read the last committed load.
//     WithLoadDuringExtract opens the file at Begin and inserts while the
//     run extracts (every ~1M rows of a table), holding the lock for the
//     whole run; WithInsertMethod chooses that mode's insert path.
//   - A file held by another process: opening it for a load (and LastState
//     and LastSchema, which a run reads first) waits for it up to
//     WithLockWait (default 2 minutes; logged once), then fails with an
//     error naming the file and its holder that wraps ErrLocked.
//     OpenDataset does not wait. Loads and readers in one process share
//     one DuckDB instance per file, and no handle stays open between calls.
//   - Staged loads of several processes may run at once; the second run of
//     one pipeline to commit (two working folders, the same state version)
//     fails with ErrStateChanged and keeps nothing, or it would load its
//     incremental window again. Stage folders whose lock no process holds
//     (a killed load's) are removed by the next Begin (where flock is
//     missing, they stay until removed by hand); a file to import is
//     hard-linked (or copied) into the stage folder when yielded.
//   - A dataset is a DuckDB schema. Tables are created from the first
//     TableBatch's Table snapshot (dlt types mapped by SQLType; NOT NULL for
//     columns that are not nullable), and columns the table lacks are added
//     with ALTER TABLE ADD COLUMN (always nullable) before the rows that
//     carry them.
//   - One Load is one transaction on one connection. Nothing it writes is
//     visible before Commit returns nil; an error from Write or Commit, a
//     cancelled context or Rollback leaves the dataset as it was.
//   - Rows are inserted without build tags: arrow-go writes them to the
//     staged Parquet files (merge rows with a sequence column, so the
//     latest row per key wins) and DuckDB reads them with INSERT ...
//     SELECT FROM read_parquet: no cgo call per value, measured faster
//     than the alternatives, and no Go code runs inside a DuckDB query,
//     where a C++ exception would abort the process. With
//     WithLoadDuringExtract, a Go table function filling DuckDB vectors
//     from the Arrow arrays (InsertScan) and the DuckDB Appender
//     (InsertAppender) are kept as options (WithInsertMethod).
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
//
// # Files
//
//   - duckdb.go: Destination, its options and InsertMethod; the shared
//     per-file DuckDB handle; LastState, LastSchema; SQL naming and types.
//   - open.go: Begin, and opening the file (waiting for its lock) for a
//     load's transaction.
//   - load.go: the Load: Write, the insert-while-extracting path
//     (WithLoadDuringExtract: buffering, flush), Rollback and cleanup.
//   - stage_load.go: the default path: staging each write into Parquet
//     groups and replaying them into the transaction at Commit.
//   - stage_dir.go, stagelock_*.go: the load's stage folder and its lock;
//     removing killed loads' folders. stage_parquet.go: a staged Parquet
//     file and the INSERT ... SELECT FROM read_parquet of it.
//   - table.go: creating and evolving tables (ensureTable, rebuild) and
//     the column definitions, compression of the link columns included.
//   - commit.go: Commit and the truncation of replace families.
//     merge.go: merge families and their delete-and-insert at Commit.
//     system.go: _dlt_loads, _dlt_pipeline_state and _dlt_version rows.
//   - import.go: file imports (with_file_import) read by DuckDB itself.
//   - scan.go: InsertScan's Go table function and InsertAppender.
//   - memory.go: memory_limit sizing for inserts; jemalloc_*.go: returning
//     freed pages to the system.
//   - reader.go: OpenDataset, the DatasetReader. register.go: the "duckdb"
//     entry of a sink.Registry and DropDataset.
package duckdb
