package model_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// loraSpec is one adapted matrix of a test adapter.
type loraSpec struct {
	name string
	rank int
}

// writeLoRA writes an adapter for the F32 model at base with random A and
// B on each spec's matrix (B scaled so the change is a few per cent of
// the logits), and returns its path and the merged model: each W replaced
// by W + scale·alpha/rank·B·A, computed in float64.
func writeLoRA(t *testing.T, base string, specs []loraSpec, alpha, scale float32, seed uint64) (adapter, merged string) {
	return writeLoRAOf(t, base, quant.F32, specs, alpha, scale, seed)
}

// writeLoRAOf is writeLoRA with A and B of type typ (F32, F16 or BF16;
// the merged weights use their rounded values).
func writeLoRAOf(t *testing.T, base string, typ quant.Type, specs []loraSpec, alpha, scale float32, seed uint64) (adapter, merged string) {
	t.Helper()
	f, err := gguf.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rand.New(rand.NewPCG(seed, 2))
	adapter = filepath.Join(t.TempDir(), "adapter.gguf")
	w, err := gguf.Create(adapter)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Set("general.architecture", gguf.String(f.Arch())))
	must(w.Set("general.type", gguf.String("adapter")))
	must(w.Set("adapter.type", gguf.String("lora")))
	must(w.Set("adapter.lora.alpha", gguf.Float32(alpha)))
	edits := map[string]tensorEdit{}
	var datas [][]byte
	var names []string
	for _, sp := range specs {
		ti, ok := f.Tensor(sp.name)
		if !ok || ti.Type != quant.F32 {
			t.Fatalf("base tensor %s missing or not F32", sp.name)
		}
		in, out := int(ti.Dims[0]), int(ti.Dims[1])
		a := make([]float32, sp.rank*in)
		for i := range a {
			a[i] = float32(r.NormFloat64()) / float32(math.Sqrt(float64(in)))
		}
		b := make([]float32, out*sp.rank)
		for i := range b {
			b[i] = float32(r.NormFloat64()) * 0.05
		}
		must(w.AddTensor(sp.name+".lora_a", typ, uint64(in), uint64(sp.rank)))
		must(w.AddTensor(sp.name+".lora_b", typ, uint64(sp.rank), uint64(out)))
		for _, v := range [][]float32{a, b} {
			data, err := typ.RowBytes(len(v))
			must(err)
			buf := make([]byte, data)
			must(quant.Quantize(typ, v, buf))
			must(quant.Dequantize(typ, buf, v)) // the values the model reads
			datas = append(datas, buf)
		}
		names = append(names, sp.name+".lora_a", sp.name+".lora_b")

		wt := bytesF32(f.TensorData(ti))
		s := float64(scale) * float64(alpha) / float64(sp.rank)
		for o := range out {
			for i := range in {
				d := 0.0
				for k := range sp.rank {
					d += float64(b[o*sp.rank+k]) * float64(a[k*in+i])
				}
				wt[o*in+i] = float32(float64(wt[o*in+i]) + s*d)
			}
		}
		edits[sp.name] = tensorEdit{dims: ti.Dims, data: f32Bytes(wt)}
	}
	for i, name := range names {
		must(w.WriteTensor(name, datas[i]))
	}
	must(w.Close())
	return adapter, rewriteGGUF(t, base, nil, edits, nil)
}

func f32Bytes(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func bytesF32(b []byte) []float32 {
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

// An adapter applied at run time gives the logits of the model with the
// adapter merged into its weights: on every matrix it may adapt, with two
// ranks, two adapters at once, chunked and single-token batches.
func TestLoRAMatchesMergedWeights(t *testing.T) {
	base := writeTiny(t, "F32", false, 5)
	specs := []loraSpec{
		{"blk.0.attn_q.weight", 4}, {"blk.0.attn_k.weight", 4}, {"blk.0.attn_v.weight", 2},
		{"blk.1.attn_output.weight", 4}, {"blk.0.ffn_gate.weight", 8}, {"blk.1.ffn_up.weight", 4},
		{"blk.1.ffn_down.weight", 4}, {"blk.0.ffn_down.weight", 2}, {"output.weight", 4},
	}
	adapter, merged := writeLoRA(t, base, specs, 8, 0.5, 1)
	load := func(path string, lora ...model.LoRA) model.Model {
		m, err := model.Load(path, model.LoadOptions{Threads: 2, LoRA: lora})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	prompt := []int32{1, 17, 42, 99, 3, 250, 7, 7, 64, 128, 5, 31}
	plain := teacherForce(t, load(base), prompt, len(prompt))
	want := teacherForce(t, load(merged), prompt, len(prompt))
	for _, chunk := range []int{len(prompt), 1, 5} {
		got := teacherForce(t, load(base, model.LoRA{Path: adapter, Scale: 0.5}), prompt, chunk)
		// Merged weights round W + ΔW to float32 once, the adapter adds
		// its product after the matmul: float32 rounding apart, 3.6e-7
		// measured after two layers (the adapter itself moves the logits
		// by 0.56).
		t.Logf("chunks of %d: rel-RMS %.2g from the merged model, %.2g between base and merged", chunk, testshared.RelRMS(got, want), testshared.RelRMS(plain, want))
		if e := testshared.RelRMS(got, want); e > 2e-6 {
			t.Errorf("chunks of %d: rel-RMS %.2g from the merged model", chunk, e)
		}
		if e := testshared.RelRMS(plain, want); e < 1e-2 {
			t.Fatalf("the adapter changes the logits by %.2g only: the test would not see it missing", e)
		}
	}
	// Two adapters add up: the same file twice at half the scale each.
	got := teacherForce(t, load(base, model.LoRA{Path: adapter, Scale: 0.25}, model.LoRA{Path: adapter, Scale: 0.25}), prompt, 4)
	if e := testshared.RelRMS(got, want); e > 2e-6 {
		t.Errorf("two half adapters: rel-RMS %.2g from the merged model", e)
	}
	// Adapters as convert_lora_to_gguf.py writes them by default, in 16
	// bits: the matmuls round their inputs (x, then A·x) to the weights'
	// type, which the merged float64 reference does not; measured 2.2e-4
	// (F16) and 1.4e-3 (BF16) against the adapter's 0.56.
	for _, tc := range []struct {
		typ quant.Type
		tol float64
	}{{quant.F16, 1e-3}, {quant.BF16, 8e-3}} {
		adapter16, merged16 := writeLoRAOf(t, base, tc.typ, specs, 8, 0.5, 1)
		got := teacherForce(t, load(base, model.LoRA{Path: adapter16, Scale: 0.5}), prompt, 5)
		want16 := teacherForce(t, load(merged16), prompt, len(prompt))
		e := testshared.RelRMS(got, want16)
		t.Logf("%v adapter: rel-RMS %.2g from the merged model", tc.typ, e)
		if e > tc.tol {
			t.Errorf("%v adapter: rel-RMS %.2g from the merged model", tc.typ, e)
		}
	}
	// Scale 0 is the base model.
	got = teacherForce(t, load(base, model.LoRA{Path: adapter, Scale: 0}), prompt, len(prompt))
	if e := testshared.RelRMS(got, plain); e > 1e-6 {
		t.Errorf("scale 0: rel-RMS %.2g from the base model", e)
	}
}

func TestLoRAErrors(t *testing.T) {
	base := writeTiny(t, "F32", true, 5)
	adapter, _ := writeLoRA(t, base, []loraSpec{{"blk.0.attn_q.weight", 4}}, 8, 1, 1)
	for _, tc := range []struct {
		name  string
		kv    map[string]*gguf.Value
		edits map[string]tensorEdit
		extra map[string][]uint64
		want  string
		is    error
	}{
		{"another architecture", map[string]*gguf.Value{"general.architecture": strVal("qwen2")}, nil, nil, `adapter for "qwen2"`, nil},
		{"not an adapter", map[string]*gguf.Value{"general.type": strVal("model")}, nil, nil, "general.type", nil},
		{"not LoRA", map[string]*gguf.Value{"adapter.type": strVal("control_vector")}, nil, nil, "adapter.type", nil},
		{"A without B", nil, map[string]tensorEdit{"blk.0.attn_q.weight.lora_b": {drop: true}}, nil, "no lora_b", nil},
		{"B of the wrong shape", nil, map[string]tensorEdit{"blk.0.attn_q.weight.lora_b": {dims: []uint64{4, 7}, data: make([]byte, 4*4*7)}}, nil, "lora_b make a 7x256 matrix", model.ErrBadShape},
		{"on the token embedding", nil, nil, map[string][]uint64{"token_embd.weight.lora_a": {256, 4}, "token_embd.weight.lora_b": {4, 512}}, "does not apply", nil},
		{"a tensor of no pair", nil, nil, map[string][]uint64{"blk.0.attn_q.weight.scale": {4}}, "not a LoRA pair's", nil},
	} {
		bad := rewriteGGUF(t, adapter, tc.kv, tc.edits, tc.extra)
		_, err := model.Load(base, model.LoadOptions{Threads: 1, LoRA: []model.LoRA{{Path: bad, Scale: 1}}})
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s: %v", tc.name, err)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
}

// Per-request adapters: in one batch a sequence that asks for the
// adapter gets, bit for bit, the logits of the model with the adapter
// applied to everything, and one that does not those of the base model,
// whether every row's logits are wanted or only the last of each
// sequence (the last layer then runs on those rows alone).
func TestLoRAPerRequest(t *testing.T) {
	base := writeTiny(t, "F32", false, 5)
	specs := []loraSpec{{"blk.0.attn_q.weight", 4}, {"blk.1.ffn_down.weight", 4}, {"blk.1.attn_output.weight", 2}, {"output.weight", 4}}
	adapter, _ := writeLoRA(t, base, specs, 8, 1, 3)
	load := func(lora ...model.LoRA) model.Model { return loadWithLoRA(t, base, lora...) }
	named := load(model.LoRA{Path: adapter, Scale: 1, Name: "a"})
	if got := named.Config().LoRA; len(got) != 1 || got[0] != "a" {
		t.Fatalf("Config().LoRA = %v", got)
	}
	pa := []int32{1, 17, 42, 99, 3, 250, 7}
	pb := []int32{1, 64, 128, 5, 31}
	wantA := teacherForce(t, load(model.LoRA{Path: adapter, Scale: 1}), pa, len(pa))
	plainA := teacherForce(t, load(), pa, len(pa))
	wantB := teacherForce(t, load(), pb, len(pb))
	if e := testshared.RelRMS(plainA, wantA); e < 1e-2 {
		t.Fatalf("the adapter moves the logits by %.2g only", e)
	}
	for _, lastOnly := range []bool{false, true} {
		checkPerRequest(t, named, pa, pb, 1, wantA, wantB, lastOnly)
	}
	nv := named.Config().NVocab
	// An id past the named adapters is a malformed batch.
	s, err := model.NewSequenceView(named.Config(), 4, 4, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	b := model.Batch{Tokens: []int32{1}, Pos: []int32{0}, Seq: []int32{0}, LoRA: []int32{2}}
	if err := named.Forward(&b, s, make([]float32, nv)); !errors.Is(err, model.ErrBadBatch) {
		t.Fatalf("adapter id 2 of 1: %v", err)
	}
	// Two adapters may not share a name.
	if _, err := model.Load(base, model.LoadOptions{LoRA: []model.LoRA{{Path: adapter, Name: "a"}, {Path: adapter, Name: "a"}}}); err == nil {
		t.Fatal("a name given twice accepted")
	}
}

// checkPerRequest runs prompts pa and pb interleaved in one batch, pa's
// rows with adapter id and pb's with none, and checks their logits bit
// for bit against wantA and wantB (teacher-forced, every position): of
// every row, or with lastOnly of each sequence's last.
func checkPerRequest(t *testing.T, m model.Model, pa, pb []int32, id int32, wantA, wantB []float32, lastOnly bool) {
	t.Helper()
	nv := m.Config().NVocab
	cache, err := model.NewKVCache(m.Config(), 4, 4, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	kv := model.KVView{Cache: cache, Tables: [][]int32{{0, 1}, {2, 3}}}
	var b model.Batch
	for i := range max(len(pa), len(pb)) {
		for s, p := range [][]int32{pa, pb} {
			if i < len(p) {
				b.Tokens = append(b.Tokens, p[i])
				b.Pos = append(b.Pos, int32(i))
				b.Seq = append(b.Seq, int32(s))
				b.Logits = append(b.Logits, !lastOnly || i == len(p)-1)
				b.LoRA = append(b.LoRA, id*int32(1-s)) // sequence 0 asks for the adapter
			}
		}
	}
	out := make([]float32, b.NumLogits()*nv)
	if err := m.Forward(&b, kv, out); err != nil {
		t.Fatal(err)
	}
	var gotA, gotB []float32
	r := 0
	for i, s := range b.Seq {
		if !b.Logits[i] {
			continue
		}
		if s == 0 {
			gotA = append(gotA, out[r*nv:(r+1)*nv]...)
		} else {
			gotB = append(gotB, out[r*nv:(r+1)*nv]...)
		}
		r++
	}
	wa, wb := wantA, wantB
	if lastOnly {
		wa, wb = wantA[len(wantA)-nv:], wantB[len(wantB)-nv:]
	}
	if i := firstDiff(gotA, wa); i >= 0 {
		t.Errorf("adapter %d, last only %v: the adapted sequence's logit %d is %v, want %v", id, lastOnly, i, gotA[i], wa[i])
	}
	if i := firstDiff(gotB, wb); i >= 0 {
		t.Errorf("adapter %d, last only %v: the plain sequence's logit %d is %v, want %v", id, lastOnly, i, gotB[i], wb[i])
	}
}

// Adapters loaded while the model serves (AdapterLoader) act as those
// given at load, bit for bit; an unloaded one's id stays invalid, a
// failed load leaves nothing of itself behind, and ids are not reused.
func TestLoRALoadWhileServing(t *testing.T) {
	base := writeTiny(t, "F32", false, 5)
	specs := []loraSpec{{"blk.0.attn_q.weight", 4}, {"blk.1.ffn_down.weight", 4}, {"blk.1.attn_output.weight", 2}, {"output.weight", 4}}
	adapter, _ := writeLoRA(t, base, specs, 8, 1, 3)
	other, _ := writeLoRA(t, base, []loraSpec{{"blk.0.ffn_up.weight", 8}}, 16, 1, 4)
	// The second pair's B has the wrong shape: its first pair is bound
	// before the load fails.
	broken := rewriteGGUF(t, adapter, nil, map[string]tensorEdit{"blk.1.ffn_down.weight.lora_b": {dims: []uint64{4, 7}, data: make([]byte, 4*4*7)}}, nil)
	load := func(lora ...model.LoRA) model.Model { return loadWithLoRA(t, base, lora...) }
	pa := []int32{1, 17, 42, 99, 3, 250, 7}
	pb := []int32{1, 64, 128, 5, 31}
	wantA := teacherForce(t, load(model.LoRA{Path: adapter, Scale: 1}), pa, len(pa))
	wantOther := teacherForce(t, load(model.LoRA{Path: other, Scale: 1}), pa, len(pa))
	plainA := teacherForce(t, load(), pa, len(pa))
	wantB := teacherForce(t, load(), pb, len(pb))
	if e := testshared.RelRMS(plainA, wantOther); e < 1e-2 {
		t.Fatalf("the second adapter moves the logits by %.2g only", e)
	}

	m := load()
	al, ok := m.(model.AdapterLoader)
	if !ok {
		t.Fatalf("%T does not load adapters while serving", m)
	}
	id, err := al.LoadLoRA(model.LoRA{Path: adapter, Scale: 1, Name: "a"})
	if err != nil || id != 1 {
		t.Fatalf("LoadLoRA: %d, %v", id, err)
	}
	checkPerRequest(t, m, pa, pb, 1, wantA, wantB, false)
	if _, err := al.LoadLoRA(model.LoRA{Path: other, Scale: 1}); err == nil {
		t.Error("an adapter without a name loaded while serving")
	}
	if _, err := al.LoadLoRA(model.LoRA{Path: broken, Scale: 1, Name: "broken"}); !errors.Is(err, model.ErrBadShape) {
		t.Errorf("a broken adapter: %v", err)
	}
	if err := al.UnloadLoRA(1); err != nil {
		t.Fatal(err)
	}
	if got := m.Config().LoRA; len(got) != 1 || got[0] != "" {
		t.Fatalf("Config().LoRA after unloading = %q", got)
	}
	if err := al.UnloadLoRA(1); err == nil {
		t.Error("an adapter unloaded twice")
	}
	s, err := model.NewSequenceView(m.Config(), 4, 4, model.SameKV(quant.F16))
	if err != nil {
		t.Fatal(err)
	}
	nv := m.Config().NVocab
	b := model.Batch{Tokens: []int32{1}, Pos: []int32{0}, Seq: []int32{0}, LoRA: []int32{1}}
	if err := m.Forward(&b, s, make([]float32, nv)); !errors.Is(err, model.ErrBadBatch) {
		t.Fatalf("an unloaded adapter's id: %v", err)
	}
	// The same name again, and another adapter: new ids, and no trace of
	// the unloaded adapter nor of the broken one's bound pair.
	for _, tc := range []struct {
		path string
		want []float32
	}{{adapter, wantA}, {other, wantOther}} {
		id, err := al.LoadLoRA(model.LoRA{Path: tc.path, Scale: 1, Name: "a"})
		if err != nil {
			t.Fatal(err)
		}
		checkPerRequest(t, m, pa, pb, id, tc.want, wantB, true)
		if err := al.UnloadLoRA(id); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Config().LoRA; len(got) != 3 {
		t.Errorf("Config().LoRA = %q, want three unloaded slots", got)
	}
	// Without adapters the model is the base model again.
	checkPerRequest(t, m, pb, pb, 0, wantB, wantB, false)
}

// loadWithLoRA loads the model at base with adapters, closed at the end of
// the test.
func loadWithLoRA(t *testing.T, base string, lora ...model.LoRA) model.Model {
	t.Helper()
	m, err := model.Load(base, model.LoadOptions{Threads: 2, LoRA: lora})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
