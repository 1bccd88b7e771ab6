// Package jsonpath is sluice's one JSONPath: the data selectors, paginator
// paths (next links, cursors, totals), placeholders' parent fields,
// include_from_parent, incremental cursors and transform's field paths all
// compile with Parse.
//
// A Path evaluates on fastjson values (Find, First), without converting
// them; RawString looks up a top-level string in a body that is not parsed
// yet (a next link or cursor, so the next page can be requested early);
// Set writes into a JSON request body held as Go values (paginators that
// page through the body). raw.go's scanners also serve the REST source's
// big-page scan.
package jsonpath
