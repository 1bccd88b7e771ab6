package rest

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

func FuzzDataSelector(f *testing.F) {
	for _, s := range []string{"", "$", "data", "results.posts", "$.data[*]", "$.items", "$['a-b'].c", "a[0].b", "a[-1]", "$..id", "$..*", "a.*.b", "a[", "a['x", "[*]", "..", "$.", "a..[0]", "a[ 1 ]"} {
		f.Add(s, `{"data":[{"id":1}],"items":[],"a":[{"b":2},{"b":[3]}],"a-b":{"c":4},"results":{"posts":[1,2]}}`)
	}
	f.Add("x", `[1,2,3]`)
	f.Fuzz(func(t *testing.T, sel, doc string) {
		p, err := parseJSONPath(sel)
		if err != nil {
			return
		}
		v, err := fastjson.Parse(doc)
		if err != nil {
			return
		}
		all := p.find(v, nil)
		first := p.first(v)
		if (len(all) == 0) != (first == nil) {
			t.Fatalf("%q on %s: find gave %d matches but first gave %v", sel, doc, len(all), first)
		}
		if first != nil && first != all[0] {
			t.Fatalf("%q on %s: first is not the first match", sel, doc)
		}
		_ = selectData(v, p)
		_ = selectData(v, nil)
	})
}

func FuzzPlaceholders(f *testing.F) {
	for _, s := range []string{"", "posts/{resources.posts.id}/comments", "{incremental.start_value}", "{a}{b}", "{{x}}", "{", "}", "{resources.p.id", "x{y}z", "{ünï}", "{resources.p.a.b[0]}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl := parseTemplate(s, func(string) bool { return true })
		vals := func(name string) (any, error) { return "<" + name + ">", nil }
		out, err := tpl.text(vals)
		if err != nil {
			t.Fatal(err)
		}
		// Rebuilding the template with every placeholder put back gives s.
		var b strings.Builder
		for _, p := range tpl.parts {
			if p.name != "" {
				b.WriteString("{" + p.name + "}")
			} else {
				b.WriteString(p.lit)
			}
		}
		if b.String() != s {
			t.Fatalf("round trip of %q gave %q", s, b.String())
		}
		for _, n := range tpl.names() {
			if !strings.Contains(out, "<"+n+">") {
				t.Fatalf("%q: %s not expanded in %q", s, n, out)
			}
		}
		// A string that passes checkUnclosed has no placeholder left as
		// literal text; the brace checks never pass a stray brace added.
		if checkUnclosed(s) == nil {
			for _, p := range tpl.parts {
				if strings.Contains(p.lit, "{resources.") || strings.Contains(p.lit, "{incremental.") {
					t.Fatalf("%q: checkUnclosed passed an unparsed placeholder in %q", s, p.lit)
				}
			}
		}
		if checkPathBraces(s) == nil && (checkPathBraces(s+"{") == nil || checkPathBraces("}"+s) == nil) {
			t.Fatalf("%q: a stray brace added passed", s)
		}
		// A template with no known names is literal text.
		lit := parseTemplate(s, func(string) bool { return false })
		if got, _ := lit.text(vals); got != s {
			t.Fatalf("literal %q became %q", s, got)
		}
		// JSON bodies: a whole placeholder keeps the value's type.
		tr := parseTree(map[string]any{"k": s, "n": []any{s, 1.5}}, func(string) bool { return true })
		got, err := tr.expand(func(string) (any, error) { return json.Number("42"), nil })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatal(err)
		}
		if name, ok := tpl.whole(); ok && name != "" {
			if got.(map[string]any)["k"] != json.Number("42") {
				t.Fatalf("whole placeholder %q lost its type: %#v", s, got)
			}
		}
	})
}

// FuzzPathValue: a value put into a path never leaves its segments: the
// escaped text has no "?", "#", " " or "&", every "%" starts an escape,
// and unescaping each segment gives the value's segments back; a value
// with a dot segment is refused.
func FuzzPathValue(f *testing.F) {
	for _, s := range []string{"abc", "a b?q=1&r#f", "../../etc/passwd", "owner/repo", "100%", "ü/ß", ".", "a/./b", "", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := escapePathValue(s)
		segs := strings.Split(s, "/")
		if slices.Contains(segs, ".") || slices.Contains(segs, "..") {
			if err == nil {
				t.Fatalf("%q: dot segment passed as %q", s, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if strings.ContainsAny(got, "?# &") {
			t.Fatalf("%q escaped to %q", s, got)
		}
		out := strings.Split(got, "/")
		if len(out) != len(segs) {
			t.Fatalf("%q: %d segments became %d in %q", s, len(segs), len(out), got)
		}
		for i, seg := range out {
			raw, err := url.PathUnescape(seg)
			if err != nil || raw != segs[i] {
				t.Fatalf("%q: segment %q unescapes to %q (%v)", s, seg, raw, err)
			}
			if strings.Contains(EscapePathSegment(segs[i]), "/") {
				t.Fatalf("%q: a segment escaped with a /", s)
			}
		}
	})
}
