//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// Q2_K and Q3_K for arm64: the K-quant kernels' conventions (see
// kquants_arm64.s: split Q8_K activations, a pass over the weights per
// activation row, quant.VecDot's arithmetic and bits). Each half
// super-block's 32 code bytes (V1, V2) hold four 2-bit planes: group g
// (16 codes) of half h is plane (g/2)%4 of V1 (g even) or V2 (g odd), the
// order of its 16 activation quants. The eight groups of a half are
// dotted into V20-V27, whose sums are then scaled one by one (Q2_K_GROUP,
// Q3_K_GROUP), so the row's sum is in F28.

// The four 2-bit planes of V1 and V2 (V31 = 3), group order, in V7-V14.
#define PLANES \
	VAND  V31.B16, V1.B16, V7.B16 \
	VAND  V31.B16, V2.B16, V8.B16 \
	VUSHR $2, V1.B16, V9.B16 \
	VUSHR $2, V2.B16, V10.B16 \
	VUSHR $4, V1.B16, V11.B16 \
	VUSHR $4, V2.B16, V12.B16 \
	VUSHR $6, V1.B16, V13.B16 \
	VUSHR $6, V2.B16, V14.B16 \
	VAND  V31.B16, V9.B16, V9.B16 \
	VAND  V31.B16, V10.B16, V10.B16 \
	VAND  V31.B16, V11.B16, V11.B16 \
	VAND  V31.B16, V12.B16, V12.B16

// Q2_K group: its sum times the scale byte's low nibble into R19, its
// activation group sum (R4) times the high nibble (the min) into R20.
#define Q2_K_GROUP(acc, f) \
	VADDV  acc.S4, acc \
	FMOVS  f, R15 \
	MOVBU.P 1(R12), R16 \
	ANDW   $15, R16, R17 \
	LSRW   $4, R16, R16 \
	MADDW  R17, R19, R15, R19 \
	MOVH.P 2(R4), R15 \
	MADDW  R16, R20, R15, R20

#define Q2_K_HALF \
	VLD1.P 32(R10), [V1.B16, V2.B16] \
	PLANES \
	DOT8 \
	Q2_K_GROUP(V20, F20) \
	Q2_K_GROUP(V21, F21) \
	Q2_K_GROUP(V22, F22) \
	Q2_K_GROUP(V23, F23) \
	Q2_K_GROUP(V24, F24) \
	Q2_K_GROUP(V25, F25) \
	Q2_K_GROUP(V26, F26) \
	Q2_K_GROUP(V27, F27)

// func dotQ2_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// Q2_K (84 bytes: 16 scale bytes, 64 code bytes, fp16 d, fp16 dmin):
// sumf += float32(d·dy·isum) − float32(dmin·dy·mins), as the reference.
TEXT ·dotQ2_KNEON(SB), NOSPLIT, $0-64
	ROW_ARGS
	VMOVI $3, V31.B16
	ROW_HEAD(k2row, k2store, F28)

k2block:
	MOVD    R8, R12
	ADD     $16, R8, R10
	MOVW    ZR, R19
	MOVW    ZR, R20
	Q2_K_HALF
	Q2_K_HALF
	MOVHU   80(R8), R11
	MOVHU   82(R8), R13
	FMOVS   R11, F1
	FCVTHS  F1, F1
	FMOVS   R13, F2
	FCVTHS  F2, F2
	FMOVS.P 4(R3), F3
	FMULS   F1, F3, F1
	FMULS   F2, F3, F2
	SCVTFWS R19, F4
	SCVTFWS R20, F5
	FMULS   F4, F1, F4
	FMULS   F5, F2, F5
	FSUBS   F5, F4, F4
	FADDS   F4, F28, F28
	ADD     $84, R8, R8
	ROW_TAIL(k2row, k2block, k2store, F28)

// Q3_K's third bit: hmask byte l of V5 (g even) or V6 (g odd) at bit
// 4h + (g/2)%4 (tested with V15) keeps the code, else it loses 4 (V30).
#define Q3_HIGH(bit, hm, code) \
	VMOVI  $(bit), V15.B16 \
	VCMTST V15.B16, hm, V0.B16 \
	VAND   V30.B16, V0.B16, V0.B16 \
	VORR   V0.B16, code, code \
	VSUB   V30.B16, code, code

// Half 0 of a Q3_K super-block: codes at R10, hmask in V5 and V6.
#define Q3_K_HALF0 \
	VLD1.P 32(R10), [V1.B16, V2.B16] \
	PLANES \
	Q3_HIGH(1, V5.B16, V7.B16) \
	Q3_HIGH(1, V6.B16, V8.B16) \
	Q3_HIGH(2, V5.B16, V9.B16) \
	Q3_HIGH(2, V6.B16, V10.B16) \
	Q3_HIGH(4, V5.B16, V11.B16) \
	Q3_HIGH(4, V6.B16, V12.B16) \
	Q3_HIGH(8, V5.B16, V13.B16) \
	Q3_HIGH(8, V6.B16, V14.B16) \
	DOT8 \
	Q3_K_GROUP(V20, F20, $0, $0) \
	Q3_K_GROUP(V21, F21, $8, $8) \
	Q3_K_GROUP(V22, F22, $16, $16) \
	Q3_K_GROUP(V23, F23, $24, $24) \
	Q3_K_GROUP(V24, F24, $32, $2) \
	Q3_K_GROUP(V25, F25, $40, $10) \
	Q3_K_GROUP(V26, F26, $48, $18) \
	Q3_K_GROUP(V27, F27, $56, $26)

// Half 1 of a Q3_K super-block: codes at R10, hmask in V5 and V6.
#define Q3_K_HALF1 \
	VLD1.P 32(R10), [V1.B16, V2.B16] \
	PLANES \
	Q3_HIGH(16, V5.B16, V7.B16) \
	Q3_HIGH(16, V6.B16, V8.B16) \
	Q3_HIGH(32, V5.B16, V9.B16) \
	Q3_HIGH(32, V6.B16, V10.B16) \
	Q3_HIGH(64, V5.B16, V11.B16) \
	Q3_HIGH(64, V6.B16, V12.B16) \
	Q3_HIGH(128, V5.B16, V13.B16) \
	Q3_HIGH(128, V6.B16, V14.B16) \
	DOT8 \
	Q3_K_GROUP(V20, F20, $4, $4) \
	Q3_K_GROUP(V21, F21, $12, $12) \
	Q3_K_GROUP(V22, F22, $20, $20) \
	Q3_K_GROUP(V23, F23, $28, $28) \
	Q3_K_GROUP(V24, F24, $36, $6) \
	Q3_K_GROUP(V25, F25, $44, $14) \
	Q3_K_GROUP(V26, F26, $52, $22) \
	Q3_K_GROUP(V27, F27, $60, $30)

// Q3_K group g: its sum times the 6-bit scale (low four bits at bit lo of
// the scale bytes 0-7 in R13, high two at bit hi of bytes 8-11 in R14,
// minus 32) into R19.
#define Q3_K_GROUP(acc, f, lo, hi) \
	VADDV  acc.S4, acc \
	FMOVS  f, R15 \
	UBFX   lo, R13, $4, R16 \
	UBFX   hi, R14, $2, R17 \
	ORR    R17<<4, R16, R16 \
	SUBW   $32, R16, R16 \
	MADDW  R16, R19, R15, R19

// func dotQ3_KNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// Q3_K (110 bytes: 32 hmask bytes, 64 code bytes, 12 scale bytes, fp16 d):
// sumf += float32(float32(d·dy)·float32(isum)).
TEXT ·dotQ3_KNEON(SB), NOSPLIT, $0-64
	ROW_ARGS
	VMOVI $3, V31.B16
	VMOVI $4, V30.B16
	ROW_HEAD(k3row, k3store, F28)

k3block:
	VLD1    (R8), [V5.B16, V6.B16]
	ADD     $32, R8, R10
	MOVD    96(R8), R13
	MOVWU   104(R8), R14
	MOVW    ZR, R19
	Q3_K_HALF0
	Q3_K_HALF1
	MOVHU   108(R8), R11
	FMOVS   R11, F1
	FCVTHS  F1, F1
	FMOVS.P 4(R3), F3
	FMULS   F3, F1, F1
	SCVTFWS R19, F4
	FMULS   F4, F1, F4
	FADDS   F4, F28, F28
	ADD     $110, R8, R8
	ROW_TAIL(k3row, k3block, k3store, F28)
