package duckdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
)

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
