// Package serve serves a pipeline's dataset over Arrow Flight SQL, so any
// ADBC, JDBC or ODBC Flight SQL client (pandas and polars through ADBC,
// DBeaver, BI tools, Spark) can query it in Arrow. `sluice serve` runs it;
// a Go program mounts a Handler on its own gRPC server:
//
//	h, err := serve.NewHandler(serve.DuckDBFile("blog.duckdb", "blog_data"), serve.Options{Token: token})
//	g := grpc.NewServer(h.ServerOptions()...)
//	h.Register(g)
//	go g.Serve(lis)
//	...
//	g.GracefulStop()
//	h.Close()
//
// or uses Server, which does the same on a listener until its context ends.
//
// What a client gets:
//   - SQL queries over the dataset, whose schema is the default one
//     (SELECT * FROM posts); DESCRIBE, SHOW, SUMMARIZE and EXPLAIN work.
//     Any other statement (INSERT, CREATE, ATTACH, COPY, SET, INSTALL,
//     PRAGMA, CALL, transactions, Flight SQL updates and ingestion) fails
//     PermissionDenied or Unimplemented.
//   - Catalog metadata: GetCatalogs (the DuckDB file's name, or "memory"
//     for a Parquet dataset), GetDbSchemas, GetTables with Arrow schemas,
//     GetTableTypes, GetSqlInfo (read-only, no transactions), and empty
//     key lists (dlt's keys are hints, not constraints).
//   - Prepared statements with parameters (? or $name, bound by position;
//     several parameter rows run the statement once per row).
//   - DuckDB's own error message, as a status: InvalidArgument for a bad
//     query, PermissionDenied for a refused one, Unavailable while a run
//     commits for longer than Options.LockWait.
//   - Results as a stream of record batches of at most Options.BatchRows
//     rows and about Options.BatchBytes bytes. DuckDB computes the result
//     as it is fetched, and the server holds one batch and one DuckDB chunk
//     per stream; each statement's DuckDB keeps to Options.MemoryLimit
//     (its cache of the file's blocks included) and spills big sorts,
//     joins and aggregates to a folder of its own. So memory does not grow
//     with the result or the table. A result whose DoGet does not come
//     within Options.ResultTTL is closed; prepared statements unused for
//     Options.PreparedTTL are closed too.
//
// Types: DuckDB's types map to their Arrow counterparts (HUGEINT and
// DECIMAL to decimal128, TIMESTAMP WITH TIME ZONE to timestamp[us, UTC],
// INTERVAL to month_day_nano, LIST, STRUCT, MAP and ARRAY to their nested
// Arrow types); JSON is text with the field metadata dlt.data_type=json, as
// the dataset readers return it; UUID and ENUM are text. BIT, BIGNUM,
// UNION, TIME WITH TIME ZONE and UHUGEINT columns are refused with a
// message that says to cast them.
//
// Isolation and the DuckDB file: every statement and metadata call gets an
// in-memory DuckDB database of its own with the dataset attached READ_ONLY
// (a Parquet dataset: views over the files of its committed loads, made
// by its reader), then enable_external_access=false (no file but the
// dataset's, no extension loads) and lock_configuration=true, before any
// client SQL runs. It is closed when the statement's result is drained,
// fails or expires. So the file is held only while statements run: a run
// commits between them. What a client sees while a run loads into a
// DuckDB dataset: the run writes its rows to staging files and takes the
// DuckDB file only to commit; until the commit, statements see the last
// committed load. While the run commits, new statements wait for it (up to
// Options.LockWait, then Unavailable) and then see the new load; a run
// that wants to commit waits for the statements running at that moment to
// end (up to its own lock wait, 2 minutes by default). A statement never
// sees a half-done load. A Parquet dataset is read through the files of
// committed loads, listed for each statement, so it never waits.
package serve
