package inproc

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nuri-ai/nuri/bench"
	"github.com/nuri-ai/nuri/model"
)

// PrefillResult is the prefill that precedes the batched runs.
type PrefillResult struct {
	Sequences int     `json:"sequences"`
	Tokens    int     `json:"tokens"`
	Seconds   float64 `json:"seconds"`
	TPS       float64 `json:"tps"`
}

// BatchedResult is one llama-batched-bench row: B sequences, each holding a
// Prompt-token context, decode Gen tokens together (one forward pass per
// step with one token of each sequence).
type BatchedResult struct {
	B       int       `json:"b"`
	Prompt  int       `json:"prompt"`
	Gen     int       `json:"gen"`
	Seconds []float64 `json:"seconds"` // per repetition, decode only
	// TPS are aggregate generation rates: B × Gen ÷ seconds.
	TPS      []float64 `json:"tps"`
	AvgTPS   float64   `json:"avg_ts"`
	StdTPS   float64   `json:"stddev_ts"`
	BestTPS  float64   `json:"best_ts"`
	CPUShare float64   `json:"cpu_share,omitempty"` // as in TestResult
	CPUWait  *float64  `json:"cpu_wait,omitempty"`  // as in TestResult
	// HostSteal is as in TestResult.
	HostSteal *float64   `json:"host_steal,omitempty"`
	Steps     *StepStats `json:"steps,omitempty"`
	// GOPS is 2 × params × B × Gen per second at the mean rate.
	GOPS float64 `json:"gops"`
	// SimSeconds and SimTPS: a simulator's device time per repetition and
	// the mean aggregate rate in it (as in TestResult).
	SimSeconds []float64 `json:"sim_seconds,omitempty"`
	SimTPS     float64   `json:"sim_ts,omitempty"`
	// Roofline is the memory bound of a step that reads the weights once
	// for all B tokens plus every sequence's KV; batched decode is meant to
	// approach compute limits instead, so ratios well below 1 are expected
	// once B is large.
	Roofline *Roofline `json:"roofline,omitempty"`
}

// batched prefills max(B) sequences once, each with its own random prompt
// of BatchPrompt tokens and its own cache blocks, then runs each batch size
// on the first B of them. Every repetition decodes Gen steps from the end
// of the prompts, rewriting the same positions, so each starts from the
// same state.
func (r *runner) batched(info ModelInfo, res *ModelResults) (err error) {
	nSeq := slices.Max(r.cfg.Batch)
	p, n := r.cfg.BatchPrompt, r.cfg.batchGen()
	bs := r.cfg.BlockSize
	perSeq := (p + n + bs - 1) / bs
	cache, err := model.NewKVCacheOn(r.dev, r.mc, nSeq*perSeq, bs, r.kvType)
	if err != nil {
		return fmt.Errorf("batched: %w", err)
	}
	defer func() { err = errors.Join(err, cache.Free()) }()
	kv := model.KVView{Cache: cache, Tables: make([][]int32, nSeq)}
	for s := range kv.Tables {
		kv.Tables[s] = make([]int32, perSeq)
		for i := range kv.Tables[s] {
			kv.Tables[s][i] = int32(s*perSeq + i)
		}
	}

	pre, err := r.prefillSequences(kv, nSeq)
	if err != nil {
		return err
	}
	res.BatchPrefill = pre
	r.prog.Add(true)

	tokens := r.randomTokens(nSeq * n)
	for _, B := range r.cfg.Batch {
		br := BatchedResult{B: B, Prompt: p, Gen: n}
		b := &model.Batch{Tokens: make([]int32, B), Pos: make([]int32, B), Seq: make([]int32, B), Logits: make([]bool, B)}
		for s := range B {
			b.Seq[s], b.Logits[s] = int32(s), true // every sequence samples its next token
		}
		step := func(i int) error {
			for s := range B {
				b.Tokens[s], b.Pos[s] = tokens[s*n+i], int32(p+i)
			}
			return r.forward(b, kv)
		}
		if err := step(0); err != nil {
			return fmt.Errorf("batch %d warm-up: %w", B, err)
		}
		var cpu reps
		var steps stepTimer
		for range r.cfg.Reps {
			sp, sim := startSpan(), r.simStart()
			for i := range n {
				steps.start()
				if err := step(i); err != nil {
					return fmt.Errorf("batch %d step %d: %w", B, i, err)
				}
				steps.stop()
			}
			r.simStop(&br.SimSeconds, sim)
			sec := cpu.add(sp)
			br.Seconds = append(br.Seconds, sec)
			br.TPS = append(br.TPS, float64(B*n)/sec)
			r.prog.Add(true)
		}
		br.AvgTPS, br.StdTPS = bench.MeanStd(br.TPS)
		br.BestTPS, br.CPUShare, br.CPUWait = slices.Max(br.TPS), cpu.share(r.threads), cpu.waitShare(r.threads)
		br.HostSteal = cpu.stealShare()
		br.Steps = steps.stats(B)
		br.GOPS = 2 * float64(info.ActiveParams) * br.AvgTPS / 1e9
		br.SimTPS = simRate(br.SimSeconds, B*n)
		res.Batched = append(res.Batched, br)
	}
	return nil
}

// prefillSequences writes the prompts of sequences 0..nSeq-1 in passes of
// at most UBatch tokens, several sequences per pass when they fit (as
// llama-batched-bench does), with logits for each sequence's last prompt
// token and for each pass's last token.
func (r *runner) prefillSequences(kv model.KVView, nSeq int) (*PrefillResult, error) {
	p := r.cfg.BatchPrompt
	total := nSeq * p
	toks := r.randomTokens(total)
	var passes []*model.Batch
	for lo := 0; lo < total; lo += r.cfg.UBatch {
		hi := min(lo+r.cfg.UBatch, total)
		b := &model.Batch{Tokens: toks[lo:hi], Pos: make([]int32, hi-lo), Seq: make([]int32, hi-lo), Logits: make([]bool, hi-lo)}
		for i := range b.Pos {
			g := lo + i
			b.Seq[i], b.Pos[i] = int32(g/p), int32(g%p)
			b.Logits[i] = g%p == p-1 || g == hi-1
		}
		passes = append(passes, b)
	}
	// Warm-up: the first pass only (it faults in the weights; repeating the
	// whole prefill would double the longest part of a batched run).
	if err := r.forward(passes[0], kv); err != nil {
		return nil, fmt.Errorf("batched prefill warm-up: %w", err)
	}
	start := time.Now()
	for _, b := range passes {
		if err := r.forward(b, kv); err != nil {
			return nil, fmt.Errorf("batched prefill: %w", err)
		}
	}
	sec := time.Since(start).Seconds()
	return &PrefillResult{Sequences: nSeq, Tokens: total, Seconds: sec, TPS: float64(total) / sec}, nil
}
