package transform

import "context"

// CanClose reports whether item shows that no later row of an ordered
// source (RowOrder) can load: "asc" and item is past the end value, "desc"
// and item is before the start value. A source stops requesting pages
// then, as dlt closes the resource. Without RowOrder it is always false.
func (in *Incremental) CanClose(ctx context.Context, item any) bool {
	if in.RowOrder != "asc" && in.RowOrder != "desc" {
		return false
	}
	r, err := in.bind(ctx)
	if err != nil {
		return false
	}
	return in.canClose(r, item)
}

func (in *Incremental) canClose(r *incRun, item any) bool {
	if in.RowOrder != "asc" && in.RowOrder != "desc" {
		return false
	}
	val, ok := in.path.Get(item)
	if !ok || val == nil {
		return false
	}
	if in.RowOrder == "asc" {
		if in.EndValue == nil {
			return false
		}
		c, err := in.newer(val, in.EndValue, "end value")
		return err == nil && (c > 0 || c == 0 && in.RangeEnd != "closed")
	}
	r.mu.Lock()
	start := r.start
	r.mu.Unlock()
	if start == nil {
		return false
	}
	c, err := in.newer(val, start, "start value")
	return err == nil && (c < 0 || c == 0 && in.RangeStart == "open")
}
