// Package names normalizes pipeline and dataset names. flow applies them in
// NewPipeline; the CLI applies the same rules to names from a spec or a
// flag before it looks a pipeline up.
package names
