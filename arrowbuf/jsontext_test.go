package arrowbuf

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/valyala/fastjson"
)

func TestAppendJSONText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b":1,"a":[true,null,"x"]}`, `{"b":1,"a":[true,null,"x"]}`},
		{`"tab\tquote\"backslash\\"`, `"tab\tquote\"backslash\\"`},
		// Go's strconv.Quote would write \a, \v and \x7f here.
		{`"\u0007\u000b\u0001\u007f\""`, `"\u0007\u000b\u0001` + "\x7f" + `\""`},
		{`{"k\"ey\u0002":"v"}`, `{"k\"ey\u0002":"v"}`},
		{`"\ud83d\ude00 é"`, `"😀 é"`},
		{`1.50e3`, `1.50e3`},
		{`[-0,0.5,1E+2]`, `[-0,0.5,1E+2]`},
		// fastjson reads these as numbers; JSON has no such numbers.
		{`[.]`, `["."]`},
		{`[NaN,-Inf,01]`, `["NaN","-Inf","01"]`},
	}
	for _, tc := range tests {
		v, err := fastjson.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got := string(AppendJSONText(nil, v))
		if got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s: %s is not valid JSON", tc.in, got)
		}
	}
	// Invalid UTF-8 in a string becomes U+FFFD, as encoding/json writes it.
	v, _ := fastjson.Parse("\"a\xffb\"")
	if got := string(AppendJSONText(nil, v)); got != "\"a\ufffdb\"" {
		t.Errorf("invalid UTF-8: got %q", got)
	}
}

// FuzzAppendJSONText: whatever fastjson parses comes out as valid JSON with
// the same meaning.
func FuzzAppendJSONText(f *testing.F) {
	for _, s := range []string{`{"a":"\u0001\"","b":[1,2.5,{"c":null}]}`, `"\u007f\\"`, "\"\xff\"", `[[],{}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := fastjson.Parse(s)
		if err != nil {
			return
		}
		out := AppendJSONText(nil, v)
		if !json.Valid(out) {
			t.Fatalf("%q -> %q: not valid JSON", s, out)
		}
		var want, got any
		if json.Unmarshal([]byte(s), &want) != nil {
			return // fastjson accepts a little more than encoding/json
		}
		if err := json.Unmarshal(out, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q -> %q: means %v, want %v", s, out, got, want)
		}
	})
}
