//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// The attention loops over a Q8_0 cache (VecOps.DotQ8_0Rows,
// AxpyQ8_0Rows): the Go references' lanes and order, each fma32 an FMLA,
// so the same bits.

// func dotQ8_0RowsNEON(out *float32, q *byte, qd *float32, k *byte, kstride int, n int, nb int)
// out[j] = Σ over the nb blocks of K row j (34 bytes: fp16 d, 32 int8,
// rows kstride bytes apart) of the exact int32 lanes (lane l: quants
// 4l..4l+3, by SDOT) fused-multiply-added by d_k·d_q into eight float
// lanes (V0, V1), then the lanes' tree l+4, l+2, l+1. Needs FEAT_DotProd.
TEXT ·dotQ8_0RowsNEON(SB), NOSPLIT, $0-56
	MOVD out+0(FP), R0
	MOVD q+8(FP), R1
	MOVD qd+16(FP), R2
	MOVD k+24(FP), R3
	MOVD kstride+32(FP), R4
	MOVD n+40(FP), R5
	MOVD nb+48(FP), R9

qrow:
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	MOVD R1, R6
	MOVD R2, R7
	MOVD R3, R8
	MOVD R9, R11

qblock:
	MOVHU.P 2(R8), R10
	FMOVS   R10, F22
	FCVTHS  F22, F22
	FMOVS.P 4(R7), F23
	FMULS   F23, F22, F22
	VDUP    V22.S[0], V22.S4
	VLD1.P  32(R8), [V2.B16, V3.B16]
	VLD1.P  32(R6), [V4.B16, V5.B16]
	VEOR    V20.B16, V20.B16, V20.B16
	VEOR    V21.B16, V21.B16, V21.B16
	SDOT(20, 2, 4)
	SDOT(21, 3, 5)
	SCVTF4(20, 20)
	SCVTF4(21, 21)
	VFMLA   V20.S4, V22.S4, V0.S4
	VFMLA   V21.S4, V22.S4, V1.S4
	SUBS    $1, R11, R11
	BNE     qblock

	FADD4(0, 0, 1)
	VEXT    $8, V0.B16, V0.B16, V1.B16
	FADD4(0, 0, 1)
	FADDP2S(0, 0)
	FMOVS.P F0, 4(R0)
	ADD     R4, R3, R3
	SUBS    $1, R5, R5
	BNE     qrow
	RET

// Sixteen int8 quants in Vn as float32 in a, b, c, d (V18, V19 scratch).
#define WIDEN16(n, a, b, c, d) \
	SXTL8H(18, n) \
	SXTL28H(19, n) \
	SXTL4S(a, 18) \
	SXTL24S(b, 18) \
	SXTL4S(c, 19) \
	SXTL24S(d, 19) \
	SCVTF4(a, a) \
	SCVTF4(b, b) \
	SCVTF4(c, c) \
	SCVTF4(d, d)

// func axpyQ8_0RowsNEON(acc *float32, nb int, p *float32, n int, v *byte, vstride int)
// acc[32b+e] += float32(quant e of block b of V row j)·(p[j]·d_j), one
// FMLA an element, rows in order within each block: a block's 32 sums stay
// in V0-V7 over all the rows.
TEXT ·axpyQ8_0RowsNEON(SB), NOSPLIT, $0-48
	MOVD acc+0(FP), R0
	MOVD nb+8(FP), R1
	MOVD p+16(FP), R2
	MOVD n+24(FP), R3
	MOVD v+32(FP), R4
	MOVD vstride+40(FP), R5

ablock:
	VLD1 (R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	ADD  $64, R0, R12
	VLD1 (R12), [V4.S4, V5.S4, V6.S4, V7.S4]
	MOVD R2, R6
	MOVD R4, R7
	MOVD R3, R8

arow:
	FMOVS.P 4(R6), F20
	MOVHU   (R7), R10
	FMOVS   R10, F21
	FCVTHS  F21, F21
	FMULS   F21, F20, F21
	VDUP    V21.S[0], V21.S4
	ADD     $2, R7, R11
	VLD1    (R11), [V16.B16, V17.B16]
	WIDEN16(16, 24, 25, 26, 27)
	VFMLA   V24.S4, V21.S4, V0.S4
	VFMLA   V25.S4, V21.S4, V1.S4
	VFMLA   V26.S4, V21.S4, V2.S4
	VFMLA   V27.S4, V21.S4, V3.S4
	WIDEN16(17, 24, 25, 26, 27)
	VFMLA   V24.S4, V21.S4, V4.S4
	VFMLA   V25.S4, V21.S4, V5.S4
	VFMLA   V26.S4, V21.S4, V6.S4
	VFMLA   V27.S4, V21.S4, V7.S4
	ADD     R5, R7, R7
	SUBS    $1, R8, R8
	BNE     arow

	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	VST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R0)
	ADD    $34, R4, R4
	SUBS   $1, R1, R1
	BNE    ablock
	RET
