package arrowbuf

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/valyala/fastjson"
)

func benchPage(rows int, nested bool) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"user %d","score":%d.5,"active":true,"created_at":"2024-01-25T11:21:28Z","email":"u%d@example.com","count":%d,"ratio":0.25,"geo":{"lat":52.5,"lng":13.4}`, i, i, i, i, i*3)
		if nested {
			b.WriteString(`,"items":[`)
			for j := range 5 {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"sku":"s%d","qty":%d}`, j, j)
			}
			b.WriteByte(']')
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// BenchmarkNormalizeJSON measures parse + normalize into Arrow builders,
// one goroutine, pages of 1,000 rows.
func BenchmarkNormalizeJSON(b *testing.B) {
	for _, shape := range []struct {
		name   string
		nested bool
	}{{"flat", false}, {"nested5", true}} {
		b.Run(shape.name, func(b *testing.B) {
			const pageRows = 1000
			page := benchPage(pageRows, shape.nested)
			n := NewNormalizer(NewSchema("bench"), "1", func(tb TableBatch) error { tb.Record.Release(); return nil },
				WithAllocator(memory.NewGoAllocator()))
			defer n.Release()
			var p fastjson.Parser
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			b.ResetTimer()
			for b.Loop() {
				v, err := p.ParseBytes(page)
				if err != nil {
					b.Fatal(err)
				}
				rows, _ := v.Array()
				if err := n.AppendJSON("bench", rows); err != nil {
					b.Fatal(err)
				}
			}
			if err := n.Flush(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*pageRows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
