//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// Each kernel takes the float operations of its reference (quant.VecDot)
// in their order, each rounded (the reference fuses no multiply-add, on
// any architecture), so the outputs are its bits: F21 is the block's
// integer dot (DOT32), F22 the weight scale, F23 the activation scale, F25
// the row's sum.

// Q8_0: sumf += float32(sum) · (d_w·d_a).
#define Q8_0_FLOAT \
	FMULS F23, F22, F24 \
	FMULS F24, F21, F24 \
	FADDS F24, F25, F25

// Q4_0: sumf += float32(float32(sum)·d_w) · d_a.
#define Q4_0_FLOAT \
	FMULS F22, F21, F24 \
	FMULS F23, F24, F24 \
	FADDS F24, F25, F25

// func dotQ8_0NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// Q8_0 weights: fp16 d, 32 int8 codes a block.
TEXT ·dotQ8_0NEON(SB), NOSPLIT, $0-64
	ROW_ARGS
	ROW_HEAD(q8row, q8store, F25)

q8block:
	MOVHU.P 2(R8), R10
	VLD1.P  32(R8), [V2.B16, V3.B16]
	FMOVS.P 4(R3), F23
	DOT32
	HALF_F22
	Q8_0_FLOAT
	ROW_TAIL(q8row, q8block, q8store, F25)

// func dotQ4_0NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// Q4_0 weights: fp16 d, 16 bytes (elements j and j+16 in the low and high
// nibble of byte j, each minus 8).
TEXT ·dotQ4_0NEON(SB), NOSPLIT, $0-64
	ROW_ARGS
	VMOVI $15, V31.B16
	VMOVI $8, V30.B16
	ROW_HEAD(q4row, q4store, F25)

q4block:
	MOVHU.P 2(R8), R10
	NIBBLES(R8)
	VSUB    V30.B16, V2.B16, V2.B16
	VSUB    V30.B16, V3.B16, V3.B16
	FMOVS.P 4(R3), F23
	DOT32
	HALF_F22
	Q4_0_FLOAT
	ROW_TAIL(q4row, q4block, q4store, F25)
