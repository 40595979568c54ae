package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// SchemaVersion names the layout of results.json; readers refuse others.
const SchemaVersion = "nuri.bench/v1"

// Better says which direction of a metric is an improvement, so that
// `nuri bench compare` can tell a faster run from a slower one.
type Better string

// Directions of improvement.
const (
	HigherIsBetter Better = "higher"
	LowerIsBetter  Better = "lower"
	// Neutral marks an informational figure (a count, a size).
	Neutral Better = ""
)

// Metric is one headline figure. Group and Name together identify it across
// runs (for example group "concurrency 4", name "output_throughput").
type Metric struct {
	Group  string  `json:"group,omitempty"`
	Name   string  `json:"name"`
	Unit   string  `json:"unit,omitempty"`
	Value  float64 `json:"value"`
	Better Better  `json:"better,omitempty"`
}

// Report is what every benchmark produces. Metrics, Results, Config and Env
// go to results.json; Sections are presentation for report.md and
// report.html and are not serialised.
type Report struct {
	Schema  string      `json:"schema"`
	Kind    string      `json:"kind"` // "serve", "model", "kernels"
	Title   string      `json:"title"`
	Label   string      `json:"label,omitempty"` // free name shown by compare
	Created time.Time   `json:"created"`
	Env     Environment `json:"environment"`
	Config  any         `json:"config,omitempty"`
	Metrics []Metric    `json:"metrics"`
	// Results is the kind-specific detail (per-level and per-request records
	// for serve). After ReadReport it holds a json.RawMessage.
	Results any `json:"results,omitempty"`

	Sections []Section `json:"-"`
}

// Section is one titled part of report.md / report.html.
type Section struct {
	Title        string
	Paragraphs   []string
	Preformatted string // printed verbatim in a code block
	Tables       []Table
	Charts       []Chart // HTML only; report.md points to report.html
}

// Table is a plain grid of cells. Cells that parse as numbers are
// right-aligned in both renderings.
type Table struct {
	Title   string
	Columns []string
	Rows    [][]string
}

// Chart renders itself as a standalone <svg> element.
type Chart interface {
	ChartTitle() string
	WriteSVG(w io.Writer) error
}

// NewReport starts a report of the given kind with the environment filled in.
func NewReport(kind, title string, env Environment) *Report {
	return &Report{
		Schema:  SchemaVersion,
		Kind:    kind,
		Title:   title,
		Created: env.Timestamp,
		Env:     env,
		Metrics: []Metric{},
	}
}

// AddMetric appends a headline figure.
func (r *Report) AddMetric(group, name, unit string, better Better, v float64) {
	r.Metrics = append(r.Metrics, Metric{Group: group, Name: name, Unit: unit, Value: v, Better: better})
}

// AddSection appends a presentation section.
func (r *Report) AddSection(s Section) { r.Sections = append(r.Sections, s) }

// Report file names inside the output directory.
const (
	ResultsFile  = "results.json"
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
)

// WriteReports creates dir if needed and writes results.json, report.md and
// report.html into it. Each file is written to a temporary name and renamed,
// so an interrupted run never leaves a half-written report behind.
func WriteReports(dir string, r *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report dir: %w", err)
	}
	writers := []struct {
		name  string
		write func(io.Writer, *Report) error
	}{
		{ResultsFile, WriteJSON},
		{MarkdownFile, WriteMarkdown},
		{HTMLFile, WriteHTML},
	}
	for _, w := range writers {
		var buf bytes.Buffer
		if err := w.write(&buf, r); err != nil {
			return fmt.Errorf("render %s: %w", w.name, err)
		}
		if err := writeFileAtomic(filepath.Join(dir, w.name), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return nil
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	return nil
}

// ReadReport loads a results.json written by WriteReports. Results and Config
// are kept as raw JSON; Sections are empty.
func ReadReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var raw struct {
		Report
		Config  json.RawMessage `json:"config"`
		Results json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse report %s: %w", path, err)
	}
	if raw.Schema != SchemaVersion {
		return nil, fmt.Errorf("report %s: schema %q, want %q", path, raw.Schema, SchemaVersion)
	}
	r := raw.Report
	if len(raw.Config) > 0 {
		r.Config = raw.Config
	}
	if len(raw.Results) > 0 {
		r.Results = raw.Results
	}
	return &r, nil
}
