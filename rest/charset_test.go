package rest

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf16"
)

// encodeBOM writes s in enc with its byte order mark, as .NET and Windows
// APIs send UTF-16 and UTF-32.
func encodeBOM(s, enc string) []byte {
	var order binary.AppendByteOrder = binary.LittleEndian
	if strings.HasSuffix(enc, "BE") {
		order = binary.BigEndian
	}
	var out []byte
	if strings.HasPrefix(enc, "UTF-32") {
		out = order.AppendUint32(out, 0xFEFF)
		for _, r := range s {
			out = order.AppendUint32(out, uint32(r))
		}
		return out
	}
	out = order.AppendUint16(out, 0xFEFF)
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

// TestBodyDecodedByBOM: a JSON body in UTF-16 or UTF-32 with a byte order
// mark loads, its non-ASCII text (a pair of surrogates too) intact, as dlt
// (requests) decodes it by the mark; a small page and one big enough to be
// parsed in parts.
func TestBodyDecodedByBOM(t *testing.T) {
	smallParts(t, 8<<10, 2<<10, 2<<10)
	const name = "Grüße 😀 ok"
	for _, enc := range []string{"UTF-16LE", "UTF-16BE", "UTF-32LE", "UTF-32BE"} {
		for _, size := range []int{2, 300} {
			t.Run(fmt.Sprintf("%s %d rows", enc, size), func(t *testing.T) {
				body := `{"data":[{"id":0,"name":"` + name + `"},` + bigRows(1, size-1) + `]}`
				srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.Write(encodeBOM(body, enc))
				}})
				cfg := decode(t, `{"client":{"base_url":"`+srv.URL+`/"},"resources":[{"name":"items","endpoint":{"path":"items","paginator":"single_page"}}]}`)
				rows := collect(t, cfg, "items")
				if len(rows) != size {
					t.Fatalf("%d rows, want %d", len(rows), size)
				}
				if rows[0]["name"] != name {
					t.Errorf("name %q, want %q", rows[0]["name"], name)
				}
			})
		}
	}
}

// TestBOMBodyNotJSON: a UTF-16 body that is not JSON fails naming the
// encoding it was decoded from, the offset and snippet being the decoded
// body's.
func TestBOMBodyNotJSON(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(encodeBOM(`{"data":[{"id":1} {"id":2}]}`, "UTF-16LE"))
	}})
	cfg := decode(t, `{"client":{"base_url":"`+srv.URL+`/"},"resources":[{"name":"items","endpoint":{"path":"items","paginator":"single_page"}}]}`)
	_, err := tryCollect(cfg, "items")
	const want = `rest: GET /items: 200 response is not valid JSON (content type application/json; UTF-16LE, decoded by its byte order mark): at byte 18 of 28: "{\"data\":[{\"id\":1} {\"id\":2}]}"`
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("error %v\nwant it to end %s", err, want)
	}
}

// TestDecodeBOM: what each byte order mark decodes to, broken units
// becoming U+FFFD, and an ordinary body coming back as the same bytes.
func TestDecodeBOM(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, enc string
	}{
		{"no mark", `{"a":1}`, `{"a":1}`, ""},
		{"UTF-8's mark is dropped", "\xef\xbb\xbf[1]", "[1]", ""},
		{"UTF-16LE", "\xff\xfe[\x001\x00]\x00", "[1]", "UTF-16LE"},
		{"UTF-16BE", "\xfe\xff\x00[\x001\x00]", "[1]", "UTF-16BE"},
		{"UTF-32LE", "\xff\xfe\x00\x00[\x00\x00\x00]\x00\x00\x00", "[]", "UTF-32LE"},
		{"UTF-32BE", "\x00\x00\xfe\xff\x00\x00\x00[\x00\x00\x00]", "[]", "UTF-32BE"},
		{"a surrogate pair", "\xfe\xff\xd8\x3d\xde\x00", "😀", "UTF-16BE"},
		{"an unpaired surrogate", "\xfe\xff\xd8\x3d\x00a", "\uFFFDa", "UTF-16BE"},
		{"a high surrogate last", "\xfe\xff\x00a\xd8\x3d", "a\uFFFD", "UTF-16BE"},
		{"an odd last byte", "\xff\xfea\x00b", "a\uFFFD", "UTF-16LE"},
		{"no code point", "\x00\x00\xfe\xff\x00\x11\x00\x00", "\uFFFD", "UTF-32BE"},
		{"a partial last unit", "\xff\xfe\x00\x00a\x00\x00\x00b\x00", "a\uFFFD", "UTF-32LE"},
		{"one byte", "\xff", "\xff", ""},
		{"0xFF alone is not a mark", "\xff\x00ab", "\xff\x00ab", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			got, enc := decodeBOM(in)
			if string(got) != tc.want || enc != tc.enc {
				t.Errorf("decodeBOM(%q) = %q, %q; want %q, %q", tc.in, got, enc, tc.want, tc.enc)
			}
			if tc.in == tc.want && len(in) > 0 && &got[0] != &in[0] {
				t.Error("an ordinary body was copied")
			}
		})
	}
}
