package rest

import (
	"testing"

	"github.com/valyala/fastjson"
)

// smallParts makes every array of more than a few bytes a cut one, in
// parts of a few rows, for the duration of a test.
func smallParts(tb testing.TB, page, elide, part int) {
	tb.Helper()
	old := [3]int{bigPageBytes, elideBytes, partBytes}
	bigPageBytes, elideBytes, partBytes = page, elide, part
	tb.Cleanup(func() { bigPageBytes, elideBytes, partBytes = old[0], old[1], old[2] })
}

// rowsInParts selects a page's rows as a big page is handled: the
// skeleton, then its parts; ok is false when the page would be parsed
// whole instead, and err is set when a part does not parse.
func rowsInParts(body []byte, sel *jsonPath) (rows []string, matched, ok bool, err error) {
	c := &client{parsers: newParserList()}
	p := &page{resp: &Response{Body: body}}
	vals, matched, big, ok := c.parseSkeleton(p, sel)
	if !ok {
		return nil, false, false, nil
	}
	if big == nil {
		for _, v := range vals {
			rows = append(rows, string(v.MarshalTo(nil)))
		}
		return rows, matched, true, nil
	}
	var buf []byte
	n := 0
	for _, pt := range big.parts {
		var part []*fastjson.Value
		part, _, buf, err = c.bigPart(body, big, pt, buf)
		if err != nil {
			return nil, matched, true, err
		}
		for _, v := range part {
			rows = append(rows, string(v.MarshalTo(nil)))
		}
		n += len(part)
	}
	if n != big.rows {
		return nil, matched, true, errCount
	}
	return rows, matched, true, nil
}

var errCount = &ConfigError{Msg: "the scan counted other rows than the parts hold"}

// FuzzBigPage checks that a page handed on in parts yields exactly the
// rows, in order, that parsing it whole yields, and that a page fastjson
// rejects never passes in parts.
func FuzzBigPage(f *testing.F) {
	docs := []string{
		`{"data":[{"id":1},{"id":2},null,{"id":3,"tags":[1,[2,3]]}],"next":"http://x/?p=2"}`,
		`[{"a":"]"},{"a":"\"[{"},1,"x",null,[],{},true]`,
		`{"meta":{"total":3},"results":{"posts":[{"id":1},{"id":2},{"id":3}]},"links":[{"rel":"a"},{"rel":"b"}]}`,
		`{"data":[{"id":1,"big":[1,2,3,4,5,6,7,8,9,10]}],"included":[{"x":1},{"x":2},{"x":3},{"x":4}]}`,
		`{"data":[],"items":[{"id":1},{"id":2},{"id":3}]}`,
		`{"data":null,"errors":[{"m":"a"},{"m":"b"},{"m":"c"}]}`,
		`{"data":[1,2,3],"data":[4,5,6,7,8,9]}`,
		`{"a":{"b":{"c":[{"id":1},{"id":2},{"id":3},{"id":4}]}}}`,
		`{"d\u0061ta":[{"id":1},{"id":2},{"id":3}],"data":[]}`,
		`{"data":[{"id":1} {"id":2}]}`,
		`{"data":[{"id":1},,{"id":2}]}`,
		`{"data":[{"id":1},{"id":2}`,
		`  {"data" : [ {"id" : 1} , {"id":2} ] , "x" : 1 }  `,
		`{"data":[{"s":"\\"},{"s":"\\\""},{"s":"é€😀"}]}`,
		`{"data":[1e5,-0.5,true,false,null,"a"],"n":-1}`,
		`{"data":[{"id":1}]]}`,
	}
	sels := []string{"", "data", "$.data[*]", "data[*]", "$", "results.posts", "a.b.c", "data[0]", "$..id", "items", "data.*", "$[*]", "nope",
		// Selectors into the elements of a big array.
		"data[*].id", "$.data[*].tags", "data[*].tags[*]", "data[*]..id", "data.*.id", "data[*][0]", "data[*].*",
		"results.posts[*].id", "included[*].x", "errors[*].m", "a.b.c[*].id", "data[0].id", "$[*].a", "data[*].nope"}
	for _, d := range docs {
		for _, s := range sels {
			f.Add(d, s, 8)
		}
	}
	f.Fuzz(func(t *testing.T, doc, selText string, part int) {
		smallParts(t, 0, 8, max(part%64, 1))
		var sel *jsonPath
		if selText != "" {
			var err error
			if sel, err = parseJSONPath(selText); err != nil {
				return
			}
		}
		body := []byte(doc)
		got, gotMatched, ok, perr := rowsInParts(body, sel)
		var p fastjson.Parser
		root, err := p.ParseBytes(body)
		if err != nil {
			if ok && perr == nil {
				t.Fatalf("%s: invalid JSON (%v) passed in parts as %q", doc, err, got)
			}
			return
		}
		if !ok {
			return // parsed whole, as any page
		}
		if perr != nil {
			t.Fatalf("%s: a part failed on valid JSON: %v", doc, perr)
		}
		vals, matched := selectRows(root, sel)
		var want []string
		for _, v := range vals {
			want = append(want, string(v.MarshalTo(nil)))
		}
		if len(got) != len(want) || gotMatched != matched {
			t.Fatalf("%s with %q: parts gave %q (matched %v), whole gave %q (matched %v)", doc, selText, got, gotMatched, want, matched)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s with %q: row %d: parts gave %s, whole gave %s", doc, selText, i, got[i], want[i])
			}
		}
	})
}
