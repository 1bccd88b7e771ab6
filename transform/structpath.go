package transform

import (
	"reflect"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/arrowbuf"
)

// readers caches how a path reads into a struct type: the field reader of
// the longest leading part of the path that names struct fields.
var readers sync.Map // readerKey -> readerEntry

type readerKey struct {
	t    reflect.Type
	path string
}

type readerEntry struct {
	r    *arrowbuf.FieldReader
	used int
}

// structField reads the value at the leading part of path that is in the
// struct (or pointer to struct) v; used says how many names it took.
func structField(v any, path []string) (any, int, bool) {
	t := reflect.TypeOf(v)
	if t == nil || (t.Kind() != reflect.Struct && (t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct)) {
		return nil, 0, false
	}
	key := readerKey{t: t, path: strings.Join(path, "\x00")}
	e, ok := readers.Load(key)
	if !ok {
		var found readerEntry
		for n := len(path); n > 0; n-- {
			if r, err := arrowbuf.NewFieldReader(t, path[:n]); err == nil {
				found = readerEntry{r: r, used: n}
				break
			}
		}
		e, _ = readers.LoadOrStore(key, found)
	}
	re := e.(readerEntry)
	if re.r == nil {
		return nil, 0, false
	}
	val, ok := re.r.Get(v)
	return val, re.used, ok
}
