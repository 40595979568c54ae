package quant

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
)

func TestLlamaTensorOrder(t *testing.T) {
	want := []string{
		"output.weight", "output_norm.weight", "token_embd.weight",
		"blk.0.attn_k.weight", "blk.0.ffn_down.weight",
		"blk.2.attn_q.weight",
		"blk.10.attn_k.weight", "blk.10.attn_v.weight",
	}
	got := append([]string(nil), want...)
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
	sort.SliceStable(got, func(i, j int) bool { return LlamaTensorLess(got[i], got[j]) })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %q\nwant  %q", got, want)
	}
	for name, want := range map[string]int{"blk.7.x": 7, "blk.12": 12, "blk.x": -1, "token_embd.weight": -1, "blk.-3.y": -3} {
		if got := layerOf(name); got != want {
			t.Errorf("layerOf(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestParseMix(t *testing.T) {
	for _, c := range []struct {
		name     string
		def      Type
		fileType uint32
		hasFT    bool
	}{
		{"q4_k_m", Q4_K, 15, true}, {"Q4_K", Q4_K, 15, true}, {"Q5_K_M", Q5_K, 17, true}, {"Q3_K", Q3_K, 12, true},
		{"Q4_0", Q4_0, 2, true}, {"Q8_0", Q8_0, 7, true}, {"Q6_K", Q6_K, 18, true}, {"BF16", BF16, 32, true},
		{"F32", F32, 0, true}, {"Q8_K", Q8_K, 0, false}, {"Q8_1", Q8_1, 0, false},
		{"iq4_xs", IQ4_XS, 30, true}, {"IQ4_NL", IQ4_NL, 25, true},
		{"Q2_K_S", Q2_K, 21, true}, {"IQ3_XS", IQ3_S, 22, true}, {"IQ3_S", IQ3_S, 26, true}, {"iq3_m", IQ3_S, 27, true},
		{"IQ2_XXS", IQ2_XXS, 19, true}, {"IQ2_XS", IQ2_XS, 20, true}, {"IQ3_XXS", IQ3_XXS, 23, true}, {"IQ1_S", IQ1_S, 24, true},
		{"IQ2_S", IQ2_XS, 28, true}, {"IQ2_M", IQ2_S, 29, true}, {"IQ1_M", IQ1_M, 31, true},
	} {
		m, err := ParseMix(c.name)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if m.Default != c.def || m.FileType != c.fileType || m.HasFileType != c.hasFT {
			t.Errorf("%s: %+v", c.name, m)
		}
	}
	if _, err := ParseMix("TQ1_0"); err == nil {
		t.Error("TQ1_0: want an error")
	}
}

// llamaTensors lists the tensors of an n-layer llama model with dimension
// 4096 (GQA 4), with or without a separate output matrix.
func llamaTensors(nLayer int, tied bool) []TensorSpec {
	ts := []TensorSpec{{"token_embd.weight", []uint64{4096, 32000}, F16}, {"output_norm.weight", []uint64{4096}, F32}}
	if !tied {
		ts = append(ts, TensorSpec{"output.weight", []uint64{4096, 32000}, F16})
	}
	for i := 0; i < nLayer; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ts = append(ts,
			TensorSpec{p + "attn_norm.weight", []uint64{4096}, F32},
			TensorSpec{p + "attn_q.weight", []uint64{4096, 4096}, F16},
			TensorSpec{p + "attn_k.weight", []uint64{4096, 1024}, F16},
			TensorSpec{p + "attn_v.weight", []uint64{4096, 1024}, F16},
			TensorSpec{p + "attn_output.weight", []uint64{4096, 4096}, F16},
			TensorSpec{p + "ffn_norm.weight", []uint64{4096}, F32},
			TensorSpec{p + "ffn_gate.weight", []uint64{4096, 14336}, F16},
			TensorSpec{p + "ffn_up.weight", []uint64{4096, 14336}, F16},
			TensorSpec{p + "ffn_down.weight", []uint64{14336, 4096}, F16},
		)
	}
	return ts
}

// expectedMix spells out llama-quantize's choices for the llamaTensors
// model, as read from llama_tensor_get_type_impl: moreBits are the layers
// use_more_bits picks for 32 layers (first and last 4, then every third).
func expectedMix(mix string, tied, imatrix bool, name string, layer int) Type {
	moreBits := map[int]bool{0: true, 1: true, 2: true, 3: true, 6: true, 9: true, 12: true, 15: true,
		18: true, 21: true, 24: true, 27: true, 28: true, 29: true, 30: true, 31: true}
	kind := name
	if layer >= 0 {
		kind = name[len(fmt.Sprintf("blk.%d.", layer)):]
	}
	iqLow := map[string]bool{"IQ2_XXS": true, "IQ2_XS": true, "IQ2_S": true, "IQ2_M": true, "IQ1_S": true, "IQ1_M": true}[mix]
	iq2s := mix == "IQ2_S" || mix == "IQ2_M"
	def := map[string]Type{"Q4_K_M": Q4_K, "Q5_K_M": Q5_K, "Q4_K_S": Q4_K, "Q3_K_M": Q3_K, "Q2_K": Q2_K, "Q8_0": Q8_0, "Q4_0": Q4_0,
		"IQ4_NL": IQ4_NL, "IQ4_XS": IQ4_XS, "Q2_K_S": Q2_K, "IQ3_XS": IQ3_S, "IQ3_S": IQ3_S, "IQ3_M": IQ3_S,
		"IQ3_XXS": IQ3_XXS, "IQ2_XXS": IQ2_XXS, "IQ2_XS": IQ2_XS, "IQ2_S": IQ2_XS, "IQ2_M": IQ2_S, "IQ1_S": IQ1_S, "IQ1_M": IQ1_M}[mix]
	switch kind {
	case "output_norm.weight", "attn_norm.weight", "ffn_norm.weight":
		return F32
	case "output.weight", "token_embd.weight":
		switch {
		case kind == "token_embd.weight" && !tied:
			switch {
			case iq2s || mix == "IQ3_XXS":
				return IQ3_S
			case iqLow:
				return Q2_K
			}
			return def
		case mix == "Q8_0":
			return Q8_0
		case iqLow || mix == "IQ3_XXS":
			return Q5_K
		default:
			return Q6_K
		}
	}
	if iqLow {
		switch {
		case kind == "attn_v.weight":
			return Q4_K // GQA 4
		case kind == "ffn_down.weight" && layer < 4 && iq2s:
			return IQ3_S
		case kind == "ffn_down.weight" && layer < 4:
			return Q2_K
		case kind == "attn_output.weight" && (mix == "IQ1_S" || mix == "IQ1_M"):
			return IQ2_XXS
		case kind == "attn_output.weight" && iq2s:
			return IQ3_S
		}
		return def
	}
	if mix == "IQ3_XXS" {
		switch {
		case kind == "attn_v.weight":
			return Q4_K // GQA 4
		case kind == "attn_q.weight" || kind == "attn_k.weight":
			return IQ2_S
		case kind == "ffn_down.weight" && !imatrix && layer < 4:
			return Q4_K
		case kind == "ffn_down.weight" && !imatrix:
			return Q3_K
		case kind == "attn_output.weight":
			return IQ3_S
		}
		return def
	}
	iq4 := mix == "IQ4_NL" || mix == "IQ4_XS"
	switch {
	case kind == "attn_v.weight":
		switch {
		case mix == "Q2_K_S" || mix == "IQ3_XS" || mix == "IQ3_S" || mix == "IQ3_M":
			return Q4_K // GQA 4 (IQ3_M: always)
		case (mix == "Q4_K_M" || mix == "Q5_K_M") && moreBits[layer]:
			return Q6_K
		case mix == "Q4_K_S" && layer < 4:
			return Q5_K
		case mix == "Q3_K_M" && layer < 2:
			return Q5_K
		case mix == "Q3_K_M":
			return Q4_K
		case mix == "Q2_K":
			return Q4_K // GQA 4
		case iq4:
			return Q5_K // GQA 4
		}
	case kind == "ffn_down.weight":
		switch {
		case (mix == "Q4_K_M" || mix == "Q5_K_M") && moreBits[layer]:
			return Q6_K
		case mix == "Q4_K_S" && layer < 4:
			return Q5_K
		case mix == "Q3_K_M" && layer < 2:
			return Q5_K
		case mix == "Q3_K_M":
			return Q4_K
		case mix == "Q2_K":
			return Q3_K
		case iq4 && layer < 4 && !imatrix:
			return Q5_K
		case (mix == "Q2_K_S" || mix == "IQ3_M") && layer < 4:
			return Q4_K
		case mix == "Q4_0" && imatrix && layer < 4:
			return Q4_1
		}
	case kind == "attn_q.weight" || kind == "attn_k.weight":
		if mix == "IQ3_XS" {
			return IQ3_XXS
		}
	case kind == "ffn_gate.weight" || kind == "ffn_up.weight":
		if mix == "IQ3_XS" && layer >= 4 && layer < 28 {
			return IQ3_XXS
		}
	case kind == "attn_output.weight":
		switch mix {
		case "Q3_K_M", "IQ3_M":
			return Q4_K
		case "Q2_K":
			return Q3_K
		}
	}
	return def
}

func TestPlanTypesLlama32(t *testing.T) {
	model := MixModel{Arch: "llama", NLayer: 32, NHead: 32, NHeadKV: 8}
	for _, mix := range []string{"Q4_K_M", "Q5_K_M", "Q4_K_S", "Q3_K_M", "Q2_K", "Q8_0", "Q4_0", "IQ4_NL", "IQ4_XS",
		"Q2_K_S", "IQ3_XS", "IQ3_S", "IQ3_M", "IQ3_XXS", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ1_S", "IQ1_M"} {
		for _, c := range []struct{ tied, imatrix bool }{{false, false}, {true, false}, {false, true}} {
			tied := c.tied
			m, err := ParseMix(mix)
			if err != nil {
				t.Fatal(err)
			}
			ts := llamaTensors(32, tied)
			// The choice must not depend on the file's tensor order.
			rand.New(rand.NewPCG(2, 3)).Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
			got, err := m.PlanTypes(model, ts, PlanOptions{Importance: c.imatrix})
			if err != nil {
				t.Fatalf("%s: %v", mix, err)
			}
			for i, ti := range ts {
				if want := expectedMix(mix, tied, c.imatrix, ti.Name, layerOf(ti.Name)); got[i] != want {
					t.Errorf("%s tied=%v imatrix=%v %s: %v, want %v", mix, tied, c.imatrix, ti.Name, got[i], want)
				}
			}
		}
	}
}

func TestPlanTypesPureAndExclusions(t *testing.T) {
	ts := []TensorSpec{
		{"token_embd.weight", []uint64{256, 512}, F32},
		{"output.weight", []uint64{256, 512}, F32},
		{"blk.0.attn_v.weight", []uint64{256, 64}, F32},
		{"blk.0.attn_norm.weight", []uint64{256}, F32},
		{"blk.0.attn_q.bias", []uint64{256, 2}, F32},          // not a weight
		{"blk.0.ffn_gate_inp.weight", []uint64{256, 8}, F32},  // expert router
		{"blk.0.attn_q_norm.weight", []uint64{256, 1}, F32},   // 1-D once trailing 1s are dropped
		{"blk.0.ffn_down.weight", []uint64{512, 256, 4}, F16}, // 3-D experts
	}
	m, _ := ParseMix("Q4_K_M")
	got, err := m.PlanTypes(MixModel{Arch: "llama", NLayer: 1, NHead: 4, NHeadKV: 4}, ts, PlanOptions{Pure: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []Type{Q4_K, Q4_K, Q4_K, F32, F32, F32, F32, Q4_K}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pure Q4_K_M: %v, want %v", got, want)
	}
	// Without --pure a single-layer model's attn_v and ffn_down are in the
	// last eighth of the layers, so they get Q6_K; output too.
	got, err = m.PlanTypes(MixModel{Arch: "llama", NLayer: 1, NHead: 4, NHeadKV: 4}, ts, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want = []Type{Q4_K, Q6_K, Q6_K, F32, F32, F32, F32, Q6_K}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Q4_K_M: %v, want %v", got, want)
	}
}

func TestPlanTypesFallback(t *testing.T) {
	ts := []TensorSpec{
		{"blk.0.ffn_down.weight", []uint64{172, 64}, F32}, // fits no block
		{"blk.0.attn_q.weight", []uint64{64, 64}, F32},    // fits 32, not 256
		{"blk.0.ffn_up.weight", []uint64{256, 172}, F32},
	}
	model := MixModel{Arch: "llama", NLayer: 1}
	q4k, _ := ParseMix("Q4_K")
	_, err := q4k.PlanTypes(model, ts, PlanOptions{Pure: true})
	var rs *RowSizeError
	if !errors.As(err, &rs) || rs.Tensor != "blk.0.attn_q.weight" || rs.Cols != 64 || rs.Type != Q4_K {
		t.Fatalf("want a RowSizeError for blk.0.attn_q.weight (first in llama order), got %v", err)
	}
	got, err := q4k.PlanTypes(model, ts, PlanOptions{Pure: true, Fallback: FallbackAuto})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Type{F16, Q5_0, Q4_K}; !reflect.DeepEqual(got, want) {
		t.Errorf("auto fallback: %v, want %v", got, want)
	}
	got, err = q4k.PlanTypes(model, ts, PlanOptions{Pure: true, Fallback: FallbackType, FallbackTo: BF16})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Type{BF16, BF16, Q4_K}; !reflect.DeepEqual(got, want) {
		t.Errorf("BF16 fallback: %v, want %v", got, want)
	}
	_, err = q4k.PlanTypes(model, ts, PlanOptions{Pure: true, Fallback: FallbackType, FallbackTo: Q8_0})
	if !errors.As(err, &rs) || rs.Tensor != "blk.0.ffn_down.weight" || rs.Type != Q8_0 {
		t.Errorf("Q8_0 fallback cannot hold 172 columns: got %v", err)
	}
	q40, _ := ParseMix("Q4_0")
	if _, err := q40.PlanTypes(model, ts, PlanOptions{Pure: true, Fallback: FallbackAuto}); err == nil {
		t.Error("llama.cpp defines no fallback for Q4_0: want an error")
	}
	iq4xs, _ := ParseMix("IQ4_XS")
	got, err = iq4xs.PlanTypes(model, ts, PlanOptions{Pure: true, Fallback: FallbackAuto})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Type{F16, IQ4_NL, IQ4_XS}; !reflect.DeepEqual(got, want) {
		t.Errorf("IQ4_XS auto fallback: %v, want %v", got, want)
	}
}

func TestFileTypeName(t *testing.T) {
	for ft, want := range map[uint32]string{0: "F32", 1: "F16", 2: "Q4_0", 7: "Q8_0", 12: "Q3_K_M", 15: "Q4_K_M", 17: "Q5_K_M", 18: "Q6_K", 25: "IQ4_NL", 30: "IQ4_XS", 32: "BF16",
		19: "IQ2_XXS", 21: "Q2_K_S", 22: "IQ3_XS", 27: "IQ3_M", 29: "IQ2_M", 31: "IQ1_M"} {
		if got, ok := FileTypeName(ft); !ok || got != want {
			t.Errorf("FileTypeName(%d) = %q, %v; want %q", ft, got, ok, want)
		}
	}
	for _, ft := range []uint32{4, 36, 99} { // Q4_1_SOME_F16 (retired), TQ1_0 (unread), unknown
		if got, ok := FileTypeName(ft); ok {
			t.Errorf("FileTypeName(%d) = %q, want none", ft, got)
		}
	}
}

// TestPlanTypesOverrides checks llama-quantize's three overrides: the
// --tensor-type rules (last match wins; not with --pure; not where the
// rows needed a fallback), --output-tensor-type (through the recipe, so a
// tied embedding takes it) and --token-embedding-type (always).
func TestPlanTypesOverrides(t *testing.T) {
	ts := []TensorSpec{
		{"token_embd.weight", []uint64{256, 512}, F32},
		{"blk.0.attn_q.weight", []uint64{256, 256}, F32},
		{"blk.0.attn_v.weight", []uint64{256, 64}, F32},
		{"blk.0.ffn_down.weight", []uint64{172, 256}, F32}, // needs a fallback
		{"blk.1.attn_q.weight", []uint64{256, 256}, F32},
		{"blk.1.attn_v.weight", []uint64{256, 64}, F32},
	}
	model := MixModel{Arch: "llama", NLayer: 2, NHead: 4, NHeadKV: 4}
	m, _ := ParseMix("Q4_K_M")
	rule := func(s string) TensorTypeRule {
		r, err := ParseTensorTypeRule(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rules := []TensorTypeRule{rule("attn_v=q8_0"), rule(`blk\.1\.attn_v=Q5_0`), rule("ffn_down=q8_0"), rule("attn_q=IQ4_XS")}
	for _, tc := range []struct {
		name string
		opt  PlanOptions
		want []Type
	}{
		// Recipe alone (tied embeddings: token_embd gets Q6_K; ffn_down
		// falls back from Q6_K to Q8_0... which cannot hold 172 either: F16).
		{"recipe", PlanOptions{Fallback: FallbackAuto}, []Type{Q6_K, Q4_K, Q4_K, F16, Q4_K, Q6_K}},
		{"rules", PlanOptions{Fallback: FallbackAuto, TensorTypes: rules},
			[]Type{Q6_K, IQ4_XS, Q8_0, F16, IQ4_XS, Q5_0}},
		{"rules ignored with pure", PlanOptions{Pure: true, Fallback: FallbackAuto, TensorTypes: rules},
			[]Type{Q4_K, Q4_K, Q4_K, F16, Q4_K, Q4_K}},
		{"output type reaches the tied embedding", PlanOptions{Fallback: FallbackAuto, HasOutputType: true, OutputType: Q8_0},
			[]Type{Q8_0, Q4_K, Q4_K, F16, Q4_K, Q6_K}},
		{"token embedding type wins", PlanOptions{Fallback: FallbackAuto, HasOutputType: true, OutputType: Q8_0, HasTokenEmbdType: true, TokenEmbdType: Q4_0},
			[]Type{Q4_0, Q4_K, Q4_K, F16, Q4_K, Q6_K}},
		{"token embedding type with pure", PlanOptions{Pure: true, Fallback: FallbackAuto, HasTokenEmbdType: true, TokenEmbdType: F16},
			[]Type{F16, Q4_K, Q4_K, F16, Q4_K, Q4_K}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.PlanTypes(model, ts, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%v, want %v", got, tc.want)
			}
		})
	}
	// An override the rows cannot hold is an error, not a fallback:
	// 64 columns hold Q4_0's blocks, not Q4_K's.
	small := []TensorSpec{{"blk.0.attn_q.weight", []uint64{64, 64}, F32}, {"output.weight", []uint64{64, 512}, F32}}
	q40, _ := ParseMix("Q4_0")
	for _, opt := range []PlanOptions{
		{Fallback: FallbackAuto, TensorTypes: []TensorTypeRule{rule("attn_q=Q4_K")}},
		{Fallback: FallbackAuto, HasOutputType: true, OutputType: Q4_K},
	} {
		_, err := q40.PlanTypes(model, small, opt)
		var rs *RowSizeError
		if !errors.As(err, &rs) || rs.Type != Q4_K || rs.Cols != 64 {
			t.Errorf("override to Q4_K of 64 columns: %v, want a RowSizeError", err)
		}
	}
	for _, bad := range []string{"attn_v", "=q8_0", "attn_v=", "attn_v=Q9_9", "(=q8_0"} {
		if _, err := ParseTensorTypeRule(bad); err == nil {
			t.Errorf("ParseTensorTypeRule(%q) took it", bad)
		}
	}
}
