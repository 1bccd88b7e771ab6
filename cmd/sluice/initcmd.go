package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
)

//go:embed templates
var templates embed.FS

// The files init writes, relative to the working dir.
const (
	initSpecFile   = "rest_api_pipeline.yaml"
	initSecretName = "API_TOKEN"
)

func (a *app) initCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "init SOURCE [DESTINATION]",
		Short: "Write an example pipeline spec and secrets file (like dlt init)",
		Long: `Write an example pipeline to start from, as dlt init does:

  rest_api_pipeline.yaml   a commented spec loading GitHub issues (incremental)
                           and their comments (a child resource) with auth,
                           pagination and resource defaults
  .sluice/secrets.toml     the API_TOKEN secret the spec reads as ${API_TOKEN}

SOURCE is rest_api; DESTINATION is duckdb (default) or parquet. An existing
spec is not overwritten unless --force is given; an existing secrets file is
never overwritten (API_TOKEN is added to it when missing).`,
		Example: "  sluice init rest_api duckdb",
		Args:    args(1, 2, "SOURCE [DESTINATION], e.g. rest_api duckdb"),
		RunE: func(c *cobra.Command, args []string) error {
			dest := spec.DuckDB
			if len(args) > 1 {
				dest = args[1]
			}
			return a.init(args[0], dest, force)
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "overwrite an existing "+initSpecFile)
	return c
}

// initFiles renders the example spec and secrets file for destination.
func initFiles(destination string) (specText, secretsText []byte, err error) {
	var data struct{ Destination, DestinationName string }
	switch destination {
	case spec.DuckDB:
		data.Destination = "destination: duckdb            # rest_api_github.duckdb here; or {type: duckdb, path: ./github.duckdb}"
		data.DestinationName = "DuckDB"
	case spec.Parquet:
		data.Destination = "destination:                     # Parquet files under <bucket_url>/<dataset_name>/<table>/\n  type: parquet\n  bucket_url: ./data"
		data.DestinationName = "Parquet files"
	default:
		return nil, nil, usageErrorf("unknown destination %q (want duckdb or parquet)", destination)
	}
	raw, err := templates.ReadFile("templates/rest_api_pipeline.yaml")
	if err != nil {
		return nil, nil, err
	}
	t, err := template.New("spec").Parse(string(raw))
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, nil, err
	}
	sec, err := templates.ReadFile("templates/secrets.toml")
	if err != nil {
		return nil, nil, err
	}
	return b.Bytes(), sec, nil
}

func (a *app) init(source, destination string, force bool) error {
	if source != "rest_api" {
		return usageErrorf("unknown source %q: sluice init knows rest_api", source)
	}
	specText, secretsText, err := initFiles(destination)
	if err != nil {
		return err
	}
	if _, err := os.Stat(initSpecFile); err == nil && !force {
		return fmt.Errorf("%s already exists; pass --force to overwrite it", initSpecFile)
	}
	secretsPath := filepath.FromSlash(spec.SecretsFile)
	if err := os.MkdirAll(filepath.Dir(secretsPath), 0o700); err != nil {
		return err
	}
	secretsNote := "created"
	existing, err := os.ReadFile(secretsPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.WriteFile(secretsPath, secretsText, 0o600); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		vals, err := spec.ParseSecrets(existing, secretsPath)
		if err != nil {
			return err
		}
		if _, ok := vals[initSecretName]; ok {
			secretsNote = "kept as it was"
		} else {
			// Flat keys must come before the first [section].
			tmpl, err := spec.ParseSecrets(secretsText, "templates/secrets.toml")
			if err != nil {
				return err
			}
			line := fmt.Sprintf("%s = %q  # added by sluice init\n", initSecretName, tmpl[initSecretName])
			if err := os.WriteFile(secretsPath, append([]byte(line), existing...), 0o600); err != nil {
				return err
			}
			secretsNote = "added " + initSecretName
		}
	}
	ignore := filepath.Join(filepath.Dir(secretsPath), ".gitignore")
	if _, err := os.Stat(ignore); errors.Is(err, os.ErrNotExist) {
		_ = os.WriteFile(ignore, []byte("secrets.toml\n"), 0o644)
	}
	if err := os.WriteFile(initSpecFile, specText, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, `Wrote %s and %s (%s).

Next steps:
  1. Put your token in %s as %s, or export %s=...
  2. Change %s for your API (its comments say what each key does).
  3. Run it:        sluice run %s
  4. Look at it:    sluice pipeline rest_api_github show
`, initSpecFile, spec.SecretsFile, secretsNote, spec.SecretsFile, initSecretName, initSecretName, initSpecFile, initSpecFile)
	return nil
}

// warnPlaceholders warns, one line per secret, when a secret the spec uses
// still holds a placeholder sluice init wrote (the values in
// templates/secrets.toml): sent as it is, it fails only at the API, with a
// 401, or after retries when the API cannot be reached.
func (a *app) warnPlaceholders(s *spec.Spec) {
	raw, err := templates.ReadFile("templates/secrets.toml")
	if err != nil {
		return
	}
	tmpl, err := spec.ParseSecrets(raw, "templates/secrets.toml")
	if err != nil {
		return
	}
	placeholder := map[string]bool{}
	for _, v := range tmpl {
		placeholder[v] = true
	}
	var names []string
	for name, v := range s.SecretsByName {
		if placeholder[v] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(a.stderr, "sluice: warning: secret %s still holds the placeholder sluice init wrote: put the real value in %s or the environment\n", name, spec.SecretsFile)
	}
}
