// Package sqlarrow turns database/sql rows into Arrow record batches. The
// DuckDB and Parquet sinks' dataset readers run their queries through DuckDB
// and hand the results to callers as array.RecordReader values built here.
//
// Contracts:
//   - A Reader owns the rows it reads and the connection they came from: it
//     closes both when it reaches the end of the rows, fails, or is released,
//     whichever comes first. NewReader and Query close them when they return
//     an error, so a caller never closes them after handing them over.
//   - Record batches returned by RecordBatch belong to the Reader and are
//     valid until the next call to Next or Release; Retain one to keep it.
//   - Builders use the allocator passed in; every batch is released by the
//     Reader (the caller only releases the Reader).
//   - Column types map by DuckDB's type names (ArrowType); types without an
//     Arrow counterpart here (HUGEINT, UBIGINT, INTERVAL, LIST, STRUCT, ...)
//     are read as text. A column of DuckDB's JSON type is read as text and
//     its field carries the metadata MetaDataType = "json", as does any
//     column named in WithDataTypes.
package sqlarrow
