package inproc

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nuri-ai/nuri/bench"
)

// LlamaBenchRecord is one ppP or tgN test in the record that llama-bench
// prints with -o json, jsonl or csv, so that scripts written for its
// output read ours: the same field names, units and meanings where Nuri
// has the setting, and the roofline ratio after them. Settings llama.cpp
// has and Nuri does not (GPU layers, split mode, flash attention, mmap)
// are left out rather than filled with values that would mean nothing.
type LlamaBenchRecord struct {
	BuildCommit   string    `json:"build_commit"`
	CPUInfo       string    `json:"cpu_info"`
	GPUInfo       string    `json:"gpu_info"`
	Backends      string    `json:"backends"`
	ModelFilename string    `json:"model_filename"`
	ModelType     string    `json:"model_type"`
	ModelSize     uint64    `json:"model_size"`
	ModelNParams  uint64    `json:"model_n_params"`
	NBatch        int       `json:"n_batch"`
	NUBatch       int       `json:"n_ubatch"`
	NThreads      int       `json:"n_threads"`
	TypeK         string    `json:"type_k"`
	TypeV         string    `json:"type_v"`
	NPrompt       int       `json:"n_prompt"`
	NGen          int       `json:"n_gen"`
	NDepth        int       `json:"n_depth"`
	TestTime      string    `json:"test_time"`
	AvgNs         int64     `json:"avg_ns"`
	StddevNs      int64     `json:"stddev_ns"`
	AvgTs         float64   `json:"avg_ts"`
	StddevTs      float64   `json:"stddev_ts"`
	SamplesNs     []int64   `json:"samples_ns"`
	SamplesTs     []float64 `json:"samples_ts"`
	// RooflineRatio is Nuri's own: a tgN test's t/s over the memory
	// roofline measured in the run (absent without one).
	RooflineRatio *float64 `json:"roofline_ratio,omitempty"`
}

// LlamaBenchRecords turns a run's ppP and tgN tests into llama-bench's
// records, in the order they ran. The batched runs have no llama-bench
// record and are not among them. n_batch is n_ubatch: Nuri has no larger
// logical batch for a prompt to be split from.
func LlamaBenchRecords(env bench.Environment, cfg ModelConfig, res *ModelResults) []LlamaBenchRecord {
	kvK, kvV := strings.ToLower(cfg.KVType), strings.ToLower(cfg.KVTypeV)
	if kvV == "" {
		kvV = kvK
	}
	recs := make([]LlamaBenchRecord, 0, len(res.Tests))
	for _, t := range res.Tests {
		r := LlamaBenchRecord{
			BuildCommit: env.Commit, CPUInfo: env.CPUModel, GPUInfo: strings.Join(res.DeviceInfo, "; "),
			Backends: res.Backend, ModelFilename: cfg.Model, ModelType: res.Model.Name,
			ModelSize: res.Model.SizeBytes, ModelNParams: res.Model.Params,
			NBatch: cfg.UBatch, NUBatch: cfg.UBatch, NThreads: res.Threads, TypeK: kvK, TypeV: kvV,
			NDepth: t.Depth, TestTime: t.Time.UTC().Format(time.RFC3339),
			AvgTs: t.AvgTPS, StddevTs: t.StdTPS, SamplesTs: t.TPS,
		}
		if strings.HasPrefix(t.Name, "tg") {
			r.NGen = t.Tokens
		} else {
			r.NPrompt = t.Tokens
		}
		ns := make([]float64, len(t.Seconds))
		for i, s := range t.Seconds {
			ns[i] = s * 1e9
			r.SamplesNs = append(r.SamplesNs, int64(math.Round(ns[i])))
		}
		mean, std := bench.MeanStd(ns)
		r.AvgNs, r.StddevNs = int64(math.Round(mean)), int64(math.Round(std))
		if t.Roofline != nil {
			ratio := t.Roofline.Ratio
			r.RooflineRatio = &ratio
		}
		recs = append(recs, r)
	}
	return recs
}

// LlamaBenchFormats are the forms WriteLlamaBench writes, as llama-bench's
// -o names them (its md is WriteModelText's table).
var LlamaBenchFormats = []string{"json", "jsonl", "csv"}

// WriteLlamaBench writes records as llama-bench's -o json (an array),
// jsonl (an object a line) or csv (a header row, then a row a test,
// without the per-repetition samples, as llama-bench's csv).
func WriteLlamaBench(w io.Writer, format string, recs []LlamaBenchRecord) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if recs == nil {
			recs = []LlamaBenchRecord{}
		}
		return enc.Encode(recs)
	case "jsonl":
		enc := json.NewEncoder(w)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(llamaBenchCSVHeader); err != nil {
			return err
		}
		for _, r := range recs {
			if err := cw.Write(r.csvRow()); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("llama-bench output %q: want one of %s", format, strings.Join(LlamaBenchFormats, ", "))
}

var llamaBenchCSVHeader = []string{"build_commit", "cpu_info", "gpu_info", "backends", "model_filename", "model_type",
	"model_size", "model_n_params", "n_batch", "n_ubatch", "n_threads", "type_k", "type_v", "n_prompt", "n_gen", "n_depth",
	"test_time", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "roofline_ratio"}

// csvRow is r in llamaBenchCSVHeader's order; floats with six decimals as
// llama-bench prints them, the ratio empty where there is none.
func (r LlamaBenchRecord) csvRow() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
	ratio := ""
	if r.RooflineRatio != nil {
		ratio = f(*r.RooflineRatio)
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i := strconv.Itoa
	return []string{r.BuildCommit, r.CPUInfo, r.GPUInfo, r.Backends, r.ModelFilename, r.ModelType,
		u(r.ModelSize), u(r.ModelNParams), i(r.NBatch), i(r.NUBatch), i(r.NThreads), r.TypeK, r.TypeV,
		i(r.NPrompt), i(r.NGen), i(r.NDepth), r.TestTime, strconv.FormatInt(r.AvgNs, 10), strconv.FormatInt(r.StddevNs, 10),
		f(r.AvgTs), f(r.StddevTs), ratio}
}
