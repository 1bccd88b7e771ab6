package confspec

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is a bad config value, named by its dotted path in the spec
// ("source.resources[0].endpoint.paginator.type"); the CLI adds the file
// and the line and column. Messages never include the value itself:
// values may hold secrets.
type Error struct {
	// Path is the field's path; for an unknown field, the map's.
	Path string
	// Key is the unknown field's key ("" for other errors), so that its
	// own position can be found.
	Key string
	Msg string
	// File, Line and Col say where in a spec file, when known.
	File      string
	Line, Col int
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Path != "" {
		s = e.Path + ": " + s
	}
	switch {
	case e.File != "" && e.Line > 0:
		s = fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, s)
	case e.File != "":
		s = e.File + ": " + s
	}
	return s
}

// Field returns the path of the field the error is about: Path, or for an
// unknown field, the field under Path.
func (e *Error) Field() string {
	if e.Key == "" {
		return e.Path
	}
	return JoinKey(e.Path, e.Key)
}

// Errorf returns an *Error at path.
func Errorf(path, format string, args ...any) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// JoinKey adds one map key to a path: "a.b", or a["x.y"] for a key that
// would be read as more than one (dots, brackets, quotes, spaces). A key
// that is an index ("[0]") is appended as it is; "" leaves path as it is.
func JoinKey(path, key string) string {
	switch {
	case key == "":
		return path
	case strings.HasPrefix(key, "[") && strings.HasSuffix(key, "]"):
		return path + key
	case strings.ContainsAny(key, ".[]\"' \t\n"):
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

// JoinPath puts prefix before a relative path ("client.base_url",
// "[0].name"), which is not quoted.
func JoinPath(prefix, rel string) string {
	switch {
	case prefix == "":
		return rel
	case rel == "":
		return prefix
	case strings.HasPrefix(rel, "["):
		return prefix + rel
	}
	return prefix + "." + rel
}

// Index is the path of a list's element i.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Parent is path without its last key or index; "" at the top.
func Parent(path string) string {
	if strings.HasSuffix(path, `"]`) {
		if i := strings.LastIndex(path, `["`); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

// Pos is a line and column in a file, from 1.
type Pos struct{ Line, Col int }

// Positions maps a field's path to where its key (or, for a list element,
// its value) is written.
type Positions map[string]Pos

// Locate returns err with file and the position of the field it names
// (or of the nearest enclosing field written in the file: a missing key's
// map) when it is an *Error; other errors are returned as they are.
func (p Positions) Locate(err error, file string) error {
	// Only an *Error itself: a wrapped one keeps its wrapper's words.
	ce, ok := err.(*Error)
	if !ok || ce.File != "" {
		return err
	}
	out := *ce
	out.File = file
	// A missing top-level key has no place better than the file.
	for path := ce.Field(); path != ""; path = Parent(path) {
		if pos, ok := p[path]; ok && pos.Line > 0 {
			out.Line, out.Col = pos.Line, pos.Col
			break
		}
	}
	return &out
}

func quote(s string) string { return strconv.Quote(s) }
