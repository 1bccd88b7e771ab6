package main

import (
	"strings"
	"testing"
)

// TestRenderIndex renders the page's server-side table list: names are
// HTML-escaped in text and attributes, and query-escaped in the link.
func TestRenderIndex(t *testing.T) {
	info := apiInfo{Pipeline: "p", Destination: "duckdb", Dataset: "d", Location: "/x/p.duckdb"}
	tests := []struct {
		name   string
		data   indexData
		want   []string
		absent []string
	}{
		{
			name: "tables",
			data: indexData{Info: info, Tables: []apiTable{{"users", 3}, {"users__pets", 6}}},
			want: []string{
				`<a class="table-link" href="#table=users&amp;offset=0&amp;limit=50" data-name="users" data-rows="3"><span class="name">users</span> <span class="rows">3</span></a>`,
				`data-name="users__pets" data-rows="6"><span class="name">users__pets</span>`,
				"pipeline p · duckdb · dataset d · /x/p.duckdb",
				"<title>sluice · p</title>",
			},
			absent: []string{`<li class="muted">no tables</li>`},
		},
		{
			name: "escaped names",
			data: indexData{Info: apiInfo{Pipeline: "<i>p</i>"}, Tables: []apiTable{{`a<b>"c'&d e`, 1}}},
			want: []string{
				`href="#table=a%3cb%3e%22c%27%26d%20e&amp;offset=0&amp;limit=50"`,
				`data-name="a&lt;b&gt;&#34;c&#39;&amp;d e"`,
				`<span class="name">a&lt;b&gt;&#34;c&#39;&amp;d e</span>`,
				"&lt;i&gt;p&lt;/i&gt;",
			},
			absent: []string{"<b>", "<i>p"},
		},
		{
			name:   "no tables",
			data:   indexData{Info: info},
			want:   []string{`<li class="muted">no tables</li>`},
			absent: []string{`class="table-link" href`},
		},
		{
			name: "error",
			data: indexData{Info: info, Error: `open <db>: no such file`},
			want: []string{`<li class="error">open &lt;db&gt;: no such file</li>`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := renderIndex(&b, tt.data); err != nil {
				t.Fatal(err)
			}
			page := b.String()
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %s", w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(page, a) {
					t.Errorf("page has %s", a)
				}
			}
			// The script is kept as written.
			if !strings.Contains(page, "const tables = await api(\"/api/tables\");") {
				t.Errorf("script changed by the template")
			}
		})
	}
}
