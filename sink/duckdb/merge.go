package duckdb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink/internal/family"
)

// Merges stage their rows in temporary tables; Commit deletes the target
// rows a key matches (and their nested rows) and inserts the staged rows.

// tempCatalog holds the staging tables of merges.
const tempCatalog = "temp"

// mergeFamily is a root table loaded with merge and its keys.
type mergeFamily struct {
	root       string
	primaryKey []string
	mergeKey   []string
	staged     []string // staged tables of the family in first-write order
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
