package duckdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/internal/family"
	"github.com/sluicehq/sluice/sink/internal/loadstate"
)

// When a load opens the database: Begin, by default, only creates the
// load's stage folder, and Commit opens the file (stage_load.go); with
// WithLoadDuringExtract Begin opens it. Either way open waits for a file
// another process holds.

// Begin starts a load. By default it only creates the load's stage folder
// (and a missing database file): rows are staged there and the file is
// opened at Commit. With
// WithLoadDuringExtract it opens the file and begins the transaction now.
func (d *Destination) Begin(ctx context.Context, req sink.LoadRequest) (sink.Load, error) {
	if req.Dataset == "" {
		return nil, errors.New("duckdb: begin load: empty dataset name")
	}
	stage, err := newStageDir(d.path, req.LoadID)
	if err != nil {
		return nil, fmt.Errorf("duckdb: begin load into %s: %w", d.path, err)
	}
	// A new file is created now, without holding it: a path that cannot
	// take it fails before the run extracts, and readers find a database.
	if err := createFile(d.path, stage.path); err != nil {
		stage.remove()
		return nil, fmt.Errorf("duckdb: create %s: %w", d.path, err)
	}
	l := &load{
		d: d, req: req, stage: stage, State: loadstate.State{Name: "duckdb", Ctx: ctx},
		tables:   map[string][]string{},
		tabs:     family.Tables{Schema: req.Schema, Snaps: map[string]*arrowbuf.Table{}},
		emptied:  map[string]bool{},
		families: map[string]*mergeFamily{},
		pending:  map[string]*pendingInsert{},
		groups:   map[string]*stagedGroup{},
	}
	if d.loadDuring {
		if err := l.open(ctx); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// open opens the file, begins the load's transaction, and drops and
// empties the tables the request names. On error the load is ended.
func (l *load) open(ctx context.Context) error {
	d, req := l.d, l.req
	if err := createFile(d.path, l.stage.path); err != nil {
		l.close()
		return fmt.Errorf("duckdb: create %s: %w", d.path, err)
	}
	h, err := d.acquireWait(ctx)
	if err != nil {
		l.close()
		return err
	}
	l.h = h
	conn, err := h.db.Conn(ctx)
	if err != nil {
		l.close()
		return fmt.Errorf("duckdb: begin load into %s: %w", d.path, err)
	}
	l.conn = conn
	stmts := []string{}
	if !d.preserveOrder {
		stmts = append(stmts, "SET preserve_insertion_order = false")
	}
	if d.memoryLimit != "" {
		stmts = append(stmts, "SET memory_limit = '"+strings.ReplaceAll(d.memoryLimit, "'", "")+"'")
	}
	stmts = append(stmts, "BEGIN TRANSACTION", "CREATE SCHEMA IF NOT EXISTS "+quote(h.catalog)+"."+quote(req.Dataset))
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			l.close()
			return fmt.Errorf("duckdb: begin load into %s: %w", d.path, err)
		}
	}
	if l.memLimit, err = memoryLimitBytes(ctx, conn); err != nil {
		l.close()
		return fmt.Errorf("duckdb: begin load into %s: %w", d.path, err)
	}
	// Refresh and replace: tables dropped or emptied before any row of this
	// load arrives, inside its transaction.
	for _, t := range req.Drop {
		if err := l.exec(ctx, "DROP TABLE IF EXISTS "+h.q(req.Dataset, t)); err != nil {
			_ = l.Rollback()
			return fmt.Errorf("duckdb: begin load: drop %s: %w", t, err)
		}
	}
	if err := l.truncate(ctx, req.Truncate); err != nil {
		_ = l.Rollback()
		return fmt.Errorf("duckdb: begin load: truncate: %w", err)
	}
	return nil
}

// defaultLockWait is WithLockWait's default: long enough for another
// run's commit or a short query, short enough that a program that keeps
// the file open fails the run with a message saying so.
const defaultLockWait = 2 * time.Minute

// lockRetry is the longest pause between two tries to open a held file.
var lockRetry = time.Second

// acquireWait opens the file for writing, waiting up to the destination's
// lock wait while another process holds it. The wait is logged once.
func (d *Destination) acquireWait(ctx context.Context) (*handle, error) {
	deadline := time.Now().Add(d.lockWait)
	pause := 50 * time.Millisecond
	logged := false
	for {
		h, err := acquire(d.path)
		if err == nil || !errors.Is(err, ErrLocked) || !time.Now().Before(deadline) {
			if err != nil && logged {
				err = fmt.Errorf("%w (waited %v)", err, d.lockWait)
			}
			return h, err
		}
		if !logged {
			logged = true
			d.log.Warn("duckdb: waiting for another process to release the database file", "wait", d.lockWait, "error", err)
			if lockWaitHook != nil {
				lockWaitHook()
			}
		}
		t := time.NewTimer(min(pause, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (stopped waiting: %w)", err, context.Cause(ctx))
		case <-t.C:
		}
		pause = min(2*pause, lockRetry)
	}
}

// lockWaitHook, when set (tests), runs when acquireWait starts to wait.
var lockWaitHook func()
