package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"

	"github.com/sluicehq/sluice/internal/pipeinfo"
	"github.com/sluicehq/sluice/serve"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/parquet/parquetsql"
)

// defaultTokenEnv names the variable holding serve's bearer token.
const defaultTokenEnv = "SLUICE_SERVE_TOKEN"

type serveFlags struct {
	pipelinesDir string
	port         int
	host         string
	tokenEnv     string
}

func (a *app) serveCmd() *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve PIPELINE",
		Short: "Serve a pipeline's dataset over Arrow Flight SQL",
		Long: `Serve the dataset of a pipeline that ran before (found as for sluice
pipeline) over Arrow Flight SQL, for any ADBC, JDBC or ODBC Flight SQL
client. Prints grpc://HOST:PORT as the first line of stdout and runs until
interrupted (Ctrl-C).

Queries are read-only and the dataset is their default schema, so
"SELECT * FROM posts" works; a statement that would change anything fails.
Catalog metadata, prepared statements with parameters and streamed results
of any size work.

Auth: when $SLUICE_SERVE_TOKEN (or the variable --token-env names) is set,
every call must carry the header "authorization: Bearer <token>". A --host
other than a loopback address requires a token. The token is never printed.

While a run loads into a DuckDB dataset, queries see the last committed
load; while it commits, new queries wait for it and then see the new load.

  sluice serve blog
  SLUICE_SERVE_TOKEN=$(openssl rand -hex 16) sluice serve blog --host 0.0.0.0 --port 31337`,
		Args: args(1, 1, "a pipeline name"),
		RunE: func(c *cobra.Command, args []string) error {
			return a.serve(c.Context(), args[0], f, c.Flags().Changed("token-env"))
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.pipelinesDir, "pipelines-dir", "", "where pipeline working state is kept (default $SLUICE_PIPELINES_DIR or ~/.sluice/pipelines)")
	fl.IntVar(&f.port, "port", 0, "port to serve on (0: any free port)")
	fl.StringVar(&f.host, "host", "127.0.0.1", "address to serve on; other than loopback needs a token")
	fl.StringVar(&f.tokenEnv, "token-env", defaultTokenEnv, "environment variable holding the bearer token clients must send")
	return c
}

func (a *app) serve(ctx context.Context, pipeline string, f serveFlags, tokenEnvSet bool) error {
	if f.port < 0 || f.port > 65535 {
		return usageErrorf("--port %d: want 0..65535", f.port)
	}
	if f.host == "" {
		return usageErrorf("--host: want an address, like 127.0.0.1")
	}
	token := a.getenv(f.tokenEnv)
	if token == "" && tokenEnvSet {
		return usageErrorf("--token-env %s: the environment variable %s is not set or empty", f.tokenEnv, f.tokenEnv)
	}
	a.secrets.Add(token)
	if token == "" && !isLoopback(f.host) {
		return usageErrorf("--host %s is not a loopback address: set %s (or --token-env NAME) so that clients must send a bearer token",
			f.host, f.tokenEnv)
	}
	info, _, err := findPipeline("PIPELINE", pipeline, f.pipelinesDir)
	if err != nil {
		return err
	}
	// The source first: it refuses an object store's bucket before any
	// credentials are looked for.
	src, err := serveSource(info)
	if err != nil {
		return err
	}
	if _, err := checkDestinationExists(ctx, info); err != nil {
		return err
	}
	srv, err := serve.NewServer(src, serve.Options{Token: token, Version: version})
	if err != nil {
		return err
	}
	// A first query says now, not at each client's, when the dataset
	// cannot be read.
	rr, err := srv.Handler().Query(ctx, "SELECT 1")
	if err != nil {
		_ = srv.Handler().Close()
		return fmt.Errorf("serve: pipeline %s: %s", info.Name, strings.TrimPrefix(status.Convert(err).Message(), "serve: "))
	}
	rr.Release()
	lis, err := net.Listen("tcp", net.JoinHostPort(f.host, strconv.Itoa(f.port)))
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", net.JoinHostPort(f.host, strconv.Itoa(f.port)), err)
	}
	ctx, interrupted, stop := a.signalContext(ctx)
	defer stop()
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	url := "grpc://" + net.JoinHostPort(f.host, port)
	fmt.Fprintln(a.stdout, url)
	a.stdout.Flush()
	auth := "no token: loopback only"
	if token != "" {
		auth = "clients must send authorization: Bearer $" + f.tokenEnv
	}
	fmt.Fprintf(a.stderr, "Serving %s of pipeline %s over Arrow Flight SQL (%s); ADBC: uri=%s; press Ctrl-C to stop.\n",
		src, info.Name, auth, url)
	a.stderr.Flush()
	if err := srv.Serve(ctx, lis); err != nil {
		return err
	}
	if interrupted() {
		fmt.Fprintln(a.stderr, "Stopped.")
	}
	return nil
}

// isLoopback tells whether host is a loopback address or localhost.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serveSource is what serve serves for a pipeline's destination.
func serveSource(info *pipeinfo.Info) (serve.Source, error) {
	switch info.DestinationType {
	case "duckdb":
		return serve.DuckDBFile(info.DestinationLocation, info.Dataset), nil
	case "filesystem", "parquet":
		bucket, err := parquet.BucketPath(info.DestinationLocation)
		if err != nil {
			if errors.Is(err, parquet.ErrUnsupportedScheme) {
				return serve.Source{}, fmt.Errorf("serve: pipeline %q: only local Parquet buckets can be served, not %s (DuckDB here reads local files only)",
					info.Name, info.DestinationLocation)
			}
			return serve.Source{}, fmt.Errorf("serve: pipeline %q: %w", info.Name, err)
		}
		return serve.ParquetFiles(parquet.New(info.DestinationLocation, parquet.WithSQL(parquetsql.DuckDB())), filepath.Join(bucket, info.Dataset), info.Dataset), nil
	}
	return serve.Source{}, fmt.Errorf("serve: pipeline %q: unknown destination type %q in its pipeline.json", info.Name, info.DestinationType)
}
