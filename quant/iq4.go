package quant

import "math"

// IQ4_NL and IQ4_XS: 4-bit codes that index a fixed table of 16 non-uniform
// int8 levels instead of standing for the integers 0..15 (ggml-common.h
// block_iq4_nl, block_iq4_xs). Levels are denser near zero, where most
// weights lie, so at the same 4.5 (NL) or 4.25 (XS) bits per weight they
// lose less than Q4_0. Both are common in published GGUF files (IQ4_XS
// especially), so Nuri loads and runs them; the quantizer below follows
// llama-quantize's (quantize_iq4_nl / quantize_iq4_xs without an importance
// matrix) so that `nuri quantize` and `nuri synth` can write them too.
//
// Layouts (little-endian):
//
//	IQ4_NL, 32 elements, 18 bytes: d fp16, qs[16]
//	IQ4_XS, 256 elements, 136 bytes: d fp16, scales_h u16, scales_l[4], qs[128]
//
// In both, a 32-element group uses 16 code bytes: element j's code is the
// low nibble of qs[j] and element j+16's the high nibble (as Q4_0). An
// IQ4_XS group g has a 6-bit scale ls = low nibble g%2 of scales_l[g/2] |
// bits 2g..2g+1 of scales_h << 4, and its elements are d·(ls−32)·level.

// iq4Levels is ggml's kvalues_iq4nl: the value each 4-bit code stands for.
var iq4Levels = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// IQ4Levels returns the 16 levels IQ4_NL and IQ4_XS codes index, for
// kernels that build their lookup tables from them.
func IQ4Levels() [16]int8 { return iq4Levels }

const (
	iq4xsD       = 0 // fp16 super-block scale
	iq4xsScalesH = 2 // u16: the two high bits of each group's scale
	iq4xsScalesL = 4 // [4]: the low four bits, two groups a byte
	iq4xsQS      = 8 // [128] codes
	// iq4SearchSteps is llama-quantize's ntry for both types: the scale
	// search tries the max element at each level offset in ±7 of −127.
	iq4SearchSteps = 7
)

// iq4xsGroupScale returns group g's signed scale ls−32 (−32..31).
func iq4xsGroupScale(b []byte, g int) int32 {
	lo := int32(b[iq4xsScalesL+g/2]>>(4*(g%2))) & 0xf
	hi := int32(le16(b[iq4xsScalesH:])>>(2*g)) & 3
	return lo | hi<<4 - 32
}

func dequantizeIQ4_NLBlock(x []byte, y []float32) {
	d := f16at(x)
	qs := x[2:18]
	for j := 0; j < qk/2; j++ {
		y[j] = d * float32(iq4Levels[qs[j]&0xf])
		y[j+qk/2] = d * float32(iq4Levels[qs[j]>>4])
	}
}

func dequantizeIQ4_XSBlock(x []byte, y []float32) {
	d := f16at(x[iq4xsD:])
	for g := 0; g < QK_K/32; g++ {
		dl := d * float32(iq4xsGroupScale(x, g))
		qs := x[iq4xsQS+16*g : iq4xsQS+16*g+16]
		out := y[32*g : 32*g+32]
		for j := 0; j < 16; j++ {
			out[j] = dl * float32(iq4Levels[qs[j]&0xf])
			out[j+16] = dl * float32(iq4Levels[qs[j]>>4])
		}
	}
}

// iq4Half maps the half-unit cell [k/2, (k+1)/2), k = ⌊2v⌋ in −254..225
// (index k+254), to the code nearest every v in it. The answer can only
// change where v crosses the midpoint of two neighbouring levels, and
// those (sums of two integers, halved) are all multiples of ½: cell
// boundaries. A cell that starts at a midpoint takes the higher level, as
// a tie does in ggml.
var iq4Half = func() (t [480]uint8) {
	for i := range t {
		v := float32(float32(i-254) / 2) // the cell's start
		c := 0
		for c < 15 && v-float32(iq4Levels[c]) >= float32(iq4Levels[c+1])-v {
			c++
		}
		t[i] = uint8(c)
	}
	return t
}()

// nearestLevel returns the code whose level is nearest v (ties go to the
// higher level, as ggml's best_index_int8 does). The quantizers call it
// about 16 times an element, so it reads the answer from a table of
// half-unit cells instead of ggml's binary search; the answers are the
// same (TestNearestLevelMatchesSearch).
func nearestLevel(v float32) uint8 {
	if v <= float32(iq4Levels[0]) {
		return 0
	}
	if !(v < float32(iq4Levels[15])) { // also NaN, where ggml's search ends
		return 15
	}
	return iq4Half[int(math.Floor(float64(2*v)))+254]
}

// iq4GroupFit is the weighted least-squares fit of one 32-element group:
// codes chosen for the multiplier id, then the scale that minimises
// Σ w(x − d·level)² for those codes, d = Σwqx/Σwq², and the error's
// reduction Σwqx²/Σwq² (larger is better).
func iq4GroupFit(x, w []float32, id float32, codes []uint8) (d, sumqx, sumq2 float32) {
	for j, v := range x {
		c := nearestLevel(float32(id * v))
		if codes != nil {
			codes[j] = c
		}
		q := float32(iq4Levels[c])
		sumqx += float32(float32(w[j]*q) * v)
		sumq2 += float32(float32(w[j]*q) * q)
	}
	return sumqx / sumq2, sumqx, sumq2
}

// IQ4Multipliers is how many multipliers a group's scale search fits: the
// 2·7+1 that map its largest element to each level offset in ±7 of −127,
// then the one that maps it to +127.
const IQ4Multipliers = 2*iq4SearchSteps + 2

// IQ4Group is the scale search of one 32-element group of IQ4_NL or
// IQ4_XS, as quantize_row_iq4_nl_impl runs it: Start sets the weights and
// the multipliers, each multiplier is fitted (Fit: Σ w·q·x and Σ w·q² for
// q the level nearest id·x), and Scale picks the fit with the smallest
// weighted error, in ggml's order. The fits take nearly all the time, so
// kernels fits in assembly between Start and Scale; it must give Fit's
// bits.
type IQ4Group struct {
	X, W         [32]float32             // the group and its weights
	IDs          [IQ4Multipliers]float32 // the multipliers
	SumQX, SumQ2 [IQ4Multipliers]float32 // each multiplier's fit
}

// iq4First is the multiplier ggml fits first, before the search: the one
// that maps the largest-magnitude element to +127.
const iq4First = IQ4Multipliers - 1

// Start sets the group x (32 values) without an importance matrix: the
// weights x². False: the group is all zero (|max| under ggml's epsilon),
// whose scale is 0 with no search.
func (g *IQ4Group) Start(x []float32) bool { return g.start(x, nil, 0) }

// start is Start with the weights qw·√(sigma2 + x²) of an importance
// matrix qw (nil: x²).
func (g *IQ4Group) start(x, qw []float32, sigma2 float32) bool {
	copy(g.X[:], x)
	if qw != nil {
		importanceWeights(g.W[:], x, qw, sigma2)
	} else {
		for j, v := range x {
			g.W[j] = float32(v * v)
		}
	}
	maxv, amax := absMaxSigned(x)
	if amax < groupMaxEps {
		return false
	}
	lowest := float32(iq4Levels[0])
	for i := range 2*iq4SearchSteps + 1 {
		g.IDs[i] = (float32(i-iq4SearchSteps) + lowest) / maxv
	}
	g.IDs[iq4First] = 1 / (-maxv / lowest)
	return true
}

// Fit sets SumQX[i] and SumQ2[i] for each multiplier IDs[i]: iq4GroupFit's
// sums, each product and sum rounded to float32, elements in order.
func (g *IQ4Group) Fit() {
	for i, id := range g.IDs {
		_, g.SumQX[i], g.SumQ2[i] = iq4GroupFit(g.X[:], g.W[:], id, nil)
	}
}

// Scale returns the group's float scale from the fits: the first fit's,
// then each multiplier of the search in turn where it reduces the error
// more.
func (g *IQ4Group) Scale() float32 {
	d := g.SumQX[iq4First] / g.SumQ2[iq4First]
	best := float32(d * g.SumQX[iq4First])
	for i := range 2*iq4SearchSteps + 1 {
		sqx, sq2 := g.SumQX[i], g.SumQ2[i]
		if sq2 > 0 && float32(sqx*sqx) > float32(best*sq2) {
			d = sqx / sq2
			best = float32(d * sqx)
		}
	}
	return d
}

// iq4GroupScale finds one 32-element group's float scale (IQ4Group). Weights
// are x² without an importance matrix (qw nil), else qw·√(sigma2 + x²).
// The fits are q's IQ4Fit where q has one, else the Go loops.
func iq4GroupScale(x []float32, qw []float32, sigma2 float32, q *Quantizer) float32 {
	if q != nil && q.IQ4Fit != nil {
		// q's group, not one of this frame's: a group handed to a
		// function value would be allocated each call.
		if !q.g.start(x, qw, sigma2) {
			return 0
		}
		q.IQ4Fit(&q.g)
		return q.g.Scale()
	}
	var g IQ4Group
	if !g.start(x, qw, sigma2) {
		return 0
	}
	g.Fit()
	return g.Scale()
}

// Quantizer is QuantizeRow with the scale searches of IQ4_NL, IQ4_XS,
// Q6_K and those of make_qkx2_quants (Q2_K, Q4_K, Q5_K; Q4_1 and Q5_1
// with an importance matrix) fitted by a faster implementation. One
// Quantizer serves one goroutine: it holds the searches' scratch.
type Quantizer struct {
	Fits
	g    IQ4Group
	qx   QxGroup
	k2   Qkx2Batch
	iqc  IQCandidates
	rowW []float32 // rowScratch's
	rowL []uint8
	rowS []float32
}

// Fits are faster implementations of the quantizers' scale searches, each
// with the Go search's bits (kernels.VecOps.Fits); a nil one leaves its
// search to the Go loop.
type Fits struct {
	// IQ4Fit fits an IQ4_NL or IQ4_XS group's multipliers in place of
	// IQ4Group.Fit.
	IQ4Fit func(*IQ4Group)
	// QxFit fits a Q6_K sub-block's trial scales in place of QxGroup.Fit.
	QxFit func(*QxGroup)
	// Qkx2Fit runs a batch of make_qkx2_quants searches in place of
	// Qkx2Batch.Fit.
	Qkx2Fit func(*Qkx2Batch)
	// IQNearest searches an IQ codebook's candidates for a point off it
	// (IQ1, IQ2 and IQ3 types) in place of IQCandidates.Nearest.
	IQNearest func(*IQCandidates) int
}

// fits reports whether q fits t's scale search itself (QuantizeRow then
// goes block by block with q even without an importance matrix).
func (q *Quantizer) fits(t Type) bool {
	if q == nil {
		return false
	}
	switch t {
	case IQ4_NL, IQ4_XS:
		return q.IQ4Fit != nil
	case Q6_K:
		return q.QxFit != nil
	case Q2_K, Q4_K, Q5_K:
		return q.Qkx2Fit != nil
	case IQ3_XXS, IQ3_S, IQ2_XXS, IQ2_XS, IQ2_S:
		return q.IQNearest != nil
	}
	return false
}

// packIQ4Codes writes 32 codes as 16 bytes, element j low and j+16 high.
func packIQ4Codes(codes []uint8, qs []byte) {
	for j := 0; j < 16; j++ {
		qs[j] = codes[j] | codes[j+16]<<4
	}
}

func quantizeIQ4_NLBlock(x []float32, y []byte) { quantizeIQ4_NL(x, y, nil, nil) }

// quantizeIQ4_NL is quantize_iq4_nl, with an importance matrix qw where
// not nil (the block is its own super-block, so the weights grow against
// twice its mean square), and q's fits where q has them.
func quantizeIQ4_NL(x []float32, y []byte, qw []float32, q *Quantizer) {
	var sigma2 float32
	if qw != nil {
		sigma2 = 2 * meanSquare(x[:32])
	}
	PutIQ4_NL(x, iq4GroupScale(x, qw, sigma2, q), y)
}

// PutIQ4_NL writes the IQ4_NL block of the 32 values x at y for their
// float scale d (IQ4Group.Scale, or 0 for a group that is all zero): d in
// fp16 and each value's code for it.
func PutIQ4_NL(x []float32, d float32, y []byte) {
	var codes [32]uint8
	put16(y, FP32ToFP16(d))
	// The codes are chosen again for the scale found (ntry > 0 in ggml),
	// the float one, not its fp16 rounding, as ggml does.
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for j, v := range x {
		codes[j] = nearestLevel(float32(id * v))
	}
	packIQ4Codes(codes[:], y[2:18])
}

func quantizeIQ4_XSBlock(x []float32, y []byte) { quantizeIQ4_XS(x, y, nil, nil) }

// quantizeIQ4_XS is quantize_iq4_xs, with an importance matrix qw where
// not nil (the weights grow against twice the super-block's mean square),
// and q's fits where q has them.
func quantizeIQ4_XS(x []float32, y []byte, qw []float32, q *Quantizer) {
	var scales [QK_K / 32]float32
	var maxScale, amaxScale float32
	var sigma2 float32
	if qw != nil {
		sigma2 = 2 * meanSquare(x[:QK_K])
	}
	for g := range scales {
		var gw []float32
		if qw != nil {
			gw = qw[32*g : 32*g+32]
		}
		s := iq4GroupScale(x[32*g:32*g+32], gw, sigma2, q)
		scales[g] = s
		if a := abs32(s); a > amaxScale {
			amaxScale, maxScale = a, s
		}
	}
	// The super-block scale maps the largest group scale to −32, the end
	// of the 6-bit range with the most room; −0 when every group is zero,
	// as in ggml.
	d := -maxScale / 32
	put16(y[iq4xsD:], FP32ToFP16(d))
	var id float32
	if d != 0 {
		id = 1 / d
	}
	var scalesH uint16
	var codes [32]uint8
	for g := range scales {
		l := clampInt(nearestInt(float32(id*scales[g])), -32, 31)
		dl := float32(d * float32(l))
		var idl float32
		if dl != 0 {
			idl = 1 / dl
		}
		for j, v := range x[32*g : 32*g+32] {
			codes[j] = nearestLevel(float32(idl * v))
		}
		packIQ4Codes(codes[:], y[iq4xsQS+16*g:iq4xsQS+16*g+16])
		l += 32
		if g%2 == 0 {
			y[iq4xsScalesL+g/2] = byte(l & 0xf)
		} else {
			y[iq4xsScalesL+g/2] |= byte(l&0xf) << 4
		}
		scalesH |= uint16(l>>4) << (2 * g)
	}
	put16(y[iq4xsScalesH:], scalesH)
}

// iq4GroupDot is the integer dot of 32 IQ4 codes (16 bytes, element j
// low and j+16 high) with 32 int8 activations, as both IQ4 types' dot
// products take it a group at a time.
func iq4GroupDot(qs, a []byte) int32 {
	var sumi int32
	for j := 0; j < 16; j++ {
		sumi += int32(int8(a[j])) * int32(iq4Levels[qs[j]&0xf])
		sumi += int32(int8(a[j+16])) * int32(iq4Levels[qs[j]>>4])
	}
	return sumi
}

// dotIQ4_NL is ggml_vec_dot_iq4_nl_q8_0's generic form.
func dotIQ4_NL(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*18 : i*18+18]
		qy, dy := q8Block(a, i, 34, q8_0QS)
		sumf += float32(float32(f16at(x)*dy) * float32(iq4GroupDot(x[2:18], qy)))
	}
	return sumf
}

// dotIQ4_XS is ggml_vec_dot_iq4_xs_q8_K's generic form: each group's
// integer dot times its scale is added in float, group by group.
func dotIQ4_XS(nb int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		x := w[i*136 : i*136+136]
		q8, dy, _ := q8KBlock(a, i)
		d := f16at(x[iq4xsD:]) * dy
		for g := 0; g < QK_K/32; g++ {
			sumi := iq4GroupDot(x[iq4xsQS+16*g:iq4xsQS+16*g+16], q8[32*g:32*g+32])
			sumf += float32(float32(d*float32(iq4xsGroupScale(x, g))) * float32(sumi))
		}
	}
	return sumf
}
