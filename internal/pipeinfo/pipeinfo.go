package pipeinfo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File is the name of the record in the pipeline's working folder.
const File = "pipeline.json"

// Record is the JSON layout of pipeline.json.
type Record struct {
	PipelineName        string `json:"pipeline_name"`
	DestinationType     string `json:"destination_type"`
	DestinationLocation string `json:"destination_location"`
	DatasetName         string `json:"dataset_name"`
	DefaultSchemaName   string `json:"default_schema_name,omitempty"`
	LastLoadID          string `json:"last_load_id,omitempty"`
	// LastLoadRows is the rows the last load wrote per table, for a reader
	// that cannot open the destination (a DuckDB file held by a load).
	LastLoadRows map[string]int64 `json:"last_load_row_counts,omitempty"`
}

// Info is what the working folder records about a pipeline.
type Info struct {
	Name, DestinationType, DestinationLocation, Dataset, SchemaName, LastLoadID string
	// LastLoadRows is the rows the last load wrote per table (nil when
	// not recorded).
	LastLoadRows map[string]int64
}

// Read reads the pipeline's record from dir/name/pipeline.json.
func Read(dir, name string) (*Info, error) {
	raw, err := os.ReadFile(filepath.Join(dir, name, File))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("pipeinfo: pipeline %q not found in %s", name, dir)
		}
		return nil, fmt.Errorf("pipeinfo: read pipeline %q: %w", name, err)
	}
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("pipeinfo: pipeline %q: bad %s: %w", name, File, err)
	}
	return &Info{Name: r.PipelineName, DestinationType: r.DestinationType,
		DestinationLocation: r.DestinationLocation, Dataset: r.DatasetName,
		SchemaName: r.DefaultSchemaName, LastLoadID: r.LastLoadID, LastLoadRows: r.LastLoadRows}, nil
}
