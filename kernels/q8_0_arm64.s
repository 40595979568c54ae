//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// A block's float step: V20 holds the block's integer dot in four lanes,
// R10 the weight scale's fp16 bits and F23 the activation scale; the row's
// sum is F25. Each kernel takes the float operations of its reference
// (quant.VecDot) in their order, each rounded (the reference fuses no
// multiply-add, on any architecture), so the outputs are its bits.
#define BLOCK_SUM \
	VADDV   V20.S4, V20 \
	FMOVS   F20, R11 \
	SCVTFWS R11, F21 \
	FMOVS   R10, F22 \
	FCVTHS  F22, F22

// Q8_0: sumf += float32(sum) · (d_w·d_a).
#define Q8_0_FLOAT \
	BLOCK_SUM \
	FMULS F23, F22, F24 \
	FMULS F24, F21, F24 \
	FADDS F24, F25, F25

// Q4_0: sumf += float32(float32(sum)·d_w) · d_a.
#define Q4_0_FLOAT \
	BLOCK_SUM \
	FMULS F22, F21, F24 \
	FMULS F23, F24, F24 \
	FADDS F24, F25, F25

// func dotQ8_0NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// One Q8_0 weight row (nb blocks of fp16 d, 32 int8) against nx activation
// rows in the split layout (32 quants a block, one float32 scale a block),
// each row a pass of its own over the weights (they stay in L1), so an
// output's bits do not depend on nx.
TEXT ·dotQ8_0NEON(SB), NOSPLIT, $0-64
	MOVD w+0(FP), R0
	MOVD nb+8(FP), R1
	MOVD qs+16(FP), R2
	MOVD d+24(FP), R3
	MOVD nx+40(FP), R5
	MOVD y+48(FP), R6
	MOVD ystride+56(FP), R7

	ROW_HEAD(q8row, q8store, F25)

q8block:
	MOVHU.P 2(R8), R10
	VLD1.P  32(R8), [V1.B16, V2.B16]
	VLD1.P  32(R2), [V3.B16, V4.B16]
	FMOVS.P 4(R3), F23
	VEOR    V20.B16, V20.B16, V20.B16
	SDOT(20, 1, 3)
	SDOT(20, 2, 4)
	Q8_0_FLOAT
	ROW_TAIL(q8row, q8block, q8store, F25)

// func dotQ4_0NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// dotQ8_0NEON for Q4_0 weights (fp16 d, 16 bytes: elements j and j+16 in
// the low and high nibble of byte j, each minus 8).
TEXT ·dotQ4_0NEON(SB), NOSPLIT, $0-64
	MOVD  w+0(FP), R0
	MOVD  nb+8(FP), R1
	MOVD  qs+16(FP), R2
	MOVD  d+24(FP), R3
	MOVD  nx+40(FP), R5
	MOVD  y+48(FP), R6
	MOVD  ystride+56(FP), R7
	VMOVI $15, V31.B16
	VMOVI $8, V30.B16
	ROW_HEAD(q4row, q4store, F25)

q4block:
	MOVHU.P 2(R8), R10
	VLD1.P  16(R8), [V1.B16]
	VAND    V31.B16, V1.B16, V2.B16
	VUSHR   $4, V1.B16, V3.B16
	VSUB    V30.B16, V2.B16, V2.B16
	VSUB    V30.B16, V3.B16, V3.B16
	VLD1.P  32(R2), [V4.B16, V5.B16]
	FMOVS.P 4(R3), F23
	VEOR    V20.B16, V20.B16, V20.B16
	SDOT(20, 2, 4)
	SDOT(20, 3, 5)
	Q4_0_FLOAT
	ROW_TAIL(q4row, q4block, q4store, F25)
