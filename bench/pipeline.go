package bench

import (
	"context"
	"fmt"
	"sync"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/flow"
)

var parsers sync.Pool

// PagesResource yields n pages, cycling through pages, as a REST source
// does: each page parsed by a pooled fastjson parser, its data array passed
// on as one JSON batch, the parser returned to the pool when the batch is
// released. Cycling keeps the input's memory fixed however many rows load.
func PagesResource(name string, pages [][]byte, n int) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		for i := range n {
			page := pages[i%len(pages)]
			p, _ := parsers.Get().(*fastjson.Parser)
			if p == nil {
				p = new(fastjson.Parser)
			}
			v, err := p.ParseBytes(page)
			if err != nil {
				return fmt.Errorf("page %d: %w", i, err)
			}
			if err := yield(flow.JSONBatch(v.GetArray("data"), func() { parsers.Put(p) })); err != nil {
				return err
			}
		}
		return nil
	})
}
