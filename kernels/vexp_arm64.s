//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// The vector exponential (vexp.go) on NEON, four lanes at a time, with the
// reference's operations: FMAX/FMIN clamp, FRINTN, FMLS/FMLA for its fused
// steps, and the scaling by 2^⌊n/2⌋ (exact) then 2^(n−⌊n/2⌋) (the one
// rounding), as the AVX2 loop does.

// expF32's constants (vexp.go), float32 bits: the clamp, log2 e, ln 2 in
// two parts, the polynomial, 1.
DATA expconst<>+0(SB)/4, $0xc2d00000
DATA expconst<>+4(SB)/4, $0x42b20000
DATA expconst<>+8(SB)/4, $0x3fb8aa3b
DATA expconst<>+12(SB)/4, $0x3f318000
DATA expconst<>+16(SB)/4, $0xb95e8083
DATA expconst<>+20(SB)/4, $0x39506967
DATA expconst<>+24(SB)/4, $0x3ab743ce
DATA expconst<>+28(SB)/4, $0x3c088908
DATA expconst<>+32(SB)/4, $0x3d2aa9c1
DATA expconst<>+36(SB)/4, $0x3e2aaaaa
DATA expconst<>+40(SB)/4, $0x3f000000
DATA expconst<>+44(SB)/4, $0x3f800000
GLOBL expconst<>(SB), RODATA|NOPTR, $48

// The constants broadcast into V16-V27, and the exponent bias 127 in V28.
#define EXP_CONSTS \
	MOVD    $expconst<>(SB), R9 \
	VLD1R.P 4(R9), [V16.S4] \
	VLD1R.P 4(R9), [V17.S4] \
	VLD1R.P 4(R9), [V18.S4] \
	VLD1R.P 4(R9), [V19.S4] \
	VLD1R.P 4(R9), [V20.S4] \
	VLD1R.P 4(R9), [V21.S4] \
	VLD1R.P 4(R9), [V22.S4] \
	VLD1R.P 4(R9), [V23.S4] \
	VLD1R.P 4(R9), [V24.S4] \
	VLD1R.P 4(R9), [V25.S4] \
	VLD1R.P 4(R9), [V26.S4] \
	VLD1R.P 4(R9), [V27.S4] \
	MOVW    $127, R9 \
	VDUP    R9, V28.S4

// V0 = exp(V0), lanewise (V1-V7 scratch).
#define EXP4 \
	FMAX4(0, 0, 16) \
	FMIN4(0, 0, 17) \
	FMUL4(1, 0, 18) \
	FRINTN4(1, 1) \
	VORR   V0.B16, V0.B16, V2.B16 \
	VFMLS  V19.S4, V1.S4, V2.S4 \
	VFMLS  V20.S4, V1.S4, V2.S4 \
	VORR   V22.B16, V22.B16, V4.B16 \
	VFMLA  V2.S4, V21.S4, V4.S4 \
	VORR   V23.B16, V23.B16, V3.B16 \
	VFMLA  V2.S4, V4.S4, V3.S4 \
	VORR   V24.B16, V24.B16, V4.B16 \
	VFMLA  V2.S4, V3.S4, V4.S4 \
	VORR   V25.B16, V25.B16, V3.B16 \
	VFMLA  V2.S4, V4.S4, V3.S4 \
	VORR   V26.B16, V26.B16, V4.B16 \
	VFMLA  V2.S4, V3.S4, V4.S4 \
	FMUL4(5, 2, 2) \
	VORR   V2.B16, V2.B16, V6.B16 \
	VFMLA  V5.S4, V4.S4, V6.S4 \
	FADD4(6, 6, 27) \
	FCVTZS4(1, 1) \
	SSHR1_4(7, 1) \
	VSUB   V7.S4, V1.S4, V1.S4 \
	VADD   V28.S4, V7.S4, V7.S4 \
	VSHL   $23, V7.S4, V7.S4 \
	VADD   V28.S4, V1.S4, V1.S4 \
	VSHL   $23, V1.S4, V1.S4 \
	FMUL4(6, 6, 7) \
	FMUL4(0, 6, 1)

// func expF32NEON(dst *float32, src *float32, n4 int)
TEXT ·expF32NEON(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n4+16(FP), R2
	EXP_CONSTS

exploop:
	VLD1.P 16(R1), [V0.S4]
	EXP4
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R2, R2
	BNE    exploop
	RET

// func siluMulF32NEON(dst *float32, gate *float32, up *float32, n4 int)
// silu32 lanewise: g/(exp(−g)+1)·u.
TEXT ·siluMulF32NEON(SB), NOSPLIT, $0-32
	MOVD dst+0(FP), R0
	MOVD gate+8(FP), R1
	MOVD up+16(FP), R2
	MOVD n4+24(FP), R3
	EXP_CONSTS

siluloop:
	VLD1.P 16(R1), [V8.S4]
	VLD1.P 16(R2), [V9.S4]
	FNEG4(0, 8)
	EXP4
	FADD4(0, 0, 27)
	FDIV4(0, 8, 0)
	FMUL4(0, 0, 9)
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R3, R3
	BNE    siluloop
	RET
