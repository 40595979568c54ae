//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// The float kernels compute one weight row against n float32 activation
// rows (row i at a + i·astride bytes) over 8·n8 columns: each row's
// products go to two four-lane multiply-add accumulators (columns 8k..8k+3
// and 8k+4..8k+7), added at the end, then the lanes pairwise. WIDEN loads
// the next eight weights as float32 into V2 (first four) and V3.
#define FLOAT_KERNEL(WIDEN, row, cols, store) \
	MOVD w+0(FP), R0 \
	MOVD n8+8(FP), R1 \
	MOVD a+16(FP), R3 \
	MOVD astride+24(FP), R4 \
	MOVD n+32(FP), R5 \
	MOVD y+40(FP), R6 \
	MOVD ystride+48(FP), R7 \
row: \
	MOVD R0, R8 \
	MOVD R3, R2 \
	MOVD R1, R9 \
	VEOR V20.B16, V20.B16, V20.B16 \
	VEOR V21.B16, V21.B16, V21.B16 \
	CBZ  R9, store \
cols: \
	WIDEN \
	VLD1.P 32(R2), [V4.S4, V5.S4] \
	VFMLA  V4.S4, V2.S4, V20.S4 \
	VFMLA  V5.S4, V3.S4, V21.S4 \
	SUBS   $1, R9, R9 \
	BNE    cols \
store: \
	FADD4(20, 20, 21) \
	FADDP4(20, 20, 20) \
	FADDP2S(20, 20) \
	FMOVS F20, (R6) \
	ADD   R7, R6, R6 \
	ADD   R4, R3, R3 \
	SUBS  $1, R5, R5 \
	BNE   row \
	RET

#define WIDEN_F32 VLD1.P 32(R8), [V2.S4, V3.S4]

#define WIDEN_F16 \
	VLD1.P 16(R8), [V1.H8] \
	FCVTL(2, 1) \
	FCVTL2(3, 1)

#define WIDEN_BF16 \
	VLD1.P 16(R8), [V1.H8] \
	SHLL16(2, 1) \
	SHLL216(3, 1)

// func dotF32NEON(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)
TEXT ·dotF32NEON(SB), NOSPLIT, $0-56
	FLOAT_KERNEL(WIDEN_F32, f32row, f32cols, f32store)

// func dotF16NEON(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)
TEXT ·dotF16NEON(SB), NOSPLIT, $0-56
	FLOAT_KERNEL(WIDEN_F16, f16row, f16cols, f16store)

// func dotBF16NEON(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)
TEXT ·dotBF16NEON(SB), NOSPLIT, $0-56
	FLOAT_KERNEL(WIDEN_BF16, bf16row, bf16cols, bf16store)
