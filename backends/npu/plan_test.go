package npu_test

import (
	"math"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/backends/npu"
)

// llama1b is the llama-1b synth shape (Llama-3.2-1B's hyper-parameters,
// tied embeddings) as the planner sees it.
func llama1b() npu.ModelShape {
	const E, L, F, V, hd, nh, nkv = 2048, 16, 8192, 128256, 64, 32, 8
	var params, bytes float64
	add := func(rows, cols int) {
		params += float64(rows) * float64(cols)
		bytes += float64(npu.DeviceBytes(rows, cols))
	}
	for range L {
		add(nh*hd, E)
		add(nkv*hd, E)
		add(nkv*hd, E)
		add(E, nh*hd)
		add(F, E)
		add(F, E)
		add(E, F)
		bytes += 2 * float64(npu.DeviceBytes(1, E)) // norms
	}
	add(V, E) // token_embd, also the lm_head
	return npu.ModelShape{NLayer: L, NEmbd: E, NFF: F, NVocab: V, NHead: nh, NHeadKV: nkv, HeadDimK: hd, HeadDimV: hd,
		MatrixParams: params, WeightBytes: bytes}
}

func TestPlan(t *testing.T) {
	m := llama1b()
	rngd, atom := npu.Profiles()[0], npu.Profiles()[1]
	w := npu.Workload{QPS: 0.05, PromptTokens: 512, OutputTokens: 128}
	low, err := npu.Plan(rngd, m, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("low load: %+v", low)
	// One card; a decode step at batch ~1 reads the weights once.
	wantStep := time.Duration(m.WeightBytes / rngd.Bandwidth * 1e9)
	if low.Cards != 1 || low.DecodeBound != "memory" || math.Abs(float64(low.Step-wantStep)) > 0.02*float64(wantStep) {
		t.Errorf("low load: %d cards, %s-bound step %v, want 1 card and ≈%v", low.Cards, low.DecodeBound, low.Step, wantStep)
	}
	if low.TPOT < low.Step || low.TTFT < low.Prefill {
		t.Errorf("TPOT %v < step %v or TTFT %v < prefill %v", low.TPOT, low.Step, low.TTFT, low.Prefill)
	}
	// A 512-token prefill is 2·params·512 int8 ops: compute bound.
	if want := time.Duration(2 * m.MatrixParams * 512 / rngd.Int8OPS * 1e9); low.PrefillBound != "compute" || low.Prefill < want {
		t.Errorf("prefill %v (%s-bound), want ≥ %v compute-bound", low.Prefill, low.PrefillBound, want)
	}
	kvBlock := float64(16 * 16 * 8 * 128 * 2) // layers·kv heads·(k+v dims)·f16, 16 positions
	if low.KVBytesPerBlock != kvBlock {
		t.Errorf("KV block %v bytes, want %v", low.KVBytesPerBlock, kvBlock)
	}
	if want := int((float64(rngd.Memory) - m.WeightBytes - low.Scratch) / kvBlock); low.KVBlocksPerCard != want {
		t.Errorf("KV blocks per card %d, want %d", low.KVBlocksPerCard, want)
	}
	// A latent cache (V the first 512 of K's 576) holds K alone.
	mla := m
	mla.NHeadKV, mla.HeadDimK, mla.HeadDimV, mla.VInK = 1, 576, 512, true
	if e, err := npu.Plan(rngd, mla, w); err != nil || e.KVBytesPerBlock != float64(16*16*576*2) {
		t.Errorf("latent cache: %v bytes a block, %v; want %d", e.KVBytesPerBlock, err, 16*16*576*2)
	}
	// Cards grow with the rate, and the slower chip needs more of them.
	prev := low.Cards
	for _, qps := range []float64{10, 100, 1000} {
		w.QPS = qps
		e, err := npu.Plan(rngd, m, w)
		if err != nil {
			t.Fatal(err)
		}
		a, err := npu.Plan(atom, m, w)
		if err != nil {
			t.Fatal(err)
		}
		if e.Cards < prev || a.Cards < e.Cards || e.Load > 1 || a.Load > 1 {
			t.Errorf("%g qps: rngd %d cards (load %.2f), atom %d (load %.2f), previous %d", qps, e.Cards, e.Load, a.Cards, a.Load, prev)
		}
		if float64(e.Replicas)*e.MaxQPSPerReplica < qps {
			t.Errorf("%g qps: %d replicas of %.3g qps do not cover it", qps, e.Replicas, e.MaxQPSPerReplica)
		}
		prev = e.Cards
	}
	// A model bigger than one ATOM card is split over two.
	big := m
	big.WeightBytes = 20 << 30
	e, err := npu.Plan(atom, big, npu.Workload{QPS: 1, PromptTokens: 128, OutputTokens: 32})
	if err != nil {
		t.Fatal(err)
	}
	if e.CardsPerReplica != 2 {
		t.Errorf("20 GiB on 16 GiB cards: %d cards per replica, want 2", e.CardsPerReplica)
	}
	if _, err := npu.Plan(rngd, m, npu.Workload{QPS: 0, PromptTokens: 1, OutputTokens: 1}); err == nil {
		t.Error("zero qps accepted")
	}
}

// TestPlanWindowed: the same model with three layers of four windowed
// (512 positions) holds a long sequence's cache mostly in its full
// layers: more sequences fit, and a decode step reads less of them.
func TestPlanWindowed(t *testing.T) {
	m := llama1b()
	rngd := npu.Profiles()[0]
	w := npu.Workload{QPS: 0.05, PromptTokens: 8000, OutputTokens: 192}
	one, err := npu.Plan(rngd, m, w)
	if err != nil {
		t.Fatal(err)
	}
	perPos := float64(16 * 8 * 128 * 2) // layers·kv heads·(k+v dims)·f16
	win := m
	win.KVFullBytes, win.KVWindowBytes, win.Window = perPos/4, perPos*3/4, 512
	e, err := npu.Plan(rngd, win, w)
	if err != nil {
		t.Fatal(err)
	}
	free := float64(rngd.Memory) - m.WeightBytes - one.Scratch
	if want := int(free / (perPos/4*8192 + perPos*3/4*512)); e.MaxSeqs != want || one.MaxSeqs != int(free/(perPos*8192)) {
		t.Errorf("%d sequences windowed (want %d), %d in one pool (want %d)", e.MaxSeqs, want, one.MaxSeqs, int(free/(perPos*8192)))
	}
	if e.KVBytesPerBlock != one.KVBytesPerBlock || e.Step >= one.Step || e.Prefill > one.Prefill {
		t.Errorf("windowed: block %v, step %v, prefill %v; one pool: %v, %v, %v", e.KVBytesPerBlock, e.Step, e.Prefill,
			one.KVBytesPerBlock, one.Step, one.Prefill)
	}
	t.Logf("one pool: %d sequences, step %v; windowed: %d sequences, step %v", one.MaxSeqs, one.Step, e.MaxSeqs, e.Step)
}
