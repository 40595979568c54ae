package inproc

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// BenchmarkDecodeStepKernels sets a decode step of the model against the
// same step's matmul calls alone, in one process, to tell what a step
// loses around its kernels (attention, RoPE, the cache stores, the calls
// into the backend) from what the kernels lose against the memory. The
// model is NURI_BENCH_MODEL, a llama-shaped file (blk.N.attn_q …
// ffn_down, as `nuri synth --shape llama-1b` writes). Its weights are
// packed a second time into an arena of the benchmark's own, and a
// kernels-only step runs the calls the CPU backend makes for one token:
// q/k/v after the norm, o with its residual, gate/up after the norm, down
// after SwiGLU with its residual, the output matrix after the norm. Each
// round measures the read bandwidth (1 GiB) before 16 model steps and
// again before 16 kernel steps; every step reads the same weight bytes.
// It reports the medians over rounds of each median step's bytes ÷ time ÷
// its probe, and of model ÷ kernels step time. It needs the packed
// kernels (AVX-512 on amd64) for the file's types and fails where this CPU
// has none:
//
//	NURI_BENCH_MODEL=/tmp/l1b-q4_0.gguf go test ./bench/inproc -run '^$' -bench DecodeStepKernels -benchtime 16x
func BenchmarkDecodeStepKernels(b *testing.B) {
	path := os.Getenv("NURI_BENCH_MODEL")
	if path == "" {
		b.Fatal("set NURI_BENCH_MODEL to a llama-shaped GGUF model (nuri synth --shape llama-1b --type Q4_0 --out FILE)")
	}
	dev := cpu.New(0)
	defer dev.Close()
	m, err := model.Load(path, model.LoadOptions{Device: dev})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	mc := m.Config()
	kv, err := model.NewSequenceViewOn(dev, mc, 256, 16, model.SameKV(quant.F16))
	if err != nil {
		b.Fatal(err)
	}
	logits := make([]float32, mc.NVocab)
	batch := &model.Batch{Tokens: []int32{0}, Pos: []int32{0}, Seq: []int32{0}}
	step := 0
	modelStep := func() {
		// Positions 0-63 over and over: the depth of issue 5's tg test.
		batch.Tokens[0], batch.Pos[0] = int32(step*7919%mc.NVocab), int32(step%64)
		step++
		if err := m.Forward(batch, kv, logits); err != nil {
			b.Fatal(err)
		}
	}

	p := kernels.NewPool(dev.Threads())
	defer p.Close()
	ks, err := newKernelStep(p, path, mc)
	if err != nil {
		b.Fatal(err)
	}
	probe := kernels.NewBandwidthProbe(1 << 30)
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	medianStep := func(run func()) float64 {
		secs := make([]float64, 16)
		for i := range secs {
			start := time.Now()
			run()
			secs[i] = time.Since(start).Seconds()
		}
		return median(secs)
	}
	modelStep() // warm-up: first-touch of the cache and the scratch
	ks.run(logits)
	var modelRoof, kernelRoof, ratio []float64
	for b.Loop() {
		bw := probe.Measure(p) * 1e9
		tm := medianStep(modelStep)
		modelRoof = append(modelRoof, float64(ks.bytes)/tm/bw)
		bw = probe.Measure(p) * 1e9
		tk := medianStep(func() { ks.run(logits) })
		kernelRoof = append(kernelRoof, float64(ks.bytes)/tk/bw)
		ratio = append(ratio, tm/tk)
	}
	b.ReportMetric(median(modelRoof), "model-roof")
	b.ReportMetric(median(kernelRoof), "kernels-roof")
	b.ReportMetric(median(ratio), "model/kernels")
	b.ReportMetric(float64(ks.bytes)/1e6, "MB/step")
}

// kernelStep is a decode step's matmul calls alone, on weights packed from
// a llama-shaped file.
type kernelStep struct {
	p      *kernels.Pool
	layers []kernelLayer
	out    *kernels.PackedWeights
	bytes  int
	// The step's activations: the residual stream and the calls' outputs.
	res, norm, q, k, v, o, gate, up []float32
	qkvOut, gateUpOut, logitsOut    [][]float32 // the shared calls' outputs, made once
	outs                            []*kernels.PackedWeights
}

type kernelLayer struct {
	qkv, gateUp []*kernels.PackedWeights
	o, down     *kernels.PackedWeights
}

func newKernelStep(p *kernels.Pool, path string, mc model.Config) (*kernelStep, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() // packing copies the weights out of the mapping
	arena := kernels.NewArena()
	s := &kernelStep{p: p}
	pack := func(name string) (*kernels.PackedWeights, error) {
		ti, ok := f.Tensor(name)
		if !ok || len(ti.Dims) != 2 {
			return nil, fmt.Errorf("%s: no 2-D tensor %s (a llama-shaped model is needed)", path, name)
		}
		pw, err := kernels.PackWeightsIn(p, arena, ti.Type, f.TensorData(ti), int(ti.Dims[1]), int(ti.Dims[0]))
		if err != nil {
			return nil, fmt.Errorf("pack %s: %w", name, err)
		}
		s.bytes += pw.Bytes()
		return pw, nil
	}
	packAll := func(names ...string) ([]*kernels.PackedWeights, error) {
		var pws []*kernels.PackedWeights
		for _, n := range names {
			pw, err := pack(n)
			if err != nil {
				return nil, err
			}
			pws = append(pws, pw)
		}
		return pws, nil
	}
	for i := range mc.NLayer {
		pws, err := packAll(fmt.Sprintf("blk.%d.attn_q.weight", i), fmt.Sprintf("blk.%d.attn_k.weight", i), fmt.Sprintf("blk.%d.attn_v.weight", i),
			fmt.Sprintf("blk.%d.attn_output.weight", i), fmt.Sprintf("blk.%d.ffn_gate.weight", i), fmt.Sprintf("blk.%d.ffn_up.weight", i),
			fmt.Sprintf("blk.%d.ffn_down.weight", i))
		if err != nil {
			return nil, err
		}
		s.layers = append(s.layers, kernelLayer{qkv: pws[:3], o: pws[3], gateUp: pws[4:6], down: pws[6]})
	}
	out := "output.weight"
	if _, ok := f.Tensor(out); !ok {
		out = "token_embd.weight" // tied
	}
	if s.out, err = pack(out); err != nil {
		return nil, err
	}
	l := s.layers[0]
	s.res, s.norm = make([]float32, l.o.Rows), make([]float32, l.o.Rows)
	for i := range s.res {
		s.res[i], s.norm[i] = float32(i%7)-3, 1
	}
	s.q, s.k, s.v, s.o = make([]float32, l.qkv[0].Rows), make([]float32, l.qkv[1].Rows), make([]float32, l.qkv[2].Rows), make([]float32, l.o.Rows)
	s.gate, s.up = make([]float32, l.gateUp[0].Rows), make([]float32, l.gateUp[1].Rows)
	s.qkvOut, s.gateUpOut = [][]float32{s.q, s.k, s.v}, [][]float32{s.gate, s.up}
	s.logitsOut, s.outs = make([][]float32, 1), []*kernels.PackedWeights{s.out}
	return s, nil
}

// run is one step; the output matrix writes into logits.
func (s *kernelStep) run(logits []float32) {
	const eps = 1e-5
	for _, l := range s.layers {
		kernels.MatMulPackedSharedNorm(s.p, s.qkvOut, l.qkv, s.res, 1, s.norm, eps)
		kernels.MatMulPackedResidual(s.p, s.res, s.o, l.o, s.q, 1)
		kernels.MatMulPackedSharedNorm(s.p, s.gateUpOut, l.gateUp, s.res, 1, s.norm, eps)
		kernels.MatMulPackedResidualSwiGLU(s.p, s.res, s.o, l.down, s.gate, s.up, 1)
		for i := range s.res { // keep the residual stream finite
			s.res[i] *= 0.5
		}
	}
	s.logitsOut[0] = logits
	kernels.MatMulPackedSharedNorm(s.p, s.logitsOut, s.outs, s.res, 1, s.norm, eps)
}
