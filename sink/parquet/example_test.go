package parquet_test

import (
	"context"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
)

func Example() {
	dir, _ := os.MkdirTemp("", "sluice-example")
	defer os.RemoveAll(dir)
	dest := parquet.New(dir)
	ctx := context.Background()

	// One batch of the "posts" table, as the normalizer would emit it.
	table := &arrowbuf.Table{Name: "posts", WriteDisposition: arrowbuf.Append, Columns: []*arrowbuf.Column{
		{Name: "id", DataType: arrowbuf.TypeBigint, Nullable: true},
		{Name: "title", DataType: arrowbuf.TypeText, Nullable: true},
	}}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "title", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil))
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"hello", "world"}, nil)
	rec := b.NewRecordBatch()
	b.Release()

	load, err := dest.Begin(ctx, sink.LoadRequest{Dataset: "blog_data", LoadID: "1700000000.5", SchemaName: "blog"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer load.Rollback()
	if err := load.Write(ctx, arrowbuf.TableBatch{Table: table, Record: rec}); err != nil {
		fmt.Println(err)
		return
	}
	if err := load.Commit(ctx, sink.Commit{}); err != nil {
		fmt.Println(err)
		return
	}

	r, err := dest.OpenDataset(ctx, "blog_data")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	tables, _ := r.Tables(ctx)
	for _, t := range tables {
		fmt.Println(t.Name, t.Rows)
	}
	loads, _ := r.Loads(ctx)
	fmt.Println("load", loads[0].LoadID, "status", loads[0].Status)
	// Output:
	// posts 2
	// load 1700000000.5 status 0
}
