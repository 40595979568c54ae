package kernels

import (
	"encoding/json"
	"strings"
	"testing"

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
	if !p.Generic() || p.Packs() || p.VecOps().Name() != "generic" {
		t.Fatalf("generic: Generic %v, Packs %v, VecOps %s", p.Generic(), p.Packs(), p.VecOps().Name())
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
	if p.Generic() || p.Packs() || p.VecOps().Name() != wantVec {
		t.Fatalf("avx2: Generic %v, Packs %v, VecOps %s, want %s", p.Generic(), p.Packs(), p.VecOps().Name(), wantVec)
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
		if !strings.HasSuffix(name, "/avx2") {
			t.Errorf("avx2 set: %v runs %s", wt, name)
		}
	}

	p.SetKernelSet(KernelsBest)
	if p.Generic() || p.Packs() != true {
		t.Fatalf("best: Generic %v, Packs %v", p.Generic(), p.Packs())
	}
	wantVec = "generic"
	switch {
	case hasVecAsm:
		wantVec = "avx512"
	case hasVecAVX2:
		wantVec = "avx2"
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
