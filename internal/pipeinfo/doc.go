// Package pipeinfo is pipeline.json in a pipeline's working folder: flow
// writes it after each run; the CLI reads it to find the pipeline's
// destination and dataset without opening the destination.
package pipeinfo
