package jsonpath

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

const doc = `{"data":[{"id":1,"tags":["x"]},{"id":2}],"a-b":{"c":4},"meta":{"next":"u","id":9},"n":null}`

func TestParseAndFind(t *testing.T) {
	root := fastjson.MustParse(doc)
	tests := []struct {
		path    string
		want    string // the matches, as JSON, joined by " "
		wantErr string
	}{
		{path: "", want: doc},
		{path: "$", want: doc},
		{path: "data[0].id", want: "1"},
		{path: "$.data[*].id", want: "1 2"},
		{path: "$.data[-1].id", want: "2"},
		{path: "$['a-b'].c", want: "4"},
		{path: `$["a-b"]["c"]`, want: "4"},
		{path: "$..id", want: "1 2 9"},
		{path: "meta.*", want: `"u" 9`},
		{path: "data[5]", want: ""},
		{path: "n.x", want: ""},
		{path: "a[", wantErr: "unclosed ["},
		{path: "a['x", wantErr: "unclosed quote"},
		{path: "a[x]", wantErr: "bad index"},
		{path: "a.[0]", wantErr: "'.' before '['"},
		{path: "a..[0]", wantErr: "index after '..'"},
		{path: "$.", wantErr: "empty name"},
		{path: "$a", wantErr: "unexpected"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			p, err := Parse(tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "bad JSONPath") {
					t.Fatalf("err = %v, want bad JSONPath ... %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range p.Find(root, nil) {
				got = append(got, v.String())
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("Find = %q, want %q", got, tc.want)
			}
			if f := p.First(root); (f == nil) != (len(got) == 0) || (f != nil && f.String() != got[0]) {
				t.Fatalf("First = %v, Find = %q", f, got)
			}
			if p.String() != tc.path {
				t.Fatalf("String = %q, want it as written", p.String())
			}
		})
	}
}

func TestShapes(t *testing.T) {
	tests := []struct {
		path            string
		simple, keys    bool
		keysWild        bool
		cutKeys, cutRst string // CutWild's keys and rest, as names; rest "-" is nil
		wild            bool
		names           string // "-" when Names fails
	}{
		{path: "data", simple: true, keys: true, cutKeys: "data", cutRst: "-", names: "data"},
		{path: "$.data[*]", keysWild: true, cutKeys: "data", wild: true, names: "-"},
		{path: "data[*].author.id", cutKeys: "data", wild: true, cutRst: "author.id", names: "-"},
		{path: "a.b[0].c", simple: true, cutKeys: "a.b", cutRst: "-", names: "a.b.0.c"},
		{path: "$..id", cutRst: "-", names: "-"},
		{path: "$", simple: true, keys: true, cutRst: "-", names: ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			p, err := Parse(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if p.Simple() != tc.simple || p.KeysOnly(false) != tc.keys || p.KeysOnly(true) != tc.keysWild {
				t.Fatalf("Simple, KeysOnly(false), KeysOnly(true) = %v, %v, %v", p.Simple(), p.KeysOnly(false), p.KeysOnly(true))
			}
			keys, wild, rest := p.CutWild()
			kn, _ := keys.Names()
			rn := "-"
			if rest != nil {
				r, _ := rest.Names()
				rn = strings.Join(r, ".")
			}
			if strings.Join(kn, ".") != tc.cutKeys || wild != tc.wild || rn != tc.cutRst {
				t.Fatalf("CutWild = %q, %v, %q", kn, wild, rn)
			}
			names, ok := p.Names()
			got := strings.Join(names, ".")
			if !ok {
				got = "-"
			}
			if got != tc.names {
				t.Fatalf("Names = %q, want %q", got, tc.names)
			}
		})
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name, path string
		body       any
		want       string // the body after, as JSON; "" for an error
	}{
		{"new body", "$.page.offset", nil, `{"page":{"offset":7}}`},
		{"into a body", "page", map[string]any{"q": "x"}, `{"page":7,"q":"x"}`},
		{"objects on the way", "a.b.c", map[string]any{"a": map[string]any{"z": 1}}, `{"a":{"b":{"c":7},"z":1}}`},
		{"not an object on the way", "a.b", map[string]any{"a": "s"}, `{"a":{"b":7}}`},
		{"a body that is not an object", "a", []any{1}, `{"a":7}`},
		{"an index", "a[0]", nil, ""},
		{"a wildcard", "a[*]", nil, ""},
		{"the root", "$", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Set(tc.body, 7)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Set at %q gave %v, want an error", tc.path, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tc.want {
				t.Fatalf("body = %s, want %s", b, tc.want)
			}
		})
	}
}

// FuzzSetFirst: a value Set at a path of keys is what First finds at that
// path in the body sent, so paginators write request bodies and read
// responses with one syntax.
func FuzzSetFirst(f *testing.F) {
	for _, s := range []string{"page", "$.page.offset", "['a-b'].c", `["x"]['y']`, "a.b.c.d", "a[0]", "$..x", "", "a.", "é.ü"} {
		f.Add(s, "v")
	}
	f.Fuzz(func(t *testing.T, path, val string) {
		p, err := Parse(path)
		if err != nil || !utf8.ValidString(path) {
			return // JSON text would spell an invalid key otherwise
		}
		body, err := p.Set(map[string]any{"other": 1}, val)
		if (err != nil) != (p.IsRoot() || !p.KeysOnly(false)) {
			t.Fatalf("%q: Set err = %v for a path of keys: %v", path, err, p.KeysOnly(false) && !p.IsRoot())
		}
		if err != nil {
			return
		}
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		root, err := fastjson.ParseBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		v := p.First(root)
		if v == nil || v.Type() != fastjson.TypeString {
			t.Fatalf("%q: First after Set = %v in %s", path, v, b)
		}
		// JSON text holds valid UTF-8 only: compare as encoding/json did.
		var want string
		wb, _ := json.Marshal(val)
		_ = json.Unmarshal(wb, &want)
		if got := string(v.GetStringBytes()); got != want {
			t.Fatalf("%q: First after Set = %q, want %q", path, got, want)
		}
		if names, ok := p.Names(); !ok || len(names) == 0 {
			t.Fatalf("%q: Names of a path of keys = %q, %v", path, names, ok)
		}
	})
}
