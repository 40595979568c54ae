//go:build amd64

#include "textflag.h"

// AVX-512 vector exponential and SiLU·up (vexp.go documents the operation
// sequence, which exp32/silu32 follow bit for bit).
//
// Registers: Z16-Z27 the constants (clamps, log2 e, ln2 hi/lo, c0-c5, 1),
// Z0 input, Z1 clamped x then r, Z2 n, Z4 result, Z5 r².

// EXPCONSTS: the constants into Z16-Z27 (clamps, log2 e, ln2 hi/lo, c0-c5, 1).
#define EXPCONSTS \
	MOVL $0x42b20000, AX; \
	VPBROADCASTD AX, Z16; \
	MOVL $0xc2d00000, AX; \
	VPBROADCASTD AX, Z17; \
	MOVL $0x3fb8aa3b, AX; \
	VPBROADCASTD AX, Z18; \
	MOVL $0x3f318000, AX; \
	VPBROADCASTD AX, Z19; \
	MOVL $0xb95e8083, AX; \
	VPBROADCASTD AX, Z20; \
	MOVL $0x39506967, AX; \
	VPBROADCASTD AX, Z21; \
	MOVL $0x3ab743ce, AX; \
	VPBROADCASTD AX, Z22; \
	MOVL $0x3c088908, AX; \
	VPBROADCASTD AX, Z23; \
	MOVL $0x3d2aa9c1, AX; \
	VPBROADCASTD AX, Z24; \
	MOVL $0x3e2aaaaa, AX; \
	VPBROADCASTD AX, Z25; \
	MOVL $0x3f000000, AX; \
	VPBROADCASTD AX, Z26; \
	MOVL $0x3f800000, AX; \
	VPBROADCASTD AX, Z27

// EXPZ: Z4 = exp(Z0), the sequence of vexp.go; clobbers Z1, Z2, Z5.
#define EXPZ \
	VMINPS      Z0, Z16, Z1; \
	VMAXPS      Z1, Z17, Z1; \
	VMULPS      Z18, Z1, Z2; \
	VRNDSCALEPS $0, Z2, Z2; \
	VFNMADD231PS Z19, Z2, Z1; \
	VFNMADD231PS Z20, Z2, Z1; \
	VMOVAPS     Z21, Z4; \
	VFMADD213PS Z22, Z1, Z4; \
	VFMADD213PS Z23, Z1, Z4; \
	VFMADD213PS Z24, Z1, Z4; \
	VFMADD213PS Z25, Z1, Z4; \
	VFMADD213PS Z26, Z1, Z4; \
	VMULPS      Z1, Z1, Z5; \
	VFMADD213PS Z1, Z5, Z4; \
	VADDPS      Z27, Z4, Z4; \
	VSCALEFPS   Z2, Z4, Z4

// SPLIT16: CX = DX / 16 (whole vectors), DX = DX mod 16 (the tail).
#define SPLIT16 \
	MOVQ DX, CX; \
	SHRQ $4, CX; \
	ANDQ $15, DX

// TAILMASK: K1 = the low DX lanes (the tail SPLIT16 left); clobbers AX, CX.
#define TAILMASK \
	MOVL  $1, AX; \
	MOVQ  DX, CX; \
	SHLL  CX, AX; \
	DECL  AX; \
	KMOVW AX, K1

// func expF32(dst, src *float32, n int)
// All n elements: 16 at a time, the last n mod 16 under a lane mask (the
// lanes run the same sequence, so a value's result does not depend on its
// position).
TEXT ·expF32(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), DX
	SPLIT16
	EXPCONSTS

	TESTQ CX, CX
	JZ    etail

eloop:
	VMOVUPS (SI), Z0
	EXPZ
	VMOVUPS Z4, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  eloop

etail:
	TESTQ DX, DX
	JZ    edone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	EXPZ
	VMOVUPS Z4, K1, (DI)

edone:
	VZEROUPPER
	RET

// func siluMulF32(dst, gate, up *float32, n16 int)
TEXT ·siluMulF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n16+24(FP), CX
	EXPCONSTS
	VPXORD Z28, Z28, Z28

sloop:
	VMOVUPS (SI), Z6
	VSUBPS  Z6, Z28, Z0
	EXPZ
	VADDPS  Z27, Z4, Z4
	VDIVPS  Z4, Z6, Z4
	VMULPS  (DX), Z4, Z4
	VMOVUPS Z4, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  sloop
	VZEROUPPER
	RET

// SUMLANES: Z30 += Z4's lanes 0-7 and Z31 += its lanes 8-15, in float64.
#define SUMLANES \
	VCVTPS2PD     Y4, Z6; \
	VEXTRACTF32X8 $1, Z4, Y7; \
	VCVTPS2PD     Y7, Z7; \
	VADDPD        Z6, Z30, Z30; \
	VADDPD        Z7, Z31, Z31

// func subExpSumF64(x *float32, n int, m float32, lanes *float64)
// x[i] = exp(x[i] − m) for all n elements, 16 at a time and the last n mod
// 16 under a lane mask, and lanes[j] = the float64 sum of the results at
// i ≡ j (mod 16), in order: SubScalar, Exp and sumF64 (with SumF64's tail)
// in one pass, with their bits. Z29 holds m; Z30 and Z31 lanes 0-7 and
// 8-15.
TEXT ·subExpSumF64(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), DX
	VBROADCASTSS m+16(FP), Z29
	MOVQ         lanes+24(FP), SI
	SPLIT16
	EXPCONSTS
	VXORPD       Z30, Z30, Z30
	VXORPD       Z31, Z31, Z31
	TESTQ        CX, CX
	JZ           xtail

xloop:
	VMOVUPS (DI), Z0
	VSUBPS  Z29, Z0, Z0
	EXPZ
	VMOVUPS Z4, (DI)
	SUMLANES
	ADDQ    $64, DI
	DECQ    CX
	JNZ     xloop

xtail:
	TESTQ DX, DX
	JZ    xdone
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VSUBPS    Z29, Z0, Z0
	EXPZ
	VMOVUPS   Z4, K1, (DI)
	// Only the tail's lanes are summed (the others add +0.0, which leaves
	// a sum of exponentials as it is).
	VMOVAPS.Z Z4, K1, Z4
	SUMLANES

xdone:
	VMOVUPD Z30, (SI)
	VMOVUPD Z31, 64(SI)
	VZEROUPPER
	RET

// SCALEROUND(SRC): Z0 = SRC·Z29 rounded to fp16 (nearest even) and back;
// SRC may be the memory operand, which the multiply then loads itself.
#define SCALEROUND(SRC) \
	VMULPS    SRC, Z29, Z0; \
	VCVTPS2PH $0, Z0, Y0; \
	VCVTPH2PS Y0, Z0

// func scaleRoundF16(x *float32, n int, s float32)
// x[i] = x[i]·s rounded to fp16 (round to nearest even) and back, 16 at a
// time and the last n mod 16 under a lane mask: Scale then RoundF16 in one
// pass, with their bits.
TEXT ·scaleRoundF16(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), DX
	VBROADCASTSS s+16(FP), Z29
	SPLIT16
	TESTQ        CX, CX
	JZ           rtail

rloop:
	SCALEROUND((DI))
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	DECQ    CX
	JNZ     rloop

rtail:
	TESTQ DX, DX
	JZ    rdone
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	SCALEROUND(Z0)
	VMOVUPS   Z0, K1, (DI)

rdone:
	VZEROUPPER
	RET
