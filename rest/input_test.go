package rest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBOMAccepted: a JSON body that starts with a UTF-8 byte order mark
// (.NET APIs send one) loads, as dlt (requests) loads it.
func TestBOMAccepted(t *testing.T) {
	smallParts(t, 8<<10, 2<<10, 2<<10)
	srv := serve(t, map[string]http.HandlerFunc{
		"/small": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			fmt.Fprint(w, "\xef\xbb\xbf"+`{"data":[{"id":1},{"id":2}],"next":null}`)
		},
		"/big": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "\xef\xbb\xbf"+`{"data":[`+bigRows(1, 300)+`]}`)
		},
	})
	for path, want := range map[string]int{"small": 2, "big": 300} {
		t.Run(path, func(t *testing.T) {
			cfg := decode(t, `{"client":{"base_url":"`+srv.URL+`/"},"resources":[{"name":"items","endpoint":{"path":"`+path+`"}}]}`)
			if rows := collect(t, cfg, "items"); len(rows) != want {
				t.Fatalf("%d rows, want %d", len(rows), want)
			}
		})
	}
}

// TestNotJSONSnippet: a body that is not valid JSON fails with the offset
// where it stops being JSON and the bytes around it, secrets masked in
// every form, even one the snippet's edge would cut.
func TestNotJSONSnippet(t *testing.T) {
	const token = "tok-SECRET-9f8e7d6c"
	pad := strings.Repeat("x", 60)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"a missing comma", `{"data":[{"id":1} {"id":2}]}`, `at byte 18 of 28: "{\"data\":[{\"id\":1} {\"id\":2}]}"`},
		{"cut short", `{"data":[{"id":1},{"id":`, `at byte 24 of 24: "…ta\":[{\"id\":1},{\"id\":"`},
		{"the secret next to the error", `{"note":"` + pad + token + `" oops}`, `at byte 90 of 95: "…***\" oops}"`},
		{"the secret across the snippet's edge", `{"note":"` + pad + token + pad[:10] + `" oops}`, `at byte 100 of 105: "…***xxxxxxxxxx\" oops}"`},
		{"the secret query-escaped", `{"a":"` + url.QueryEscape(token+"/x y") + `",,}`, `"…***\",,}"`},
		{"far from the secret", `{"t":"` + token + `","n":"` + pad + `" oops}`, `at byte 94 of 99: "…xxxxxxxxxxxxxxxxxx\" oops}"`},
		{"HTML served as JSON", `<html><body>Service down</body></html>`, `at byte 0 of 38: "<html><body>Service …"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tc.body)
			}})
			cfg := decode(t, `{"client":{"base_url":"`+srv.URL+`/","auth":{"token":"`+token+`"}},"resources":[{"name":"items","endpoint":{"path":"items","paginator":"single_page"}}]}`)
			_, err := tryCollect(cfg, "items", Secrets(token+"/x y"))
			if err == nil || !strings.Contains(err.Error(), "rest: GET /items: 200 response is not valid JSON (content type application/json): ") {
				t.Fatalf("error %v, want not valid JSON", err)
			}
			if !strings.HasSuffix(err.Error(), tc.want) {
				t.Errorf("error %s\nwant it to end %s", err, tc.want)
			}
			for _, part := range []string{"SECRET", "9f8e"} {
				if strings.Contains(err.Error(), part) {
					t.Errorf("error %s shows part of the secret", err)
				}
			}
		})
	}
}
