//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// The K-quant kernels (neon_arm64.h's conventions) take Q8_K activations:
// 256 quants, one float32 scale and sixteen int16 group sums a
// super-block, and follow quant.VecDot: exact int32 sums a super-block,
// then its float step. R8 is the super-block, F25 the row's sum.

// Q4_K's 6-bit scale (s) and min (m) of sub-block j from the 12 scale
// bytes: bytes 0-7 in R13, 8-11 in R14 (scaleMinK4 in quant).
#define SM_LO(j, s, m) \
	UBFX $(8*(j)), R13, $6, s \
	UBFX $(8*(j)+32), R13, $6, m

#define SM_HI(j, s, m) \
	UBFX $(8*(j)-32), R14, $4, s \
	UBFX $(8*(j)-26), R13, $2, R17 \
	ORR  R17<<4, s, s \
	UBFX $(8*(j)-28), R14, $4, m \
	UBFX $(8*(j)+6), R13, $2, R17 \
	ORR  R17<<4, m, m

// Sub-blocks 2c and 2c+1 (the low and the high nibbles of 32 code bytes at
// R10, in V3-V4 and V1-V2, HIGH adding Q5_K's fifth bits) against their 64
// activation quants; their sums, scaled by R21 and R23, go to R19, and
// their four group sums, scaled by the mins R22 and R24, to R20.
#define K_PAIR(HIGH) \
	VLD1.P 32(R10), [V1.B16, V2.B16] \
	VAND   V31.B16, V1.B16, V3.B16 \
	VAND   V31.B16, V2.B16, V4.B16 \
	VUSHR  $4, V1.B16, V1.B16 \
	VUSHR  $4, V2.B16, V2.B16 \
	HIGH \
	VLD1.P 64(R2), [V16.B16, V17.B16, V18.B16, V19.B16] \
	VEOR   V20.B16, V20.B16, V20.B16 \
	VEOR   V21.B16, V21.B16, V21.B16 \
	SDOT(20, 3, 16) \
	SDOT(20, 4, 17) \
	SDOT(21, 1, 18) \
	SDOT(21, 2, 19) \
	VADDV  V20.S4, V20 \
	VADDV  V21.S4, V21 \
	FMOVS  F20, R15 \
	FMOVS  F21, R16 \
	MADDW  R21, R19, R15, R19 \
	MADDW  R23, R19, R16, R19 \
	MOVH.P 2(R4), R15 \
	MOVH.P 2(R4), R16 \
	ADDW   R16, R15, R15 \
	MADDW  R22, R20, R15, R20 \
	MOVH.P 2(R4), R15 \
	MOVH.P 2(R4), R16 \
	ADDW   R16, R15, R15 \
	MADDW  R24, R20, R15, R20

#define NO_HIGH

// Q5_K's fifth bits of sub-blocks 2c and 2c+1: bit j of qh's 32 bytes
// (V5, V6) moved to bit 4 (by op0 $s0 for j = 2c, op1 $s1 for 2c+1), masked
// with V30 = 0x10 and set in the codes.
#define Q5_HIGH(op0, s0, op1, s1) \
	op0  $s0, V5.B16, V8.B16 \
	op0  $s0, V6.B16, V9.B16 \
	op1  $s1, V5.B16, V10.B16 \
	op1  $s1, V6.B16, V11.B16 \
	VAND V30.B16, V8.B16, V8.B16 \
	VAND V30.B16, V9.B16, V9.B16 \
	VAND V30.B16, V10.B16, V10.B16 \
	VAND V30.B16, V11.B16, V11.B16 \
	VORR V8.B16, V3.B16, V3.B16 \
	VORR V9.B16, V4.B16, V4.B16 \
	VORR V10.B16, V1.B16, V1.B16 \
	VORR V11.B16, V2.B16, V2.B16

// The four pairs of a Q4_K or Q5_K super-block at R8 (scales at 4, codes
// at R10), with the fifth-bit steps H0-H3, into R19 (scaled sums) and R20
// (scaled mins).
#define K4K5_PAIRS(H0, H1, H2, H3) \
	MOVD  4(R8), R13 \
	MOVWU 12(R8), R14 \
	MOVW  ZR, R19 \
	MOVW  ZR, R20 \
	SM_LO(0, R21, R22) \
	SM_LO(1, R23, R24) \
	K_PAIR(H0) \
	SM_LO(2, R21, R22) \
	SM_LO(3, R23, R24) \
	K_PAIR(H1) \
	SM_HI(4, R21, R22) \
	SM_HI(5, R23, R24) \
	K_PAIR(H2) \
	SM_HI(6, R21, R22) \
	SM_HI(7, R23, R24) \
	K_PAIR(H3)

// The float step of Q4_K and Q5_K (dotK4K5 in quant): d and dmin are the
// fp16 bits in R11 and R12, isum R19, mins R20; the row's sum is F25.
#define K4K5_FLOAT \
	FMOVS   R11, F1 \
	FCVTHS  F1, F1 \
	FMOVS   R12, F2 \
	FCVTHS  F2, F2 \
	FMOVS.P 4(R3), F3 \
	FMULS   F3, F1, F1 \
	FMULS   F3, F2, F2 \
	SCVTFWS R19, F4 \
	SCVTFWS R20, F5 \
	FMULS   F4, F1, F4 \
	FMULS   F5, F2, F5 \
	FSUBS   F5, F4, F4 \
	FADDS   F4, F25, F25

// func dotQ4_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// Q4_K (144 bytes: fp16 d, fp16 dmin, 12 scale bytes, 128 code bytes):
// sumf += float32(d·dy·isum) − float32(dmin·dy·mins), as the reference.
TEXT ·dotQ4_KNEON(SB), NOSPLIT, $0-64
	ROW_ARGS
	VMOVI $15, V31.B16
	ROW_HEAD(k4row, k4store, F25)

k4block:
	MOVHU 0(R8), R11
	MOVHU 2(R8), R12
	ADD   $16, R8, R10
	K4K5_PAIRS(NO_HIGH, NO_HIGH, NO_HIGH, NO_HIGH)
	K4K5_FLOAT
	ADD     $144, R8, R8
	ROW_TAIL(k4row, k4block, k4store, F25)

// func dotQ5_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// Q5_K (176 bytes: fp16 d, fp16 dmin, 12 scale bytes, 32 bytes of fifth
// bits, 128 code bytes): dotQ4_KNEON with bit j of qh[l] added as 16 to
// element l of sub-block j.
TEXT ·dotQ5_KNEON(SB), NOSPLIT, $0-64
	ROW_ARGS
	VMOVI $15, V31.B16
	VMOVI $16, V30.B16
	ROW_HEAD(k5row, k5store, F25)

k5block:
	MOVHU  0(R8), R11
	MOVHU  2(R8), R12
	ADD    $16, R8, R10
	VLD1.P 32(R10), [V5.B16, V6.B16]
	K4K5_PAIRS(Q5_HIGH(VSHL, 4, VSHL, 3), Q5_HIGH(VSHL, 2, VSHL, 1), Q5_HIGH(VSHL, 0, VUSHR, 1), Q5_HIGH(VUSHR, 2, VUSHR, 3))
	K4K5_FLOAT
	ADD    $176, R8, R8
	ROW_TAIL(k5row, k5block, k5store, F25)

// One Q6_K code vector: 16 low-nibble (lo = V31 mask) or high-nibble
// (VUSHR) bits from ql, the two high bits from qh shifted into bits 4-5
// (V30 = 0x30), minus 32 (V29).
#define Q6_CODES(hi, dst) \
	VAND V30.B16, hi, V15.B16 \
	VORR V15.B16, dst, dst \
	VSUB V29.B16, dst, dst

// One half super-block (128 codes: ql 64 bytes at R10, qh 32 at R11,
// eight int8 group scales at R12) against its 128 activation quants, into
// R19.
#define Q6K_HALF \
	VLD1.P 64(R10), [V1.B16, V2.B16, V3.B16, V4.B16] \
	VLD1.P 32(R11), [V5.B16, V6.B16] \
	VAND   V31.B16, V1.B16, V7.B16 \
	VSHL   $4, V5.B16, V15.B16 \
	Q6_CODES(V15.B16, V7.B16) \
	VAND   V31.B16, V2.B16, V8.B16 \
	VSHL   $4, V6.B16, V15.B16 \
	Q6_CODES(V15.B16, V8.B16) \
	VAND   V31.B16, V3.B16, V9.B16 \
	VSHL   $2, V5.B16, V15.B16 \
	Q6_CODES(V15.B16, V9.B16) \
	VAND   V31.B16, V4.B16, V10.B16 \
	VSHL   $2, V6.B16, V15.B16 \
	Q6_CODES(V15.B16, V10.B16) \
	VUSHR  $4, V1.B16, V11.B16 \
	Q6_CODES(V5.B16, V11.B16) \
	VUSHR  $4, V2.B16, V12.B16 \
	Q6_CODES(V6.B16, V12.B16) \
	VUSHR  $4, V3.B16, V13.B16 \
	VUSHR  $2, V5.B16, V15.B16 \
	Q6_CODES(V15.B16, V13.B16) \
	VUSHR  $4, V4.B16, V14.B16 \
	VUSHR  $2, V6.B16, V15.B16 \
	Q6_CODES(V15.B16, V14.B16) \
	DOT8 \
	Q6_GROUP(V20, F20) \
	Q6_GROUP(V21, F21) \
	Q6_GROUP(V22, F22) \
	Q6_GROUP(V23, F23) \
	Q6_GROUP(V24, F24) \
	Q6_GROUP(V25, F25) \
	Q6_GROUP(V26, F26) \
	Q6_GROUP(V27, F27)

// A 16-code group's sum (four lanes of acc) times its int8 scale, into R19.
#define Q6_GROUP(acc, f) \
	VADDV  acc.S4, acc \
	FMOVS  f, R15 \
	MOVB.P 1(R12), R16 \
	MADDW  R16, R19, R15, R19

// func dotQ6_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// Q6_K (210 bytes: ql 128, qh 64, 16 int8 scales, fp16 d):
// sumf += float32(d·dy)·isum.
// The row's sum is in F28: V20-V27 hold the group sums.
TEXT ·dotQ6_KNEON(SB), NOSPLIT, $0-64
	ROW_ARGS
	VMOVI $15, V31.B16
	VMOVI $48, V30.B16
	VMOVI $32, V29.B16
	ROW_HEAD(k6row, k6store, F28)

k6block:
	MOVD    R8, R10
	ADD     $128, R8, R11
	ADD     $192, R8, R12
	MOVW    ZR, R19
	Q6K_HALF
	Q6K_HALF
	MOVHU   208(R8), R13
	FMOVS   R13, F1
	FCVTHS  F1, F1
	FMOVS.P 4(R3), F3
	FMULS   F3, F1, F1
	SCVTFWS R19, F4
	FMULS   F4, F1, F4
	FADDS   F4, F28, F28
	ADD     $210, R8, R8
	ROW_TAIL(k6row, k6block, k6store, F28)
