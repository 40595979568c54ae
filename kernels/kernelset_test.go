package kernels

import (
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"

	"github.com/nuri-ai/nuri/quant"
)

func TestParseKernelSet(t *testing.T) {
	for _, c := range []struct {
		in   string
		want KernelSet
		err  bool
	}{
		{"", KernelsBest, false},
		{"best", KernelsBest, false},
		{"avx2", KernelsAVX2, false},
		{"generic", KernelsGeneric, false},
		{"AVX2", 0, true},
		{"avx512", 0, true},
	} {
		got, err := ParseKernelSet(c.in)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("ParseKernelSet(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.err)
		}
		if !c.err && c.in != "" && got.String() != c.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), c.in)
		}
	}
	b, err := json.Marshal(struct{ K KernelSet }{KernelsAVX2})
	if err != nil || string(b) != `{"K":"avx2"}` {
		t.Fatalf("json: %s, %v", b, err)
	}
	var back struct{ K KernelSet }
	if err := json.Unmarshal([]byte(`{"K":"generic"}`), &back); err != nil || back.K != KernelsGeneric {
		t.Fatalf("json back: %v, %v", back.K, err)
	}
}

// TestKernelSetChoosesKernels: each set names and runs the kernels it
// promises. The AVX2 set must not reach an AVX-512 kernel, a packed layout
// or the AVX-512 vector loops, so that a machine with AVX-512 tests the
// path of one without.
func TestKernelSetChoosesKernels(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	types := []quant.Type{quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0,
		quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.F16, quant.BF16, quant.F32}

	p.SetKernelSet(KernelsGeneric)
	if !p.Generic() || p.Packs(quant.Q4_0) || p.Packs(quant.IQ3_S) || p.VecOps().Name() != "generic" {
		t.Fatalf("generic: Generic %v, Packs %v, VecOps %s", p.Generic(), p.Packs(quant.Q4_0), p.VecOps().Name())
	}
	for _, wt := range types {
		if n := p.KernelName(wt); n != "generic" {
			t.Errorf("generic set: %v runs %s", wt, n)
		}
	}

	p.SetKernelSet(KernelsAVX2)
	wantVec := "generic"
	if hasVecAVX2 {
		wantVec = "avx2"
	}
	if p.Generic() || p.Packs(quant.Q4_0) || p.VecOps().Name() != wantVec {
		t.Fatalf("avx2: Generic %v, Packs %v, VecOps %s, want %s", p.Generic(), p.Packs(quant.Q4_0), p.VecOps().Name(), wantVec)
	}
	// The transcoded i-quants pack for their AVX2 kernels.
	for _, wt := range []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M} {
		if p.Packs(wt) != hasIQAVX2 {
			t.Errorf("avx2 set: Packs(%v) = %v, want %v", wt, p.Packs(wt), hasIQAVX2)
		}
		if hasIQAVX2 && p.WeightKernelName(wt) != wt.String()+"/avx2-x16" {
			t.Errorf("avx2 set: %v runs %s", wt, p.WeightKernelName(wt))
		}
	}
	avx2 := avx2Variants()
	for _, wt := range types {
		name := p.KernelName(wt)
		if p.WeightKernelName(wt) != name {
			t.Errorf("avx2 set: %v weights run %s, MatMul %s", wt, p.WeightKernelName(wt), name)
		}
		if len(avx2) == 0 {
			continue // no assembly on this machine: the reference path
		}
		// With AVX-VNNI, the 32-element block types, Q4_K, Q5_K and Q6_K
		// take its VEX forms (no AVX-512 in them).
		if !strings.HasSuffix(name, "/avx2") && !(cpu.X86.HasAVXVNNI && strings.HasSuffix(name, "/avx2+avxvnni")) {
			t.Errorf("avx2 set: %v runs %s", wt, name)
		}
	}

	p.SetKernelSet(KernelsBest)
	if p.Generic() || p.Packs(quant.Q4_0) != CanPack(quant.Q4_0) {
		t.Fatalf("best: Generic %v, Packs %v", p.Generic(), p.Packs(quant.Q4_0))
	}
	wantVec = "generic"
	switch {
	case hasVecAsm:
		wantVec = "avx512"
	case hasVecAVX2:
		wantVec = "avx2"
	case hasVecNEON:
		wantVec = "neon"
	}
	if n := p.VecOps().Name(); n != wantVec {
		t.Errorf("best set: VecOps %s, want %s", n, wantVec)
	}
	for _, wt := range types {
		if k := fastKernels[wt]; k != nil && p.KernelName(wt) != k.name {
			t.Errorf("best set: %v runs %s, want %s", wt, p.KernelName(wt), k.name)
		}
	}
}
