//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// Constants of the fifth bits: the bit each lane tests, and TBL indices
// that spread qh's bytes 0-1 and 2-3 over eight lanes each.
DATA qhspread<>+0(SB)/8, $0x8040201008040201
DATA qhspread<>+8(SB)/8, $0x8040201008040201
DATA qhspread<>+16(SB)/8, $0x0000000000000000
DATA qhspread<>+24(SB)/8, $0x0101010101010101
DATA qhspread<>+32(SB)/8, $0x0202020202020202
DATA qhspread<>+40(SB)/8, $0x0303030303030303
GLOBL qhspread<>(SB), RODATA|NOPTR, $48

// Kernels of the 32-element formats with a min or a fifth bit, in the
// split layout (neon_arm64.h): its registers, and V31 = 0x0f,
// V30 = 0x10, V27/V28 the spreading indices, V26 the lane bits.
#define LEGACY_ARGS \
	ROW_ARGS \
	MOVD  $qhspread<>(SB), R9 \
	VLD1  (R9), [V26.B16, V27.B16, V28.B16] \
	VMOVI $15, V31.B16 \
	VMOVI $16, V30.B16

// Fifth bits: qh (the 32-bit word in R11) bit j adds 16 to element j.
#define FIFTH \
	FMOVS  R11, F6 \
	VTBL   V27.B16, [V6.B16], V7.B16 \
	VTBL   V28.B16, [V6.B16], V8.B16 \
	VCMTST V26.B16, V7.B16, V7.B16 \
	VCMTST V26.B16, V8.B16, V8.B16 \
	VAND   V30.B16, V7.B16, V7.B16 \
	VAND   V30.B16, V8.B16, V8.B16 \
	VORR   V7.B16, V2.B16, V2.B16 \
	VORR   V8.B16, V3.B16, V3.B16

// Q4_1, Q5_1 (Q8_1 activations: d_a, then s_a = d_a·Σq_a, in the split
// scales): sumf += float32(float32(d·d_a)·float32(sum)) + float32(m·s_a),
// m's fp16 bits in R12.
#define MIN_FLOAT \
	HALF_F22 \
	FMOVS.P 4(R3), F23 \
	FMOVS.P 4(R3), F19 \
	FMULS   F23, F22, F24 \
	FMULS   F21, F24, F24 \
	FMOVS   R12, F22 \
	FCVTHS  F22, F22 \
	FMULS   F19, F22, F22 \
	FADDS   F22, F24, F24 \
	FADDS   F24, F25, F25

// func dotQ5_0NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// Q5_0 (22 bytes: fp16 d, 32 bits qh, 16 code bytes): codes minus 16;
// sumf += float32(float32(d·d_a)·float32(sum)).
TEXT ·dotQ5_0NEON(SB), NOSPLIT, $0-64
	LEGACY_ARGS
	ROW_HEAD(q50row, q50store, F25)

q50block:
	MOVHU.P 2(R8), R10
	MOVWU.P 4(R8), R11
	NIBBLES(R8)
	FIFTH
	VSUB    V30.B16, V2.B16, V2.B16
	VSUB    V30.B16, V3.B16, V3.B16
	DOT32
	HALF_F22
	FMOVS.P 4(R3), F23
	FMULS   F23, F22, F24
	FMULS   F21, F24, F24
	FADDS   F24, F25, F25
	ROW_TAIL(q50row, q50block, q50store, F25)

// func dotQ4_1NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// Q4_1 (20 bytes: fp16 d, fp16 m, 16 code bytes).
TEXT ·dotQ4_1NEON(SB), NOSPLIT, $0-64
	LEGACY_ARGS
	ROW_HEAD(q41row, q41store, F25)

q41block:
	MOVHU.P 2(R8), R10
	MOVHU.P 2(R8), R12
	NIBBLES(R8)
	DOT32
	MIN_FLOAT
	ROW_TAIL(q41row, q41block, q41store, F25)

// func dotQ5_1NEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// Q5_1 (24 bytes: fp16 d, fp16 m, 32 bits qh, 16 code bytes).
TEXT ·dotQ5_1NEON(SB), NOSPLIT, $0-64
	LEGACY_ARGS
	ROW_HEAD(q51row, q51store, F25)

q51block:
	MOVHU.P 2(R8), R10
	MOVHU.P 2(R8), R12
	MOVWU.P 4(R8), R11
	NIBBLES(R8)
	FIFTH
	DOT32
	MIN_FLOAT
	ROW_TAIL(q51row, q51block, q51store, F25)
