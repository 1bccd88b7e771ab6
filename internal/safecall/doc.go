// Package safecall turns a panic in user code into an error. The engine
// (flow) runs generators, steps and transformers through it, and sources
// that run user code in goroutines of their own (rest's hooks and auth) do
// the same, so a panic anywhere fails the run with one line instead of
// ending the process.
package safecall
