package rest

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBodyPath: a paginator's body path (offset_body_path and the like)
// is a JSONPath of object keys; the value goes into the request body at
// it, next to what the body holds.
func TestBodyPath(t *testing.T) {
	tests := []struct {
		path    string
		body    any
		want    string // the body as JSON after setting 7
		wantErr string
	}{
		{path: "offset", want: `{"offset":7}`},
		{path: "$.page.offset", body: map[string]any{"q": "x"}, want: `{"page":{"offset":7},"q":"x"}`},
		{path: "page['x-offset']", body: map[string]any{"page": map[string]any{"size": 10}}, want: `{"page":{"size":10,"x-offset":7}}`},
		{path: "$", wantErr: "not a path of object keys"},
		{path: "pages[0]", wantErr: "not a path of object keys"},
		{path: "a..b", wantErr: "not a path of object keys"},
		{path: "a.", wantErr: "bad JSONPath"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			p, err := parseBodyPath(tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			req := &Request{JSON: tc.body}
			p.setIn(req, 7)
			got, _ := json.Marshal(req.JSON)
			if string(got) != tc.want {
				t.Fatalf("body = %s, want %s", got, tc.want)
			}
		})
	}
}
