package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/internal/names"
	"github.com/sluicehq/sluice/rest"
)

// errInterrupted ends a run stopped by SIGINT or SIGTERM.
var errInterrupted = &exitError{code: exitInterrupted,
	err: errors.New("interrupted: the run was stopped and nothing was loaded (loads are atomic)")}

type runFlags struct {
	dataset      string
	pipelinesDir string
	refresh      string
	verbose      bool
}

func (a *app) runCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run SPEC",
		Short: "Run the pipeline a spec file describes",
		Long: `Run the pipeline described by SPEC, a YAML or JSON file:

  pipeline_name: blog            # required; [a-z0-9_]+ after normalization
  dataset_name: blog_data        # default: <pipeline_name>_dataset
  destination: duckdb            # duckdb (default) | parquet, or a mapping:
  # destination: {type: duckdb, path: ./blog.duckdb}
  # destination: {type: parquet, bucket_url: ./out}
  # destination: {type: filesystem, bucket_url: s3://lake/raw, credentials:
  #   {aws_access_key_id: "${AWS_KEY}", aws_secret_access_key: "${AWS_SECRET}"}}
  max_table_nesting: 1           # optional
  source:                        # dlt's rest_api config (RESTAPIConfig)
    client: {base_url: "https://api.example.com/", auth: {token: "${API_TOKEN}"}}
    resources: [posts]

${NAME} in any string is a secret, read from the environment variable NAME or
from .sluice/secrets.toml ([section] keys as ${section.name}).

The run is one atomic load: on failure or Ctrl-C nothing of it is visible in
the destination. On success sluice prints the load info; on failure one line
on stderr says what went wrong, and the exit status is non-zero (130 when
interrupted). A progress line is shown on stderr when it is a terminal.`,
		Args: args(1, 1, "one spec file"),
		RunE: func(c *cobra.Command, args []string) error {
			f.verbose = a.verbose // -v is a flag of every command (main.go)
			return a.run(c.Context(), args[0], f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.dataset, "dataset", "", "dataset name (overrides the spec's dataset_name)")
	fl.StringVar(&f.pipelinesDir, "pipelines-dir", "", "where pipeline working state is kept (default $SLUICE_PIPELINES_DIR or ~/.sluice/pipelines)")
	fl.StringVar(&f.refresh, "refresh", "", "drop_sources | drop_resources | drop_data: reset tables and state before loading")
	return c
}

// loadSpec reads a spec with the secrets of the working dir and registers
// the values of the secrets the spec references with the redactor. Values
// of secrets.toml the spec does not use are not masked: they never reach a
// request, and masking them (say `retries = 1`) garbles unrelated output.
func (a *app) loadSpec(path string) (*spec.Spec, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	file, err := spec.LoadSecrets(filepath.Join(wd, spec.SecretsFile))
	if err != nil {
		return nil, err
	}
	secrets := &spec.Secrets{File: file}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("spec %s does not exist", path)
		}
		return nil, fmt.Errorf("read spec: %w", err)
	}
	s, err := spec.Parse(data, path, wd, secrets)
	if s != nil {
		a.addSecrets(s.Secrets...)
	}
	if err == nil {
		a.warnPlaceholders(s) // initcmd.go
	}
	return s, err
}

// addSecrets registers secret values with the redactor, with the forms a
// secret takes in a pipeline or dataset name.
func (a *app) addSecrets(values ...string) {
	for _, v := range values {
		// A secret in a path is sent escaped as one segment, and logged so.
		a.secrets.Add(v, rest.EscapePathSegment(v))
		d := names.Dataset(v)
		// snake_case prefixes a leading digit with "_", which a secret in
		// the middle of a name does not get.
		for _, n := range []string{names.Pipeline(v), d, strings.TrimPrefix(d, "_")} {
			if n != v && len(n) >= 6 {
				a.secrets.Add(n)
			}
		}
	}
}

// buildSource decodes the spec's source into a REST source; the secrets
// the spec used are escaped whole in paths (rest.Secrets). A config error
// names the file, line and column of its field. tune, when not nil, changes
// the decoded config first (sluice bench sets the concurrency).
func buildSource(s *spec.Spec, log *slog.Logger, tune func(*rest.Config), more ...rest.SourceOption) (*flow.Source, error) {
	cfg, err := rest.DecodeConfig(s.Source, "source", rest.KeyOrder(s.KeyOrder))
	if err != nil {
		return nil, s.Locate(err) // file:line:col of the field
	}
	withTableFormat(cfg, s.Destination) // dest.go
	if tune != nil {
		tune(cfg)
	}
	opts := append([]rest.SourceOption{rest.Logger(log), rest.Secrets(s.Secrets...)}, more...)
	if s.MaxTableNesting != nil {
		opts = append(opts, rest.MaxTableNesting(*s.MaxTableNesting))
	}
	src, err := rest.NewSource(cfg, opts...)
	return src, s.Locate(err)
}

func (a *app) run(ctx context.Context, specPath string, f runFlags) error {
	refresh := flow.Refresh(f.refresh)
	switch refresh {
	case "", flow.DropSources, flow.DropResources, flow.DropData:
	default:
		return usageErrorf("--refresh %q: want drop_sources, drop_resources or drop_data", f.refresh)
	}
	s, err := a.loadSpec(specPath)
	if err != nil {
		return err
	}
	if f.dataset != "" {
		if s.DatasetName, err = spec.NormalizeDatasetName("--dataset", f.dataset); err != nil {
			return usageErrorf("%v", err)
		}
	}

	prog := newProgress(a.stderr, a.tty)
	// Info by default: a retried request and its wait are worth a line even
	// without -v (a run that sits through a Retry-After must say why).
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(prog, &slog.HandlerOptions{Level: level}))

	src, err := buildSource(s, log, nil, rest.OnRetry(prog.retrying))
	if err != nil {
		return err
	}
	if err := checkSpecS3(ctx, s); err != nil { // s3access.go
		return err
	}
	dest, err := newDestination(s, log)
	if err != nil {
		return err
	}
	opts := []flow.PipelineOption{flow.DatasetName(s.DatasetName)}
	if f.pipelinesDir != "" {
		opts = append(opts, flow.PipelinesDir(f.pipelinesDir))
	}
	p, err := flow.NewPipeline(s.PipelineName, dest, opts...)
	if err != nil {
		return err
	}

	ctx, interrupted, stop := a.signalContext(ctx)
	defer stop()
	prog.start(p)
	info, err := p.RunWith(ctx, flow.RunOptions{Refresh: refresh}, src)
	prog.stop()
	if err != nil {
		if interrupted() {
			return errInterrupted
		}
		return err
	}
	fmt.Fprintln(a.stdout, info.String())
	return nil
}

// signalContext returns ctx cancelled on SIGINT or SIGTERM, a func telling
// whether that happened, and a stop func. A second signal exits at once.
func (a *app) signalContext(parent context.Context) (context.Context, func() bool, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-sigs:
			cancel(errInterrupted)
		case <-done:
			return
		}
		select {
		case <-sigs:
			// Loads are atomic, so even now nothing partial lands.
			fmt.Fprintln(a.stderr, "\nsluice: interrupted twice: exiting now")
			a.stderr.Flush()
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	interrupted := func() bool { return errors.Is(context.Cause(ctx), errInterrupted) }
	stop := func() {
		signal.Stop(sigs)
		close(done)
		<-finished
		cancel(nil)
	}
	return ctx, interrupted, stop
}
