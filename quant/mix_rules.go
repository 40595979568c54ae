package quant

import "strings"

// The per-tensor adjustments of llama-quantize's recipes
// (llama_tensor_get_type_impl), for every file type but the ternary ones
// and MXFP4. Some depend on whether an importance matrix is given
// (PlanOptions.Importance, llama.cpp's has_imatrix).

// category is llama.cpp's tensor_category.
type category int

const (
	catOther category = iota
	catTokenEmbd
	catAttnQ
	catAttnV
	catAttnK
	catAttnQKV
	catAttnKVB
	catAttnOutput
	catFFNUp
	catFFNGate
	catFFNDown
	catOutput
)

// categoryOf is tensor_get_category (first match wins).
func categoryOf(name string) category {
	switch {
	case name == "output.weight":
		return catOutput
	case name == "token_embd.weight" || name == "per_layer_token_embd.weight":
		return catTokenEmbd
	case strings.Contains(name, "attn_qkv.weight"):
		return catAttnQKV
	case strings.Contains(name, "attn_kv_b.weight"):
		return catAttnKVB
	case strings.Contains(name, "attn_v.weight"):
		return catAttnV
	case strings.Contains(name, "attn_k.weight"):
		return catAttnK
	case strings.Contains(name, "attn_q.weight"):
		return catAttnQ
	case strings.Contains(name, "attn_output.weight"):
		return catAttnOutput
	case strings.Contains(name, "ffn_up"):
		return catFFNUp
	case strings.Contains(name, "ffn_gate"):
		return catFFNGate
	case strings.Contains(name, "ffn_down"):
		return catFFNDown
	}
	return catOther
}

// isAttnV: V-like tensors are the most sensitive to quantization.
func (c category) isAttnV() bool { return c == catAttnV || c == catAttnQKV || c == catAttnKVB }

// mixState carries llama-quantize's counters across the tensors of a model.
type mixState struct {
	model    MixModel
	ftype    fileType
	tiedEmbd bool // no output.weight: token_embd doubles as the output
	nAttnV   int  // attn_v-like tensors in the model
	iAttnV   int  // attn_v-like tensors seen so far
	nFFNDown int  // = n_layer, as are llama.cpp's ffn_gate and ffn_up counts
	iFFNDown int
	iFFNGate int
	iFFNUp   int
}

// useMoreBits picks the first and last eighth of the layers and every third
// one in between for a higher-precision type.
func useMoreBits(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }

// ffnLayer is layer_info: the running counter for dense models, the
// "blk.N." number for mixtures of experts (whose tensors are not in order).
func (s *mixState) ffnLayer(counter int, name string) int {
	if s.model.NExpert > 1 {
		if l := layerOf(name); l >= 0 {
			return l
		}
	}
	return counter
}

// isIQLow: the recipes of 2 bits and less, whose attn_v, ffn_down and
// attn_output rules come first and replace the others.
func (ft fileType) isIQLow() bool {
	switch ft {
	case ftypeIQ2XXS, ftypeIQ2XS, ftypeIQ1S, ftypeIQ2S, ftypeIQ2M, ftypeIQ1M:
		return true
	}
	return false
}

// iq2SOr returns IQ3_S for the IQ2_S and IQ2_M recipes and t for the
// others of isIQLow.
func (ft fileType) iq2SOr(t Type) Type {
	if ft == ftypeIQ2S || ft == ftypeIQ2M {
		return IQ3_S
	}
	return t
}

// choose returns the type of tensor t (category c) when the recipe's
// default is nt. It must be called in LlamaTensorLess order.
func (s *mixState) choose(nt Type, t TensorSpec, c category, opt PlanOptions) Type {
	ft, m := s.ftype, s.model
	falcon := m.Arch == "falcon"
	imatrix := opt.Importance
	switch {
	case c == catOutput || (s.tiedEmbd && c == catTokenEmbd):
		switch {
		case opt.HasOutputType:
			nt = opt.OutputType
		case falcon || t.Dims[0]%uint64(nt.BlockSize()) != 0:
			nt = Q8_0
		case ft.isIQLow() || ft == ftypeIQ3XXS:
			nt = Q5_K
		case nt != Q8_0:
			nt = Q6_K
		}
	case c == catTokenEmbd:
		// only IQ and ternary recipes change untied embeddings
		switch {
		case opt.HasTokenEmbdType:
			nt = opt.TokenEmbdType
		case ft == ftypeIQ2XXS || ft == ftypeIQ2XS || ft == ftypeIQ1S || ft == ftypeIQ1M:
			nt = Q2_K
		case ft == ftypeIQ2S || ft == ftypeIQ2M || ft == ftypeIQ3XXS:
			nt = IQ3_S
		}
	case ft.isIQLow():
		switch {
		case c.isAttnV():
			nt = ft.iq2SOr(Q2_K)
			if m.nGQA() >= 4 || m.NExpert >= 4 {
				nt = Q4_K
			}
			s.iAttnV++
		case m.NExpert == 8 && c == catAttnK:
			nt = Q4_K
		case c == catFFNDown:
			if s.iFFNDown < s.nFFNDown/8 {
				nt = ft.iq2SOr(Q2_K)
			}
			s.iFFNDown++
		case c == catAttnOutput:
			switch {
			case m.NExpert == 8:
				nt = Q5_K
			case ft == ftypeIQ1S || ft == ftypeIQ1M:
				nt = IQ2_XXS
			default:
				nt = ft.iq2SOr(nt)
			}
		}
	case c.isAttnV():
		switch {
		case ft == ftypeQ2_K:
			nt = Q3_K
			if m.nGQA() >= 4 {
				nt = Q4_K
			}
		case ft == ftypeQ2_KS && m.nGQA() >= 4:
			nt = Q4_K
		case ft == ftypeIQ3XXS:
			switch {
			case m.nGQA() >= 4:
				nt = Q4_K
			case !imatrix:
				nt = IQ3_S
			default:
				nt = IQ3_XXS
			}
		case (ft == ftypeIQ3XS || ft == ftypeIQ3S) && m.nGQA() >= 4:
			nt = Q4_K
		case ft == ftypeIQ3M:
			nt = Q4_K
		case ft == ftypeQ3_KM:
			nt = Q4_K
			if s.iAttnV < 2 {
				nt = Q5_K
			}
		case ft == ftypeQ3_KL:
			nt = Q5_K
		case (ft == ftypeIQ4NL || ft == ftypeIQ4XS) && m.nGQA() >= 4:
			nt = Q5_K
		case (ft == ftypeQ4_KM || ft == ftypeQ5_KM) && useMoreBits(s.iAttnV, s.nAttnV):
			nt = Q6_K
		case ft == ftypeQ4_KS && s.iAttnV < 4:
			nt = Q5_K
		}
		if m.is70B() && (nt == Q3_K || nt == Q4_K) {
			nt = Q5_K // 8 heads share attn_v there: more bits are cheap
		}
		if m.NExpert == 8 {
			nt = Q8_0
		}
		s.iAttnV++
	case c == catAttnK:
		switch {
		case m.NExpert == 8:
			nt = Q8_0
		case ft == ftypeIQ3XS:
			nt = IQ3_XXS
		case ft == ftypeIQ3XXS:
			nt = IQ2_S
		}
	case c == catAttnQ:
		switch ft {
		case ftypeIQ3XS:
			nt = IQ3_XXS
		case ftypeIQ3XXS:
			nt = IQ2_S
		}
	case c == catFFNDown:
		i, n := s.ffnLayer(s.iFFNDown, t.Name), s.nFFNDown
		switch {
		case ft == ftypeQ2_K:
			nt = Q3_K
		case ft == ftypeQ2_KS:
			if i < n/8 {
				nt = Q4_K
			}
		case ft == ftypeIQ3XXS && !imatrix:
			nt = Q3_K
			if i < n/8 {
				nt = Q4_K
			}
		case ft == ftypeQ3_KM:
			switch {
			case i < n/16:
				nt = Q5_K
			case !falcon || useMoreBits(i, n):
				nt = Q4_K
			default:
				nt = Q3_K
			}
		case ft == ftypeIQ3M && (i < n/8 || (m.NExpert == 8 && useMoreBits(i, n))):
			nt = Q4_K
		case ft == ftypeQ3_KL:
			nt = Q5_K
			if falcon {
				nt = Q4_K
			}
		case ft == ftypeQ4_KM:
			if falcon {
				switch {
				case i < n/16:
					nt = Q6_K
				case useMoreBits(i, n):
					nt = Q5_K
				default:
					nt = Q4_K
				}
			} else if useMoreBits(i, n) {
				nt = Q6_K
			}
		case i < n/8 && (ft == ftypeIQ4NL || ft == ftypeIQ4XS) && !imatrix:
			nt = Q5_K
		case ft == ftypeQ5_KM && useMoreBits(i, n):
			nt = Q6_K
		case ft == ftypeQ4_KS && !falcon && i < n/8:
			nt = Q5_K
		case (ft == ftypeQ4_0 || ft == ftypeQ5_0) && imatrix && i < n/8:
			// llama.cpp guards the first ffn_down layers of these two with
			// the offset types, only with an importance matrix so that the
			// output without one stays what it always was.
			nt = Q4_1
			if ft == ftypeQ5_0 {
				nt = Q5_1
			}
		}
		s.iFFNDown++
	case c == catAttnOutput:
		if falcon {
			if ft == ftypeQ3_KL {
				nt = Q4_K
			}
			break
		}
		if m.NExpert == 8 {
			switch ft {
			case ftypeQ2_K, ftypeIQ3XS, ftypeIQ3XXS, ftypeQ3_KS, ftypeQ3_KM, ftypeIQ4NL,
				ftypeQ4_KS, ftypeQ4_KM, ftypeIQ3S, ftypeIQ3M, ftypeIQ4XS:
				nt = Q5_K
			}
			break
		}
		switch ft {
		case ftypeQ2_K:
			nt = Q3_K
		case ftypeIQ3XXS:
			nt = IQ3_S
		case ftypeQ3_KM, ftypeIQ3M:
			nt = Q4_K
		case ftypeQ3_KL:
			nt = Q5_K
		}
	case c == catFFNGate || c == catFFNUp:
		counter := &s.iFFNGate
		if c == catFFNUp {
			counter = &s.iFFNUp
		}
		i, n := s.ffnLayer(*counter, t.Name), s.nFFNDown
		if ft == ftypeIQ3XS && i >= n/8 && i < 7*n/8 {
			nt = IQ3_XXS
		}
		*counter++
	}
	// attn_qkv is attn_v-like and handled above, as in llama.cpp, whose
	// separate attn_qkv branch is never reached.
	return nt
}
