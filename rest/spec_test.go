package rest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/confspec"
)

// kitchenSink reaches every described map of the source: the decoder reads
// a map's keys whether they are set or not.
const kitchenSink = `{
 "client": {"base_url": "http://x", "paginator": {"type": "offset", "limit": 2}, "auth": {"token": "t"}},
 "resource_defaults": {"endpoint": {"params": {"p": 1}}},
 "resources": [
  {"name": "a", "write_disposition": {"disposition": "merge"}, "schema_contract": {"tables": "evolve"},
   "columns": {"id": {"data_type": "bigint"}}, "nested_hints": {"x": {"primary_key": "id"}},
   "processing_steps": [{"filter": "true"}],
   "endpoint": {"path": "a", "incremental": {"cursor_path": "id"},
    "params": {"r": {"type": "resolve", "resource": "b", "field": "id"}, "i": {"type": "incremental", "cursor_path": "id"}},
    "response_actions": [{"status_code": 404, "action": "ignore"}]}}]}`

// TestSpecAgreesWithDecoder: the decoder reads exactly the keys the
// description declares, for every described map, paginator and auth type.
func TestSpecAgreesWithDecoder(t *testing.T) {
	reads := map[*confspec.Object]map[string]bool{}
	testHookRead = func(desc *confspec.Object, key string) {
		if reads[desc] == nil {
			reads[desc] = map[string]bool{}
		}
		reads[desc][key] = true
	}
	defer func() { testHookRead = nil }()
	var raw any
	if err := json.Unmarshal([]byte(kitchenSink), &raw); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeConfig(raw, "source"); err != nil {
		t.Fatal(err)
	}
	// Builders read their keys from an undescribed map (auth.go and the
	// paginator files): each built alone, from params it accepts.
	typed := map[*confspec.Object]map[string]any{
		specPaginator.Variant("single_page"): {}, specPaginator.Variant("json_link"): {},
		specPaginator.Variant("header_link"): {}, specPaginator.Variant("cursor"): {},
		specPaginator.Variant("offset"): {"limit": 1}, specPaginator.Variant("page_number"): {},
		specAuth.Variant("bearer"): {"token": "t"}, specAuth.Variant("http_basic"): {},
		specAuth.Variant("api_key"): {"api_key": "k"}, specAuth.Variant("oauth2_client_credentials"): {"access_token_url": "http://x"},
	}
	for v, params := range typed {
		delete(reads, nil)
		var err error
		if _, ok := lookupPaginator(v.Name); ok && specPaginator.Variant(v.Name) == v {
			b, _ := lookupPaginator(v.Name)
			_, err = b(params)
		} else {
			f, _ := lookupAuth(v.Name)
			_, err = f(params)
		}
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		reads[v] = reads[nil]
	}
	delete(reads, nil)
	confspec.Walk(specSource, "source", func(path string, o *confspec.Object) {
		if len(o.Fields) == 0 && len(reads[o]) == 0 {
			return // only variants, or no keys (auto)
		}
		t.Run(path, func(t *testing.T) {
			got := sortedKeys(reads[o])
			want := slices.Sorted(slices.Values(o.Names()))
			if !slices.Equal(got, want) {
				t.Errorf("decoder reads %v\ndescription declares %v", got, want)
			}
		})
	})
}

// TestUnknownKeySuggests: an unknown key at any depth names its map and
// suggests the declared key it is closest to.
func TestUnknownKeySuggests(t *testing.T) {
	tests := []struct{ name, spec, want string }{
		{"top", `{"resources":["a"],"clinet":{}}`, `source: unknown field "clinet" (did you mean "client"?)`},
		{"client", `{"client":{"base_ulr":"x"},"resources":["a"]}`, `source.client: unknown field "base_ulr" (did you mean "base_url"?)`},
		{"endpoint", `{"resources":[{"name":"a","endpoint":{"paginatr":"auto"}}]}`, `source.resources[0].endpoint: unknown field "paginatr" (did you mean "paginator"?)`},
		{"paginator", `{"resources":[{"name":"a","endpoint":{"paginator":{"type":"offset","limit":1,"offest":0}}}]}`, `source.resources[0].endpoint.paginator: unknown field "offest" (did you mean "offset"?)`},
		{"paginator key before required", `{"resources":[{"name":"a","endpoint":{"paginator":{"type":"offset","limt":10}}}]}`, `source.resources[0].endpoint.paginator: unknown field "limt" (did you mean "limit"?)`},
		{"auth key before required", `{"client":{"auth":{"type":"bearer","tokne":"x"}},"resources":["a"]}`, `source.client.auth: unknown field "tokne" (did you mean "token"?)`},
		{"auth", `{"client":{"auth":{"type":"http_basic","usrname":"u"}},"resources":["a"]}`, `source.client.auth: unknown field "usrname" (did you mean "username"?)`},
		{"column", `{"resources":[{"name":"a","columns":{"id":{"data_typ":"bigint"}}}]}`, `source.resources[0].columns.id: unknown field "data_typ" (did you mean "data_type"?)`},
		{"odd key", `{"resources":[{"name":"a","columns":{"a.b":{"nulable":true}}}]}`, `source.resources[0].columns["a.b"]: unknown field "nulable" (did you mean "nullable"?)`},
		{"incremental", `{"resources":[{"name":"a","endpoint":{"incremental":{"cursor_path":"id","intial_value":1}}}]}`, `source.resources[0].endpoint.incremental: unknown field "intial_value" (did you mean "initial_value"?)`},
		{"paginator type", `{"resources":[{"name":"a","endpoint":{"paginator":"json_lnk"}}]}`, `did you mean "json_link"?)`},
		{"enum", `{"resources":[{"name":"a","endpoint":{"method":"GTE"}}]}`, `source.resources[0].endpoint.method: unknown method "GTE" (want one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS; did you mean "GET"?)`},
		{"far", `{"resources":[{"name":"a","endpoint":{"zzzzzz":1}}]}`, `source.resources[0].endpoint: unknown field "zzzzzz"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var raw any
			if err := json.Unmarshal([]byte(tc.spec), &raw); err != nil {
				t.Fatal(err)
			}
			_, err := DecodeConfig(raw, "source")
			if err == nil || !strings.HasSuffix(err.Error(), tc.want) || (tc.name != "paginator type" && err.Error() != tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestEarlyDeclared: lookahead is what the paginators declare, for their
// own types only (a user's type embedding one may override Next).
func TestEarlyDeclared(t *testing.T) {
	type embedded struct{ *JSONLink }
	var got []string
	for _, pg := range []Paginator{&JSONLink{}, &HeaderLink{}, &Cursor{}, SinglePage{}, &RangePaginator{}, embedded{&JSONLink{}}} {
		if earlyOf(pg) != nil {
			got = append(got, strings.TrimPrefix(strings.TrimPrefix(fmt.Sprintf("%T", pg), "*rest."), "rest."))
		}
	}
	sort.Strings(got)
	if want := []string{"Cursor", "HeaderLink", "JSONLink"}; !slices.Equal(got, want) {
		t.Errorf("early = %v, want %v", got, want)
	}
}
