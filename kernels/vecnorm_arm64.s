//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// The softmax and norm passes on NEON (vec.go's ScaleMax, SubScalar,
// Scale, SumF64, SumSquares, ScaleMul, Add), sixteen elements a pass in
// V16-V19: the same single float32 operation per element as the scalar
// loops, so position does not matter; the float64 sums keep vec.go's
// sixteen lanes in V0-V7 (two doubles each). Then the fp16 conversions
// (ToF16, RoundF16; eight a pass) and PrefetchRows.

// func scaleMaxF32NEON(x *float32, n16 int, s float32) float32
// The running maxima (V0-V3) take FMAXNM, which passes over a NaN product
// as the scalar loop's v > m does.
TEXT ·scaleMaxF32NEON(SB), NOSPLIT, $0-28
	MOVD  x+0(FP), R0
	MOVD  n16+8(FP), R1
	MOVWU s+16(FP), R2
	VDUP  R2, V20.S4
	MOVW  $0xff800000, R2
	VDUP  R2, V0.S4
	VMOV  V0.B16, V1.B16
	VMOV  V0.B16, V2.B16
	VMOV  V0.B16, V3.B16

smloop:
	VLD1 (R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	FMUL4(16, 16, 20)
	FMUL4(17, 17, 20)
	FMUL4(18, 18, 20)
	FMUL4(19, 19, 20)
	VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R0)
	FMAXNM4(0, 0, 16)
	FMAXNM4(1, 1, 17)
	FMAXNM4(2, 2, 18)
	FMAXNM4(3, 3, 19)
	SUBS  $1, R1, R1
	BNE   smloop
	FMAXNM4(0, 0, 1)
	FMAXNM4(2, 2, 3)
	FMAXNM4(0, 0, 2)
	FMAXNMV4(0, 0)
	FMOVS F0, ret+24(FP)
	RET

// x (R0) = x op V20 lanewise in place, n16 (R1) passes; op FSUB4 or
// FMUL4.
#define IN_PLACE16(op, loop) \
loop: \
	VLD1 (R0), [V16.S4, V17.S4, V18.S4, V19.S4] \
	op(16, 16, 20) \
	op(17, 17, 20) \
	op(18, 18, 20) \
	op(19, 19, 20) \
	VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R0) \
	SUBS  $1, R1, R1 \
	BNE   loop \
	RET

// func subScalarF32NEON(x *float32, n16 int, m float32)
TEXT ·subScalarF32NEON(SB), NOSPLIT, $0-20
	MOVD  x+0(FP), R0
	MOVD  n16+8(FP), R1
	MOVWU m+16(FP), R2
	VDUP  R2, V20.S4
	IN_PLACE16(FSUB4, ssloop)

// func scaleF32NEON(x *float32, n16 int, s float32)
TEXT ·scaleF32NEON(SB), NOSPLIT, $0-20
	MOVD  x+0(FP), R0
	MOVD  n16+8(FP), R1
	MOVWU s+16(FP), R2
	VDUP  R2, V20.S4
	IN_PLACE16(FMUL4, scloop)

// Zero the sixteen float64 lanes V0-V7.
#define LANES_ZERO \
	VEOR V0.B16, V0.B16, V0.B16 \
	VEOR V1.B16, V1.B16, V1.B16 \
	VEOR V2.B16, V2.B16, V2.B16 \
	VEOR V3.B16, V3.B16, V3.B16 \
	VEOR V4.B16, V4.B16, V4.B16 \
	VEOR V5.B16, V5.B16, V5.B16 \
	VEOR V6.B16, V6.B16, V6.B16 \
	VEOR V7.B16, V7.B16, V7.B16

// Widen V16-V19 (sixteen float32) and add element j into lane j (V0-V7).
#define LANES_ADD \
	FCVTLD(20, 16) \
	FCVTL2D(21, 16) \
	FCVTLD(22, 17) \
	FCVTL2D(23, 17) \
	FCVTLD(24, 18) \
	FCVTL2D(25, 18) \
	FCVTLD(26, 19) \
	FCVTL2D(27, 19) \
	FADD2D(0, 0, 20) \
	FADD2D(1, 1, 21) \
	FADD2D(2, 2, 22) \
	FADD2D(3, 3, 23) \
	FADD2D(4, 4, 24) \
	FADD2D(5, 5, 25) \
	FADD2D(6, 6, 26) \
	FADD2D(7, 7, 27)

// Store the lanes V0-V7 at R2.
#define LANES_STORE \
	VST1.P [V0.D2, V1.D2, V2.D2, V3.D2], 64(R2) \
	VST1   [V4.D2, V5.D2, V6.D2, V7.D2], (R2)

// func sumF64NEON(x *float32, n16 int, lanes *float64)
// lanes[j] = Σ float64(x[16i+j]) for i < n16, as sumF64.
TEXT ·sumF64NEON(SB), NOSPLIT, $0-24
	MOVD x+0(FP), R0
	MOVD n16+8(FP), R1
	MOVD lanes+16(FP), R2
	LANES_ZERO

sumloop:
	VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	LANES_ADD
	SUBS $1, R1, R1
	BNE  sumloop
	LANES_STORE
	RET

// func sumSquaresF64NEON(x *float32, n16 int, lanes *float64)
// The squares rounded to float32 first, as the reference's
// float64(float32(x·x)).
TEXT ·sumSquaresF64NEON(SB), NOSPLIT, $0-24
	MOVD x+0(FP), R0
	MOVD n16+8(FP), R1
	MOVD lanes+16(FP), R2
	LANES_ZERO

sqloop:
	VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	FMUL4(16, 16, 16)
	FMUL4(17, 17, 17)
	FMUL4(18, 18, 18)
	FMUL4(19, 19, 19)
	LANES_ADD
	SUBS $1, R1, R1
	BNE  sqloop
	LANES_STORE
	RET

// func scaleMulF32NEON(y, x, w *float32, n16 int, s float32)
// y = float32(x·s)·w: two roundings, as the scalar loop.
TEXT ·scaleMulF32NEON(SB), NOSPLIT, $0-36
	MOVD  y+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  w+16(FP), R2
	MOVD  n16+24(FP), R3
	MOVWU s+32(FP), R4
	VDUP  R4, V20.S4

smulloop:
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R2), [V24.S4, V25.S4, V26.S4, V27.S4]
	FMUL4(16, 16, 20)
	FMUL4(17, 17, 20)
	FMUL4(18, 18, 20)
	FMUL4(19, 19, 20)
	FMUL4(16, 16, 24)
	FMUL4(17, 17, 25)
	FMUL4(18, 18, 26)
	FMUL4(19, 19, 27)
	VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R0)
	SUBS  $1, R3, R3
	BNE   smulloop
	RET

// func addF32NEON(y, a, b *float32, n16 int)
TEXT ·addF32NEON(SB), NOSPLIT, $0-32
	MOVD y+0(FP), R0
	MOVD a+8(FP), R1
	MOVD b+16(FP), R2
	MOVD n16+24(FP), R3

addloop:
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R2), [V24.S4, V25.S4, V26.S4, V27.S4]
	FADD4(16, 16, 24)
	FADD4(17, 17, 25)
	FADD4(18, 18, 26)
	FADD4(19, 19, 27)
	VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R0)
	SUBS $1, R3, R3
	BNE  addloop
	RET

// func toF16NEON(x *float32, n8 int, dst *uint16)
// dst = the fp16 bits of x, rounded to nearest even (quant.FP32ToFP16).
TEXT ·toF16NEON(SB), NOSPLIT, $0-24
	MOVD x+0(FP), R0
	MOVD n8+8(FP), R1
	MOVD dst+16(FP), R2

tohloop:
	VLD1.P 32(R0), [V16.S4, V17.S4]
	FCVTN4H(20, 16)
	FCVTN28H(20, 17)
	VST1.P [V20.H8], 16(R2)
	SUBS   $1, R1, R1
	BNE    tohloop
	RET

// func roundF16NEON(x *float32, n8 int, dst *float32)
// dst = x rounded to the nearest fp16 value, as float32.
TEXT ·roundF16NEON(SB), NOSPLIT, $0-24
	MOVD x+0(FP), R0
	MOVD n8+8(FP), R1
	MOVD dst+16(FP), R2

rhloop:
	VLD1.P 32(R0), [V16.S4, V17.S4]
	FCVTN4H(20, 16)
	FCVTN28H(20, 17)
	FCVTL(16, 20)
	FCVTL2(17, 20)
	VST1.P [V16.S4, V17.S4], 32(R2)
	SUBS   $1, R1, R1
	BNE    rhloop
	RET

// func prefetchRowsNEON(p *byte, n int, stride int, size int)
// PRFM PLDL1KEEP every 64 bytes of each of n rows, and the row's last byte.
TEXT ·prefetchRowsNEON(SB), NOSPLIT, $0-32
	MOVD p+0(FP), R0
	MOVD n+8(FP), R1
	MOVD stride+16(FP), R2
	MOVD size+24(FP), R3
	CMP  $0, R1
	BLE  pdone
	ADD  R0, R3, R4
	SUB  $1, R4, R4

prow:
	MOVD R0, R5

pline:
	PRFM (R5), PLDL1KEEP
	ADD  $64, R5, R5
	CMP  R4, R5
	BLE  pline
	PRFM (R4), PLDL1KEEP
	ADD  R2, R0, R0
	ADD  R2, R4, R4
	SUBS $1, R1, R1
	BNE  prow

pdone:
	RET
