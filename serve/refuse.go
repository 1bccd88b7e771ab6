package serve

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The dataset is read-only: updates, ingestion and transactions are
// refused with a status that says so (the base server would say
// "not implemented").

var (
	errNoTransactions = status.Error(codes.Unimplemented, "serve: no transactions: the dataset is served read-only, each statement sees the last committed state")
	errNoUpdates      = status.Errorf(codes.PermissionDenied, "%v: updates are not allowed, only queries", ErrReadOnly)
	errNoSubstrait    = status.Error(codes.Unimplemented, "serve: Substrait plans are not supported, only SQL")
)

func (h *Handler) DoPutCommandStatementUpdate(context.Context, flightsql.StatementUpdate) (int64, error) {
	return 0, errNoUpdates
}

func (h *Handler) DoPutPreparedStatementUpdate(context.Context, flightsql.PreparedStatementUpdate, flight.MessageReader) (int64, error) {
	return 0, errNoUpdates
}

func (h *Handler) DoPutCommandStatementIngest(context.Context, flightsql.StatementIngest, flight.MessageReader) (int64, error) {
	return 0, errNoUpdates
}

func (h *Handler) DoPutCommandSubstraitPlan(context.Context, flightsql.StatementSubstraitPlan) (int64, error) {
	return 0, errNoSubstrait
}

func (h *Handler) BeginTransaction(context.Context, flightsql.ActionBeginTransactionRequest) ([]byte, error) {
	return nil, errNoTransactions
}

func (h *Handler) BeginSavepoint(context.Context, flightsql.ActionBeginSavepointRequest) ([]byte, error) {
	return nil, errNoTransactions
}
