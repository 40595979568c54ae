package engine

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/tokenizer"
)

// BenchmarkBatchedDecode measures aggregate generation throughput with 1,
// 4, 8 and 16 concurrent streams, in llama-batched-bench's shape: a
// 128-token prompt and 32 generated tokens per stream, greedy. Generation
// time covers the steps that only decode (sampling included); prefill is
// excluded, as batched-bench's S_TG does. The model comes from
// NURI_BENCH_MODEL (e.g. `nuri synth --shape llama-1b --type Q4_0 --out
// llama-1b-q4_0.gguf`), threads from NURI_BENCH_THREADS (default: all
// CPUs). Run with -benchtime 1x.
func BenchmarkBatchedDecode(b *testing.B) {
	m, tok := benchModel(b)
	const nPrompt, nGen = 128, 32
	var single float64
	for _, conc := range []int{1, 4, 8, 16} {
		b.Run(fmt.Sprintf("streams=%d", conc), func(b *testing.B) {
			var tps float64
			for b.Loop() {
				tps = measureDecode(b, m, tok, conc, nPrompt, nGen)
			}
			if conc == 1 {
				single = tps
			}
			b.ReportMetric(tps, "gen-t/s")
			if single > 0 {
				b.ReportMetric(tps/single, "x-single")
			}
		})
	}
}

// benchModel loads NURI_BENCH_MODEL with NURI_BENCH_THREADS threads
// (default: all CPUs).
func benchModel(b *testing.B) (model.Model, Tokenizer) {
	path := os.Getenv("NURI_BENCH_MODEL")
	if path == "" {
		b.Fatal("set NURI_BENCH_MODEL to a GGUF model (nuri synth --shape llama-1b --type Q4_0 --out FILE)")
	}
	threads := runtime.NumCPU()
	if v := os.Getenv("NURI_BENCH_THREADS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("NURI_BENCH_THREADS=%q: %v", v, err)
		}
		threads = n
	}
	m, err := model.Load(path, model.LoadOptions{Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	f, err := gguf.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := tokenizer.Load(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	return m, tok
}

// BenchmarkPrediction times one greedy reply of 128 tokens to a 16-token
// prompt with a prediction (Request.Prediction) against the same reply
// without: the prediction is the reply itself, the reply with two edits
// (five tokens in for ten, ten more left out), or the prompt (nothing in
// common). It reports each case's milliseconds and steps. The model comes
// from NURI_BENCH_MODEL, as BenchmarkBatchedDecode's. Run with
// -benchtime 1x:
//
//	NURI_BENCH_MODEL=l1b-q4_0.gguf go test ./engine -run '^$' -bench Prediction -benchtime 1x
func BenchmarkPrediction(b *testing.B) {
	m, tok := benchModel(b)
	e, err := New(Config{MaxNumSeqs: 1}, m, tok, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	prompt := randomPrompts(7, 1, 16, 16, m.Config().NVocab)[0]
	reply := func(pred []int32) ([]int32, time.Duration, int64) {
		steps := e.Stats().Steps
		s := submit(b, e, Request{Prompt: prompt, MaxTokens: 128, Sampling: greedyParams(), IgnoreEOS: true, Prediction: pred})
		t0 := time.Now()
		out := drive(b, e, []*Sequence{s}, 1000)[0]
		return out.tokens, time.Since(t0), e.Stats().Steps - steps
	}
	plain, _, _ := reply(nil)
	cases := []struct {
		name string
		pred []int32
	}{
		{"none", nil},
		{"reply", plain},
		{"edited", slices.Concat(plain[:40], []int32{5, 6, 7, 8, 9}, plain[50:90], plain[100:])},
		{"prompt", prompt},
	}
	for range b.N {
		for _, c := range cases {
			out, d, steps := reply(c.pred)
			if !slices.Equal(out, plain) {
				b.Fatalf("%s: the reply changed", c.name)
			}
			b.ReportMetric(float64(d.Microseconds())/1e3, c.name+"-ms")
			b.ReportMetric(float64(steps), c.name+"-steps")
		}
	}
}

// measureDecode runs conc requests to completion and returns generated
// tokens per second over the decode-only steps.
func measureDecode(b *testing.B, m model.Model, tok Tokenizer, conc, nPrompt, nGen int) float64 {
	perSeq := (nPrompt + nGen + DefaultBlockSize - 1) / DefaultBlockSize
	e, err := New(Config{NumBlocks: conc * perSeq, MaxNumSeqs: conc, MaxNumBatchedTokens: conc * nPrompt}, m, tok, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var seqs []*Sequence
	for i := range conc {
		p := randomPrompts(uint64(1000*conc+i), 1, 1, 300, m.Config().NVocab)[0]
		for len(p) < nPrompt { // distinct prompts: no prefix sharing
			p = append(p, randomPrompts(uint64(len(p)*7919+i), 1, 1, 300, m.Config().NVocab)[0]...)
		}
		seqs = append(seqs, submit(b, e, Request{Prompt: p, MaxTokens: nGen, Sampling: greedyParams(), IgnoreEOS: true}))
	}
	var decodeTime time.Duration
	decoded := 0
	for steps := 0; len(e.running)+len(e.waiting)+len(e.incoming) > 0 || steps == 0; steps++ {
		allDecode := len(e.waiting) == 0 && len(e.running) == conc
		for _, s := range e.running {
			allDecode = allDecode && s.isDecode()
		}
		n := len(e.running)
		t0 := time.Now()
		e.step()
		if allDecode {
			decodeTime += time.Since(t0)
			decoded += n
		}
		for _, s := range seqs {
			collect(s, &outcome{})
		}
	}
	if decoded != conc*(nGen-1) {
		b.Fatalf("%d tokens in decode-only steps, want %d", decoded, conc*(nGen-1))
	}
	return float64(decoded) / decodeTime.Seconds()
}
