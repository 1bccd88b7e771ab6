// Command sluice runs declarative REST API pipelines into DuckDB or Parquet,
// as dlt's rest_api source does, and browses what they loaded.
//
//	sluice init rest_api duckdb       write an example spec and secrets file
//	sluice run SPEC                   run the pipeline a spec describes
//	sluice pipeline NAME info         destination, loads and tables of a pipeline
//	sluice pipeline NAME show         serve a data browser on 127.0.0.1
//	sluice pipeline NAME drop         drop a pipeline's dataset and working state
//	sluice pipeline NAME export TABLE write a table as Arrow, Parquet, CSV or NDJSON
//	sluice serve PIPELINE             serve a dataset over Arrow Flight SQL
//
// Everything the command prints goes through a redactor that masks the
// values of the secrets the spec references (${NAME}, from the environment
// or .sluice/secrets.toml), except values under redact.MinLen characters.
// On failure it exits non-zero and prints one line on stderr naming what is
// wrong.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/cmd/sluice/internal/redact"
)

// version is the version --version prints; set it with
// -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit statuses.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

func main() {
	arrowbuf.MakeArrowDefault()
	os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// app is one invocation of the CLI: its streams, with secrets masked.
type app struct {
	stdin   io.Reader
	stdout  *redact.Writer
	stderr  *redact.Writer
	secrets *redact.Set
	// tty is true when stderr is a terminal: progress is shown then.
	tty bool
	// getenv reads environment variables (os.Getenv by default).
	getenv func(string) string
	// verbose is -v, --verbose: a flag of every command, so that it means
	// the same before and after the command name.
	verbose bool
}

// Main runs the CLI with args (without the program name) and returns the exit
// status. Everything written to stdout and stderr is redacted.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	set := &redact.Set{}
	// Credentials in the AWS environment (s3:// datasets) are secrets too.
	set.Add(awsEnvSecrets()...)
	a := &app{
		stdin:   stdin,
		stdout:  redact.NewWriter(stdout, set),
		stderr:  redact.NewWriter(stderr, set),
		secrets: set,
		tty:     isTerminal(stderr),
		getenv:  os.Getenv,
	}
	defer a.stdout.Flush()
	defer a.stderr.Flush()

	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	a.stdout.Flush()
	fmt.Fprintf(a.stderr, "sluice: %s\n", oneLine(err.Error()))
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if strings.HasPrefix(err.Error(), "unknown command ") {
		return exitUsage
	}
	return exitFailure
}

// exitError carries an exit status other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// oneLine folds a multi-line message into one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	var parts []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sluice",
		Short: "Load REST APIs into DuckDB or Parquet, the dlt way",
		Long: `sluice loads data from REST APIs into DuckDB or Parquet with dlt's schema
inference, normalization and dataset layout. A pipeline is a YAML (or JSON)
spec holding dlt's rest_api source config.

  sluice init rest_api duckdb     write an example spec to start from
  sluice run rest_api_pipeline.yaml
  sluice pipeline rest_api_github info
  sluice pipeline rest_api_github show
  sluice serve rest_api_github    # Arrow Flight SQL, for ADBC/JDBC/ODBC clients

Secrets: ${NAME} in a spec string is read from the environment variable NAME,
else from .sluice/secrets.toml in the working directory. The values of the
secrets a spec references are masked (***) in everything sluice prints, except
values shorter than 4 characters, which would garble numbers and paths.

Working state lives in $SLUICE_PIPELINES_DIR/<pipeline_name>/ (default
~/.sluice/pipelines).`,
		Version:           version,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetVersionTemplate("sluice {{.Version}}\n")
	// -v is --verbose everywhere, as in most CLIs; the version is --version
	// or -V. (Cobra would make -v the version flag of the root command
	// only, so `sluice -v run` and `sluice run -v` meant different things.)
	root.Flags().BoolP("version", "V", false, "print the version and exit")
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "log requests and progress details to stderr (run, bench)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(a.runCmd(), a.initCmd(), a.pipelineCmd(), a.serveCmd(), a.benchCmd())
	return root
}

// args checks a command's positional arguments as a usage error.
func args(minN, maxN int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < minN || len(args) > maxN {
			return usageErrorf("%s: expected %s (see %s --help)", c.CommandPath(), what, c.CommandPath())
		}
		return nil
	}
}
