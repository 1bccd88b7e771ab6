// Package runctx holds what the engine (flow) puts in the context of a
// running resource: its name, its state and, under a count limit (dlt's
// add_limit), the yields it has left. flow reads it for
// CurrentResourceName and CurrentResourceState; sources that fetch pages
// ahead (rest, source) read YieldsLeft so as not to request pages the
// limit would drop.
package runctx
