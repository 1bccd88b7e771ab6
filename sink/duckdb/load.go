package duckdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/internal/family"
	"github.com/sluicehq/sluice/sink/internal/loadstate"
	"github.com/sluicehq/sluice/sink/internal/nospace"
)

// tempCatalog holds the staging tables of merges.
const tempCatalog = "temp"

// mergeFamily is a root table loaded with merge and its keys.
type mergeFamily struct {
	root       string
	primaryKey []string
	mergeKey   []string
	staged     []string // staged tables of the family in first-write order
}

type load struct {
	loadstate.State // Begin's context, end and first failure

	d      *Destination
	h      *handle
	conn   *sql.Conn // nil until the file is opened
	req    sink.LoadRequest
	stage  *stageDir
	tables map[string][]string // "catalog.schema.table" -> known columns
	tabs   family.Tables
	// emptied tables of replace families this load.
	emptied  map[string]bool
	replaced []string // replace tables written, in order
	families map[string]*mergeFamily
	// groups and order hold a staged load's rows until Commit (defer.go).
	groups map[string]*stagedGroup
	order  []*stagedGroup
	seq    int64
	// pending holds records not inserted yet, per target and column set:
	// one INSERT of several row groups runs on all of DuckDB's threads.
	pending     map[string]*pendingInsert
	pendingKeys []string
	pendingRows int64
	memLimit    int64 // the transaction's memory_limit in bytes
}

// pendingInsert is records for one INSERT statement.
type pendingInsert struct {
	target   string
	cols     []string
	casts    []string
	recs     []arrow.RecordBatch
	seqBases []int64
	rows     int64
	parquet  bool        // stage through a Parquet file (file_format hint)
	stage    *stagedFile // the open staged file of a parquet insert
}

// flushRows is how many buffered rows trigger an insert: small batches are
// coalesced into one statement; batches of ~100k rows go in one by one,
// which measured fastest (bigger statements were not faster).
var flushRows int64 = 100_000

var _ sink.Load = (*load)(nil)

func (l *load) exec(ctx context.Context, q string, args ...any) error {
	_, err := l.conn.ExecContext(ctx, q, args...)
	return err
}

// Write creates or evolves the target table and inserts the record.
func (l *load) Write(ctx context.Context, b arrowbuf.TableBatch) error {
	rec := b.Record
	defer func() {
		if rec != nil {
			rec.Release()
		}
	}()
	if err := l.Check(ctx); err != nil {
		return err
	}
	if b.File != nil && b.Table != nil {
		if l.conn == nil { // staged until Commit opens the file
			if err := l.stageImport(b.Table, b.File); err != nil {
				return l.Fail(fmt.Errorf("duckdb: import %s into %s.%s: %w", b.File.Path, l.req.Dataset, b.Table.Name, err))
			}
			return nil
		}
		if err := l.importFile(ctx, b.Table, b.File); err != nil {
			return l.Fail(fmt.Errorf("duckdb: import %s into %s.%s: %w", b.File.Path, l.req.Dataset, b.Table.Name, nospace.Wrap(err, l.d.path)))
		}
		return nil
	}
	if b.Table == nil || b.Record == nil {
		return l.Fail(errors.New("duckdb: write: batch without table or record"))
	}
	t := b.Table
	if int(b.Record.NumCols()) != len(t.Columns) {
		return l.Fail(fmt.Errorf("duckdb: write %s: record has %d columns, table snapshot %d", t.Name, b.Record.NumCols(), len(t.Columns)))
	}
	if prev := l.tabs.Snaps[t.Name]; prev == nil || len(t.Columns) >= len(prev.Columns) {
		l.tabs.Snaps[t.Name] = t
	}
	rec = nil // l.write or l.stageWrite owns it now
	write := l.write
	if l.conn == nil {
		write = l.stageWrite
	}
	if err := write(ctx, t, b); err != nil {
		if cerr := context.Cause(ctx); cerr != nil {
			err = cerr
		}
		return l.Fail(fmt.Errorf("duckdb: write table %s.%s: %w", l.req.Dataset, t.Name, nospace.Wrap(err, l.d.path)))
	}
	return nil
}

func (l *load) write(ctx context.Context, t *arrowbuf.Table, b arrowbuf.TableBatch) error {
	owned := true
	defer func() {
		if owned {
			b.Record.Release()
		}
	}()
	ds := l.req.Dataset
	root := l.tabs.RootOf(t)
	disp := family.Disposition(t, root)
	if err := l.ensureTable(ctx, "", ds, t, false); err != nil {
		return err
	}
	catalog, schema, seq := "", ds, int64(-1)
	switch disp {
	case arrowbuf.Replace:
		if !l.emptied[t.Name] {
			if err := l.exec(ctx, "DELETE FROM "+l.h.q(ds, t.Name)); err != nil {
				return err
			}
			l.emptied[t.Name] = true
			l.replaced = append(l.replaced, t.Name)
		}
	case arrowbuf.Merge:
		if root == nil {
			break
		}
		fam := l.families[root.Name]
		if fam == nil {
			pk, mk := family.Keys(root)
			if len(pk) == 0 && len(mk) == 0 {
				break // merge without keys appends
			}
			fam = &mergeFamily{root: root.Name, primaryKey: pk, mergeKey: mk}
			l.families[root.Name] = fam
		}
		if !slices.Contains(fam.staged, t.Name) {
			fam.staged = append(fam.staged, t.Name)
		}
		if err := l.ensureTable(ctx, tempCatalog, "main", t, true); err != nil {
			return err
		}
		catalog, schema = tempCatalog, "main"
		seq = l.seq
		l.seq += b.Record.NumRows()
	}
	if b.Record.NumRows() == 0 {
		return nil
	}
	cols := make([]string, len(t.Columns))
	casts := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = c.Name
		k, _ := kindOf(b.Record.Column(i).DataType())
		if k == kText || (k == kString && c.DataType != arrowbuf.TypeText) {
			casts[i] = SQLType(c)
		}
	}
	if catalog == "" {
		catalog = l.h.catalog
	}
	target := quote(catalog) + "." + qualify(schema, t.Name)
	if l.d.method == InsertAppender {
		// The appender fills one row group at a time on this connection.
		if err := l.fitMemory(ctx, insertNeed(rowBytes(b.Record), 1)); err != nil {
			return err
		}
		return insertAppender(ctx, l.conn, catalog, schema, t.Name, cols, t.Columns, b.Record, seq)
	}
	key := target + "\x00" + b.Record.Schema().String()
	p := l.pending[key]
	if p == nil {
		p = &pendingInsert{target: target, cols: cols, casts: casts, parquet: l.stagesParquet(root)}
		if p.parquet && seq >= 0 {
			p.cols, p.casts = append(cols, seqColumn), append(casts, "")
		}
		l.pending[key] = p
		l.pendingKeys = append(l.pendingKeys, key)
	}
	if p.parquet {
		// Stream into the staged file: the record is freed now and DuckDB
		// later inserts many batches in one statement. Merge rows carry
		// their sequence number in the file.
		rec := b.Record
		if seq >= 0 {
			rec.Retain() // withSeq releases its input; b.Record stays ours
			rec = withSeq(rec, seq)
			defer rec.Release()
		}
		if p.stage == nil {
			st, err := newStagedFile(l.stage.path, rec.Schema())
			if err != nil {
				return err
			}
			p.stage = st
		}
		if err := p.stage.write(rec); err != nil {
			return err
		}
		if p.stage.rows >= stageRows {
			st := p.stage
			p.stage = nil
			return l.insertStaged(ctx, st, p)
		}
		return nil
	}
	owned = false
	p.recs = append(p.recs, b.Record)
	p.seqBases = append(p.seqBases, seq)
	p.rows += b.Record.NumRows()
	l.pendingRows += b.Record.NumRows()
	if l.pendingRows >= flushRows {
		return l.flush(ctx)
	}
	return nil
}

// flush inserts the buffered records.
func (l *load) flush(ctx context.Context) error {
	var err error
	for _, k := range l.pendingKeys {
		p := l.pending[k]
		if p.stage != nil {
			st := p.stage
			p.stage = nil
			if err == nil {
				err = l.insertStaged(ctx, st, p)
			} else {
				st.abort()
			}
		}
		if err == nil && len(p.recs) > 0 {
			var width int64
			for _, r := range p.recs {
				width = max(width, rowBytes(r))
			}
			if err = l.fitMemory(ctx, insertNeed(width, l.h.threads)); err == nil {
				err = insertScan(ctx, l.conn, p.target, p.cols, p.casts, p.recs, p.seqBases)
			}
		}
		for _, r := range p.recs {
			r.Release()
		}
	}
	clear(l.pending)
	l.pendingKeys = l.pendingKeys[:0]
	l.pendingRows = 0
	return err
}

func tableKey(catalog, schema, table string) string {
	return catalog + "\x00" + schema + "\x00" + table
}

// ensureTable creates the table or adds the columns it lacks. staging tables
// are nullable throughout and carry seqColumn.
func (l *load) ensureTable(ctx context.Context, catalog, schema string, t *arrowbuf.Table, staging bool) error {
	key := tableKey(catalog, schema, t.Name)
	have, ok := l.tables[key]
	if !ok {
		var err error
		if have, err = tableColumns(ctx, l.conn, catalog, schema, t.Name); err != nil {
			return err
		}
	}
	if catalog == "" {
		catalog = l.h.catalog
	}
	target := quote(catalog) + "." + qualify(schema, t.Name)
	if len(have) == 0 {
		var defs []string
		for _, c := range t.Columns {
			defs = append(defs, columnDef(c.Name, SQLType(c), !c.Nullable && !staging, !staging))
			have = append(have, c.Name)
		}
		if staging {
			defs = append(defs, quote(seqColumn)+" BIGINT")
			have = append(have, seqColumn)
		}
		create := "CREATE TABLE"
		if staging {
			create = "CREATE TEMPORARY TABLE"
		}
		if err := l.exec(ctx, fmt.Sprintf("%s %s (%s)", create, target, strings.Join(defs, ", "))); err != nil {
			return err
		}
	} else {
		var add []*arrowbuf.Column
		for _, c := range t.Columns {
			if !slices.Contains(have, c.Name) {
				add = append(add, c)
			}
		}
		if len(add) > 0 && !staging && catalog == l.h.catalog && l.emptied[t.Name] {
			if err := l.rebuild(ctx, schema, t.Name, add); err != nil {
				return err
			}
			add = nil
		}
		for _, c := range add {
			if err := l.exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", target, quote(c.Name), SQLType(c))); err != nil {
				return err
			}
		}
		for _, c := range add {
			have = append(have, c.Name)
		}
	}
	l.tables[key] = have
	return nil
}

// columnDef is a column's definition in CREATE TABLE; sluice's own link
// columns get a named compression in dataset tables.
func columnDef(name, sqlType string, notNull, dataset bool) string {
	def := quote(name) + " " + sqlType
	if notNull {
		def += " NOT NULL"
	}
	switch {
	case !dataset:
	case name == arrowbuf.ColID:
		// Row ids are random: DuckDB's dictionary and FSST analysis of
		// them finds nothing to gain and was the largest part of its
		// insert cost on narrow nested tables (~8% of a nested load end
		// to end).
		def += " USING COMPRESSION uncompressed"
	case name == arrowbuf.ColParentID || name == arrowbuf.ColRootID:
		// Links repeat a parent's id once per child. Naming the dictionary
		// skips DuckDB's analysis of the other methods (a nested load 4-6%
		// faster), and files come out smaller: with one child per parent
		// DuckDB's pick was FSST or none, 20% larger; with 2 and 5
		// children, 27-32% larger.
		def += " USING COMPRESSION dictionary"
	}
	return def
}

// rebuild adds columns to a table this load emptied. DuckDB cannot alter a
// table after deleting from it in the same transaction (the commit fails:
// "another transaction has altered this table"), so the table is created
// again with the new columns, and the rows it holds, all of this load, are
// moved over through a temporary table.
func (l *load) rebuild(ctx context.Context, schema, name string, add []*arrowbuf.Column) error {
	rows, err := l.conn.QueryContext(ctx, `SELECT column_name, data_type, is_nullable FROM duckdb_columns()
		WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index`, l.h.catalog, schema, name)
	if err != nil {
		return err
	}
	var defs []string
	for rows.Next() {
		var col, typ string
		var nullable bool
		if err := rows.Scan(&col, &typ, &nullable); err != nil {
			rows.Close()
			return err
		}
		defs = append(defs, columnDef(col, typ, !nullable, true))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range add {
		defs = append(defs, columnDef(c.Name, SQLType(c), false, true)) // nullable, as ADD COLUMN
	}
	target := l.h.q(schema, name)
	tmp := quote(tempCatalog) + "." + qualify("main", "_sluice_rebuild")
	for _, q := range []string{
		"CREATE TEMPORARY TABLE " + tmp + " AS SELECT * FROM " + target,
		"DROP TABLE " + target,
		fmt.Sprintf("CREATE TABLE %s (%s)", target, strings.Join(defs, ", ")),
		"INSERT INTO " + target + " BY NAME SELECT * FROM " + tmp,
		"DROP TABLE " + tmp,
	} {
		if err := l.exec(ctx, q); err != nil {
			return fmt.Errorf("add columns to %s: %w", name, err)
		}
	}
	return nil
}

// Commit applies staged merges, truncations and drops, writes the system
// tables and commits the transaction.
func (l *load) Commit(ctx context.Context, c sink.Commit) (err error) {
	if err := l.Check(ctx); err != nil {
		_ = l.Rollback()
		return err
	}
	defer func() {
		if err != nil {
			if cerr := context.Cause(ctx); cerr != nil {
				err = fmt.Errorf("duckdb: commit load %s: %w", l.req.LoadID, cerr)
			} else if nospace.Is(err) {
				err = fmt.Errorf("duckdb: commit load %s: %w", l.req.LoadID, nospace.Wrap(err, l.d.path))
			}
			l.Err = err
			_ = l.Rollback()
		}
	}()
	if l.conn == nil {
		// Staged: the file is opened, and locked, from here to the end.
		if err := l.open(ctx); err != nil {
			return err
		}
		if err := l.replay(ctx); err != nil {
			return fmt.Errorf("duckdb: commit load %s: %w", l.req.LoadID, err)
		}
	}
	if err := l.flush(ctx); err != nil {
		return fmt.Errorf("duckdb: commit load %s: insert: %w", l.req.LoadID, err)
	}
	if len(l.families) > 0 && l.d.memoryLimit != "" {
		// Merges join and deduplicate the whole load against the table;
		// not all of that spills, so a limit sized for streaming inserts
		// can fail them (measured: 2M rows with children at 128MB). They
		// run with DuckDB's own default limit.
		if err := l.fitMemory(ctx, l.h.memoryBytes); err != nil {
			return fmt.Errorf("duckdb: commit load %s: %w", l.req.LoadID, err)
		}
	}
	if err := l.commitMerges(ctx, c.Schema); err != nil {
		return fmt.Errorf("duckdb: commit load %s: merge: %w", l.req.LoadID, err)
	}
	if err := l.commitTruncate(ctx, c); err != nil {
		return fmt.Errorf("duckdb: commit load %s: truncate: %w", l.req.LoadID, err)
	}
	for _, t := range c.Drop {
		if err := l.exec(ctx, "DROP TABLE IF EXISTS "+l.h.q(l.req.Dataset, t)); err != nil {
			return fmt.Errorf("duckdb: commit load %s: drop %s: %w", l.req.LoadID, t, err)
		}
	}
	if err := l.writeSystem(ctx, c); err != nil {
		return fmt.Errorf("duckdb: commit load %s: %w", l.req.LoadID, err)
	}
	if err := l.exec(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("duckdb: commit load %s: %w", l.req.LoadID, err)
	}
	l.Done = true
	l.close()
	return nil
}

func (l *load) commitMerges(ctx context.Context, s *arrowbuf.Schema) error {
	ds := l.req.Dataset
	roots := make([]string, 0, len(l.families))
	for r := range l.families {
		roots = append(roots, r)
	}
	slices.Sort(roots)
	for _, r := range roots {
		fam := l.families[r]
		pk, mk := fam.primaryKey, fam.mergeKey
		if s != nil {
			if t := s.Table(r); t != nil {
				if p, m := family.Keys(t); len(p) > 0 || len(m) > 0 {
					pk, mk = p, m
				}
			}
		}
		target := l.h.q(ds, r)
		stg := quote(tempCatalog) + "." + qualify("main", r)
		rootStaged := slices.Contains(fam.staged, r)
		nested := l.tabs.Nested(r, s, l.req.Schema)
		// Delete target rows (and their nested rows) matched by a key.
		for _, keys := range [][]string{pk, mk} {
			if len(keys) == 0 || !rootStaged {
				continue
			}
			var on []string
			for _, k := range keys {
				on = append(on, fmt.Sprintf("d.%s = s.%s", quote(k), quote(k)))
			}
			match := fmt.Sprintf("SELECT d.\"_dlt_id\" FROM %s AS d JOIN (SELECT DISTINCT %s FROM %s) AS s ON %s",
				target, quoteList(keys), stg, strings.Join(on, " AND "))
			for _, n := range nested {
				cols, err := tableColumns(ctx, l.conn, "", ds, n)
				if err != nil {
					return err
				}
				link := ""
				switch {
				case slices.Contains(cols, "_dlt_root_id"):
					link = "_dlt_root_id"
				case slices.Contains(cols, "_dlt_parent_id"):
					link = "_dlt_parent_id"
				default:
					continue
				}
				rootCols, _ := tableColumns(ctx, l.conn, "", ds, r)
				if !slices.Contains(rootCols, "_dlt_id") {
					continue
				}
				if err := l.exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE %s IN (%s)", l.h.q(ds, n), quote(link), match)); err != nil {
					return fmt.Errorf("%s: %w", n, err)
				}
			}
			del := fmt.Sprintf("DELETE FROM %s WHERE rowid IN (SELECT d.rowid FROM %s AS d JOIN (SELECT DISTINCT %s FROM %s) AS s ON %s)",
				target, target, quoteList(keys), stg, strings.Join(on, " AND "))
			if err := l.exec(ctx, del); err != nil {
				return fmt.Errorf("%s: %w", r, err)
			}
		}
		// The staged root rows to keep: the latest per primary key.
		keep := stg
		if len(pk) > 0 && rootStaged {
			keep = fmt.Sprintf("(SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY %s ORDER BY %s DESC) AS _sluice_rn FROM %s) WHERE _sluice_rn = 1)",
				quoteList(pk), quote(seqColumn), stg)
		}
		for _, t := range fam.staged {
			cols := l.tables[tableKey(tempCatalog, "main", t)]
			cols = slices.DeleteFunc(slices.Clone(cols), func(c string) bool { return c == seqColumn })
			src := quote(tempCatalog) + "." + qualify("main", t)
			where := ""
			if t == r {
				src = keep
			} else if rootStaged && keep != stg && slices.Contains(cols, "_dlt_root_id") {
				where = fmt.Sprintf(" WHERE \"_dlt_root_id\" IN (SELECT \"_dlt_id\" FROM %s)", keep)
			}
			q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s%s", l.h.q(ds, t), quoteList(cols), quoteList(cols), src, where)
			if err := l.exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
		}
		for _, t := range fam.staged {
			if err := l.exec(ctx, "DROP TABLE "+quote(tempCatalog)+"."+qualify("main", t)); err != nil {
				return err
			}
			delete(l.tables, tableKey(tempCatalog, "main", t))
		}
	}
	return nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

// commitTruncate empties Commit.Truncate tables and the nested tables of
// replace roots written this load that were not emptied yet.
func (l *load) commitTruncate(ctx context.Context, c sink.Commit) error {
	todo := slices.Clone(c.Truncate)
	for _, t := range l.replaced {
		if snap := l.tabs.Lookup(t); snap != nil && snap.Parent == "" {
			todo = append(todo, l.tabs.Nested(t, c.Schema, l.req.Schema)...)
		}
	}
	return l.truncate(ctx, todo)
}

// truncate empties the tables that exist and were not emptied yet.
func (l *load) truncate(ctx context.Context, tables []string) error {
	for _, t := range tables {
		if l.emptied[t] {
			continue
		}
		ok, err := tableExists(ctx, l.conn, l.req.Dataset, t)
		if err != nil {
			return err
		}
		if ok {
			if err := l.exec(ctx, "DELETE FROM "+l.h.q(l.req.Dataset, t)); err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
		}
		l.emptied[t] = true
	}
	return nil
}

// System table DDL, as dlt creates them in DuckDB.
const (
	loadsDDL   = `CREATE TABLE IF NOT EXISTS %s ("load_id" VARCHAR NOT NULL, "schema_name" VARCHAR, "status" BIGINT NOT NULL, "inserted_at" TIMESTAMP WITH TIME ZONE NOT NULL, "schema_version_hash" VARCHAR)`
	stateDDL   = `CREATE TABLE IF NOT EXISTS %s ("version" BIGINT NOT NULL, "engine_version" BIGINT NOT NULL, "pipeline_name" VARCHAR NOT NULL, "state" VARCHAR NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "version_hash" VARCHAR NOT NULL, "_dlt_load_id" VARCHAR NOT NULL, "_dlt_id" VARCHAR NOT NULL)`
	versionDDL = `CREATE TABLE IF NOT EXISTS %s ("version" BIGINT NOT NULL, "engine_version" BIGINT NOT NULL, "inserted_at" TIMESTAMP WITH TIME ZONE NOT NULL, "schema_name" VARCHAR NOT NULL, "version_hash" VARCHAR NOT NULL, "schema" VARCHAR NOT NULL)`
)

func (l *load) writeSystem(ctx context.Context, c sink.Commit) error {
	ds := l.req.Dataset
	now := time.Now().UTC()
	schemaName := l.req.SchemaName
	if schemaName == "" && c.Schema != nil {
		schemaName = c.Schema.Name()
	}
	if len(c.SchemaJSON) > 0 {
		t := l.h.q(ds, "_dlt_version")
		if err := l.exec(ctx, fmt.Sprintf(versionDDL, t)); err != nil {
			return fmt.Errorf("_dlt_version: %w", err)
		}
		var n int
		if err := l.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+t+" WHERE schema_name = ? AND version_hash = ?", schemaName, c.SchemaHash).Scan(&n); err != nil {
			return fmt.Errorf("_dlt_version: %w", err)
		}
		if n == 0 {
			if err := l.exec(ctx, "INSERT INTO "+t+" VALUES (?, ?, ?, ?, ?, ?)",
				c.SchemaVersion, arrowbuf.EngineVersion, now, schemaName, c.SchemaHash, string(c.SchemaJSON)); err != nil {
				return fmt.Errorf("_dlt_version: %w", err)
			}
		}
	}
	if s := c.State; s != nil {
		t := l.h.q(ds, "_dlt_pipeline_state")
		if err := l.exec(ctx, fmt.Sprintf(stateDDL, t)); err != nil {
			return fmt.Errorf("_dlt_pipeline_state: %w", err)
		}
		// Runs stage without holding the file, so two runs of one pipeline
		// from different working folders can start from the same state:
		// the second to commit would load its incremental window again.
		var stored sql.NullInt64
		if err := l.conn.QueryRowContext(ctx, "SELECT max(version) FROM "+t+" WHERE pipeline_name = ?", s.PipelineName).Scan(&stored); err != nil {
			return fmt.Errorf("_dlt_pipeline_state: %w", err)
		}
		if stored.Valid && stored.Int64 >= s.Version {
			return fmt.Errorf("%w: another run of pipeline %q stored state version %d after this run started from version %d; nothing of this load was kept, run again",
				ErrStateChanged, s.PipelineName, stored.Int64, s.Version-1)
		}
		created := s.CreatedAt
		if created.IsZero() {
			created = now
		}
		if err := l.exec(ctx, "INSERT INTO "+t+" VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			s.Version, s.EngineVersion, s.PipelineName, s.State, created.UTC(), s.Hash, l.req.LoadID, uniqID()); err != nil {
			return fmt.Errorf("_dlt_pipeline_state: %w", err)
		}
	}
	t := l.h.q(ds, "_dlt_loads")
	if err := l.exec(ctx, fmt.Sprintf(loadsDDL, t)); err != nil {
		return fmt.Errorf("_dlt_loads: %w", err)
	}
	var hash any
	if c.SchemaHash != "" {
		hash = c.SchemaHash
	}
	if err := l.exec(ctx, "INSERT INTO "+t+" VALUES (?, ?, 0, ?, ?)", l.req.LoadID, schemaName, now, hash); err != nil {
		return fmt.Errorf("_dlt_loads: %w", err)
	}
	return nil
}

// uniqID returns a random 14-character id, like dlt's uniq_id_base64.
func uniqID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])[:14]
}

// Rollback discards the load. It is a no-op after Commit.
func (l *load) Rollback() error {
	if l.Done {
		return nil
	}
	l.Done = true
	var err error
	if l.conn != nil {
		if _, rerr := l.conn.ExecContext(context.Background(), "ROLLBACK"); rerr != nil && !strings.Contains(rerr.Error(), "no transaction") {
			err = fmt.Errorf("duckdb: rollback load %s: %w", l.req.LoadID, rerr)
		}
	}
	l.close()
	return err
}

func (l *load) close() {
	for _, p := range l.pending {
		for _, r := range p.recs {
			r.Release()
		}
		if p.stage != nil {
			p.stage.abort()
		}
	}
	clear(l.pending)
	l.pendingKeys = nil
	l.abortStaged()
	if l.conn != nil {
		_ = l.conn.Close()
		l.conn = nil
	}
	if l.h != nil {
		_ = l.h.release()
		l.h = nil
	}
	if l.stage != nil {
		l.stage.remove()
		l.stage = nil
	}
}

// importFile loads an external file as it is (dlt's with_file_import):
// DuckDB reads it directly, no row passes through Go. With column hints the
// table is created from them and the file's columns are matched by name;
// without, a new table takes the file's own columns and types. Merge loads
// append, as for other destinations that import files.
func (l *load) importFile(ctx context.Context, t *arrowbuf.Table, f *arrowbuf.ImportFile) error {
	lit := "'" + strings.ReplaceAll(f.Path, "'", "''") + "'"
	var from string
	switch strings.ToLower(f.Format) {
	case "csv":
		from = "read_csv(" + lit + ", header = true)"
	case "parquet":
		from = "read_parquet(" + lit + ")"
	case "jsonl":
		from = "read_json(" + lit + ", format = 'newline_delimited')"
	default:
		return fmt.Errorf("unknown file format %q (want csv, parquet or jsonl)", f.Format)
	}
	// A file's rows may be of any width: DuckDB's default limit applies.
	if err := l.fitMemory(ctx, l.h.memoryBytes); err != nil {
		return err
	}
	ds := l.req.Dataset
	if len(t.Columns) > 0 {
		if err := l.ensureTable(ctx, "", ds, t, false); err != nil {
			return err
		}
	}
	exists, err := tableExists(ctx, l.conn, ds, t.Name)
	if err != nil {
		return err
	}
	target := l.h.q(ds, t.Name)
	if !exists {
		delete(l.tables, tableKey("", ds, t.Name))
		return l.exec(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM %s", target, from))
	}
	root := l.tabs.RootOf(t)
	if family.Disposition(t, root) == arrowbuf.Replace && !l.emptied[t.Name] {
		if err := l.exec(ctx, "DELETE FROM "+target); err != nil {
			return err
		}
		l.emptied[t.Name] = true
		l.replaced = append(l.replaced, t.Name)
	}
	return l.exec(ctx, fmt.Sprintf("INSERT INTO %s BY NAME SELECT * FROM %s", target, from))
}

// stagesParquet reports whether rows of the family of root go in through a
// staged Parquet file: by the destination's insert method, the run's
// loader_file_format, or the resource's file_format hint.
func (l *load) stagesParquet(root *arrowbuf.Table) bool {
	if l.d.method == InsertParquet || l.req.LoaderFileFormat == "parquet" {
		return true
	}
	return root != nil && root.FileFormat == "parquet"
}
