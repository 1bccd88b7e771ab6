package arrowbuf

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/valyala/fastjson"
)

// FuzzNamingIdempotent: a normalized identifier or path is a fixed point
// (normalizing it again changes nothing), so names stored in a schema map
// to themselves on the next run. The exception is dlt's empty path of a key
// of separators only ("__"), which the normalizer names like a blank key,
// "_empty" (see TestBlankKeys).
func FuzzNamingIdempotent(f *testing.F) {
	for _, s := range []string{"", "CamelCase", "a__b", "a___b", "__a__", "ünïcode", "123", "end___", "+plus", "-", "ab|cd@e",
		"HTTPResponseCode", "_dlt_id", "a b\tc", "١٢٣", "x__", "__", "A__B__C", "a-__-b", strings.Repeat("Ab", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id := NormalizeIdentifierMax(s, 0)
		if again := NormalizeIdentifierMax(id, 0); again != id && id != emptyKeyIdentifier {
			t.Fatalf("identifier not idempotent: %q -> %q -> %q", s, id, again)
		}
		p := NormalizePathMax(s, 0)
		if again := NormalizePathMax(p, 0); again != p && p != "" && !slices.Contains(strings.Split(p, PathSeparator), emptyKeyIdentifier) {
			t.Fatalf("path not idempotent: %q -> %q -> %q", s, p, again)
		}
		if id == "" {
			t.Fatalf("empty identifier for %q", s)
		}
		if m := NormalizeIdentifierMax(s, 20); len(m) > 20 {
			t.Fatalf("max20 %q is %d long", m, len(m))
		}
	})
}

// goValues builds Go values (maps, lists, scalars of every kind the
// normalizer takes) from fuzz bytes.
type goValues struct {
	b []byte
}

func (g *goValues) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *goValues) uint64() uint64 {
	var buf [8]byte
	n := copy(buf[:], g.b)
	g.b = g.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

func (g *goValues) str() string {
	n := int(g.byte() % 12)
	n = min(n, len(g.b))
	s := string(g.b[:n])
	g.b = g.b[n:]
	return s
}

var fuzzKeys = []string{"id", "Name", "a__b", "a b", "_dlt_id", "_dlt_load_id", "value", "list", "", "ünï", "x-y", "CamelCase", "n"}

func (g *goValues) key() string {
	c := g.byte()
	if c&0x80 != 0 {
		return g.str()
	}
	return fuzzKeys[int(c)%len(fuzzKeys)]
}

func (g *goValues) value(depth int) any {
	op := g.byte() % 16
	if depth > 4 && op >= 12 {
		op %= 12
	}
	switch op {
	case 0:
		return nil
	case 1:
		return g.byte()%2 == 0
	case 2:
		return int64(g.uint64())
	case 3:
		return int(int8(g.byte()))
	case 4:
		return math.Float64frombits(g.uint64())
	case 5:
		return float64(int8(g.byte())) / 4
	case 6:
		return g.str()
	case 7:
		return []string{"2024-01-25T11:21:28Z", "2024-01-25", "not a date", "12", "1.5", "true"}[g.byte()%6]
	case 8:
		return time.Unix(int64(g.byte())*1e6, 0).UTC()
	case 9:
		return json.Number([]string{"1", "1.5", "1e400", "123456789012345678901234567890", "-0", "x"}[g.byte()%6])
	case 10:
		return []byte(g.str())
	case 11:
		return uint64(g.uint64())
	case 12, 13:
		m := map[string]any{}
		for range int(g.byte() % 5) {
			m[g.key()] = g.value(depth + 1)
		}
		return m
	default:
		l := make([]any, int(g.byte()%4))
		for i := range l {
			l[i] = g.value(depth + 1)
		}
		return l
	}
}

// FuzzNormalizeItems: Go values built from random bytes, rows of maps,
// lists and scalars of every kind, never panic the normalizer, never leak
// Arrow memory, and every non-nil item becomes one root row when the batch
// is accepted.
func FuzzNormalizeItems(f *testing.F) {
	f.Add([]byte{12, 3, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 14, 2, 6, 3, 'a', 'b', 'c', 2})
	f.Add([]byte{12, 4, 1, 12, 2, 2, 6, 1, 'x', 7, 3, 13, 1, 4, 14, 3, 5, 6, 9})
	f.Add([]byte{14, 3, 12, 1, 0, 2, 12, 1, 0, 6, 2, 'h', 'i', 14, 2, 4, 4})
	f.Add([]byte("random bytes are values too"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &goValues{b: data}
		var rows []any
		for len(g.b) > 0 && len(rows) < 50 {
			if g.byte()%3 == 0 {
				rows = append(rows, g.value(0))
				continue
			}
			m := map[string]any{}
			for range int(g.byte() % 6) {
				m[g.key()] = g.value(1)
			}
			rows = append(rows, m)
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		var rootRows int64
		n := NewNormalizer(NewSchema("f"), "1", func(tb TableBatch) error {
			defer tb.Record.Release()
			if tb.Table.Name == "fuzz" {
				rootRows += tb.Record.NumRows()
			}
			return checkBatch(tb)
		}, WithAllocator(mem), WithBatchRows(7))
		defer n.Release()
		err := n.AppendItems("fuzz", rows)
		if ferr := n.Flush(); err == nil {
			err = ferr
		}
		if errors.Is(err, errBadBatch) {
			t.Fatal(err)
		}
		if err != nil {
			return
		}
		want := int64(0)
		for _, r := range rows {
			if r != nil {
				want++
			}
		}
		if rootRows != want {
			t.Fatalf("%d root rows for %d non-nil items", rootRows, want)
		}
	})
}

// FuzzCoerceHinted: text and numbers headed for wei and json columns never
// panic coerce, and a value it accepts loads: a wei value fits the
// column's DECIMAL(38,0), a json value is valid JSON.
func FuzzCoerceHinted(f *testing.F) {
	for _, s := range []string{"5", " 12345678901234567890123 ", "2.5", "-2.5", "0x1F", "1e3", "1/2", "0b101", ".5", "5.", "1e-400",
		"99999999999999999999999999999999999999.5", "[1, 2]", `{"a": [1, {"b": null}]}`, `"x"`, "null", "NaN", "abc", ""} {
		f.Add(s, 2.5)
	}
	f.Add("", math.Inf(1))
	f.Add("", 1e38)
	f.Add("", -9.999999999999999e37)
	f.Fuzz(func(t *testing.T, s string, x float64) {
		for _, v := range []value{{k: kStr, s: s}, {k: kFloat, f: x}, {k: kDecimal, s: s}} {
			if w, ok := coerce(TypeWei, &v); ok {
				if _, err := decimal128.FromString(w.s, 38, 0); err != nil || w.k != kDecimal {
					t.Fatalf("wei of %+v: %+v does not fit decimal(38,0): %v", v, w, err)
				}
			}
		}
		j, ok := coerce(TypeJSON, &value{k: kStr, s: s})
		if ok != (utf8.ValidString(s) && json.Valid([]byte(s))) {
			t.Fatalf("json of %q: ok %v", s, ok)
		}
		// fastjson writes a string that needs escaping with Go's escapes
		// (\x7f, \a), as for every json value: only check the others.
		if txt := textOf(&j); ok && j.k != kNull && (j.k != kJSON || !json.Valid([]byte(txt)) && !strings.Contains(txt, `\`)) {
			t.Fatalf("json of %q: %q", s, txt)
		}
	})
}

// TestBlankKeys: blank and whitespace-only keys become dlt's "_empty", at
// the top and inside objects, and so do keys made only of "__" (dlt's path
// for them is ""), in JSON and Go values, rather than a column without a
// name (which DuckDB rejects).
func TestBlankKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		feed func(*Normalizer) error
		want string
	}{
		{"json", func(n *Normalizer) error {
			var p fastjson.Parser
			return n.AppendJSON("t", parseRows(t, &p, `[{"":1,"x":{"  ":2},"y":3}]`))
		}, "_empty x___empty y _dlt_load_id _dlt_id"},
		{"separators", func(n *Normalizer) error {
			return n.AppendItems("t", []any{map[string]any{"__": 1, "a": map[string]any{"____": "x"}}})
		}, "_empty a___empty _dlt_load_id _dlt_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSchema("blank")
			n := NewNormalizer(s, "1", func(tb TableBatch) error { tb.Record.Release(); return nil })
			defer n.Release()
			if err := tc.feed(n); err != nil {
				t.Fatal(err)
			}
			if err := n.Flush(); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range s.Table("t").Columns {
				names = append(names, c.Name)
			}
			if got := strings.Join(names, " "); got != tc.want {
				t.Errorf("columns %q, want %q", got, tc.want)
			}
		})
	}
}
