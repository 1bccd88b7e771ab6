package rest

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
)

// utf8BOM starts the bodies of some APIs (.NET's); JSON decoders, dlt's
// (requests) among them, skip it.
var utf8BOM = []byte("\xef\xbb\xbf")

// decodeBOM returns a body as UTF-8 and the encoding its byte order mark
// named ("" for none or UTF-8's, which is only dropped). A body in UTF-16
// or UTF-32 with a mark is decoded, as requests decodes by the mark, so
// such an API loads rather than failing as "not valid JSON". Any other
// body is returned as it is after one look at its first byte.
func decodeBOM(b []byte) ([]byte, string) {
	if len(b) < 2 {
		return b, ""
	}
	switch b[0] {
	case 0xEF:
		return bytes.TrimPrefix(b, utf8BOM), ""
	case 0xFF:
		switch {
		case b[1] != 0xFE:
		case len(b) >= 4 && b[2] == 0 && b[3] == 0:
			// Not UTF-16LE's mark and a NUL: JSON holds no NUL.
			return decodeUTF32(b[4:], binary.LittleEndian), "UTF-32LE"
		default:
			return decodeUTF16(b[2:], binary.LittleEndian), "UTF-16LE"
		}
	case 0xFE:
		if b[1] == 0xFF {
			return decodeUTF16(b[2:], binary.BigEndian), "UTF-16BE"
		}
	case 0:
		if len(b) >= 4 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF {
			return decodeUTF32(b[4:], binary.BigEndian), "UTF-32BE"
		}
	}
	return b, ""
}

// decodeUTF16 decodes UTF-16 to UTF-8; an unpaired surrogate or an odd
// last byte becomes U+FFFD, as invalid UTF-8 in a string does.
func decodeUTF16(b []byte, order binary.ByteOrder) []byte {
	out := make([]byte, 0, len(b)/2) // JSON is mostly ASCII
	for i := 0; i+1 < len(b); i += 2 {
		r := rune(order.Uint16(b[i:]))
		if utf16.IsSurrogate(r) {
			r2 := utf8.RuneError
			if i+3 < len(b) {
				r2 = rune(order.Uint16(b[i+2:]))
			}
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				r = dec
				i += 2
			} else {
				r = utf8.RuneError
			}
		}
		out = utf8.AppendRune(out, r)
	}
	if len(b)%2 != 0 {
		out = utf8.AppendRune(out, utf8.RuneError)
	}
	return out
}

// decodeUTF32 decodes UTF-32 to UTF-8; a value that is no code point, or
// a last partial unit, becomes U+FFFD.
func decodeUTF32(b []byte, order binary.ByteOrder) []byte {
	out := make([]byte, 0, len(b)/4+4)
	for i := 0; i+3 < len(b); i += 4 {
		// AppendRune writes U+FFFD for surrogates and values past U+10FFFF.
		out = utf8.AppendRune(out, rune(order.Uint32(b[i:])))
	}
	if len(b)%4 != 0 {
		out = utf8.AppendRune(out, utf8.RuneError)
	}
	return out
}
