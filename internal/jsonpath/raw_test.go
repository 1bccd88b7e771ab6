package jsonpath

import (
	"testing"

	"github.com/valyala/fastjson"
)

var rawLinkCases = []struct {
	body, key string
	want      string
	ok        bool
}{
	{`{"data":[1,2],"next":"u"}`, "next", "u", true},
	{`{"data":[], "next" : "u" }  `, "next", "u", true},
	{`{"next":"u","data":[]}`, "next", "u", true},
	{`{"count":3,"prev":null,"ok":true,"s":"x","next":"u","data":[{}]}`, "next", "u", true},
	{`{"data":[],"next":"a\/b\u0020c"}`, "next", "a/b c", true},
	{`{"x":"a\\","next":"u"}`, "next", "u", true},
	{`{"data":[],"next":""}`, "next", "", true},
	{`{"meta":{"a":1},"next":"u","data":[]}`, "next", "", false},  // an object before, the data after
	{`{"data":[{"next":"x"}],"next":"u"}`, "next", "", false},     // the key twice
	{`{"links":{"next":"u"}}`, "next", "", false},                 // nested
	{`[{"next":"u"}]`, "next", "", false},                         // not an object
	{`{"data":[],"next":null}`, "next", "", false},                // not a string
	{`{"a\"next":"x"}`, "next", "", false},                        // inside another key
	{`{"x":"\"next\":\"u\"","y":1}`, "next", "", false},           // inside a string
	{`{"n\u0065xt":"a","data":[],"next":"b"}`, "next", "", false}, // an escaped spelling first
	{`{"t":"caf\u00e9","data":[],"next":"b"}`, "next", "b", true}, // an escape of another letter
	{`{"data":[],"next":"u"`, "next", "", false},                  // unclosed
	{`{"data":[],"a/b":"u"}`, "a/b", "", false},                   // not a plain key
	{`{"data":[],"next":"u"} {"next":"v"}`, "next", "", false},    // two values
}

func TestRawRootString(t *testing.T) {
	for _, tc := range rawLinkCases {
		got, ok := rawRootString([]byte(tc.body), tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %q, %v; want %q, %v", tc.body, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzRawRootString: whenever the raw lookup is sure, it agrees with the
// parsed body (bodies that do not parse fail later anyway).
func FuzzRawRootString(f *testing.F) {
	for _, tc := range rawLinkCases {
		f.Add(tc.body, tc.key)
	}
	// Escapes, whitespace and look-alike keys around the key.
	for _, body := range []string{
		`{"next":"u" , "data":[]}`, `{"a":"\\\"","next":"u"}`, `{"a":"x\"","next":"u"}`, `{"next":"a\"b"}`,
		`{"next":"\ud83d\ude00"}`, `{"next":"\u0000x"}`, `{"a":1e5,"next":"u","d":[]}`, `{"a":-0.5E-3,"next":"u","d":{}}`,
		`{"a":true,"b":false,"c":null,"next":"u","d":[]}`, `{"a":"}","next":"u","d":[]}`, `{"a":"\\","next":"u","d":[1]}`,
		`{"d":[],"next":"\\"}`, "{ \"next\"\t:\r\n\"u\"}", "{\"d\":[],\"next\":\"u\"}\n\r\t ",
		`{"d":{"x":"\"next\""},"next":"u"}`, `{"a":"x","next":"u","next2":"v"}`, `{"d":[],"next":"a\/b\\\/c"}`,
		`{"d":[],"next":"\uD800"}`, `{"d":[],"next":"\q"}`, `{"d":[],"next":"日本"}`, `{"x":"a,\"next\":\"v\"","next":"u"}`,
		`{"x":{"y":"}"},"next":"u"}`, `{"next":"u","x":{"next":1}}`, `{"x":"\u006e","next":"u"}`, `{"next":"\u006e"}`,
	} {
		f.Add(body, "next")
	}
	f.Fuzz(func(t *testing.T, body, key string) {
		got, ok := rawRootString([]byte(body), key)
		if !ok {
			return
		}
		var p fastjson.Parser
		root, err := p.Parse(body)
		if err != nil {
			return
		}
		if root.Type() != fastjson.TypeObject {
			t.Fatalf("%q: found %q in a %s", body, got, root.Type())
		}
		v := root.Get(key)
		if v == nil || v.Type() != fastjson.TypeString {
			t.Fatalf("%q: found %q for %q, the parsed body has %v", body, got, key, v)
		}
		if want := string(v.GetStringBytes()); got != want {
			t.Fatalf("%q: found %q for %q, the parsed body has %q", body, got, key, want)
		}
	})
}
