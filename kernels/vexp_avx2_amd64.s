//go:build amd64

#include "textflag.h"

// AVX2 vector exponential and SiLU·up for CPUs without AVX-512 (vexp.go
// documents the operation sequence, which exp32/silu32 follow bit for
// bit, and vexp_amd64.s the AVX-512 loops these mirror).
//
// The sequence on 8 lanes. AVX2 has no VSCALEFPS, and
// one multiply by 2ⁿ cannot reach n < −126 (no float32 power of two
// there) or n = 128; the reference rounds e·2ⁿ once, denormal results
// included. With a = ⌊n/2⌋ and b = n − a, both within −75..64, 2^a and
// 2^b are normal floats and e·2^a (e within about 0.7..1.42) stays normal,
// so the first multiply is exact and the second rounds the exact e·2ⁿ
// once, as VSCALEFPS does.
//
// Registers: Y7-Y15 the constants clamp hi/lo, log2 e, ln2 hi/lo, c1-c4;
// the frame holds c0, c5, 1 and the exponent bias 127 as 8-lane vectors
// (16 registers do not hold them all with the working set). Y0 input, then
// r², then 2^a; Y1 clamped x then r, Y2 n then 2^b, Y4 the result.

// BCAST(val, off): 8 copies of the 32-bit val at off(SP).
#define BCAST(val, off) \
	MOVL         $val, AX; \
	VMOVD        AX, X0; \
	VPBROADCASTD X0, Y0; \
	VMOVDQU      Y0, off(SP)

// BCASTY(val, y): 8 copies of the 32-bit val in y.
#define BCASTY(val, y) \
	MOVL         $val, AX; \
	VMOVD        AX, X0; \
	VPBROADCASTD X0, y

// EXPCONSTS8: the constants into Y7-Y15 and the frame (c0 at 0, c5 at
// 32, 1 at 64, 127 at 96).
#define EXPCONSTS8 \
	BCASTY(0x42b20000, Y7); \
	BCASTY(0xc2d00000, Y8); \
	BCASTY(0x3fb8aa3b, Y9); \
	BCASTY(0x3f318000, Y10); \
	BCASTY(0xb95e8083, Y11); \
	BCASTY(0x3ab743ce, Y12); \
	BCASTY(0x3c088908, Y13); \
	BCASTY(0x3d2aa9c1, Y14); \
	BCASTY(0x3e2aaaaa, Y15); \
	BCAST(0x39506967, 0); \
	BCAST(0x3f000000, 32); \
	BCAST(0x3f800000, 64); \
	BCAST(127, 96)

// EXPY: Y4 = exp(Y0), the sequence of vexp.go (operands in EXPZ's order,
// so a NaN input passes the clamps as there); clobbers Y0-Y2.
#define EXPY \
	VMINPS       Y0, Y7, Y1; \
	VMAXPS       Y1, Y8, Y1; \
	VMULPS       Y9, Y1, Y2; \
	VROUNDPS     $0, Y2, Y2; \
	VFNMADD231PS Y10, Y2, Y1; \
	VFNMADD231PS Y11, Y2, Y1; \
	VMOVUPS      0(SP), Y4; \
	VFMADD213PS  Y12, Y1, Y4; \
	VFMADD213PS  Y13, Y1, Y4; \
	VFMADD213PS  Y14, Y1, Y4; \
	VFMADD213PS  Y15, Y1, Y4; \
	VFMADD213PS  32(SP), Y1, Y4; \
	VMULPS       Y1, Y1, Y0; \
	VFMADD213PS  Y1, Y0, Y4; \
	VADDPS       64(SP), Y4, Y4; \
	VCVTPS2DQ    Y2, Y2; \
	VPSRAD       $1, Y2, Y0; \
	VPSUBD       Y0, Y2, Y2; \
	VPADDD       96(SP), Y0, Y0; \
	VPSLLD       $23, Y0, Y0; \
	VPADDD       96(SP), Y2, Y2; \
	VPSLLD       $23, Y2, Y2; \
	VMULPS       Y0, Y4, Y4; \
	VMULPS       Y2, Y4, Y4

// func expF32AVX2(dst, src *float32, n8 int)
// 8 elements at a time; vexp.go's Exp runs the last n mod 8 in Go (the
// same operations, so a value's result does not depend on its position).
TEXT ·expF32AVX2(SB), NOSPLIT, $128-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n8+16(FP), CX
	EXPCONSTS8

eloop:
	VMOVUPS (SI), Y0
	EXPY
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  eloop
	VZEROUPPER
	RET

// func siluMulF32AVX2(dst, gate, up *float32, n8 int)
// exp(0−g) as the AVX-512 loop forms it (−g in the reference: the two
// differ only in a zero's sign, which exp does not see).
TEXT ·siluMulF32AVX2(SB), NOSPLIT, $128-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n8+24(FP), CX
	EXPCONSTS8

sloop:
	VMOVUPS (SI), Y6
	VXORPS  Y0, Y0, Y0
	VSUBPS  Y6, Y0, Y0
	EXPY
	VADDPS  64(SP), Y4, Y4
	VDIVPS  Y4, Y6, Y4
	VMULPS  (DX), Y4, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ  sloop
	VZEROUPPER
	RET
