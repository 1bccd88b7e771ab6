package rest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// BenchmarkDataSelector: parse a 1,000-row page and select its data list,
// the per-page work of the REST hot path before normalization.
func BenchmarkDataSelector(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"meta":{"total":1000},"data":[`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"title":"post %d","author":{"name":"a","karma":%d},"tags":["x","y"]}`, i, i, i)
	}
	sb.WriteString(`]}`)
	page := []byte(sb.String())
	for _, sel := range []string{"data", "$.data[*]", "auto"} {
		b.Run(sel, func(b *testing.B) {
			var path *jsonPath
			if sel != "auto" {
				var err error
				if path, err = parseJSONPath(sel); err != nil {
					b.Fatal(err)
				}
			}
			var p fastjson.Parser
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				v, err := p.ParseBytes(page)
				if err != nil {
					b.Fatal(err)
				}
				var rows []*fastjson.Value
				if path != nil {
					rows = selectData(v, path)
				} else if d := detectData(v); d != nil {
					rows, _ = d.Array()
				}
				if len(rows) != 1000 {
					b.Fatalf("selected %d rows", len(rows))
				}
			}
			b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
