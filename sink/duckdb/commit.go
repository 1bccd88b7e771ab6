package duckdb

import (
	"context"
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/internal/nospace"
)

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
