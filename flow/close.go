package flow

import "errors"

// ErrClose closes a resource, as dlt closes one whose incremental saw the
// end of its range. A Step returns it (wrapped or not) with the batch it
// made: the batch is passed on, and then the generator's yield returns
// ErrClose, and the generator returns it; the resource ends there without
// error. A transformer whose step closes it takes no more batches.
var ErrClose = errors.New("flow: resource closed")
