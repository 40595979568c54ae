//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// The activation quantizers into the split layout, bit-identical to
// quant.QuantizeActivations for finite inputs: each float step is the
// reference's (one rounding each), FCVTNS is its round-half-even, and the
// saturating narrows its clamps.

// Sixteen floats in a, b, c, d times V18's lanes, rounded half to even to
// int32 (left in a-d), narrowed with saturation to sixteen int8 stored at
// R2 (advanced; V28, V29 scratch).
#define QUANT16(a, b, c, d) \
	FMUL4(a, a, 18) \
	FMUL4(b, b, 18) \
	FMUL4(c, c, 18) \
	FMUL4(d, d, 18) \
	FCVTNS4(a, a) \
	FCVTNS4(b, b) \
	FCVTNS4(c, c) \
	FCVTNS4(d, d) \
	SQXTN4H(28, a) \
	SQXTN28H(28, b) \
	SQXTN4H(29, c) \
	SQXTN28H(29, d) \
	SQXTN8B(28, 28) \
	SQXTN216B(28, 29) \
	VST1.P [V28.B16], 16(R2)

// func quantQ8_0Split(x *float32, nb int, qs *byte, d *float32)
// Q8_0 (ggml's quantize_row_q8_0 as quant does it): per 32 floats
// amax = max|x|, d = fp16(amax/127) widened back, id = 127/amax (0 for an
// all-zero block, whose quants are then 0), q = round-half-even(x·id)
// clamped to int8.
TEXT ·quantQ8_0Split(SB), NOSPLIT, $0-32
	MOVD  x+0(FP), R0
	MOVD  nb+8(FP), R1
	MOVD  qs+16(FP), R2
	MOVD  d+24(FP), R3
	FMOVS $127.0, F30
	CBZ   R1, q0done

q0block:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	FABS4(16, 0)
	FABS4(17, 1)
	FABS4(18, 2)
	FABS4(19, 3)
	FABS4(20, 4)
	FABS4(21, 5)
	FABS4(22, 6)
	FABS4(23, 7)
	FMAX4(16, 16, 17)
	FMAX4(18, 18, 19)
	FMAX4(20, 20, 21)
	FMAX4(22, 22, 23)
	FMAX4(16, 16, 18)
	FMAX4(20, 20, 22)
	FMAX4(16, 16, 20)
	FMAXV4(16, 16)
	FCMPS  $(0.0), F16
	BEQ    q0zero
	FDIVS  F30, F16, F17           // d = amax/127
	FCVTSH F17, F17
	FCVTHS F17, F17
	FDIVS  F16, F30, F18           // id = 127/amax
	VDUP   V18.S[0], V18.S4
	QUANT16(0, 1, 2, 3)
	QUANT16(4, 5, 6, 7)
	FMOVS.P F17, 4(R3)
	SUBS   $1, R1, R1
	BNE    q0block
	RET

q0zero:
	VEOR   V28.B16, V28.B16, V28.B16
	VST1.P [V28.B16], 16(R2)
	VST1.P [V28.B16], 16(R2)
	MOVW.P ZR, 4(R3)
	SUBS   $1, R1, R1
	BNE    q0block

q0done:
	RET

// func quantQ8_KSplit(x *float32, nb int, qs *byte, d *float32, bs *int16)
// Q8_K (ggml's quantize_row_q8_K_ref as quant does it): per 256 floats
// max = the first element of largest magnitude, iscale = −127/max,
// q = min(127, round-half-even(iscale·x)), d = 1/iscale, and each 16
// quants' sum; an all-zero block gives zeros. Block b: quants at
// qs + 256b, scale at d[b], sums at bs + 16b.
TEXT ·quantQ8_KSplit(SB), NOSPLIT, $0-40
	MOVD  x+0(FP), R0
	MOVD  nb+8(FP), R1
	MOVD  qs+16(FP), R2
	MOVD  d+24(FP), R3
	MOVD  bs+32(FP), R4
	FMOVS $-127.0, F30
	FMOVS $1.0, F31
	CBZ   R1, kdone

kblock:
	// amax over the 256 values, four accumulators; as the reference,
	// NaNs are passed over (so the search below always ends).
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	MOVD R0, R5
	MOVD $16, R6

kamax:
	VLD1.P 64(R5), [V0.S4, V1.S4, V2.S4, V3.S4]
	FABS4(0, 0)
	FABS4(1, 1)
	FABS4(2, 2)
	FABS4(3, 3)
	FMAXNM4(16, 16, 0)
	FMAXNM4(17, 17, 1)
	FMAXNM4(18, 18, 2)
	FMAXNM4(19, 19, 3)
	SUBS $1, R6, R6
	BNE  kamax
	FMAXNM4(16, 16, 17)
	FMAXNM4(18, 18, 19)
	FMAXNM4(16, 16, 18)
	FMAXNMV4(16, 16)
	FCMPS $(0.0), F16
	BEQ   kzero

	// The first element whose magnitude is amax: the vector, then the lane.
	VDUP V16.S[0], V16.S4
	MOVD R0, R5

kfind:
	VLD1.P 16(R5), [V0.S4]
	FABS4(1, 0)
	FCMEQ4(1, 1, 16)
	VMOV   V1.D[0], R7
	VMOV   V1.D[1], R8
	ORR    R7, R8, R9
	CBZ    R9, kfind
	SUB    $16, R5, R5

klane:
	FMOVS.P 4(R5), F2
	FABSS   F2, F3
	FCMPS   F16, F3
	BNE     klane
	FDIVS   F2, F30, F18           // iscale = −127/max
	FDIVS   F18, F31, F19          // d = 1/iscale
	FMOVS.P F19, 4(R3)
	VDUP    V18.S[0], V18.S4
	MOVD    $16, R6

kgroup:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	QUANT16(0, 1, 2, 3)
	// |q| ≤ 127 before the narrow, so the int32 sum is the quants' sum.
	VADD   V1.S4, V0.S4, V0.S4
	VADD   V3.S4, V2.S4, V2.S4
	VADD   V2.S4, V0.S4, V0.S4
	VADDV  V0.S4, V0
	FMOVS  F0, R7
	MOVH.P R7, 2(R4)
	SUBS   $1, R6, R6
	BNE    kgroup
	SUBS   $1, R1, R1
	BNE    kblock
	RET

kzero:
	VEOR   V28.B16, V28.B16, V28.B16
	MOVD   $16, R6

kzgroup:
	VST1.P [V28.B16], 16(R2)
	MOVH.P ZR, 2(R4)
	SUBS   $1, R6, R6
	BNE    kzgroup
	MOVW.P ZR, 4(R3)
	ADD    $1024, R0, R0
	SUBS   $1, R1, R1
	BNE    kblock

kdone:
	RET

// func roundBF16NEON(x *float32, n4 int, dst *float32)
// dst = x rounded to the nearest bf16 value (ties to even), as float32:
// quant.FP32ToBF16's integer steps, u + 0x7fff + (u>>16 & 1) with the low
// half cleared, and a NaN's upper half with the quiet bit set.
TEXT ·roundBF16NEON(SB), NOSPLIT, $0-24
	MOVD x+0(FP), R0
	MOVD n4+8(FP), R1
	MOVD dst+16(FP), R2
	MOVW $1, R3
	VDUP R3, V31.S4
	MOVW $0x7fff, R3
	VDUP R3, V30.S4
	MOVW $0xffff0000, R3
	VDUP R3, V29.S4
	MOVW $0x00400000, R3
	VDUP R3, V28.S4

bfloop:
	VLD1.P 16(R0), [V0.S4]
	VUSHR  $16, V0.S4, V1.S4
	VAND   V31.B16, V1.B16, V1.B16
	VADD   V30.S4, V0.S4, V2.S4
	VADD   V1.S4, V2.S4, V2.S4
	VAND   V29.B16, V2.B16, V2.B16
	VORR   V28.B16, V0.B16, V3.B16
	VAND   V29.B16, V3.B16, V3.B16
	FCMEQ4(4, 0, 0)
	VBIT   V4.B16, V2.B16, V3.B16
	VST1.P [V3.S4], 16(R2)
	SUBS   $1, R1, R1
	BNE    bfloop
	RET
