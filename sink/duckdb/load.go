package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/internal/family"
	"github.com/sluicehq/sluice/sink/internal/loadstate"
	"github.com/sluicehq/sluice/sink/internal/nospace"
)

// load is one Load: a transaction on the file, opened at Commit (staged,
// stage_load.go) or at Begin (WithLoadDuringExtract).
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
	// groups and order hold a staged load's rows until Commit (stage_load.go).
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

// stagesParquet reports whether rows of the family of root go in through a
// staged Parquet file: by the destination's insert method, the run's
// loader_file_format, or the resource's file_format hint.
func (l *load) stagesParquet(root *arrowbuf.Table) bool {
	if l.d.method == InsertParquet || l.req.LoaderFileFormat == "parquet" {
		return true
	}
	return root != nil && root.FileFormat == "parquet"
}
