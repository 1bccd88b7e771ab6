package rest

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/valyala/fastjson"
)

// TestE2EDataDetection loads responses without a data_selector into DuckDB:
// as dlt, only a list holds records, and a response with no list is one row.
func TestE2EDataDetection(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		query  string // "" checks only the tables
		want   []string
		tables []string // the dataset's tables besides dlt's
	}{
		{name: "list nested under a record key's object",
			body:   `{"results":{"posts":[{"id":1,"title":"a"},{"id":2,"title":"b"},{"id":3,"title":"c"}]},"count":3}`,
			query:  `SELECT id, title FROM rest_e2e_dataset.x ORDER BY id`,
			want:   []string{"1|a", "2|b", "3|c"},
			tables: []string{"x"}},
		{name: "object under data is not the records",
			body:   `{"data":{"id":1,"name":"x"},"status":"ok"}`,
			query:  `SELECT data__id, data__name, status FROM rest_e2e_dataset.x`,
			want:   []string{"1|x|ok"},
			tables: []string{"x"}},
		{name: "root list",
			body:   `[{"id":1},{"id":2}]`,
			query:  `SELECT id FROM rest_e2e_dataset.x ORDER BY id`,
			want:   []string{"1", "2"},
			tables: []string{"x"}},
		{name: "items list beside metadata",
			body:   `{"meta":{"total":2},"items":[{"id":1},{"id":2}]}`,
			query:  `SELECT id FROM rest_e2e_dataset.x ORDER BY id`,
			want:   []string{"1", "2"},
			tables: []string{"x"}},
		{name: "values list",
			body:   `{"values":[{"id":7}],"size":1}`,
			query:  `SELECT id FROM rest_e2e_dataset.x`,
			want:   []string{"7"},
			tables: []string{"x"}},
		{name: "record key one level down wins over a less nested list",
			body:   `{"warnings":["slow"],"response":{"data":[{"id":1},{"id":2}]}}`,
			query:  `SELECT id FROM rest_e2e_dataset.x ORDER BY id`,
			want:   []string{"1", "2"},
			tables: []string{"x"}},
		{name: "least nested list without a record key",
			body:   `{"count":2,"users":[{"id":1,"roles":["a"]},{"id":2,"roles":["b"]}],"info":{"tags":["t"]}}`,
			query:  `SELECT id FROM rest_e2e_dataset.x ORDER BY id`,
			want:   []string{"1", "2"},
			tables: []string{"x", "x__roles"}},
		{name: "null data is an empty page",
			body:   `{"data":null}`,
			tables: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, map[string]http.HandlerFunc{"/x": func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tc.body)
			}})
			e := newE2E(t)
			e.run(decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":["x"]}`, srv.URL)))
			tables := e.query(`SELECT table_name FROM information_schema.tables
				WHERE table_schema = 'rest_e2e_dataset' AND table_name NOT LIKE '\_dlt%' ESCAPE '\' ORDER BY 1`)
			if !slices.Equal(tables, tc.tables) {
				t.Fatalf("tables = %v, want %v", tables, tc.tables)
			}
			if tc.query == "" {
				return
			}
			if got := e.query(tc.query); !slices.Equal(got, tc.want) {
				t.Fatalf("%s = %v, want %v", tc.query, got, tc.want)
			}
		})
	}
}

// TestDetectData covers the shapes the e2e test does not: how deep lists
// are looked for and which list wins.
func TestDetectData(t *testing.T) {
	tests := []struct {
		body string
		want string // the detected value, marshalled
	}{
		{`[1,2]`, `[1,2]`},
		{`"text"`, `"text"`},
		{`{"id":1}`, `{"id":1}`},
		{`{"a":[1],"data":[2]}`, `[2]`},
		{`{"data":[1],"items":[2]}`, `[1]`},
		{`{"a":{"b":{"c":[3]}}}`, `[3]`},
		{`{"a":{"b":{"c":{"d":[4]}}}}`, `{"a":{"b":{"c":{"d":[4]}}}}`},
		{`{"a":{"b":{"tags":[1]}},"c":{"d":[2]}}`, `[2]`},
		{`{"tags":[1],"x":{"y":{"entries":[2]}}}`, `[2]`},
		{`{"data":null,"status":"ok"}`, `null`},
		// Lists under metadata keys are the records only if nothing else is.
		{`{"errors":[],"users":[1]}`, `[1]`},
		{`{"meta":{"tags":["a"]},"users":[1]}`, `[1]`},
		{`{"links":[{"rel":"self"}],"id":1}`, `[{"rel":"self"}]`},
		{`{"meta":{"items":[1]},"users":[2]}`, `[1]`},
		{`{"data":{"id":1},"status":"ok"}`, `{"data":{"id":1},"status":"ok"}`},
	}
	for _, tc := range tests {
		got := detectData(fastjson.MustParse(tc.body))
		if s := string(got.MarshalTo(nil)); s != tc.want {
			t.Errorf("%s: detected %s, want %s", tc.body, s, tc.want)
		}
	}
}
