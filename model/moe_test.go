package model_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/quant"
)

// writeDenseQwen3 writes a small dense qwen3 model (F32 weights).
func writeDenseQwen3(t *testing.T, seed uint64) string {
	t.Helper()
	s := synth.Shape{Name: "qwen3-test", Arch: "qwen3", Embd: 256, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 256,
		Vocab: 512, Ctx: 256, RopeBase: 1000000, Eps: 1e-6, QKNorm: true}
	path := filepath.Join(t.TempDir(), "dense.gguf")
	if err := synth.Write(path, synth.Options{Shape: s, Type: "F32", Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return path
}

// expertOf returns the bytes of expert e built from the dense matrix's
// bytes (F32): the dense weights times scale[e].
type expertOf func(name string, e int, dense []byte) []byte

// moeFromDense rewrites the dense model at src as a mixture of ne experts
// (k a token) whose experts are made by mk from the dense feed-forward
// matrices, with the router weights router(layer): a qwen3 model becomes
// qwen3moe, a qwen2 qwen2moe (with the dense block as its shared expert,
// behind a zero gate), a llama stays llama (Mixtral's form).
func moeFromDense(t *testing.T, src string, ne, k int, mk expertOf, router func(il int) []float32) string {
	t.Helper()
	f := testgguf.Open(t, src)
	arch := f.Arch()
	ff, _ := f.Int(arch + ".feed_forward_length")
	embd, _ := f.Int(arch + ".embedding_length")
	to := map[string]string{"qwen3": "qwen3moe", "qwen2": "qwen2moe"}[arch]
	if to == "" {
		to = arch
	}
	var kvs []gguf.KV
	for _, kv := range f.KV {
		if rest, ok := strings.CutPrefix(kv.Key, arch+"."); ok {
			kv.Key = to + "." + rest
		}
		kvs = append(kvs, kv)
	}
	kvs = append(kvs,
		gguf.KV{Key: "general.architecture", Value: gguf.String(to)},
		gguf.KV{Key: to + ".expert_count", Value: gguf.Uint32(uint32(ne))},
		gguf.KV{Key: to + ".expert_used_count", Value: gguf.Uint32(uint32(k))},
		gguf.KV{Key: to + ".expert_feed_forward_length", Value: gguf.Uint32(uint32(ff))})
	if to == "qwen2moe" {
		kvs = append(kvs, gguf.KV{Key: to + ".expert_shared_feed_forward_length", Value: gguf.Uint32(uint32(ff))})
	}
	var outs []testgguf.Tensor
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		var il int
		var kind string
		for _, kd := range []string{"ffn_gate", "ffn_up", "ffn_down"} {
			if strings.HasSuffix(ti.Name, "."+kd+".weight") {
				kind = kd
				fmt.Sscanf(ti.Name, "blk.%d.", &il)
			}
		}
		if kind == "" {
			outs = append(outs, testgguf.TensorOf(f, ti))
			continue
		}
		renamed := func(suffix string) string { return strings.Replace(ti.Name, kind+".weight", suffix, 1) }
		data := f.TensorData(ti)
		if kind == "ffn_gate" {
			outs = append(outs, testgguf.Tensor{Name: renamed("ffn_gate_inp.weight"), Type: quant.F32,
				Dims: []uint64{uint64(embd), uint64(ne)}, Data: f32Bytes(router(il))})
		}
		if to == "qwen2moe" {
			outs = append(outs, testgguf.Tensor{Name: renamed(kind + "_shexp.weight"), Type: ti.Type, Dims: ti.Dims, Data: data})
			if kind == "ffn_gate" {
				outs = append(outs, testgguf.Tensor{Name: renamed("ffn_gate_inp_shexp.weight"), Type: quant.F32,
					Dims: []uint64{uint64(embd)}, Data: make([]byte, 4*embd)})
			}
		}
		var all []byte
		for e := range ne {
			all = append(all, mk(kind, e, data)...)
		}
		outs = append(outs, testgguf.Tensor{Name: renamed(kind + "_exps.weight"), Type: ti.Type,
			Dims: append(slices.Clone(ti.Dims), uint64(ne)), Data: all})
	}
	return testgguf.WriteGGUF(t, "moe.gguf", kvs, outs)
}

// scaled returns an F32 matrix's bytes times c.
func scaled(data []byte, c float32) []byte {
	out := make([]byte, len(data))
	for i := 0; i+4 <= len(data); i += 4 {
		v := math.Float32frombits(binary.LittleEndian.Uint32(data[i:]))
		binary.LittleEndian.PutUint32(out[i:], math.Float32bits(v*c))
	}
	return out
}

// writeScaledDense rewrites the dense model with every ffn_down scaled
// by c: the dense model a uniform mixture of scaled experts equals.
func writeScaledDense(t *testing.T, src string, c float32) string {
	t.Helper()
	f := testgguf.Open(t, src)
	var outs []testgguf.Tensor
	for i := range f.Tensors {
		o := testgguf.TensorOf(f, &f.Tensors[i])
		if strings.HasSuffix(o.Name, ".ffn_down.weight") {
			o.Data = scaled(o.Data, c)
		}
		outs = append(outs, o)
	}
	return testgguf.WriteGGUF(t, "dense-scaled.gguf", f.KV, outs)
}

// sameExpertsTol bounds the relative RMS between a mixture of identical
// experts and the dense model (F32 weights): the weighted sum of k equal
// outputs rounds, and the rounding grows through the layers. Measured 1e-7
// with the fast kernels and 2.3e-6 (qwen3) to 9.7e-6 (llama) with the
// generic ones; a wrong expert or weight gives 0.1 or more.
const sameExpertsTol = 5e-5

var moePrompt = []int32{1, 22, 506, 217, 201, 137, 437, 489, 451, 484, 463, 291, 300, 170, 350}

// TestMoEIdenticalExperts: experts that are all the dense block make the
// mixture the dense block whatever the router chooses (the weights sum to
// 1), so a random router's model gives the dense model's logits (within
// sameExpertsTol).
func TestMoEIdenticalExperts(t *testing.T) {
	dense := writeDenseQwen3(t, 21)
	rng := rand.New(rand.NewPCG(5, 6))
	path := moeFromDense(t, dense, 8, 3, func(_ string, _ int, d []byte) []byte { return d }, func(int) []float32 {
		w := make([]float32, 256*8)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		return w
	})
	want := teacherForce(t, loadModel(t, dense), moePrompt, len(moePrompt))
	m := loadModel(t, path)
	if c := m.Config(); c.Arch != "qwen3moe" || c.NExpert != 8 || c.NExpertUsed != 3 || c.NFFExpert != 256 {
		t.Fatalf("config %+v", c)
	}
	for _, chunk := range []int{len(moePrompt), 4, 1} {
		got := teacherForce(t, m, moePrompt, chunk)
		r := testshared.RelRMS(got, want)
		t.Logf("chunks of %d: rel-RMS %.2g against the dense model", chunk, r)
		if r > sameExpertsTol {
			t.Errorf("chunks of %d: rel-RMS %.3g against the dense model", chunk, r)
		}
	}
}

// TestMoELlama: a llama file with experts (Mixtral's form) runs them too;
// identical experts give the dense llama's logits.
func TestMoELlama(t *testing.T) {
	dense := writeTiny(t, "F32", false, 23)
	rng := rand.New(rand.NewPCG(7, 8))
	path := moeFromDense(t, dense, 4, 2, func(_ string, _ int, d []byte) []byte { return d }, func(int) []float32 {
		w := make([]float32, 256*4)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		return w
	})
	m := loadModel(t, path)
	if c := m.Config(); c.Arch != "llama" || c.NExpert != 4 || c.NExpertUsed != 2 {
		t.Fatalf("config %+v", c)
	}
	want := teacherForce(t, loadModel(t, dense), moePrompt, len(moePrompt))
	got := teacherForce(t, m, moePrompt, len(moePrompt))
	r := testshared.RelRMS(got, want)
	t.Logf("rel-RMS %.2g against the dense llama", r)
	if r > sameExpertsTol {
		t.Errorf("rel-RMS %.3g against the dense llama", r)
	}
}

// writeDenseQwen2 rewrites synth's tiny llama as a qwen2 model: NEOX RoPE
// and (zero) q/k/v biases.
func writeDenseQwen2(t *testing.T, seed uint64) string {
	t.Helper()
	f := testgguf.Open(t, writeTiny(t, "F32", false, seed))
	var kvs []gguf.KV
	for _, kv := range f.KV {
		kv.Key = strings.Replace(kv.Key, "llama.", "qwen2.", 1)
		kvs = append(kvs, kv)
	}
	kvs = append(kvs, gguf.KV{Key: "general.architecture", Value: gguf.String("qwen2")})
	var outs []testgguf.Tensor
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		outs = append(outs, testgguf.TensorOf(f, ti))
		for _, p := range []string{"attn_q", "attn_k", "attn_v"} {
			if strings.HasSuffix(ti.Name, "."+p+".weight") {
				outs = append(outs, testgguf.Tensor{Name: strings.Replace(ti.Name, ".weight", ".bias", 1), Type: quant.F32,
					Dims: ti.Dims[1:2], Data: make([]byte, 4*ti.Dims[1])})
			}
		}
	}
	return testgguf.WriteGGUF(t, "qwen2.gguf", kvs, outs)
}

// TestMoEQwen2Shared: qwen2moe keeps the chosen experts' probabilities
// unscaled and adds the shared expert times sigmoid(gate). A zero router
// over 4 experts gives each of the 2 chosen 1/4, a zero shared gate 1/2:
// with every expert and the shared one the dense block, the block is the
// dense one exactly (rescaled weights would make it 1.5 times).
func TestMoEQwen2Shared(t *testing.T) {
	dense := writeDenseQwen2(t, 24)
	path := moeFromDense(t, dense, 4, 2, func(_ string, _ int, d []byte) []byte { return d },
		func(int) []float32 { return make([]float32, 256*4) })
	m := loadModel(t, path)
	if c := m.Config(); c.Arch != "qwen2moe" || c.NFFShared != 512 {
		t.Fatalf("config %+v", c)
	}
	want := teacherForce(t, loadModel(t, dense), moePrompt, len(moePrompt))
	got := teacherForce(t, m, moePrompt, len(moePrompt))
	r := testshared.RelRMS(got, want)
	t.Logf("rel-RMS %.2g against the dense qwen2", r)
	if r > sameExpertsTol {
		t.Errorf("rel-RMS %.3g against the dense qwen2", r)
	}
}

// TestMoEUniformRouter: a zero router scores every expert alike, so each
// token takes the first k experts (ties go to the lower index) with
// weight 1/k each. Experts whose down matrices are the dense one times
// 2, 2, 8, 8 with k = 2 then make the dense model with down times 2
// (powers of two: the scaled weights and the halves are exact, so only
// the kernels' rounding remains); the wrong experts or weights would give
// 8 or 4 times.
func TestMoEUniformRouter(t *testing.T) {
	dense := writeDenseQwen3(t, 22)
	scale := []float32{2, 2, 8, 8}
	path := moeFromDense(t, dense, 4, 2, func(kind string, e int, d []byte) []byte {
		if kind == "ffn_down" {
			return scaled(d, scale[e])
		}
		return d
	}, func(int) []float32 { return make([]float32, 256*4) })
	want := teacherForce(t, loadModel(t, writeScaledDense(t, dense, 2)), moePrompt, len(moePrompt))
	got := teacherForce(t, loadModel(t, path), moePrompt, len(moePrompt))
	r := testshared.RelRMS(got, want)
	t.Logf("rel-RMS %.2g against the dense model with down × 2", r)
	if r > 1e-5 {
		t.Errorf("rel-RMS %.3g against the dense model with down × 2", r)
	}
}

// TestMoEBatchInvariance: a token's logits are the same bits whatever
// shares its pass (quantized experts, a random router).
func TestMoEBatchInvariance(t *testing.T) {
	path := testgguf.Synth(t, "moe-tiny", "Q4_K_M", 4)
	checkBatchInvariance(t, loadModel(t, path))
}

// TestMoEFusedGateUp: a file whose experts' gate and up matrices are
// fused (ffn_gate_up_exps: each expert's gate rows, then its up rows, as
// llama.cpp's converter writes with --fuse-gate-up-exps) gives the same
// logits, bit for bit, as the file with them apart.
func TestMoEFusedGateUp(t *testing.T) {
	shape, err := synth.Lookup("moe-tiny")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "moe-tiny.gguf")
	if err := synth.Write(src, synth.Options{Shape: shape, Type: "Q4_K_M", Seed: 9}); err != nil {
		t.Fatal(err)
	}
	f := testgguf.Open(t, src)
	var outs []testgguf.Tensor
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		switch {
		case strings.HasSuffix(ti.Name, ".ffn_up_exps.weight"):
			continue // fused with the gate below
		case strings.HasSuffix(ti.Name, ".ffn_gate_exps.weight"):
			up, ok := f.Tensor(strings.Replace(ti.Name, "gate_exps", "up_exps", 1))
			if !ok || up.Type != ti.Type {
				t.Fatalf("%s: no up matrix of its type", ti.Name)
			}
			g, u := f.TensorData(ti), f.TensorData(up)
			per := len(g) / shape.Experts
			var fused []byte
			for e := range shape.Experts {
				fused = append(fused, g[e*per:(e+1)*per]...)
				fused = append(fused, u[e*per:(e+1)*per]...)
			}
			outs = append(outs, testgguf.Tensor{Name: strings.Replace(ti.Name, "gate_exps", "gate_up_exps", 1), Type: ti.Type,
				Dims: []uint64{ti.Dims[0], 2 * ti.Dims[1], ti.Dims[2]}, Data: fused})
		default:
			outs = append(outs, testgguf.TensorOf(f, ti))
		}
	}
	fusedPath := testgguf.WriteGGUF(t, "fused.gguf", f.KV, outs)
	apart, fused := loadModel(t, src), loadModel(t, fusedPath)
	for _, chunk := range []int{len(moePrompt), 1} {
		got, want := teacherForce(t, fused, moePrompt, chunk), teacherForce(t, apart, moePrompt, chunk)
		if i := firstDiff(got, want); i >= 0 {
			t.Fatalf("chunks of %d: logit %d = %v, apart %v", chunk, i, got[i], want[i])
		}
	}
}
