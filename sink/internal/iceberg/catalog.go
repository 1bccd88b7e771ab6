package iceberg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
)

// Catalog registers a lake's tables in an Iceberg SQL catalog (the
// iceberg_tables schema of Iceberg's JDBC catalog and pyiceberg's SQL
// catalog), so engines can find them by name as well as by path. The
// tables' metadata stays where the lake writes it; the catalog holds a
// pointer to the current metadata file, set after each commit.
type Catalog struct {
	name string
	db   *sql.DB
	cat  *sqlcat.Catalog
}

// DefaultCatalogName is the catalog_name of the rows sluice writes.
const DefaultCatalogName = "sluice"

// OpenCatalog opens the catalog of a destination's catalog spec
// ({type: sql, uri: ...}). Only SQLite URIs are supported, in SQLAlchemy's
// form as dlt and pyiceberg write them: sqlite:///relative/path.db or
// sqlite:////absolute/path.db. name is the catalog_name ("" for
// DefaultCatalogName).
func OpenCatalog(ctx context.Context, typ, uri, name string) (*Catalog, error) {
	if typ != "sql" {
		return nil, fmt.Errorf("iceberg: catalog type %q is not supported (want sql)", typ)
	}
	path, ok := strings.CutPrefix(uri, "sqlite:///")
	if !ok || path == "" {
		return nil, fmt.Errorf("iceberg: catalog uri %q: want sqlite:///path/catalog.db", redactURI(uri))
	}
	if name == "" {
		name = DefaultCatalogName
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("iceberg: catalog %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("iceberg: catalog %s: %w", path, err)
	}
	cat, err := sqlcat.NewCatalog(name, db, sqlcat.SQLite, iceberg.Properties{"init_catalog_tables": "true"})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("iceberg: catalog %s: %w", path, err)
	}
	return &Catalog{name: name, db: db, cat: cat}, nil
}

// redactURI keeps a URI's scheme only, should it carry credentials.
func redactURI(uri string) string {
	if i := strings.Index(uri, "@"); i >= 0 {
		if s, _, ok := strings.Cut(uri, "://"); ok {
			return s + "://…"
		}
		return "…"
	}
	return uri
}

// Close closes the catalog's database.
func (c *Catalog) Close() error { return c.db.Close() }

// register points the catalog's entry of the table (namespace = dataset)
// at its metadata file, creating the namespace and the entry as needed.
func (c *Catalog) register(ctx context.Context, ident table.Identifier, metaLoc string) error {
	ns := table.Identifier{ident[0]}
	if err := c.cat.CreateNamespace(ctx, ns, nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return fmt.Errorf("iceberg: catalog: namespace %s: %w", ident[0], err)
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("iceberg: catalog: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `UPDATE iceberg_tables
		SET previous_metadata_location = metadata_location, metadata_location = ?
		WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? AND metadata_location <> ?`,
		metaLoc, c.name, ident[0], ident[1], metaLoc)
	if err != nil {
		return fmt.Errorf("iceberg: catalog: table %s: %w", tableKey(ident), err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		_, err = tx.ExecContext(ctx, `INSERT INTO iceberg_tables
			(catalog_name, table_namespace, table_name, iceberg_type, metadata_location, previous_metadata_location)
			SELECT ?, ?, ?, ?, ?, NULL
			WHERE NOT EXISTS (SELECT 1 FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?)`,
			c.name, ident[0], ident[1], sqlcat.TableType, metaLoc, c.name, ident[0], ident[1])
		if err != nil {
			return fmt.Errorf("iceberg: catalog: table %s: %w", tableKey(ident), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("iceberg: catalog: table %s: %w", tableKey(ident), err)
	}
	return nil
}

// unregister removes the table's catalog entry, if any.
func (c *Catalog) unregister(ctx context.Context, ident table.Identifier) error {
	_, err := c.db.ExecContext(ctx, `DELETE FROM iceberg_tables
		WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?`, c.name, ident[0], ident[1])
	if err != nil {
		return fmt.Errorf("iceberg: catalog: drop %s: %w", tableKey(ident), err)
	}
	return nil
}

// WithCatalog registers every table the lake commits in c.
func WithCatalog(c *Catalog) Option {
	return func(lk *Lake) { lk.cat = c }
}
