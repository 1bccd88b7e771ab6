package serve

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	bindings "github.com/duckdb/duckdb-go-bindings"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Table types GetTables reports, as JDBC names them.
const (
	typeTable = "TABLE"
	typeView  = "VIEW"
)

func (h *Handler) registerSqlInfo() error {
	info := map[flightsql.SqlInfo]any{
		flightsql.SqlInfoFlightSqlServerName:               "sluice",
		flightsql.SqlInfoFlightSqlServerVersion:            h.opts.Version,
		flightsql.SqlInfoFlightSqlServerArrowVersion:       arrow.PkgVersion,
		flightsql.SqlInfoFlightSqlServerReadOnly:           true,
		flightsql.SqlInfoFlightSqlServerSql:                true,
		flightsql.SqlInfoFlightSqlServerSubstrait:          false,
		flightsql.SqlInfoFlightSqlServerTransaction:        int32(flightsql.SqlTransactionNone),
		flightsql.SqlInfoFlightSqlServerCancel:             false,
		flightsql.SqlInfoFlightSqlServerBulkIngestion:      false,
		flightsql.SqlInfoFlightSqlServerStatementTimeout:   int32(0),
		flightsql.SqlInfoFlightSqlServerTransactionTimeout: int32(0),
		flightsql.SqlInfoDDLCatalog:                        false,
		flightsql.SqlInfoDDLSchema:                         false,
		flightsql.SqlInfoDDLTable:                          false,
		flightsql.SqlInfoTransactionsSupported:             false,
		flightsql.SqlInfoIdentifierCase:                    int64(flightsql.SqlCaseSensitivityCaseInsensitive),
		flightsql.SqlInfoQuotedIdentifierCase:              int64(flightsql.SqlCaseSensitivityCaseInsensitive),
		flightsql.SqlInfoIdentifierQuoteChar:               `"`,
		flightsql.SqlInfoSearchStringEscape:                `\`,
		flightsql.SqlInfoAllTablesAreASelectable:           true,
		flightsql.SqlInfoNullOrdering:                      int64(flightsql.SqlNullOrderingSortAtEnd),
		flightsql.SqlInfoSupportsColumnAliasing:            true,
		flightsql.SqlInfoCatalogTerm:                       "catalog",
		flightsql.SqlInfoSchemaTerm:                        "schema",
	}
	for k, v := range info {
		if err := h.RegisterSqlInfo(k, v); err != nil {
			return err
		}
	}
	return nil
}

// strings runs one of serve's own queries, all of whose columns are text.
func (s *session) strings(q string) ([][]string, error) {
	var res bindings.Result
	defer bindings.DestroyResult(&res)
	if bindings.Query(s.conn, q, &res) == bindings.StateError {
		return nil, status.Errorf(codes.Internal, "serve: %s", bindings.ResultError(&res))
	}
	n := int(bindings.ColumnCount(&res))
	var out [][]string
	for {
		ch := bindings.FetchChunk(res)
		if ch.Ptr == nil {
			break
		}
		size := int(bindings.DataChunkGetSize(ch))
		rows := make([][]string, size)
		for c := range n {
			vec := bindings.DataChunkGetVector(ch, bindings.IdxT(c))
			base, mask := bindings.VectorGetData(vec), validity(vec, size)
			for r := range size {
				if isValid(mask, r) {
					rows[r] = append(rows[r], string(stringAt(base, r)))
				} else {
					rows[r] = append(rows[r], "")
				}
			}
		}
		bindings.DestroyDataChunk(&ch)
		out = append(out, rows...)
	}
	return out, nil
}

// likeRe turns a Flight SQL search pattern (% any text, _ one character,
// \ escapes) into an anchored regular expression; nil matches everything.
func likeRe(pattern *string) *regexp.Regexp {
	if pattern == nil {
		return nil
	}
	var b strings.Builder
	b.WriteString(`(?s)^`)
	esc := false
	for _, r := range *pattern {
		switch {
		case esc:
			b.WriteString(regexp.QuoteMeta(string(r)))
			esc = false
		case r == '\\':
			esc = true
		case r == '%':
			b.WriteString(`.*`)
		case r == '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

func matches(re *regexp.Regexp, s string) bool { return re == nil || re.MatchString(s) }

// oneBatch streams rows of strings (nil: none) as one batch of schema.
func (h *Handler) oneBatch(schema *arrow.Schema, rows [][]string, extra func(*array.RecordBuilder, int)) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(h.Alloc, schema)
	defer b.Release()
	for i, row := range rows {
		for c, v := range row {
			b.Field(c).(*array.StringBuilder).Append(v)
		}
		if extra != nil {
			extra(b, i)
		}
	}
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: b.NewRecordBatch()}
	close(ch)
	return schema, ch, nil
}

func (h *Handler) infoFor(desc *flight.FlightDescriptor, schema *arrow.Schema) *flight.FlightInfo {
	return &flight.FlightInfo{
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: desc.Cmd}}},
		FlightDescriptor: desc,
		Schema:           flight.SerializeSchema(schema, h.Alloc),
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
}

func (h *Handler) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return h.infoFor(desc, schema_ref.Catalogs), nil
}

// DoGetCatalogs lists the one catalog holding the dataset.
func (h *Handler) DoGetCatalogs(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return h.oneBatch(schema_ref.Catalogs, [][]string{{h.src.Catalog()}}, nil)
}

func (h *Handler) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return h.infoFor(desc, schema_ref.DBSchemas), nil
}

// DoGetDBSchemas lists the catalog's schemas: the dataset's and, in a
// DuckDB file, any other.
func (h *Handler) DoGetDBSchemas(ctx context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	cat := h.src.Catalog()
	if c := cmd.GetCatalog(); c != nil && *c != cat {
		return h.oneBatch(schema_ref.DBSchemas, nil, nil)
	}
	sess, err := h.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer sess.close()
	rows, err := sess.strings("SELECT database_name, schema_name FROM duckdb_schemas() WHERE database_name = " +
		sqlString(cat) + " AND NOT internal ORDER BY schema_name")
	if err != nil {
		return nil, nil, err
	}
	re := likeRe(cmd.GetDBSchemaFilterPattern())
	var out [][]string
	for _, r := range rows {
		if matches(re, r[1]) {
			out = append(out, r)
		}
	}
	return h.oneBatch(schema_ref.DBSchemas, out, nil)
}

func (h *Handler) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if cmd.GetIncludeSchema() {
		return h.infoFor(desc, schema_ref.TablesWithIncludedSchema), nil
	}
	return h.infoFor(desc, schema_ref.Tables), nil
}

// DoGetTables lists tables and views, with their Arrow schemas (the
// columns a SELECT * gets) when asked. A Parquet dataset's tables are
// views over its files, listed as tables.
func (h *Handler) DoGetTables(ctx context.Context, cmd flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	schema := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		schema = schema_ref.TablesWithIncludedSchema
	}
	cat := h.src.Catalog()
	if c := cmd.GetCatalog(); c != nil && *c != cat {
		return h.oneBatch(schema, nil, nil)
	}
	sess, err := h.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer sess.close()
	viewType := typeView
	if h.src.path == "" {
		viewType = typeTable
	}
	q := "SELECT database_name, schema_name, table_name, 'TABLE' FROM duckdb_tables() WHERE database_name = " + sqlString(cat) +
		" UNION ALL SELECT database_name, schema_name, view_name, " + sqlString(viewType) +
		" FROM duckdb_views() WHERE NOT internal AND database_name = " + sqlString(cat) + " ORDER BY 2, 3"
	rows, err := sess.strings(q)
	if err != nil {
		return nil, nil, err
	}
	schemaRe, tableRe := likeRe(cmd.GetDBSchemaFilterPattern()), likeRe(cmd.GetTableNameFilterPattern())
	types := cmd.GetTableTypes()
	var out [][]string
	for _, r := range rows {
		if matches(schemaRe, r[1]) && matches(tableRe, r[2]) && (len(types) == 0 || contains(types, r[3])) {
			out = append(out, r)
		}
	}
	var schemas [][]byte
	if cmd.GetIncludeSchema() {
		for _, r := range out {
			sch, err := sess.tableSchema(r[0], r[1], r[2])
			if err != nil {
				return nil, nil, err
			}
			schemas = append(schemas, flight.SerializeSchema(sch, h.Alloc))
		}
	}
	return h.oneBatch(schema, out, func(b *array.RecordBuilder, i int) {
		if schemas != nil {
			b.Field(4).(*array.BinaryBuilder).Append(schemas[i])
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// tableSchema is the Arrow schema of SELECT * from a table.
func (s *session) tableSchema(cat, schema, table string) (*arrow.Schema, error) {
	st, err := s.prepare("SELECT * FROM " + ident(cat) + "." + ident(schema) + "." + ident(table))
	if err != nil {
		return nil, err
	}
	defer st.close()
	sch, err := st.schema()
	if err == nil && sch == nil {
		err = errors.New("serve: no schema")
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "serve: columns of %s.%s: %v", schema, table, err)
	}
	return sch, nil
}

func (h *Handler) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return h.infoFor(desc, schema_ref.TableTypes), nil
}

func (h *Handler) DoGetTableTypes(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return h.oneBatch(schema_ref.TableTypes, [][]string{{typeTable}, {typeView}}, nil)
}

// The dataset has no primary or foreign keys DuckDB knows of (dlt's keys
// are hints, not constraints): these return no rows.

func (h *Handler) GetFlightInfoPrimaryKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return h.infoFor(desc, schema_ref.PrimaryKeys), nil
}

func (h *Handler) DoGetPrimaryKeys(context.Context, flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return h.empty(schema_ref.PrimaryKeys)
}

func (h *Handler) GetFlightInfoImportedKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return h.infoFor(desc, schema_ref.ImportedKeys), nil
}

func (h *Handler) DoGetImportedKeys(context.Context, flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return h.empty(schema_ref.ImportedKeys)
}

func (h *Handler) GetFlightInfoExportedKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return h.infoFor(desc, schema_ref.ExportedKeys), nil
}

func (h *Handler) DoGetExportedKeys(context.Context, flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return h.empty(schema_ref.ExportedKeys)
}

func (h *Handler) GetFlightInfoCrossReference(_ context.Context, _ flightsql.CrossTableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return h.infoFor(desc, schema_ref.CrossReference), nil
}

func (h *Handler) DoGetCrossReference(context.Context, flightsql.CrossTableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return h.empty(schema_ref.CrossReference)
}

func (h *Handler) empty(schema *arrow.Schema) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	ch := make(chan flight.StreamChunk)
	close(ch)
	return schema, ch, nil
}
