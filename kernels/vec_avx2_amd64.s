//go:build amd64

#include "textflag.h"

// AVX2 (256-bit, FMA, F16C) loops of VecOps for CPUs without AVX-512. They
// run the operations of vec.go's 16-lane layout in its order, each 16-lane
// vector held as two YMM registers (lanes 0-7, 8-15): lanes never mix
// before the final tree, so the halves give the AVX-512 loops' bits.
//
// Scores: Y0/Y1, Y2/Y3, Y4/Y5, Y6/Y7 the four chunk accumulators (low and
// high halves), Y8-Y15 widened K half-chunks; SI q, DI the current K row,
// R8 the row stride in bytes, R9 out, CX rows left, DX chunks per row (BX
// counting down), R10/R11 chunk pointers.
// Weighted sum: Y0-Y7 up to four acc chunks held across all rows, Y8 the
// broadcast probability, Y9-Y15 widened V half-chunks; DI acc, BX chunks
// left, SI p, CX rows, R8 V at the current chunk, R9 row stride in bytes.

// HALF(LOAD, KOFF, QOFF, T, ACC): one half-chunk of the score, 8 K
// elements at KOFF(R10) widened into T and multiplied into ACC with q at
// QOFF(R11).
#define HALF(LOAD, KOFF, QOFF, T, ACC) \
	LOAD        KOFF(R10), T; \
	VFMADD231PS QOFF(R11), T, ACC

// DOTROWS8(LOAD, K1, ..., K7, KSTEP, KSHIFT): the score loop for K
// elements widened by LOAD (VCVTPH2PS for fp16, VMOVUPS for f32); K1-K7
// are the byte offsets of half-chunks 1-7 (8 elements each), KSTEP of
// four chunks, KSHIFT log2 of the element size. Each row ends with the
// tree of DOTROWS' one-row path: (a0+a1)+(a2+a3) per half, then lane l+8
// (the high half) into l, then l+4, l+2, l+1. The 16-row transposed tree
// of the AVX-512 loop would need the 32 registers it has; this one sums
// row by row. The first two lines of the row 8 ahead are prefetched, as
// there (cache rows are a slot apart).
#define DOTROWS8(LOAD, K1, K2, K3, K4, K5, K6, K7, KSTEP, KSHIFT) \
	MOVQ out+0(FP), R9; \
	MOVQ q+8(FP), SI; \
	MOVQ k+16(FP), DI; \
	MOVQ kstride+24(FP), R8; \
	SHLQ $KSHIFT, R8; \
	MOVQ n+32(FP), CX; \
	MOVQ d16+40(FP), DX; \
row: \
	PREFETCHT0 (DI)(R8*8); \
	PREFETCHT0 64(DI)(R8*8); \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	MOVQ   DI, R10; \
	MOVQ   SI, R11; \
	MOVQ   DX, BX; \
quad: \
	CMPQ BX, $4; \
	JLT  rest; \
	HALF(LOAD, 0, 0, Y8, Y0); \
	HALF(LOAD, K1, 32, Y9, Y1); \
	HALF(LOAD, K2, 64, Y10, Y2); \
	HALF(LOAD, K3, 96, Y11, Y3); \
	HALF(LOAD, K4, 128, Y12, Y4); \
	HALF(LOAD, K5, 160, Y13, Y5); \
	HALF(LOAD, K6, 192, Y14, Y6); \
	HALF(LOAD, K7, 224, Y15, Y7); \
	ADDQ $KSTEP, R10; \
	ADDQ $256, R11; \
	SUBQ $4, BX; \
	JMP  quad; \
rest: \
	TESTQ BX, BX; \
	JZ    reduce; \
	HALF(LOAD, 0, 0, Y8, Y0); \
	HALF(LOAD, K1, 32, Y9, Y1); \
	CMPQ BX, $1; \
	JEQ  reduce; \
	HALF(LOAD, K2, 64, Y10, Y2); \
	HALF(LOAD, K3, 96, Y11, Y3); \
	CMPQ BX, $2; \
	JEQ  reduce; \
	HALF(LOAD, K4, 128, Y12, Y4); \
	HALF(LOAD, K5, 160, Y13, Y5); \
reduce: \
	VADDPS       Y2, Y0, Y0; \
	VADDPS       Y6, Y4, Y4; \
	VADDPS       Y4, Y0, Y0; \
	VADDPS       Y3, Y1, Y1; \
	VADDPS       Y7, Y5, Y5; \
	VADDPS       Y5, Y1, Y1; \
	VADDPS       Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVHLPS     X0, X0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVSHDUP    X0, X1; \
	VADDSS       X1, X0, X0; \
	VMOVSS       X0, (R9); \
	ADDQ         $4, R9; \
	ADDQ         R8, DI; \
	DECQ         CX; \
	JNZ          row; \
	VZEROUPPER; \
	RET

// VHALF(LOAD, KOFF, T, ACC): one half-chunk of the weighted sum, 8 V
// elements at KOFF(R10) widened into T, times the probability in Y8,
// added into ACC.
#define VHALF(LOAD, KOFF, T, ACC) \
	LOAD        KOFF(R10), T; \
	VFMADD231PS T, Y8, ACC

// AXPYROWS8(LOAD, K1, ..., K7, KSTEP, KSHIFT): the weighted-sum loop, same
// parameters for the V elements: four chunks (64 sums) stay in Y0-Y7
// across all rows, then single chunks in Y0/Y1. Like the score loop it
// prefetches the first two lines of the row 8 ahead.
#define AXPYROWS8(LOAD, K1, K2, K3, K4, K5, K6, K7, KSTEP, KSHIFT) \
	MOVQ acc+0(FP), DI; \
	MOVQ d16+8(FP), BX; \
	MOVQ p+16(FP), SI; \
	MOVQ n+24(FP), CX; \
	MOVQ v+32(FP), R8; \
	MOVQ vstride+40(FP), R9; \
	SHLQ $KSHIFT, R9; \
quad: \
	CMPQ    BX, $4; \
	JLT     single; \
	VMOVUPS (DI), Y0; \
	VMOVUPS 32(DI), Y1; \
	VMOVUPS 64(DI), Y2; \
	VMOVUPS 96(DI), Y3; \
	VMOVUPS 128(DI), Y4; \
	VMOVUPS 160(DI), Y5; \
	VMOVUPS 192(DI), Y6; \
	VMOVUPS 224(DI), Y7; \
	MOVQ    R8, R10; \
	MOVQ    SI, R11; \
	MOVQ    CX, R12; \
qloop: \
	PREFETCHT0 (R10)(R9*8); \
	PREFETCHT0 64(R10)(R9*8); \
	VBROADCASTSS (R11), Y8; \
	VHALF(LOAD, 0, Y9, Y0); \
	VHALF(LOAD, K1, Y10, Y1); \
	VHALF(LOAD, K2, Y11, Y2); \
	VHALF(LOAD, K3, Y12, Y3); \
	VHALF(LOAD, K4, Y13, Y4); \
	VHALF(LOAD, K5, Y14, Y5); \
	VHALF(LOAD, K6, Y15, Y6); \
	VHALF(LOAD, K7, Y9, Y7); \
	ADDQ $4, R11; \
	ADDQ R9, R10; \
	DECQ R12; \
	JNZ  qloop; \
	VMOVUPS Y0, (DI); \
	VMOVUPS Y1, 32(DI); \
	VMOVUPS Y2, 64(DI); \
	VMOVUPS Y3, 96(DI); \
	VMOVUPS Y4, 128(DI); \
	VMOVUPS Y5, 160(DI); \
	VMOVUPS Y6, 192(DI); \
	VMOVUPS Y7, 224(DI); \
	ADDQ    $256, DI; \
	ADDQ    $KSTEP, R8; \
	SUBQ    $4, BX; \
	JMP     quad; \
single: \
	TESTQ   BX, BX; \
	JZ      done; \
	VMOVUPS (DI), Y0; \
	VMOVUPS 32(DI), Y1; \
	MOVQ    R8, R10; \
	MOVQ    SI, R11; \
	MOVQ    CX, R12; \
sloop: \
	VBROADCASTSS (R11), Y8; \
	VHALF(LOAD, 0, Y9, Y0); \
	VHALF(LOAD, K1, Y10, Y1); \
	ADDQ $4, R11; \
	ADDQ R9, R10; \
	DECQ R12; \
	JNZ  sloop; \
	VMOVUPS Y0, (DI); \
	VMOVUPS Y1, 32(DI); \
	ADDQ    $64, DI; \
	ADDQ    $K2, R8; \
	DECQ    BX; \
	JMP     single; \
done: \
	VZEROUPPER; \
	RET

// func dotF16RowsAVX2(out *float32, q *float32, k *uint16, kstride int, n int, d16 int)
TEXT ·dotF16RowsAVX2(SB), NOSPLIT, $0-48
	DOTROWS8(VCVTPH2PS, 16, 32, 48, 64, 80, 96, 112, 128, 1)

// func dotF32RowsAVX2(out *float32, q *float32, k *float32, kstride int, n int, d16 int)
TEXT ·dotF32RowsAVX2(SB), NOSPLIT, $0-48
	DOTROWS8(VMOVUPS, 32, 64, 96, 128, 160, 192, 224, 256, 2)

// func axpyF16RowsAVX2(acc *float32, d16 int, p *float32, n int, v *uint16, vstride int)
TEXT ·axpyF16RowsAVX2(SB), NOSPLIT, $0-48
	AXPYROWS8(VCVTPH2PS, 16, 32, 48, 64, 80, 96, 112, 128, 1)

// func axpyF32RowsAVX2(acc *float32, d16 int, p *float32, n int, v *float32, vstride int)
TEXT ·axpyF32RowsAVX2(SB), NOSPLIT, $0-48
	AXPYROWS8(VMOVUPS, 32, 64, 96, 128, 160, 192, 224, 256, 2)

// The softmax and norm passes on 8 lanes (vec.go's ScaleMax, SubScalar,
// Scale, SumF64, SumSquares, ScaleMul, Add run the rest in Go): the same
// single float32 operation per element as the scalar loops, so position
// does not matter; the float64 sums keep vec.go's sixteen lanes in Y0-Y3
// (four doubles each).

// func scaleMaxF32AVX2(x *float32, n8 int, s float32) float32
// The running maximum is VMAXPS's second source, which it returns when a
// product is NaN: NaNs are skipped, as the scalar loop's v > m does.
TEXT ·scaleMaxF32AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n8+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
	MOVL $0xff800000, AX
	VMOVD AX, X0
	VPBROADCASTD X0, Y0
smloop:
	VMULPS  (DI), Y1, Y2
	VMOVUPS Y2, (DI)
	VMAXPS  Y0, Y2, Y0
	ADDQ    $32, DI
	DECQ    CX
	JNZ     smloop
	VEXTRACTF128 $1, Y0, X1
	VMAXPS  X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS  X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS  X1, X0, X0
	VMOVSS  X0, ret+24(FP)
	VZEROUPPER
	RET

// func subScalarF32AVX2(x *float32, n8 int, m float32)
TEXT ·subScalarF32AVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n8+8(FP), CX
	VBROADCASTSS m+16(FP), Y1
ssloop:
	VMOVUPS (DI), Y2
	VSUBPS  Y1, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     ssloop
	VZEROUPPER
	RET

// func scaleF32AVX2(x *float32, n8 int, s float32)
TEXT ·scaleF32AVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n8+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
scloop:
	VMULPS  (DI), Y1, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     scloop
	VZEROUPPER
	RET

// func sumF64AVX2(x *float32, n16 int, lanes *float64)
// lanes[j] = Σ float64(x[16i+j]) for i < n16, as sumF64.
TEXT ·sumF64AVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n16+8(FP), CX
	MOVQ lanes+16(FP), SI
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
sumloop:
	VCVTPS2PD (DI), Y4
	VCVTPS2PD 16(DI), Y5
	VCVTPS2PD 32(DI), Y6
	VCVTPS2PD 48(DI), Y7
	VADDPD  Y4, Y0, Y0
	VADDPD  Y5, Y1, Y1
	VADDPD  Y6, Y2, Y2
	VADDPD  Y7, Y3, Y3
	ADDQ    $64, DI
	DECQ    CX
	JNZ     sumloop
	VMOVUPD Y0, (SI)
	VMOVUPD Y1, 32(SI)
	VMOVUPD Y2, 64(SI)
	VMOVUPD Y3, 96(SI)
	VZEROUPPER
	RET

// func sumSquaresF64AVX2(x *float32, n16 int, lanes *float64)
// The squares rounded to float32 first, as the reference's
// float64(float32(x·x)).
TEXT ·sumSquaresF64AVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n16+8(FP), CX
	MOVQ lanes+16(FP), SI
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
sqloop:
	VMOVUPS (DI), Y4
	VMULPS  Y4, Y4, Y4
	VMOVUPS 32(DI), Y5
	VMULPS  Y5, Y5, Y5
	VCVTPS2PD X4, Y6
	VEXTRACTF128 $1, Y4, X4
	VCVTPS2PD X4, Y7
	VADDPD  Y6, Y0, Y0
	VADDPD  Y7, Y1, Y1
	VCVTPS2PD X5, Y6
	VEXTRACTF128 $1, Y5, X5
	VCVTPS2PD X5, Y7
	VADDPD  Y6, Y2, Y2
	VADDPD  Y7, Y3, Y3
	ADDQ    $64, DI
	DECQ    CX
	JNZ     sqloop
	VMOVUPD Y0, (SI)
	VMOVUPD Y1, 32(SI)
	VMOVUPD Y2, 64(SI)
	VMOVUPD Y3, 96(SI)
	VZEROUPPER
	RET

// func scaleMulF32AVX2(y, x, w *float32, n8 int, s float32)
TEXT ·scaleMulF32AVX2(SB), NOSPLIT, $0-36
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ n8+24(FP), CX
	VBROADCASTSS s+32(FP), Y1
smulloop:
	VMULPS  (SI), Y1, Y2
	VMULPS  (DX), Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     smulloop
	VZEROUPPER
	RET

// func addF32AVX2(y, a, b *float32, n8 int)
TEXT ·addF32AVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n8+24(FP), CX
addloop:
	VMOVUPS (SI), Y2
	VADDPS  (DX), Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     addloop
	VZEROUPPER
	RET
