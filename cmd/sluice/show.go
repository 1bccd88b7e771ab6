package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/internal/pipeinfo"
	"github.com/sluicehq/sluice/sink"
)

//go:embed web
var webFS embed.FS

// Limits of the data browser.
const (
	defaultPageRows = 50
	maxPageRows     = 1000
	maxQueryRows    = 1000
	maxQueryBytes   = 64 << 10
	queryTimeout    = 30 * time.Second
)

// show serves the data browser until ctx is cancelled or a signal arrives.
func (a *app) show(ctx context.Context, info *pipeinfo.Info, port int) error {
	if port < 0 || port > 65535 {
		return usageErrorf("--port %d: want 0..65535", port)
	}
	if _, err := checkDestinationExists(ctx, info); err != nil {
		return err
	}
	if _, err := destinationOf(info); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("show: listen on 127.0.0.1:%d: %w", port, err)
	}
	srv := &http.Server{Handler: newBrowser(info), ReadHeaderTimeout: 10 * time.Second}
	ctx, interrupted, stop := a.signalContext(ctx)
	defer stop()

	fmt.Fprintf(a.stdout, "http://%s/\n", ln.Addr().String())
	a.stdout.Flush()
	fmt.Fprintf(a.stderr, "Serving pipeline %s (dataset %s in %s); press Ctrl-C to stop.\n",
		info.Name, info.Dataset, info.DestinationLocation)
	a.stderr.Flush()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("show: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-errc
	if interrupted() {
		fmt.Fprintln(a.stderr, "Stopped.")
	}
	return nil
}

// browser is the data browser's HTTP handler. It opens the dataset per
// request, so the destination is free for runs in between.
type browser struct {
	info *pipeinfo.Info
	mux  *http.ServeMux
}

var _ http.Handler = (*browser)(nil)

func newBrowser(info *pipeinfo.Info) *browser {
	b := &browser{info: info, mux: http.NewServeMux()}
	b.mux.HandleFunc("GET /{$}", b.index)
	b.mux.HandleFunc("GET /api/info", b.api(b.infoAPI))
	b.mux.HandleFunc("GET /api/tables", b.api(b.tables))
	b.mux.HandleFunc("GET /api/table/{name}", b.api(b.table))
	b.mux.HandleFunc("GET /api/loads", b.api(b.loads))
	b.mux.HandleFunc("POST /api/query", b.api(b.query))
	return b
}

func (b *browser) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	// Loopback only: refuse other hosts (DNS rebinding) and cross-site posts.
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host != "127.0.0.1" && host != "localhost" {
		http.Error(w, "forbidden host", http.StatusForbidden)
		return
	}
	if r.Method == http.MethodPost {
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
			http.Error(w, "forbidden origin", http.StatusForbidden)
			return
		}
	}
	b.mux.ServeHTTP(w, r)
}

// indexPage is the browser's page. The table list is rendered into it, so
// that it lists the tables without JavaScript (and curl | grep finds them);
// its script then takes over.
var indexPage = template.Must(template.ParseFS(webFS, "web/index.html"))

// indexData is what indexPage shows.
type indexData struct {
	Info   apiInfo
	Tables []apiTable
	Error  string // why the tables could not be listed
}

func (b *browser) index(w http.ResponseWriter, r *http.Request) {
	data := indexData{Info: apiInfo{Pipeline: b.info.Name, Destination: b.info.DestinationType,
		Dataset: b.info.Dataset, Location: b.info.DestinationLocation}}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	// The page is served even when the dataset cannot be read: it says why
	// in the list, and its script retries.
	if ts, err := b.listTables(ctx); err != nil {
		data.Error = oneLine(err.Error())
	} else {
		data.Tables = ts
	}
	var page bytes.Buffer
	if err := renderIndex(&page, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	w.Write(page.Bytes())
}

// renderIndex writes the page for data; names are HTML-escaped.
func renderIndex(w io.Writer, data indexData) error { return indexPage.Execute(w, data) }

// listTables opens the dataset and lists its tables with their row counts.
func (b *browser) listTables(ctx context.Context) ([]apiTable, error) {
	dest, err := destinationOf(b.info)
	if err != nil {
		return nil, err
	}
	ds, err := dest.OpenDataset(ctx, b.info.Dataset)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	return tableList(ctx, ds)
}

// httpError is an error with an HTTP status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// api wraps a JSON endpoint: it opens the dataset, calls fn, writes its
// result as JSON or the error as {"error": "..."}.
func (b *browser) api(fn func(ctx context.Context, r *http.Request, ds sink.DatasetReader) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
		defer cancel()
		var out any
		dest, err := destinationOf(b.info)
		if err == nil {
			var ds sink.DatasetReader
			if ds, err = dest.OpenDataset(ctx, b.info.Dataset); err == nil {
				out, err = fn(ctx, r, ds)
				ds.Close()
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			status := http.StatusInternalServerError
			var he *httpError
			if errors.As(err, &he) {
				status = he.status
			}
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]string{"error": oneLine(err.Error())})
			return
		}
		enc := json.NewEncoder(w)
		enc.Encode(out)
	}
}

type apiInfo struct {
	Pipeline    string `json:"pipeline"`
	Destination string `json:"destination"`
	Dataset     string `json:"dataset"`
	Location    string `json:"location"`
}

func (b *browser) infoAPI(ctx context.Context, r *http.Request, ds sink.DatasetReader) (any, error) {
	return apiInfo{Pipeline: b.info.Name, Destination: b.info.DestinationType,
		Dataset: b.info.Dataset, Location: b.info.DestinationLocation}, nil
}

type apiTable struct {
	Name string `json:"name"`
	Rows int64  `json:"rows"`
}

func (b *browser) tables(ctx context.Context, r *http.Request, ds sink.DatasetReader) (any, error) {
	return tableList(ctx, ds)
}

func tableList(ctx context.Context, ds sink.DatasetReader) ([]apiTable, error) {
	ts, err := ds.Tables(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]apiTable, 0, len(ts))
	for _, t := range ts {
		out = append(out, apiTable{Name: t.Name, Rows: t.Rows})
	}
	return out, nil
}

type apiLoad struct {
	LoadID     string    `json:"load_id"`
	SchemaName string    `json:"schema_name"`
	Status     int64     `json:"status"`
	InsertedAt time.Time `json:"inserted_at"`
}

func (b *browser) loads(ctx context.Context, r *http.Request, ds sink.DatasetReader) (any, error) {
	ls, err := ds.Loads(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]apiLoad, 0, len(ls))
	for _, l := range ls {
		out = append(out, apiLoad{LoadID: l.LoadID, SchemaName: l.SchemaName, Status: l.Status, InsertedAt: l.InsertedAt.UTC()})
	}
	return out, nil
}

// apiColumn is a result column: its name and its type, as dlt names types
// where it can tell (bigint, double, text...) else Arrow's name.
type apiColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// apiRows is a page of a table or a query result.
type apiRows struct {
	Table     string      `json:"table,omitempty"`
	Columns   []apiColumn `json:"columns"`
	Rows      [][]any     `json:"rows"`
	Offset    int64       `json:"offset"`
	Limit     int64       `json:"limit"`
	Total     *int64      `json:"total,omitempty"`     // table rows (tables only)
	Truncated bool        `json:"truncated,omitempty"` // query results only
}

func intParam(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, &httpError{http.StatusBadRequest, fmt.Sprintf("%s=%q: want an integer in %d..%d", name, s, lo, hi)}
	}
	return n, nil
}

func (b *browser) table(ctx context.Context, r *http.Request, ds sink.DatasetReader) (any, error) {
	name := r.PathValue("name")
	offset, err := intParam(r, "offset", 0, 0, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit", defaultPageRows, 1, maxPageRows)
	if err != nil {
		return nil, err
	}
	ts, err := ds.Tables(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(ts, func(t sink.TableInfo) bool { return t.Name == name })
	if i < 0 {
		return nil, &httpError{http.StatusNotFound, fmt.Sprintf("table %q not found in dataset %s", name, b.info.Dataset)}
	}
	out := &apiRows{Table: name, Offset: offset, Limit: limit, Total: &ts[i].Rows}
	q := fmt.Sprintf("SELECT * FROM %s LIMIT %d OFFSET %d", quoteIdent(name), limit, offset)
	rr, err := ds.Query(ctx, q)
	if err != nil {
		// A destination without SQL: stream the table and skip to offset.
		if rr, err = ds.Table(ctx, name); err != nil {
			return nil, err
		}
		defer rr.Release()
		out.Columns, out.Rows, _, err = readRows(rr, offset, limit)
		return out, err
	}
	defer rr.Release()
	out.Columns, out.Rows, _, err = readRows(rr, 0, limit)
	return out, err
}

func (b *browser) query(ctx context.Context, r *http.Request, ds sink.DatasetReader) (any, error) {
	var req struct {
		SQL string `json:"sql"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxQueryBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxQueryBytes {
		return nil, &httpError{http.StatusRequestEntityTooLarge, "query too long"}
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || (len(body) > 0 && body[0] == '{') {
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, &httpError{http.StatusBadRequest, "body: want {\"sql\": \"SELECT ...\"}"}
		}
	} else {
		req.SQL = string(body)
	}
	if err := checkReadOnly(req.SQL); err != nil {
		return nil, &httpError{http.StatusBadRequest, err.Error()}
	}
	rr, err := ds.Query(ctx, req.SQL)
	if err != nil {
		return nil, &httpError{http.StatusBadRequest, err.Error()}
	}
	defer rr.Release()
	out := &apiRows{Limit: maxQueryRows}
	out.Columns, out.Rows, out.Truncated, err = readRows(rr, 0, maxQueryRows)
	if err != nil {
		return nil, &httpError{http.StatusBadRequest, err.Error()}
	}
	return out, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// readRows converts up to limit rows after skipping offset rows of rr to
// JSON values. truncated says whether rows were left.
func readRows(rr array.RecordReader, offset, limit int64) ([]apiColumn, [][]any, bool, error) {
	sch := rr.Schema()
	cols := make([]apiColumn, sch.NumFields())
	for i, f := range sch.Fields() {
		cols[i] = apiColumn{Name: f.Name, Type: fieldType(f)}
	}
	rows := [][]any{}
	truncated := false
	for rr.Next() {
		rec := rr.RecordBatch()
		n := rec.NumRows()
		start := int64(0)
		if offset > 0 {
			if offset >= n {
				offset -= n
				continue
			}
			start, offset = offset, 0
		}
		for i := start; i < n; i++ {
			if int64(len(rows)) >= limit {
				truncated = true
				break
			}
			row := make([]any, rec.NumCols())
			for c := range row {
				row[c] = jsonValue(rec.Column(c), int(i))
			}
			rows = append(rows, row)
		}
		if truncated {
			break
		}
	}
	if err := rr.Err(); err != nil {
		return nil, nil, false, err
	}
	return cols, rows, truncated, nil
}

// fieldType names a result column's type: the dlt data type its field
// metadata names, else typeName of its Arrow type.
func fieldType(f arrow.Field) string {
	if dt, ok := f.Metadata.GetValue(arrowbuf.MetaDataType); ok && dt != "" {
		return dt
	}
	return typeName(f.Type)
}

// typeName names an Arrow type as dlt names the data type it holds.
func typeName(t arrow.DataType) string {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return "bigint"
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return "double"
	case arrow.BOOL:
		return "bool"
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return "text"
	case arrow.TIMESTAMP:
		return "timestamp"
	case arrow.DATE32, arrow.DATE64:
		return "date"
	case arrow.TIME32, arrow.TIME64:
		return "time"
	case arrow.DECIMAL128, arrow.DECIMAL256:
		return "decimal"
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.FIXED_SIZE_BINARY, arrow.BINARY_VIEW:
		return "binary"
	}
	return t.String()
}

// maxSafeInt is the largest integer a JavaScript number holds exactly.
const maxSafeInt = 1<<53 - 1

// jsonValue converts one Arrow value to a JSON-encodable value.
func jsonValue(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Int64:
		v := a.Value(i)
		if v > maxSafeInt || v < -maxSafeInt {
			return strconv.FormatInt(v, 10)
		}
		return v
	case *array.Float64:
		v := a.Value(i)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
		return v
	case *array.Float32:
		v := float64(a.Value(i))
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
		return v
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		t := a.Value(i).ToTime(unit)
		return t.UTC().Format(time.RFC3339Nano)
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Date64:
		return a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Binary:
		return base64.StdEncoding.EncodeToString(a.Value(i))
	}
	return arr.ValueStr(i)
}

// readOnlyStarts are the statements the SQL box runs.
var readOnlyStarts = []string{"SELECT", "WITH", "FROM", "VALUES", "TABLE", "DESCRIBE", "SHOW", "SUMMARIZE", "EXPLAIN", "PIVOT", "UNPIVOT", "("}

// writeWords are keywords of statements that change data or settings; a
// query naming one outside quotes is refused.
var writeWords = map[string]bool{
	"INSERT": true, "UPDATE": true, "DELETE": true, "CREATE": true, "DROP": true, "ALTER": true,
	"COPY": true, "ATTACH": true, "DETACH": true, "INSTALL": true, "LOAD": true, "PRAGMA": true,
	"SET": true, "RESET": true, "CALL": true, "EXPORT": true, "IMPORT": true, "CHECKPOINT": true,
	"VACUUM": true, "TRUNCATE": true, "MERGE": true, "GRANT": true, "REVOKE": true, "BEGIN": true,
	"COMMIT": true, "ROLLBACK": true, "USE": true, "REPLACE": true, "UPSERT": true, "ANALYZE": true,
}

// checkReadOnly accepts one read-only statement: it must start as a query
// and name no data-changing keyword outside quotes and comments.
func checkReadOnly(sql string) error {
	words, statements, err := sqlWords(sql)
	if err != nil {
		return err
	}
	if len(words) == 0 {
		return errors.New("empty query")
	}
	if statements > 1 {
		return errors.New("one statement at a time")
	}
	if !slices.Contains(readOnlyStarts, words[0]) {
		return fmt.Errorf("only read-only queries run here (SELECT, WITH, DESCRIBE ...), not %s", words[0])
	}
	for _, w := range words {
		if writeWords[w] {
			return fmt.Errorf("only read-only queries run here: %s is not allowed", w)
		}
	}
	return nil
}

// sqlWords splits sql into upper-cased bare words (and "(" as the first
// token), skipping quoted strings, quoted identifiers and comments. It counts
// statements separated by ';'.
func sqlWords(sql string) ([]string, int, error) {
	var words []string
	statements := 0
	inStatement := false
	rs := []rune(sql)
	for i := 0; i < len(rs); {
		c := rs[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for ; j < len(rs); j++ {
				if rs[j] == c {
					if j+1 < len(rs) && rs[j+1] == c {
						j++
						continue
					}
					break
				}
			}
			if j >= len(rs) {
				return nil, 0, errors.New("unterminated quote")
			}
			if !inStatement {
				statements++
				inStatement = true
			}
			i = j + 1
		case c == '-' && i+1 < len(rs) && rs[i+1] == '-':
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(rs) && rs[i+1] == '*':
			end := strings.Index(string(rs[i+2:]), "*/")
			if end < 0 {
				return nil, 0, errors.New("unterminated comment")
			}
			i += 2 + len([]rune(string(rs[i+2:])[:end])) + 2
		case c == ';':
			inStatement = false
			i++
		case unicode.IsLetter(c) || c == '_':
			j := i
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || rs[j] == '_' || rs[j] == '$') {
				j++
			}
			words = append(words, strings.ToUpper(string(rs[i:j])))
			if !inStatement {
				statements++
				inStatement = true
			}
			i = j
		case unicode.IsSpace(c):
			i++
		default:
			if c == '(' && len(words) == 0 {
				words = append(words, "(")
			}
			if !inStatement {
				statements++
				inStatement = true
			}
			i++
		}
	}
	return words, statements, nil
}
