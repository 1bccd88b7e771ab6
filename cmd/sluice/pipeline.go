package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/internal/pipeinfo"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/duckdb"
)

// maxLoadsShown is how many of the last loads info prints.
const maxLoadsShown = 5

type pipelineFlags struct {
	pipelinesDir string
	port         int
	yes          bool
}

func (a *app) pipelineCmd() *cobra.Command {
	var f pipelineFlags
	var ef exportFlags
	c := &cobra.Command{
		Use:   "pipeline NAME [info|show|drop|export TABLE]",
		Short: "Inspect, browse or drop a pipeline's data",
		Long: `Work with a pipeline that ran before, found by its working state in
$SLUICE_PIPELINES_DIR/NAME/ (default ~/.sluice/pipelines/NAME/), which records
its destination and dataset.

  info          (default) destination, dataset, the last loads, and each
                table with its row count, one table per line as "<table> <rows>";
                while a run commits into the DuckDB file (or another program
                holds it), the last load the working state records
  show          serve a data browser on 127.0.0.1 (--port N; 0 or absent: any
                free port); prints its URL as the first line of stdout and runs
                until interrupted
  drop          drop the dataset's tables and the pipeline's working state
                (asks first unless --yes)
  export TABLE  write a table as an Arrow IPC stream to stdout (--format
                arrow, the default), or as parquet, csv or ndjson; -o FILE
                writes a file instead`,
		Example: "  sluice pipeline rest_api_github info\n  sluice pipeline rest_api_github show --port 8080\n  sluice pipeline rest_api_github drop --yes\n  sluice pipeline rest_api_github export issues -o issues.parquet --format parquet",
		Args:    args(1, 3, "NAME and an action: info, show, drop or export TABLE"),
		RunE: func(c *cobra.Command, args []string) error {
			action := "info"
			if len(args) > 1 {
				action = args[1]
			}
			if c.Flags().Changed("port") && action != "show" {
				return usageErrorf("--port is for show, not %s", action)
			}
			if c.Flags().Changed("yes") && action != "drop" {
				return usageErrorf("--yes is for drop, not %s", action)
			}
			if (c.Flags().Changed("format") || c.Flags().Changed("output")) && action != "export" {
				return usageErrorf("--format and --output are for export, not %s", action)
			}
			switch action {
			case "info", "show", "drop":
				if len(args) > 2 {
					return usageErrorf("%s takes no TABLE (see %s --help)", action, c.CommandPath())
				}
			case "export":
				if len(args) != 3 {
					return usageErrorf("export: expected a TABLE (see %s --help)", c.CommandPath())
				}
			default:
				return usageErrorf("unknown action %q for pipeline %s (want info, show, drop or export)", action, args[0])
			}
			info, workDir, err := findPipeline("NAME", args[0], f.pipelinesDir)
			if err != nil {
				return err
			}
			ctx := c.Context()
			switch action {
			case "show":
				return a.show(ctx, info, f.port)
			case "drop":
				return a.drop(ctx, info, workDir, f.yes)
			case "export":
				return a.export(ctx, info, args[2], ef)
			}
			return a.info(ctx, info, workDir)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.pipelinesDir, "pipelines-dir", "", "where pipeline working state is kept (default $SLUICE_PIPELINES_DIR or ~/.sluice/pipelines)")
	fl.IntVar(&f.port, "port", 0, "show: port to serve on (0: any free port)")
	fl.BoolVarP(&f.yes, "yes", "y", false, "drop: do not ask for confirmation")
	ef.register(fl)
	return c
}

// openDataset opens a pipeline's dataset for reading.
func openDataset(ctx context.Context, info *pipeinfo.Info) (sink.DatasetReader, error) {
	t, err := checkDestinationExists(ctx, info)
	if err != nil {
		return nil, err
	}
	dest, err := destinationOf(info)
	if err != nil {
		return nil, err
	}
	r, err := dest.OpenDataset(ctx, info.Dataset)
	return r, withEndpointHint(err, info, t)
}

func (a *app) info(ctx context.Context, info *pipeinfo.Info, workDir string) error {
	r, err := openDataset(ctx, info)
	if errors.Is(err, duckdb.ErrLocked) {
		return a.recordedInfo(info, workDir, err)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	loads, err := r.Loads(ctx)
	if err != nil {
		return err
	}
	tables, err := r.Tables(ctx)
	if err != nil {
		return err
	}
	w := a.stdout
	writeHeader(w, info)
	writeLoads(w, loads)
	fmt.Fprintf(w, "tables: %d\n", len(tables))
	for _, t := range tables {
		fmt.Fprintf(w, "%s %d\n", t.Name, t.Rows)
	}
	return nil
}

// recordedInfo prints what the pipeline's working folder records of its
// last completed load, for a DuckDB file another process holds: a run
// committing its load (a staged run holds the file only then), or another
// program. A note on stderr says so.
func (a *app) recordedInfo(info *pipeinfo.Info, workDir string, locked error) error {
	holder := ""
	if msg := locked.Error(); strings.Contains(msg, "(held by ") {
		holder = " " + msg[strings.Index(msg, "(held by "):]
	}
	fmt.Fprintf(a.stderr, "sluice: note: %s is locked by another process%s; showing the last load recorded in %s\n",
		info.DestinationLocation, holder, workDir)
	w := a.stdout
	writeHeader(w, info)
	if info.LastLoadID == "" {
		fmt.Fprintln(w, "last loads: none recorded")
	} else {
		fmt.Fprintln(w, "last loads: 1 recorded")
		fmt.Fprintf(w, "  load %s LOADED (schema %s)\n", info.LastLoadID, info.SchemaName)
	}
	if info.LastLoadRows == nil {
		fmt.Fprintln(w, "tables: not recorded")
		return nil
	}
	names := slices.Sorted(maps.Keys(info.LastLoadRows))
	fmt.Fprintf(w, "tables: %d (rows written by load %s)\n", len(names), info.LastLoadID)
	for _, n := range names {
		fmt.Fprintf(w, "%s %d\n", n, info.LastLoadRows[n])
	}
	return nil
}

// writeHeader writes info's first lines: the pipeline and where it loads.
func writeHeader(w io.Writer, info *pipeinfo.Info) {
	fmt.Fprintf(w, "pipeline: %s\n", info.Name)
	fmt.Fprintf(w, "destination: %s\n", info.DestinationType)
	fmt.Fprintf(w, "dataset: %s\n", info.Dataset)
	fmt.Fprintf(w, "location: %s\n", info.DestinationLocation)
}

func writeLoads(w io.Writer, loads []sink.LoadRecord) {
	if len(loads) == 0 {
		fmt.Fprintln(w, "last loads: none")
		return
	}
	fmt.Fprintf(w, "last loads: %d of %d\n", min(len(loads), maxLoadsShown), len(loads))
	for _, l := range loads[:min(len(loads), maxLoadsShown)] {
		fmt.Fprintf(w, "  load %s %s at %s (schema %s)\n", l.LoadID, loadStatus(l.Status),
			l.InsertedAt.UTC().Format(time.RFC3339), l.SchemaName)
	}
}

// loadStatus names a _dlt_loads status as dlt does: 0 is a loaded package.
func loadStatus(s int64) string {
	if s == 0 {
		return "LOADED"
	}
	return fmt.Sprintf("status %d", s)
}

func (a *app) drop(ctx context.Context, info *pipeinfo.Info, workDir string, yes bool) error {
	if !yes {
		fmt.Fprintf(a.stdout, "Drop dataset %s in %s (all its tables) and the working state in %s? [y/N] ",
			info.Dataset, info.DestinationLocation, workDir)
		a.stdout.Flush()
		line, err := bufio.NewReader(a.stdin).ReadString('\n')
		fmt.Fprintln(a.stdout)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
		default:
			return errors.New("drop not confirmed: nothing was dropped (pass --yes to skip the question)")
		}
	}
	// A destination that is gone (moved, deleted) has nothing to drop; the
	// working state still goes, and the message says which happened. One
	// that cannot be reached (no credentials) stops the drop: its data
	// stays, and so does the state that finds it.
	t, missing := checkDestinationExists(ctx, info)
	var gone *missingDestinationError
	if missing != nil && !errors.As(missing, &gone) {
		return missing
	}
	if missing == nil {
		if err := dropDataset(ctx, info); err != nil {
			return withEndpointHint(err, info, t)
		}
	}
	if err := os.RemoveAll(workDir); err != nil {
		return fmt.Errorf("remove working state %s: %w", workDir, err)
	}
	if missing != nil {
		fmt.Fprintf(a.stdout, "No dataset dropped: %s does not exist. Dropped the working state of pipeline %s.\n",
			info.DestinationLocation, info.Name)
		return nil
	}
	fmt.Fprintf(a.stdout, "Dropped dataset %s in %s and the working state of pipeline %s.\n",
		info.Dataset, info.DestinationLocation, info.Name)
	return nil
}

// findPipeline reads the record of the pipeline named arg (the argument
// what) from dir, or the default pipelines folder when dir is "", and
// returns it with the pipeline's working folder.
func findPipeline(what, arg, dir string) (*pipeinfo.Info, string, error) {
	name, err := spec.NormalizeName(what, arg)
	if err != nil {
		return nil, "", usageErrorf("%v", err)
	}
	if dir == "" {
		dir = flow.DefaultPipelinesDir()
	}
	info, err := readPipeline(dir, name)
	return info, filepath.Join(dir, name), err
}

// readPipeline reads the pipeline's record, saying for one that is not
// there where sluice looked and how to point it elsewhere.
func readPipeline(dir, name string) (*pipeinfo.Info, error) {
	info, err := pipeinfo.Read(dir, name)
	if _, serr := os.Stat(filepath.Join(dir, name, "pipeline.json")); err != nil && errors.Is(serr, fs.ErrNotExist) {
		return nil, fmt.Errorf("pipeline %q not found in %s: no run of it has finished there (run its spec with sluice run, or point to its folder with --pipelines-dir or SLUICE_PIPELINES_DIR)", name, dir)
	}
	return info, err
}
