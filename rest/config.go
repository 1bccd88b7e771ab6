package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
)

// Config is dlt's RESTAPIConfig: a client, defaults for every resource, and
// the resources. Build it with DecodeConfig from a spec, or in Go.
type Config struct {
	Client           ClientConfig
	ResourceDefaults *ResourceConfig
	Resources        []ResourceConfig

	// prefix is the spec path DecodeConfig was given; NewSource's errors
	// are put under it.
	prefix string
}

// ClientConfig is the spec's client: where and how requests are sent.
type ClientConfig struct {
	BaseURL   string
	Headers   map[string]string
	Auth      *AuthConfig
	Paginator *PaginatorConfig

	// Timeout bounds one attempt, reading the body included (default 60s).
	Timeout time.Duration
	// Retry is the retry policy (dlt's defaults: 5 attempts, 1s backoff).
	Retry Retry
	// RateLimit caps requests per second client-wide; 0 is unlimited.
	RateLimit float64
	// MaxConcurrency caps requests in flight client-wide (default
	// DefaultMaxConcurrency).
	MaxConcurrency int
	// MaxResponseSize is the largest response body read, in bytes: a
	// larger one fails the run, naming the limit (default
	// DefaultMaxResponseSize; negative: no limit).
	MaxResponseSize int64
}

// AuthConfig is an auth map of a spec ({type: bearer, token: ...}), or a Go
// Auth, which wins when set.
type AuthConfig struct {
	Type   string
	Params map[string]any
	Auth   Auth
}

// PaginatorConfig is a paginator map of a spec ({type: offset, limit: 100}),
// or a Go factory, which wins when set.
type PaginatorConfig struct {
	Type   string
	Params map[string]any
	New    PaginatorFactory
}

// ResourceConfig is one resource (dlt's EndpointResource). In
// ResourceDefaults every field is a default; nil and empty fields are unset.
type ResourceConfig struct {
	Name             string
	Endpoint         *EndpointConfig
	WriteDisposition arrowbuf.WriteDisposition
	PrimaryKey       []string
	MergeKey         []string
	TableName        string
	Columns          []arrowbuf.Column
	MaxTableNesting  *int
	// FileFormat is dlt's file_format hint: "parquet" stages the rows
	// through Parquet files where the destination supports it.
	FileFormat string
	// TableFormat is dlt's table_format hint: "iceberg", "delta" or
	// "native", for a destination that writes open table formats.
	TableFormat       arrowbuf.TableFormat
	NestedHints       map[string]arrowbuf.TableHints
	SchemaContract    *arrowbuf.Contract
	Selected          *bool
	Parallelized      *bool
	IncludeFromParent []string
	ProcessingSteps   []ProcessingStep
}

// EndpointConfig says how to query one endpoint.
type EndpointConfig struct {
	// Path is joined to the client's base URL, or used as is when it is a
	// full URL. It may hold placeholders.
	Path   string
	Method string
	// Params are query parameters: scalars (strings may hold placeholders),
	// ResolveParam or *IncrementalConfig (the legacy forms).
	Params map[string]any
	// JSON is the request body (maps, lists, scalars; strings may hold
	// placeholders).
	JSON            any
	Headers         map[string]string
	Paginator       *PaginatorConfig
	DataSelector    string
	ResponseActions []ResponseAction
	Incremental     *IncrementalConfig
	Auth            *AuthConfig
}

// ResolveParam is dlt's legacy {type: resolve, resource, field} parameter:
// the parameter's name becomes a placeholder filled from the parent's field.
type ResolveParam struct {
	Resource string
	Field    string
}

// IncrementalConfig is an endpoint's incremental (or a legacy
// {type: incremental} parameter, whose name is StartParam).
type IncrementalConfig struct {
	CursorPath   string
	InitialValue any
	EndValue     any
	// LastValueFunc is "max" (default) or "min".
	LastValueFunc string
	// Convert is an expression over `value` applied to the incremental
	// values put into requests; ConvertFunc is its Go form and wins.
	Convert     string
	ConvertFunc func(v any) (any, error)
	// OnCursorValueMissing is "raise" (default), "include" or "exclude".
	OnCursorValueMissing string
	// RangeStart is "closed" (default: rows at the start value are kept
	// unless already loaded) or "open" (rows at the start value are dropped).
	RangeStart string
	// RangeEnd is "open" (default, dlt's: rows at the end value are
	// dropped) or "closed" (kept).
	RangeEnd string
	// RowOrder is "asc" or "desc" when the API returns rows ordered by the
	// cursor (in the direction of LastValueFunc: "asc" oldest first). Paging
	// then stops at the first row past the end value ("asc") or before the
	// start value ("desc"), as dlt closes the resource; pages are fetched
	// one by one.
	RowOrder string
	// PrimaryKey identifies rows at the start value that were loaded by
	// the previous run; nil: the resource's primary_key (else the whole
	// row); empty: no deduplication (dlt's primary_key=()).
	PrimaryKey []string
	// Lag moves the start value back from the stored last value (not past
	// InitialValue): seconds for date-time cursors, days for dates, units
	// for numbers. Deduplication is then off; use merge.
	Lag float64
	// AllowExternalSchedulers is accepted for dlt compatibility and has no
	// effect: no external scheduler (Airflow) provides the range here.
	AllowExternalSchedulers bool
	// StartParam and EndParam are the legacy query parameters.
	StartParam string
	EndParam   string
}

// ResponseAction matches a response by status and/or a substring of its
// body and then ignores it (Action "ignore") or runs Hook.
type ResponseAction struct {
	StatusCode int
	Content    string
	Action     string
	Hook       ResponseHook
}

// Response is what response hooks and paginators see of one response.
// Hooks may change StatusCode, Header and Body. Body's buffer is reused for
// a later response once the page's rows are loaded: a hook or paginator
// that keeps the bytes beyond its call must copy them.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// Request is the request that got this response.
	Request *Request
	json    *fastjson.Value
	// encoding is what the body was decoded from by its byte order mark
	// ("UTF-16LE"), "" when it came as UTF-8.
	encoding string
}

// JSON returns the parsed body, or nil when it is empty or not JSON.
func (r *Response) JSON() *fastjson.Value { return r.json }

// ResponseHook is a Go response action (dlt's callable response actions).
// Returning ErrIgnoreResponse ignores the response.
type ResponseHook func(ctx context.Context, resp *Response) error

// ProcessingStep is one entry of processing_steps: exactly one of its
// fields is set. Filter and Map are expr-lang expressions over the record;
// MapFields sets fields from expressions; the Go forms take funcs.
type ProcessingStep struct {
	Filter    string
	Map       string
	MapFields map[string]string
	// MapFieldOrder is the order new MapFields fields are added in (the
	// spec's); fields it does not name follow sorted.
	MapFieldOrder []string
	FilterFunc    func(item any) (bool, error)
	MapFunc       func(item any) (any, error)
	Step          flow.Step
}
