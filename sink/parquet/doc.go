// Package parquet is the filesystem destination (dlt's "filesystem" with
// Parquet files): it writes normalized Arrow record batches as Parquet files
// in dlt's dataset layout under a bucket, a local folder or an S3 bucket, so
// tools and dbt models written for dlt's filesystem destination keep
// working. The package is pure Go (it builds with CGO_ENABLED=0); SQL over
// a dataset comes from package parquetsql (DuckDB) through WithSQL.
//
// # Files
//
//	parquet.go    Destination, options, bucket URLs
//	store.go      the bucket interface and the local folder
//	blobstore.go  object stores through gocloud.dev/blob; s3:// and credentials
//	layout.go     dlt's system files; listing tables, files and state
//	begin.go      Begin, the cleanup of killed loads, Rollback
//	write.go      Write, file imports, the Parquet file writer
//	commit.go     Commit: the order that makes a load atomic
//	merge.go      merge dispositions, file by file
//	iceberg.go    table_format iceberg: tables as Iceberg tables (sink/internal/iceberg)
//	supersede.go  markers of files a committed load replaced
//	reader.go     OpenDataset: tables and loads in Go, Query through SQL
//	sql.go        the SQL engine interface (WithSQL)
//	snappy.go     the faster Snappy encoder (WithFastSnappy)
//
// # Layout
//
//	<bucket>/<dataset>/init
//	<bucket>/<dataset>/<table>/init
//	<bucket>/<dataset>/<table>/<load_id>.<file_id>.parquet
//	<bucket>/<dataset>/_dlt_loads/<schema>__<load_id>.jsonl
//	<bucket>/<dataset>/_dlt_pipeline_state/<pipeline>__<load_id>__<hash>.jsonl
//	<bucket>/<dataset>/_dlt_version/<schema>__<load_id>__<hash>.jsonl
//
// An Iceberg table (table_format iceberg) has, instead of its data files
// and init file, Iceberg's layout, findable by path:
//
//	<bucket>/<dataset>/<table>/metadata/vN.metadata.json, version-hint.text, *.avro
//	<bucket>/<dataset>/<table>/data/<load_id>.<file_id>.parquet
//
// file_id is 10 random hex characters; <hash> is dlt's path-safe form of the
// schema version hash (hex of its base64 bytes). The system files are one
// JSON document each, with the DuckDB sink's columns, exactly as dlt's
// filesystem destination writes them, so dlt can restore state from them.
// A _dlt_version file is written once per schema version hash.
//
// # Contracts
//
//   - A Destination holds no open file between calls. The bucket is a local
//     path, a file:// URL, or s3://bucket[/prefix] (WithCredentials with
//     dlt's keys, else the AWS environment; path-style addressing with an
//     endpoint_url). WithBucket takes any gocloud.dev bucket the caller
//     opened (gs://, az://: their SDKs are not linked by default); other
//     schemes fail with ErrUnsupportedScheme. Errors name the bucket URL
//     and key, never a credential.
//   - Write appends the record as one row group to the table's open file. A
//     file is closed and a new one started when it reaches WithMaxFileSize
//     (default 100 MB) or WithMaxFileRows, and when a batch's columns differ
//     from the file's (a table gained a column): each file has the columns
//     of its batches, and readers use read_parquet(union_by_name = true).
//     Write owns and releases the record in every case, also on error.
//   - Atomicity: on a local bucket a load writes under
//     <dataset>/.sluice-staging/<load_id>.<id>/ and Commit renames the files
//     into place; on an object store (where a rename is a copy) data files
//     stream up as multipart uploads straight into their table folders,
//     invisible until the load's _dlt_loads file exists. Commit then writes a
//     marker (<dataset>/.sluice-supersede/<load_id>.json) naming the tables
//     whose earlier files the load replaces, truncates or drops and the
//     single files its merges rewrote ("files": ["table/name", ...]),
//     puts the state and version files in place, and the _dlt_loads file
//     LAST: that file is the commit point. Only then are the superseded
//     files deleted. Readers (OpenDataset, LastState) only trust files whose load
//     id has a _dlt_loads file and that no committed marker of a later load
//     hides, so a process killed at any moment leaves either the old rows or
//     the new ones visible, never neither and never both. Rollback, a failed
//     Write or Commit, or a cancelled context removes the staging folder; a
//     Commit failing before its commit point also removes the files it had
//     moved into place. A full disk fails the load with an error that reads
//     "no space left on device: <dataset folder>" and wraps syscall.ENOSPC.
//     Begin removes staging folders, uncommitted data files and markers, and
//     superseded files that a killed process left behind, so a dataset takes
//     one writing process at a time.
//   - Dispositions: append adds files. replace removes the files of the
//     table family's earlier loads at Commit, after the new files are in
//     place. LoadRequest.Truncate/Drop and Commit.Truncate/Drop are applied
//     at Commit: a truncated table keeps one empty file with its columns (so
//     it stays readable with 0 rows); a dropped table's folder is removed.
//     merge upserts as the DuckDB destination does (dlt's filesystem
//     destination appends instead, without delta/iceberg): within a load
//     the latest row per primary key wins, with its nested rows; earlier
//     root rows whose primary key or merge key equals one of the load's
//     go, with their nested rows (by _dlt_root_id, else _dlt_parent_id).
//     Only the earlier files holding such rows change: each is rewritten
//     without them as a file of the merging load (<load_id>.<file_id>,
//     rows keep their _dlt_load_id) and the original is superseded; the
//     other files stay as they are. Finding the rows reads only the key
//     columns, batch by batch; the load's keys are held in memory. merge
//     with neither key appends, and so do imported files.
//   - Types: Parquet 2.6 logical types from the Arrow types of the batch:
//     timestamps are TIMESTAMP(MICROS, isAdjustedToUTC = true) for "UTC"
//     columns (DuckDB: TIMESTAMP WITH TIME ZONE), date, time, decimal(p,s),
//     text and json as strings (VARCHAR), binary as BLOB, bool, int64,
//     double. The Arrow schema is stored too, so pqarrow reads the batch
//     types back. Compression is Snappy (WithCompression), dictionary
//     encoding is off (WithDictionary); random row ids (_dlt_id) are
//     stored uncompressed with DELTA_LENGTH_BYTE_ARRAY encoding, which
//     makes them smaller than compressing could. New registers s2's
//     standard Snappy block encoder as arrow-go's Snappy codec for the
//     process unless WithFastSnappy(false): the same format, about 30%
//     faster to write than arrow-go's default ("better") encoder for ~10%
//     larger files. Importing the package changes nothing.
//   - Table formats: a table's table_format hint (a nested table takes its
//     root's), else the destination's (WithTableFormat; the "table_format"
//     setting), decides. "iceberg" makes it an Apache Iceberg v2 table:
//     Write streams its data files straight into <table>/data/ (nothing
//     references them until the load commits, so there is no staging and
//     no second write), and Commit, before the _dlt_loads file, makes one
//     snapshot per table: append adds the files, replace (and truncate)
//     makes them the only ones, merge removes the matching earlier rows
//     copy-on-write (data files holding them are rewritten without them; no
//     delete files) and nested rows by _dlt_root_id, dropped tables go with
//     their metadata. New columns evolve the table's schema. All tables are
//     prepared before the first is committed, so a failure there changes
//     none; a process killed between two tables' commits leaves snapshots
//     of a load without _dlt_loads file: readers skip them, and the next
//     Begin rewinds each table to its newest snapshot of a committed load
//     (a new metadata version; the files stay, as do data files of killed
//     loads: Begin never deletes under data/ or metadata/). With WithCatalog
//     ({type: sql, uri: sqlite:///path.db}) each commit also points the
//     table's row in an Iceberg SQL catalog at its metadata; REST catalogs
//     and "delta" are refused with an error naming them. The system files
//     stay plain JSONL files.
//   - OpenDataset lists the committed files; Tables, Table and Loads read
//     them in Go. Query hands them to the SQL engine (WithSQL): one view per
//     table named like it, and views over the system files; an object
//     store's files are first copied to a temporary folder. Without an
//     engine, Query and CSV/JSONL imports fail with ErrNoSQL. The reader
//     sees the files that existed when it was opened; an Iceberg table's
//     are the data files of its newest snapshot of a committed load
//     (never a listing of data/, which keeps older snapshots' files).
package parquet
