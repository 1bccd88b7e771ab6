package rest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/arrowbuf"
)

func TestDecodeConfigErrors(t *testing.T) {
	tests := []struct {
		spec string
		want string
	}{
		{`[]`, `source: want a map, got a list`},
		{`{"client":{"base_url":"http://x"}}`, `source.resources: required`},
		{`{"resources":[],"extra":1}`, `source.resources: required: at least one resource`},
		{`{"resources":["a"],"extra":1}`, `source: unknown field "extra"`},
		{`{"resources":[{"name":"issues","params":{"sort":"updated"},"endpoint":{"path":"issues"}}]}`, `source.resources[0]: unknown field "params"`},
		{`{"resources":[{"endpoint":"x"}]}`, `source.resources[0].name: required`},
		{`{"resources":["a","a"]}`, `source.resources[1].name: duplicate resource name "a"`},
		{`{"resources":[7]}`, `source.resources[0]: want a resource name or a map, got a number`},
		{`{"client":{"paginator":{"type":"pages"}},"resources":["a"]}`, `source.client.paginator.type: unknown paginator "pages" (want one of auto, cursor, header_link, json_link, offset, page_number, single_page`},
		{`{"client":{"paginator":"pages"},"resources":["a"]}`, `source.client.paginator: unknown paginator "pages"`},
		{`{"client":{"paginator":{"limit":5}},"resources":["a"]}`, `source.client.paginator.type: required`},
		{`{"client":{"paginator":{"type":"offset"}},"resources":["a"]}`, `source.client.paginator.limit: required`},
		{`{"client":{"paginator":{"type":"offset","limit":"ten"}},"resources":["a"]}`, `source.client.paginator.limit: want an integer, got a string`},
		{`{"client":{"paginator":{"type":"json_link","next":"x"}},"resources":["a"]}`, `source.client.paginator: unknown field "next"`},
		{`{"client":{"paginator":{"type":"page_number","total_path":null,"stop_after_empty_page":false}},"resources":["a"]}`, `source.client.paginator: page_number paginator needs total_path`},
		{`{"client":{"paginator":{"type":"cursor","cursor_param":"a","cursor_body_path":"b"}},"resources":["a"]}`, `source.client.paginator.cursor_body_path: set either`},
		{`{"client":{"auth":{"type":"bearer","token":"SECRET1"},"timeout":"soon"},"resources":["a"]}`, `source.client.timeout: want seconds`},
		{`{"client":{"auth":{"type":"oauth3","token":"SECRET1"}},"resources":["a"]}`, `source.client.auth.type: unknown auth type "oauth3" (want one of`},
		{`{"client":{"auth":{"username":"u","password":"SECRET1"}},"resources":["a"]}`, `source.client.auth.type: required`},
		{`{"client":{"auth":{"type":"bearer","token":"SECRET1","extra":"SECRET2"}},"resources":["a"]}`, `source.client.auth: unknown field "extra"`},
		{`{"client":{"auth":{"type":"bearer","token":12345}},"resources":["a"]}`, `source.client.auth.token: want a string, got a number`},
		{`{"client":{"auth":{"type":"api_key","api_key":"SECRET1","location":"body"}},"resources":["a"]}`, `source.client.auth.location: unknown location "body"`},
		{`{"client":{"auth":{"type":"oauth2_client_credentials","client_id":"x","client_secret":"SECRET1"}},"resources":["a"]}`, `source.client.auth.access_token_url: required`},
		{`{"client":{"headers":{"X":{"a":1}}},"resources":["a"]}`, `source.client.headers.X: want a string, got a map`},
		{`{"client":{"max_attempts":0},"resources":["a"]}`, `source.client.max_attempts: want at least 1`},
		{`{"resource_defaults":{"name":"x"},"resources":["a"]}`, `source.resource_defaults: unknown field "name"`},
		{`{"resource_defaults":{"endpoint":{"paginator":{"type":"x"}}},"resources":["a"]}`, `source.resource_defaults.endpoint.paginator.type: unknown paginator "x"`},
		{`{"resources":[{"name":"a","endpoint":{"path":"a","method":"FETCH"}}]}`, `source.resources[0].endpoint.method: unknown method "FETCH"`},
		{`{"resources":[{"name":"a","endpoint":{"data_selector":"a[*"}}]}`, `source.resources[0].endpoint.data_selector: bad JSONPath`},
		{`{"resources":[{"name":"a","endpoint":{"params":{"x":{"type":"magic"}}}}]}`, `source.resources[0].endpoint.params.x.type: unknown param type "magic"`},
		{`{"resources":[{"name":"a","endpoint":{"params":{"x":{"type":"resolve","resource":"b"}}}}]}`, `source.resources[0].endpoint.params.x.field: required`},
		{`{"resources":[{"name":"a","endpoint":{"params":{"x":{"type":"incremental","initial_value":1}}}}]}`, `source.resources[0].endpoint.params.x.cursor_path: required`},
		{`{"resources":[{"name":"a","endpoint":{"incremental":{"cursor_path":"id","last_value_func":"avg"}}}]}`, `source.resources[0].endpoint.incremental.last_value_func: unknown last_value_func "avg"`},
		{`{"resources":[{"name":"a","endpoint":{"incremental":{"cursor_path":"id","end_value":3}}}]}`, `source.resources[0].endpoint.incremental.initial_value: required when end_value is set`},
		{`{"resources":[{"name":"a","endpoint":{"incremental":{"cursor_path":"ts","initial_value":[1,2]}}}]}`, `source.resources[0].endpoint.incremental.initial_value: want a cursor value (a string, number or boolean), got a list`},
		{`{"resources":[{"name":"a","endpoint":{"incremental":{"cursor_path":"ts","initial_value":{"a":1}}}}]}`, `source.resources[0].endpoint.incremental.initial_value: want a cursor value (a string, number or boolean), got a map`},
		{`{"resources":[{"name":"a","endpoint":{"incremental":{"cursor_path":"ts","initial_value":1,"end_value":[5]}}}]}`, `source.resources[0].endpoint.incremental.end_value: want a cursor value (a string, number or boolean), got a list`},
		{`{"resources":[{"name":"a","endpoint":{"params":{"since":{"type":"incremental","cursor_path":"ts","initial_value":{"a":1}}}}}]}`, `source.resources[0].endpoint.params.since.initial_value: want a cursor value`},
		{`{"resource_defaults":{"endpoint":{"incremental":{"cursor_path":"ts","initial_value":[]}}},"resources":["a"]}`, `source.resource_defaults.endpoint.incremental.initial_value: want a cursor value`},
		{`{"resources":[{"name":"a","endpoint":{"incremental":{"cursor_path":"id","convert":"value +"}}}]}`, `source.resources[0].endpoint.incremental.convert: bad expression`},
		{`{"resources":[{"name":"a","endpoint":{"response_actions":[{"status_code":404,"action":"retry"}]}}]}`, `source.resources[0].endpoint.response_actions[0].action: unknown action "retry"`},
		{`{"resources":[{"name":"a","endpoint":{"response_actions":[{"status_code":"404","action":"ignore"}]}}]}`, `source.resources[0].endpoint.response_actions[0].status_code: want an integer`},
		{`{"resources":[{"name":"a","write_disposition":"upsert"}]}`, `source.resources[0].write_disposition: unknown write_disposition "upsert"`},
		{`{"resources":[{"name":"issues","table_format":"hudi"}]}`, `source.resources[0].table_format: resource "issues": unknown table_format "hudi" (want iceberg, delta or native)`},
		{`{"resources":["a",{"name":"b","table_format":"Iceberg"}]}`, `source.resources[1].table_format: resource "b": unknown table_format "Iceberg" (want iceberg, delta or native)`},
		{`{"resources":[{"name":"a","table_format":true}]}`, `source.resources[0].table_format: want a string, got a boolean`},
		{`{"resource_defaults":{"table_format":"parquet"},"resources":["a"]}`, `source.resource_defaults.table_format: unknown table_format "parquet" (want iceberg, delta or native)`},
		{`{"resources":[{"name":"a","table_fromat":"iceberg"}]}`, `source.resources[0]: unknown field "table_fromat" (did you mean "table_format"?)`},
		{`{"resource_defaults":{"tableformat":"iceberg"},"resources":["a"]}`, `source.resource_defaults: unknown field "tableformat" (did you mean "table_format"?)`},
		{`{"resources":[{"name":"a","nested_hints":{"x":{"table_format":"iceberg"}}}]}`, `source.resources[0].nested_hints.x: unknown field "table_format"`},
		{`{"resources":[{"name":"a","primary_key":[1]}]}`, `source.resources[0].primary_key[0]: want a string, got a number`},
		{`{"resources":[{"name":"a","columns":{"id":{"data_type":"integer"}}}]}`, `source.resources[0].columns.id.data_type: unknown data_type "integer"`},
		{`{"resources":[{"name":"a","columns":{"id":{"nullable":"no"}}}]}`, `source.resources[0].columns.id.nullable: want true or false`},
		// Decimal hints DuckDB cannot create, wherever columns are given.
		{`{"resources":[{"name":"a","columns":{"v":{"data_type":"decimal","precision":100}}}]}`, `source.resources[0].columns.v.precision: a decimal's precision must be between 1 and 38, got 100`},
		{`{"resources":[{"name":"a","columns":{"v":{"data_type":"decimal","precision":0,"scale":0}}}]}`, `source.resources[0].columns.v.precision: a decimal's precision must be between 1 and 38, got 0`},
		{`{"resources":[{"name":"a","columns":{"v":{"data_type":"decimal","precision":5,"scale":9}}}]}`, `source.resources[0].columns.v.scale: a decimal's scale must be at most its precision (5), got 9`},
		{`{"resources":[{"name":"a","columns":{"v":{"data_type":"decimal","scale":39}}}]}`, `source.resources[0].columns.v.scale: a decimal's scale must be at most its precision (38), got 39`},
		{`{"resources":[{"name":"a","columns":[{"name":"v","data_type":"decimal","precision":10,"scale":-2}]}]}`, `source.resources[0].columns[0].scale: want 0 or more`},
		{`{"resources":[{"name":"a","columns":{"v":{"data_type":"text","precision":-1}}}]}`, `source.resources[0].columns.v.precision: want 0 or more`},
		{`{"resource_defaults":{"columns":{"v":{"data_type":"decimal","precision":39}}},"resources":["a"]}`, `source.resource_defaults.columns.v.precision: a decimal's precision must be between 1 and 38, got 39`},
		{`{"resources":[{"name":"a","nested_hints":{"x":{"columns":{"v":{"data_type":"decimal","precision":4,"scale":5}}}}}]}`, `source.resources[0].nested_hints.x.columns.v.scale: a decimal's scale must be at most its precision (4), got 5`},
		{`{"resources":[{"name":"a","max_table_nesting":-1}]}`, `source.resources[0].max_table_nesting: want 0 or more`},
		{`{"resources":[{"name":"a","file_format":"xml"}]}`, `source.resources[0].file_format: unknown file format (want parquet, jsonl, csv, insert_values or preferred)`},
		{`{"resources":[{"name":"a","selected":"no"}]}`, `source.resources[0].selected: want true or false`},
		{`{"resources":[{"name":"a","processing_steps":[{"filter":"id <"}]}]}`, `source.resources[0].processing_steps[0].filter: bad expression`},
		{`{"resources":[{"name":"a","processing_steps":[{"filter":"x","map":"y"}]}]}`, `source.resources[0].processing_steps[0]: want exactly one of filter or map`},
		{`{"resources":[{"name":"a","processing_steps":[{"reduce":"x"}]}]}`, `source.resources[0].processing_steps[0]: unknown field "reduce"`},
		{`{"resources":[{"name":"a","nested_hints":{"x":{"primary_key":"id","bogus":1}}}]}`, `source.resources[0].nested_hints.x: unknown field "bogus"`},
		{`{"resources":[{"name":"a","schema_contract":{"tables":"melt"}}]}`, `source.resources[0].schema_contract.tables: unknown schema_contract mode "melt"`},
		// Braces: an unclosed placeholder is not sent literally.
		{`{"resources":["items",{"name":"det","endpoint":"items/{resources.items.id"}]}`, `source.resources[1].endpoint.path: unbalanced braces: the "{" at offset 6 is not closed`},
		{`{"resources":[{"name":"det","endpoint":{"path":"items/{resources.items.id}/x}"}}]}`, `source.resources[0].endpoint.path: unbalanced braces: the "}" at offset 28 closes no "{"`},
		{`{"resources":[{"name":"det","endpoint":{"path":"items/{{id}"}}]}`, `source.resources[0].endpoint.path: unbalanced braces: the "}" at offset 10 closes no "{"`},
		{`{"resource_defaults":{"endpoint":{"path":"{a{b}"}},"resources":["a"]}`, `source.resource_defaults.endpoint.path: unbalanced braces: the "{" at offset 0 is not closed`},
		{`{"resources":[{"name":"a","endpoint":{"params":{"id":"{resources.items.id"}}}]}`, `source.resources[0].endpoint.params.id: unclosed placeholder "{resources.items.id" (want "}" right after the name)`},
		{`{"resources":[{"name":"a","endpoint":{"params":{"since":"from {incremental.start_value to now"}}}]}`, `source.resources[0].endpoint.params.since: unclosed placeholder "{incremental.start_value"`},
		{`{"resources":[{"name":"a","endpoint":{"json":{"filter":{"ids":["x","{resources.items.id"]}}}}]}`, `source.resources[0].endpoint.json.filter.ids[1]: unclosed placeholder "{resources.items.id"`},
		{`{"resources":[{"name":"a","endpoint":{"headers":{"X-Id":"{resources.items.id "}}}]}`, `source.resources[0].endpoint.headers.X-Id: unclosed placeholder "{resources.items.id"`},
		{`{"client":{"headers":{"X-Since":"{incremental.start_value"}},"resources":["a"]}`, `source.client.headers.X-Since: unclosed placeholder "{incremental.start_value"`},
		{`{"resources":[{"name":"a","endpoint":{"pagintor":{}}}]}`, `source.resources[0].endpoint: unknown field "pagintor"`},
	}
	for _, tc := range tests {
		var raw any
		if err := json.Unmarshal([]byte(tc.spec), &raw); err != nil {
			t.Fatalf("bad spec %s: %v", tc.spec, err)
		}
		_, err := DecodeConfig(raw, "source")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.spec, err, tc.want)
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: %T is not a *ConfigError", tc.spec, err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error echoes a value: %v", tc.spec, err)
		}
	}
}

// TestDecodeDecimalHintsAccepted: the edges of DuckDB's decimal limits, and
// precision on other types (dlt's text length), decode.
func TestDecodeDecimalHintsAccepted(t *testing.T) {
	for _, col := range []string{
		`{"data_type":"decimal","precision":38,"scale":38}`,
		`{"data_type":"decimal","precision":1,"scale":0}`,
		`{"data_type":"decimal","scale":38}`,
		`{"data_type":"text","precision":1000}`,
		`{"precision":64}`,
	} {
		var raw any
		if err := json.Unmarshal([]byte(`{"resources":[{"name":"a","columns":{"v":`+col+`}}]}`), &raw); err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeConfig(raw, "source"); err != nil {
			t.Errorf("%s: %v", col, err)
		}
	}
}

// TestDecodeBracesAccepted: dlt's escaped braces in a path, and literal
// braces elsewhere (a GraphQL query, a secret in a header), are accepted.
func TestDecodeBracesAccepted(t *testing.T) {
	for _, endpoint := range []string{
		`"items/{resources.p.id}/x"`,
		`"items/{{"`,
		`"items/}}x"`,
		`{"path":"q","method":"POST","json":{"query":"{ viewer { login } }","q2":"{viewer{login}}","odd":"}{"}}`,
		`{"path":"q","headers":{"X-Key":"ab}c{d","X-Json":"{\"resources\": 1}"}}`,
		`{"path":"q","params":{"re":"\\d{2,}","brace":"{"}}`,
	} {
		var raw any
		if err := json.Unmarshal([]byte(`{"client":{"base_url":"http://x"},"resources":["p",{"name":"a","endpoint":`+endpoint+`}]}`), &raw); err != nil {
			t.Fatal(err)
		}
		cfg, err := DecodeConfig(raw, "source")
		if err == nil {
			_, err = NewSource(cfg, Logger(quietLog()))
		}
		if err != nil {
			t.Errorf("%s: %v", endpoint, err)
		}
	}
}

// Errors found only when the resources are put together come from NewSource.
func TestNewSourceErrors(t *testing.T) {
	tests := []struct {
		spec string
		want string
	}{
		{`{"client":{"base_url":"http://x"},"resources":[{"name":"c","endpoint":"posts/{resources.posts.id}"}]}`, `source.resources[0].endpoint.path: placeholder {resources.posts.id}: want {resources.<resource>.<field>} naming a resource`},
		{`{"client":{"base_url":"http://x"},"resources":[{"name":"c","endpoint":"posts/{id}"}]}`, `source.resources[0].endpoint.path: unknown placeholder {id}`},
		{`{"client":{"base_url":"http://x"},"resources":[{"name":"c","endpoint":{"params":{"s":"{incremental.start_value}"}}}]}`, `source.resources[0].endpoint.params.s: placeholder {incremental.start_value} needs endpoint.incremental`},
		{`{"client":{"base_url":"http://x"},"resources":[{"name":"c","endpoint":{"params":{"s":"{incremental.first}"},"incremental":{"cursor_path":"x"}}}]}`, `source.resources[0].endpoint.params.s: unknown placeholder {incremental.first}`},
		{`{"client":{"base_url":"http://x"},"resources":["a","b",{"name":"c","endpoint":{"path":"{resources.a.id}/{resources.b.id}"}}]}`, `source.resources[2].endpoint.path: a resource can have one parent; found "a" and "b"`},
		{`{"client":{"base_url":"http://x"},"resources":[{"name":"a","endpoint":"{resources.b.id}"},{"name":"b","endpoint":"{resources.a.id}"}]}`, `source.resources[0]: resources depend on each other in a cycle: a -> b -> a`},
		{`{"client":{"base_url":"http://x"},"resources":[{"name":"a","include_from_parent":["id"]}]}`, `source.resources[0].include_from_parent: the resource has no parent resource`},
		{`{"client":{"base_url":"ftp://x"},"resources":["a"]}`, `source.client.base_url: want an http or https URL`},
		{`{"client":{"base_url":"http://x"},"resources":[{"name":"a","endpoint":{"params":{"s":{"type":"incremental","cursor_path":"x"}},"incremental":{"cursor_path":"y"}}}]}`, `source.resources[0].endpoint.params.s: only one incremental per endpoint`},
		{`{"client":{"base_url":"http://x"},"resources":[{"name":"a","endpoint":{"params":{"s":{"type":"resolve","resource":"zz","field":"id"}}}}]}`, `source.resources[0].endpoint.params.s.resource: no resource named "zz"`},
		// A relative path without a base URL, wherever the path came from.
		{`{"resources":[{"name":"a","endpoint":{"path":"items"}}]}`, `source.resources[0].endpoint.path: "items" is not a full URL and source.client.base_url is not set`},
		{`{"client":{"headers":{"X":"y"}},"resources":[{"name":"a","endpoint":"http://x/a"},{"name":"b","endpoint":"/b"}]}`, `source.resources[1].endpoint.path: "/b" is not a full URL and source.client.base_url is not set`},
		{`{"resources":["items"]}`, `source.resources[0].endpoint.path: "items" (the resource name) is not a full URL and source.client.base_url is not set`},
		{`{"resource_defaults":{"endpoint":{"path":"things"}},"resources":["a"]}`, `source.resource_defaults.endpoint.path: "things" is not a full URL and source.client.base_url is not set`},
	}
	for _, tc := range tests {
		cfg := decode(t, tc.spec)
		_, err := NewSource(cfg, Logger(quietLog()))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.spec, err, tc.want)
		}
	}
	// Full URLs, and paths a placeholder may make full, need no base URL.
	cfg := decode(t, `{"resources":[{"name":"a","endpoint":"https://x/a"},{"name":"b","endpoint":"{resources.a.url}"},{"name":"c","endpoint":"HTTP://x/c"}]}`)
	if _, err := NewSource(cfg, Logger(quietLog())); err != nil {
		t.Errorf("full URLs without base_url: %v", err)
	}
}

func TestDecodeConfigValues(t *testing.T) {
	cfg := decode(t, `{"client":{"base_url":"http://x/","headers":{"X-N":3},"timeout":"2s","max_retries":2,"backoff_factor":0.5,
		"max_retry_delay":10,"rate_limit":4.5,"max_concurrency":3,"auth":{"token":"t"}},
		"resources":[{"name":"a","endpoint":{"path":"a","params":{"n":1,"tags":["x","y"],"r":{"type":"resolve","resource":"b","field":"items[0].id"}},
		"incremental":{"cursor_path":"u","initial_value":"2024","start_param":"since"}},
		"write_disposition":{"disposition":"merge","strategy":"upsert"},"columns":[{"name":"id","data_type":"bigint","primary_key":true}]},"b"]}`)
	c := cfg.Client
	if c.Headers["X-N"] != "3" || c.Timeout != 2*time.Second || c.Retry.MaxAttempts != 3 || c.Retry.Backoff != 500*time.Millisecond ||
		c.Retry.MaxDelay != 10*time.Second || c.RateLimit != 4.5 || c.MaxConcurrency != 3 || c.Auth.Type != "bearer" {
		t.Fatalf("client = %+v", c)
	}
	r := cfg.Resources[0]
	if r.WriteDisposition != "merge" || len(r.Columns) != 1 || !r.Columns[0].PrimaryKey || r.Endpoint.Incremental.StartParam != "since" {
		t.Fatalf("resource = %+v", r)
	}
	if rp, ok := r.Endpoint.Params["r"].(ResolveParam); !ok || rp.Field != "items[0].id" {
		t.Fatalf("resolve param = %#v", r.Endpoint.Params["r"])
	}
	// YAML decoders may give map[any]any.
	if _, err := DecodeConfig(map[any]any{"resources": []any{map[any]any{"name": "x"}}}, "source"); err != nil {
		t.Fatal(err)
	}
}

// TestDecodeTableFormat: table_format on a resource, or from
// resource_defaults for resources without their own, becomes the flow
// resource's hint.
func TestDecodeTableFormat(t *testing.T) {
	tests := []struct {
		name, spec string
		want       map[string]arrowbuf.TableFormat
	}{
		{"none", `{"resources":["a"]}`, map[string]arrowbuf.TableFormat{"a": ""}},
		{"resource", `{"resources":[{"name":"a","table_format":"iceberg"},"b"]}`, map[string]arrowbuf.TableFormat{"a": arrowbuf.Iceberg, "b": ""}},
		{"defaults", `{"resource_defaults":{"table_format":"delta"},"resources":[{"name":"a","table_format":"native"},"b"]}`,
			map[string]arrowbuf.TableFormat{"a": arrowbuf.Native, "b": arrowbuf.Delta}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := decode(t, tt.spec)
			cfg.Client.BaseURL = "http://x/"
			src, err := NewSource(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				r := src.Resource(name)
				if r == nil {
					t.Fatalf("no resource %q", name)
				}
				if got := r.Hints().TableFormat; got != want {
					t.Errorf("%s: table format %q, want %q", name, got, want)
				}
			}
		})
	}
}
