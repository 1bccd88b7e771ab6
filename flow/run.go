package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/internal/pipeinfo"
	"github.com/sluicehq/sluice/internal/statedoc"
	"github.com/sluicehq/sluice/sink"
)

// RunOptions adjust one run.
type RunOptions struct {
	Refresh Refresh
	// LoaderFileFormat is dlt's loader_file_format: "parquet" makes the
	// DuckDB destination stage rows through Parquet files.
	LoaderFileFormat string
}

// Run extracts, normalizes and loads the sources in one atomic load.
func (p *Pipeline) Run(ctx context.Context, srcs ...Sourcer) (*LoadInfo, error) {
	return p.RunWith(ctx, RunOptions{}, srcs...)
}

// RunWith is Run with options.
func (p *Pipeline) RunWith(ctx context.Context, opts RunOptions, srcs ...Sourcer) (*LoadInfo, error) {
	if len(srcs) == 0 {
		return nil, errors.New("flow: Run needs at least one source or resource")
	}
	unlock, err := p.lockPipeline()
	if err != nil {
		return nil, err
	}
	defer unlock()
	started := time.Now()
	p.progress = progressCounters{}
	p.progress.started.Store(started.UnixNano())

	var sources []*Source
	for _, s := range srcs {
		sources = append(sources, s.flowSource(p.name))
	}
	schemaName := p.name
	if len(sources) == 1 {
		schemaName = arrowbuf.NormalizeIdentifier(sources[0].name)
	}

	doc, schema, err := p.restore(ctx, schemaName)
	if err != nil {
		return nil, err
	}
	store := newStateStore(doc)
	plan, err := buildPlan(sources, store)
	if err != nil {
		return nil, err
	}

	req := sink.LoadRequest{Dataset: p.dataset, LoadID: newLoadID(started), SchemaName: schemaName, LoaderFileFormat: opts.LoaderFileFormat}
	if schema, err = refresh(opts.Refresh, sources, plan, store, schema, &req); err != nil {
		return nil, err
	}
	// Replace resources lose their known tables' rows in this load, even if
	// they yield nothing.
	for _, n := range plan.loaded {
		if n.res.hints.WriteDisposition == arrowbuf.Replace && n.res.tableFunc == nil {
			for _, t := range familyOf(schema, arrowbuf.NormalizeTableIdentifier(n.res.Table())) {
				if !slices.Contains(req.Truncate, t) && !slices.Contains(req.Drop, t) {
					req.Truncate = append(req.Truncate, t)
				}
			}
		}
	}
	for _, n := range plan.loaded {
		if n.res.tableFunc == nil {
			if err := schema.ApplyHints(n.res.Table(), n.res.name, n.hints()); err != nil {
				return nil, fmt.Errorf("flow: resource %q: %w", n.res.name, err)
			}
		}
	}
	req.Schema = schema

	load, err := p.dest.Begin(ctx, req)
	if err != nil {
		return nil, err
	}
	defer load.Rollback()

	e := &engine{p: p, plan: plan, schema: schema, loadID: req.LoadID, load: load, counts: map[string]int64{}}
	if err := e.run(ctx); err != nil {
		return nil, err
	}

	commit := sink.Commit{Schema: schema}
	if commit.SchemaJSON, err = schema.MarshalJSON(); err != nil {
		return nil, fmt.Errorf("flow: encode schema: %w", err)
	}
	commit.SchemaVersion = schema.Version()
	commit.SchemaHash = schema.VersionHash()
	stateDoc, stored, err := p.nextState(store, schemaName, started)
	if err != nil {
		return nil, err
	}
	commit.State = stored
	if err := load.Commit(ctx, commit); err != nil {
		return nil, err
	}
	if err := p.saveLocal(schemaName, req.LoadID, e.counts, stateDoc, commit.SchemaJSON); err != nil {
		return nil, fmt.Errorf("flow: loaded %s but could not save local state: %w", req.LoadID, err)
	}
	return p.loadInfo(req.LoadID, started, plan, e.counts), nil
}

// restore reads local state and schema, or the destination's when the
// working folder is missing or its state is older than the destination's
// (as dlt does): a process killed after the destination committed and
// before the working folder was saved leaves an older local state, and
// going on from it would load the last window again.
func (p *Pipeline) restore(ctx context.Context, schemaName string) (State, *arrowbuf.Schema, error) {
	dir := p.WorkingDir()
	var doc State
	if raw, err := os.ReadFile(filepath.Join(dir, "state.json")); err == nil {
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, nil, badWorkingFile(p.name, dir, "state.json", err)
		}
	}
	fromDest := false
	st, err := p.dest.LastState(ctx, p.dataset, p.name)
	switch {
	case errors.Is(err, sink.ErrNoState):
	case err != nil:
		return nil, nil, fmt.Errorf("flow: restore state from destination: %w", err)
	case doc == nil || st.Version > stateVersion(doc):
		if doc, err = DecodeState(st.State); err != nil {
			return nil, nil, err
		}
		fromDest = true
	}
	var rawSchema []byte
	localFile := filepath.Join("schemas", schemaName+".schema.json")
	local := filepath.Join(dir, localFile)
	fromLocal := false
	if raw, err := os.ReadFile(local); err == nil && !fromDest {
		rawSchema, fromLocal = raw, true
	} else {
		raw, err := p.dest.LastSchema(ctx, p.dataset, schemaName)
		switch {
		case errors.Is(err, sink.ErrNoState):
			rawSchema, _ = os.ReadFile(local)
			fromLocal = rawSchema != nil
		case err != nil:
			return nil, nil, fmt.Errorf("flow: restore schema from destination: %w", err)
		default:
			rawSchema = raw
		}
	}
	if rawSchema == nil {
		return doc, arrowbuf.NewSchema(schemaName), nil
	}
	s, err := arrowbuf.LoadSchema(rawSchema)
	if err != nil && fromLocal {
		return nil, nil, badWorkingFile(p.name, dir, localFile, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("flow: pipeline %q: stored schema: %w", p.name, err)
	}
	return doc, s, nil
}

// stateVersion is a state document's _state_version (0 when missing).
func stateVersion(doc State) int64 {
	switch v := doc["_state_version"].(type) {
	case float64:
		return int64(v)
	case int64:
		return v
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}

// nextState fills the state document's pipeline fields and returns the row
// to store, or nil when nothing changed since the stored version.
func (p *Pipeline) nextState(store *stateStore, schemaName string, now time.Time) (State, *sink.StoredState, error) {
	raw, err := store.snapshot()
	if err != nil {
		return nil, nil, fmt.Errorf("flow: encode state: %w", err)
	}
	var doc State
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, nil, err
	}
	prevHash, _ := doc["_version_hash"].(string)
	version, _ := doc["_state_version"].(float64)
	doc["_state_engine_version"] = stateEngineVersion
	doc["pipeline_name"] = p.name
	doc["dataset_name"] = p.dataset
	doc["default_schema_name"] = schemaName
	doc["schema_names"] = []string{schemaName}
	doc["destination_type"] = p.dest.Kind()
	doc["destination_name"] = p.dest.Kind()
	delete(doc, "_local")
	hash := contentHash(doc)
	if hash == prevHash && version > 0 {
		return doc, nil, nil
	}
	doc["_state_version"] = int64(version) + 1
	doc["_version_hash"] = hash
	enc, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	return doc, &sink.StoredState{PipelineName: p.name, Version: int64(version) + 1, EngineVersion: stateEngineVersion,
		State: statedoc.Encode(enc), Hash: hash, CreatedAt: now.UTC()}, nil
}

func (p *Pipeline) saveLocal(schemaName, loadID string, rows map[string]int64, doc State, schemaJSON []byte) error {
	dir := p.WorkingDir()
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "schemas", schemaName+".schema.json"), schemaJSON); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "state.json"), raw); err != nil {
		return err
	}
	info, _ := json.MarshalIndent(pipeinfo.Record{PipelineName: p.name, DestinationType: p.dest.Kind(),
		DestinationLocation: p.dest.Location(), DatasetName: p.dataset, DefaultSchemaName: schemaName,
		LastLoadID: loadID, LastLoadRows: rows}, "", "  ")
	return writeFileAtomic(filepath.Join(dir, pipeinfo.File), info)
}

// extracted is a batch on its way to a normalizer.
type extracted struct {
	node  *node
	table string
	batch Batch
}

type engine struct {
	p      *Pipeline
	plan   *plan
	schema *arrowbuf.Schema
	loadID string
	load   sink.Load

	applied sync.Map // table name -> struct{}: hints applied
	mu      sync.Mutex
	counts  map[string]int64
}

func (e *engine) isLoaded(n *node) bool { return slices.Contains(e.plan.loaded, n) }

// goSafe runs fn in g, turning a panic into an error.
func goSafe(g *errgroup.Group, fn func() error) {
	g.Go(func() error {
		err := callSafe(fn)
		if pe, ok := err.(*PanicError); ok {
			return fmt.Errorf("flow: %w", pe)
		}
		return err
	})
}

func (e *engine) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	workers := e.p.workers
	out := make(chan extracted, 2*workers)
	loadCh := make(chan arrowbuf.TableBatch, 1)

	goSafe(g, func() error {
		defer close(out)
		return e.extract(gctx, out)
	})
	goSafe(g, func() error {
		defer close(loadCh)
		ng, nctx := errgroup.WithContext(gctx)
		for range workers {
			goSafe(ng, func() error { return e.normalize(nctx, out, loadCh) })
		}
		return ng.Wait()
	})
	goSafe(g, func() error {
		for tb := range loadCh {
			rows := max(tb.Rows(), 0)
			name := tb.Table.Name
			root := tb.Table.Parent == ""
			if err := e.load.Write(gctx, tb); err != nil {
				return fmt.Errorf("flow: load table %q: %w", name, err)
			}
			e.mu.Lock()
			e.counts[name] += rows
			e.mu.Unlock()
			if root {
				e.p.progress.loaded.Add(rows)
			}
		}
		return nil
	})
	err := g.Wait()
	// Drain what a failed run left in flight so parsers and records are freed.
	for x := range out {
		x.batch.Release()
	}
	for tb := range loadCh {
		tb.Release()
	}
	return err
}

// extract runs all generators and transformers; it returns when all are done.
func (e *engine) extract(ctx context.Context, out chan<- extracted) error {
	g, gctx := errgroup.WithContext(ctx)
	var startTransformers func(n *node)
	startTransformers = func(n *node) {
		for _, c := range n.children {
			c := c
			var wg sync.WaitGroup
			for range c.res.workers {
				wg.Add(1)
				goSafe(g, func() error {
					defer wg.Done()
					return e.runTransformer(gctx, c, out)
				})
			}
			goSafe(g, func() error {
				wg.Wait()
				for _, cc := range c.children {
					close(cc.in)
				}
				return nil
			})
			startTransformers(c)
		}
	}
	var sequential []*node
	for _, r := range e.plan.roots {
		startTransformers(r)
		if e.p.sequential && !r.res.parallel {
			sequential = append(sequential, r)
			continue
		}
		goSafe(g, func() error { return e.runRoot(gctx, r, out) })
	}
	if len(sequential) > 0 {
		goSafe(g, func() error {
			for _, r := range sequential {
				if err := e.runRoot(gctx, r, out); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func (e *engine) runRoot(ctx context.Context, n *node, out chan<- extracted) error {
	defer func() {
		for _, c := range n.children {
			close(c.in)
		}
	}()
	e.p.progress.running.Add(1)
	defer func() { e.p.progress.running.Add(-1); e.p.progress.done.Add(1) }()
	err := runGen(ctx, n.res, n.state, func(rctx context.Context) Yield { return e.emitter(rctx, n, out) })
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return context.Cause(ctx)
	default:
		return fmt.Errorf("resource %q: %w", n.res.name, err)
	}
}

func (e *engine) runTransformer(ctx context.Context, n *node, out chan<- extracted) error {
	e.p.progress.running.Add(1)
	defer func() { e.p.progress.running.Add(-1) }()
	rctx := withResource(ctx, n.res.name, n.state)
	emit := e.emitter(rctx, n, out)
	closed := false
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case b, ok := <-n.in:
			if !ok {
				return nil
			}
			if closed {
				b.Release() // the parent still sends; nothing more is made
				continue
			}
			err := callSafe(func() error { return n.res.tf(rctx, b, emit) })
			b.Release()
			if errors.Is(err, ErrClose) {
				closed, err = true, nil
			}
			if err != nil {
				if ctx.Err() != nil {
					return context.Cause(ctx)
				}
				return fmt.Errorf("resource %q: %w", n.res.name, err)
			}
		}
	}
}

func (e *engine) ensureHints(n *node, table string, b *Batch) error {
	if b.Hints != nil {
		return e.schema.ApplyHints(table, n.res.name, *b.Hints)
	}
	if _, done := e.applied.Load(table); done {
		return nil
	}
	if err := e.schema.ApplyHints(table, n.res.name, n.hints()); err != nil {
		return err
	}
	e.applied.Store(table, struct{}{})
	return nil
}

func (e *engine) normalize(ctx context.Context, in <-chan extracted, outCh chan<- arrowbuf.TableBatch) error {
	emit := func(tb arrowbuf.TableBatch) error {
		select {
		case outCh <- tb:
			return nil
		case <-ctx.Done():
			tb.Release()
			return context.Cause(ctx)
		}
	}
	norm := arrowbuf.NewNormalizer(e.schema, e.loadID, emit, arrowbuf.WithBatchRows(e.p.batchRows))
	defer norm.Release()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case x, ok := <-in:
			if !ok {
				return norm.Flush()
			}
			err := e.normalizeOne(norm, x, emit)
			x.batch.Release()
			if err != nil {
				return err
			}
		}
	}
}

func (e *engine) normalizeOne(norm *arrowbuf.Normalizer, x extracted, emit func(arrowbuf.TableBatch) error) error {
	if err := e.ensureHints(x.node, x.table, &x.batch); err != nil {
		return fmt.Errorf("resource %q: %w", x.node.res.name, err)
	}
	var err error
	switch b := x.batch; {
	case b.File != nil:
		// Imported files skip the normalizer: the table's hinted columns
		// (possibly none) go to the destination with the file.
		name := arrowbuf.NormalizeTableIdentifier(x.table)
		t := e.schema.Table(name)
		if t == nil {
			return fmt.Errorf("resource %q: import %s: table %q is not in the schema", x.node.res.name, b.File.Path, name)
		}
		f := *b.File
		err = emit(arrowbuf.TableBatch{Table: t, File: &f})
	case b.Record != nil:
		err = norm.AppendRecord(x.table, b.Record)
	case b.JSON != nil:
		err = norm.AppendJSON(x.table, b.JSON)
	case !b.Typed.IsZero():
		err = norm.AppendTyped(x.table, b.Typed)
	default:
		err = norm.AppendItems(x.table, b.Items)
	}
	if err != nil {
		return fmt.Errorf("resource %q: %w", x.node.res.name, err)
	}
	return nil
}
