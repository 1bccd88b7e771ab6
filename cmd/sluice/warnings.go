package main

import (
	"log/slog"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
	"github.com/sluicehq/sluice/rest"
)

// warnMergeOnParquet says, as dlt's filesystem destination does, that merge
// resources are appended to Parquet files: plain files cannot be upserted.
func warnMergeOnParquet(s *spec.Spec, cfg *rest.Config, log *slog.Logger) {
	if s.Destination.Type != spec.Parquet {
		return
	}
	for _, r := range cfg.Resources {
		wd := r.WriteDisposition
		if wd == "" && cfg.ResourceDefaults != nil {
			wd = cfg.ResourceDefaults.WriteDisposition
		}
		if wd == arrowbuf.Merge {
			log.Warn("merge is not supported by the parquet destination: rows are appended, not upserted (as in dlt's filesystem destination)", "resource", r.Name)
		}
	}
}
