package statedoc

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"io"
)

// Encode compresses the JSON state document doc.
func Encode(doc []byte) string {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	_, _ = w.Write(doc)
	_ = w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// Decode reverses Encode, returning the JSON document.
func Decode(s string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("statedoc: %w", err)
	}
	r, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("statedoc: %w", err)
	}
	doc, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("statedoc: %w", err)
	}
	return doc, nil
}
