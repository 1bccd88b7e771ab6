package transform

import "github.com/sluicehq/sluice/flow"

// typedStep filters a typed batch, which stays typed: the cursor is read
// from each item's struct field (Path.Go). closing reports a row past the
// range of an ordered source.
func (in *Incremental) typedStep(r *incRun, b flow.Batch) (flow.Batch, bool, error) {
	closing := false
	kept := make([]int, 0, b.Typed.Len())
	for i := range b.Typed.Len() {
		item := b.Typed.Index(i)
		ok, err := in.keep(r, item)
		if err != nil {
			return b, false, err
		}
		if ok {
			kept = append(kept, i)
		} else if !closing {
			closing = in.canClose(r, item)
		}
	}
	if len(kept) < b.Typed.Len() {
		b.Typed = b.Typed.Pick(kept)
	}
	return b, closing, nil
}
