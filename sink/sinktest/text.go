package sinktest

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink"
)

// testInvalidUTF8 runs a pipeline whose text is not valid UTF-8 (bytes
// \xff\xfe, as a legacy API sends them) in JSON, Go and Arrow items, in a
// key and in a merge key, twice. The loads succeed, the dataset stays
// readable, each invalid byte reads as U+FFFD, and the second run's merge
// matches the first run's replaced key.
func testInvalidUTF8(t *testing.T, d sink.Destination) {
	jsonRes := flow.NewResource("json_rows", func(_ context.Context, yield flow.Yield) error {
		var p fastjson.Parser
		v, err := p.Parse("[{\"id\":1,\"s\":\"a\xff\xfeb\",\"k\xffey\":\"v\",\"tags\":[\"t\xff\"]}]")
		if err != nil {
			return err
		}
		rows, _ := v.Array()
		return yield(flow.JSONBatch(rows, nil))
	})
	goRes := flow.NewResource("go_rows", func(_ context.Context, yield flow.Yield) error {
		return yield(flow.ItemsBatch(map[string]any{"id": 1, "s": "a\xff\xfeb"}))
	})
	arrowRes := flow.NewResource("arrow_rows", func(_ context.Context, yield flow.Yield) error {
		b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		}, nil))
		defer b.Release()
		b.Field(0).(*array.Int64Builder).Append(1)
		b.Field(1).(*array.StringBuilder).Append("a\xff\xfeb")
		return yield(flow.ArrowBatch(b.NewRecordBatch()))
	})
	mergeRes := flow.NewResource("merge_rows", func(_ context.Context, yield flow.Yield) error {
		return yield(flow.ItemsBatch(map[string]any{"id": "k\xff", "s": "a\xff\xfeb"}))
	}, flow.WriteDisposition(arrowbuf.Merge), flow.PrimaryKey("id"))

	p, err := flow.NewPipeline("utf8", d, flow.PipelinesDir(t.TempDir()), flow.DatasetName("text_data"))
	if err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		if _, err := p.Run(context.Background(), jsonRes, goRes, arrowRes, mergeRes); err != nil {
			t.Fatalf("run %d: %v", run+1, err)
		}
	}
	const want = "a\uFFFD\uFFFDb"
	for _, tc := range []struct{ name, sql, want string }{
		{"json value", "SELECT s FROM json_rows", want},
		{"json key", "SELECT k_ey FROM json_rows", "v"},
		{"json nested value", "SELECT value FROM json_rows__tags", "t\uFFFD"},
		{"go value", "SELECT s FROM go_rows", want},
		{"arrow value", "SELECT s FROM arrow_rows", want},
		{"merge key", "SELECT id || ' ' || s || ' ' || count(*) OVER () FROM merge_rows", "k\uFFFD " + want + " 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := Rows(t, d, "text_data", tc.sql)
			if len(rows) == 0 {
				t.Fatalf("%s: no rows", tc.sql)
			}
			for _, r := range rows {
				if r[0] != tc.want {
					t.Errorf("%s: %q, want %q", tc.sql, r[0], tc.want)
				}
			}
		})
	}
}
