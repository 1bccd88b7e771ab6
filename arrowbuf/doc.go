// Package arrowbuf holds sluice's dlt-compatible schema and its relational
// normalizer: dlt's snake_case naming, type inference and coercion with
// variant columns, nested tables, max_table_nesting, column hints and schema
// contracts. Items (parsed JSON, Go values, typed batches of structs or
// Arrow records) go straight into Arrow builders and leave as one record
// batch per table (TableBatch). A struct type is read through its plan,
// compiled once (typed_plan.go): its columns, types and hints come from
// the type and its sluice tags, see ColumnsOf.
//
// Concurrency: a Schema is safe for concurrent use; it is the single place
// where tables, columns and their types are decided, under its lock. A
// Normalizer belongs to one goroutine; several Normalizers may share one
// Schema. Each keeps its own view of the columns it has seen and takes the
// Schema's lock only for a new key, type or table, never per value, so a
// column's type, once in the Schema, never changes.
//
// Ownership: emit receives each TableBatch and owns its Record. A
// Normalizer's builders are freed by Release; rows not flushed are dropped.
// AppendRecord does not retain the record it is given.
//
// Batches: a table's buffered rows are emitted when they reach the batch
// size and at Flush. A batch carries the columns this Normalizer has seen,
// in the Schema's column order; other Normalizers' batches of the same table
// may carry more or fewer columns, so sinks insert by column name.
//
// Text: string columns hold valid UTF-8 only, as Parquet readers and
// DuckDB require. Each byte of a text value that is not part of a valid
// UTF-8 sequence (a legacy API's \xff\xfe, a Go string, an Arrow string
// array) becomes U+FFFD, as Go's encoding/json and Python's
// decode(errors="replace") read such text; json columns hold it as JSON
// text that encoding/json would write. Keys become column and table names
// through the naming convention, which turns such bytes into "_". Valid
// text costs one utf8.ValidString check per value (an Arrow string array:
// one check of its data buffer, and it is still passed on without a copy).
// Binary columns keep their bytes as they are.
//
// Schema contracts (dlt's schema_contract, a table's being its root's):
// tables applies to a root table that has not seen data yet and to a nested
// table new under a parent that has; columns to a new column of a table
// that has seen data; data_type to a value that would need a variant
// column. freeze fails with ErrContract naming the table (and column);
// discard_row drops the row (for tables, the new table's rows);
// discard_value drops the value (for tables, as discard_row). A table's
// first load takes all its columns, as in dlt.
//
// Where things live: naming.go (names), schema.go and schema_evolve.go (the
// Schema, dlt's schema JSON, Arrow types of columns); normalizer.go (the
// Normalizer and its tables), normalizer_tables.go (columns resolved
// against the Schema), normalizer_rows.go (a row staged and committed into
// the builders), normalizer_json.go (parsed JSON walked into rows);
// items.go (Go values and Arrow records in), columnar.go (records whose
// columns pass through as they are), typed*.go (structs); values.go,
// builders.go, date.go, utf8.go and jsontext.go (single values); pool.go
// (the allocator, made Arrow's default only by MakeArrowDefault).
package arrowbuf
