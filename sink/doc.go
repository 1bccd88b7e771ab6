// Package sink is the load contract between sluice's engine and its
// destinations, and the home of the destinations themselves (sink/duckdb,
// sink/parquet).
//
// The engine (package flow) normalizes rows into Arrow record batches and
// hands them to a [Destination] through one atomic [Load]: Begin, Write for
// each batch, then Commit or Rollback. A destination also gives back what an
// earlier run stored (the pipeline state and schema), and opens a dataset
// for reading through a [DatasetReader].
//
// Destinations import this package, never the engine. A [Registry] maps
// destination type names, as written in a spec file, to the function that
// opens one, so a new destination is one package plus one registration in
// the program that offers it.
//
// sink/sinktest holds the suite every destination is expected to pass.
package sink
