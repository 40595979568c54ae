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

// The four-head score loop: dotF16RowsAVX2 for four query heads against
// the same K rows, each K half-chunk widened once and multiplied into all
// four heads, every head with exactly the single-head loop's operations.
// Sixteen YMM registers cannot hold four heads' eight accumulators, so a
// row runs as two passes, lanes 0-7 and then 8-15, which never mix before
// the lane tree; within a pass the chunk accumulators are built one at a
// time (a0, a1, a0+a1, a2, a3, a2+a3, then the sum), each chunk c's
// column c, c+4, ... in chunk order, so no more than three accumulators a
// head live at once: T Y0-Y3, U Y4-Y7, V Y8-Y11 (head h in the h-th
// register of each), widened K half-chunks Y12-Y15. The q chunks are
// multiply-add operands from memory (L1): a row reads 8·d16 of them
// against d16·2 K loads, but widens each K element once instead of four
// times. SI q (head h at SI + h·qstride: R12 = 1×, AX = 3× qstride in
// bytes), DI the K row, R8 its stride in bytes, R9 out (R13/R14 = 1×/3×
// ostride in bytes), CX rows left; the first pass's sums wait in the frame.
// Heads of 64 or 128 elements only (d16 4 or 8), the sizes of the models
// run (vec.go's PairF16Heads says so). Four heads of 64 against 512 rows
// took 4.1-4.2 µs this way, 4.3-4.4 as two calls of the two-head loop
// below and 5.5-5.6 as four single-head calls; at 128 the four-head and
// two-pair forms were within noise of each other (7.4-8.0, 7.7 µs).

// COL1(KOFF, QOFF, KT, A0, A1, A2, A3): accumulator A of the four heads
// from one K half-chunk, the product q·k where the single-head loop's
// first multiply-add onto a zeroed accumulator gives fma(q, k, +0). The
// two differ only for a product of -0 (the multiply-add gives +0), and a
// zero's sign only reaches the score when every value summed is zero, so
// TREE4 adds +0 to each score, as dotF16Rows4's register path does: the
// zeroing took a quarter of a row's instructions.
#define COL1(KOFF, QOFF, KT, A0, A1, A2, A3) \
	VCVTPH2PS KOFF(DI), KT; \
	VMULPS    QOFF(SI), KT, A0; \
	VMULPS    QOFF(SI)(R12*1), KT, A1; \
	VMULPS    QOFF(SI)(R12*2), KT, A2; \
	VMULPS    QOFF(SI)(AX*1), KT, A3

// COLN(KOFF, QOFF, KT, A0, A1, A2, A3): one more chunk of a column (the
// one four chunks on) multiplied into A.
#define COLN(KOFF, QOFF, KT, A0, A1, A2, A3) \
	VCVTPH2PS   KOFF(DI), KT; \
	VFMADD231PS QOFF(SI), KT, A0; \
	VFMADD231PS QOFF(SI)(R12*1), KT, A1; \
	VFMADD231PS QOFF(SI)(R12*2), KT, A2; \
	VFMADD231PS QOFF(SI)(AX*1), KT, A3

// ADD4(S0, S1, S2, S3, D0, D1, D2, D3): D += S for the four heads.
#define ADD4(S0, S1, S2, S3, D0, D1, D2, D3) \
	VADDPS S0, D0, D0; \
	VADDPS S1, D1, D1; \
	VADDPS S2, D2, D2; \
	VADDPS S3, D3, D3

// PASS64(K0, K1, K2, K3, Q0, Q1, Q2, Q3): one half of a 64-element row,
// chunk c's half at Kc(DI) and q's at Qc(SI); the four heads' sums
// (a0+a1)+(a2+a3) are left in Y0-Y3.
#define PASS64(K0, K1, K2, K3, Q0, Q1, Q2, Q3) \
	COL1(K0, Q0, Y12, Y0, Y1, Y2, Y3); \
	COL1(K1, Q1, Y13, Y4, Y5, Y6, Y7); \
	ADD4(Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3); \
	COL1(K2, Q2, Y14, Y4, Y5, Y6, Y7); \
	COL1(K3, Q3, Y15, Y8, Y9, Y10, Y11); \
	ADD4(Y8, Y9, Y10, Y11, Y4, Y5, Y6, Y7); \
	ADD4(Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3)

// PASS128(K0, K4, K1, K5, K2, K6, K3, K7, Q0, Q4, ...): PASS64 for a
// 128-element row, chunk c+4 following chunk c in accumulator c.
#define PASS128(K0, K4, K1, K5, K2, K6, K3, K7, Q0, Q4, Q1, Q5, Q2, Q6, Q3, Q7) \
	COL1(K0, Q0, Y12, Y0, Y1, Y2, Y3); \
	COLN(K4, Q4, Y13, Y0, Y1, Y2, Y3); \
	COL1(K1, Q1, Y14, Y4, Y5, Y6, Y7); \
	COLN(K5, Q5, Y15, Y4, Y5, Y6, Y7); \
	ADD4(Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3); \
	COL1(K2, Q2, Y12, Y4, Y5, Y6, Y7); \
	COLN(K6, Q6, Y13, Y4, Y5, Y6, Y7); \
	COL1(K3, Q3, Y14, Y8, Y9, Y10, Y11); \
	COLN(K7, Q7, Y15, Y8, Y9, Y10, Y11); \
	ADD4(Y8, Y9, Y10, Y11, Y4, Y5, Y6, Y7); \
	ADD4(Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3)

// TREE4: the rest of the lane tree (l+4, l+2, l+1) for the four heads'
// 8-lane sums in Y0-Y3 at once, the single-head tree's additions laid
// side by side: heads 0 and 1 (2 and 3) share a register for l+4, then
// 128-bit lane 0 carries heads 0 and 2, lane 1 heads 1 and 3. The scores
// go to out + h·ostride, +0 added (see COL1).
#define TREE4 \
	VPERM2F128   $0x20, Y1, Y0, Y4; \
	VPERM2F128   $0x31, Y1, Y0, Y5; \
	VADDPS       Y5, Y4, Y4; \
	VPERM2F128   $0x20, Y3, Y2, Y6; \
	VPERM2F128   $0x31, Y3, Y2, Y7; \
	VADDPS       Y7, Y6, Y6; \
	VSHUFPS      $0x44, Y6, Y4, Y0; \
	VSHUFPS      $0xEE, Y6, Y4, Y1; \
	VADDPS       Y1, Y0, Y0; \
	VSHUFPS      $0x88, Y0, Y0, Y1; \
	VSHUFPS      $0xDD, Y0, Y0, Y2; \
	VADDPS       Y2, Y1, Y1; \
	VXORPS       Y3, Y3, Y3; \
	VADDPS       Y3, Y1, Y1; \
	VMOVSS       X1, (R9); \
	VEXTRACTPS   $1, X1, (R9)(R13*2); \
	VEXTRACTF128 $1, Y1, X2; \
	VMOVSS       X2, (R9)(R13*1); \
	VEXTRACTPS   $1, X2, (R9)(R14*1)

// func dotF16Rows4AVX2(out *float32, ostride int, q *float32, qstride int, k *uint16, kstride int, n int, d16 int)
TEXT ·dotF16Rows4AVX2(SB), NOSPLIT, $128-64
	MOVQ out+0(FP), R9
	MOVQ ostride+8(FP), R13
	SHLQ $2, R13
	LEAQ (R13)(R13*2), R14
// SAVE4 / JOIN4: the first pass's sums into the frame, and added to the
// second's: lane l of the row sum plus lane l+8, the tree's first level.
// They are defined here, inside dotF16Rows4AVX2, because go vet checks a
// macro's frame references against the function it sits in.
#define SAVE4 \
	VMOVUPS Y0, 0(SP); \
	VMOVUPS Y1, 32(SP); \
	VMOVUPS Y2, 64(SP); \
	VMOVUPS Y3, 96(SP)

#define JOIN4 \
	VADDPS 0(SP), Y0, Y0; \
	VADDPS 32(SP), Y1, Y1; \
	VADDPS 64(SP), Y2, Y2; \
	VADDPS 96(SP), Y3, Y3

	MOVQ q+16(FP), SI
	MOVQ qstride+24(FP), R12
	SHLQ $2, R12
	LEAQ (R12)(R12*2), AX
	MOVQ k+32(FP), DI
	MOVQ kstride+40(FP), R8
	SHLQ $1, R8
	MOVQ n+48(FP), CX
	CMPQ d16+56(FP), $8
	JEQ  row128
row64:
	PREFETCHT0 (DI)(R8*8)
	PREFETCHT0 64(DI)(R8*8)
	PASS64(0, 32, 64, 96, 0, 64, 128, 192)
	SAVE4
	PASS64(16, 48, 80, 112, 32, 96, 160, 224)
	JOIN4
	TREE4
	ADDQ $4, R9
	ADDQ R8, DI
	DECQ CX
	JNZ  row64
	VZEROUPPER
	RET
row128:
	PREFETCHT0 (DI)(R8*8)
	PREFETCHT0 64(DI)(R8*8)
	PREFETCHT0 128(DI)(R8*8)
	PREFETCHT0 192(DI)(R8*8)
	PASS128(0, 128, 32, 160, 64, 192, 96, 224, 0, 256, 64, 320, 128, 384, 192, 448)
	SAVE4
	PASS128(16, 144, 48, 176, 80, 208, 112, 240, 32, 288, 96, 352, 160, 416, 224, 480)
	JOIN4
	TREE4
	ADDQ $4, R9
	ADDQ R8, DI
	DECQ CX
	JNZ  row128
	VZEROUPPER
	RET

// The two-head score loop (two query heads a KV head: hcx-seed-0.5b,
// qwen3-0.6b): with two heads both halves of a row fit in registers, so a
// row is one pass over the K row, the four (head, half) pairs taking the
// places of COL1's four heads: T Y0-Y3, U Y4-Y7, V Y8-Y11 (head 0 low,
// head 0 high, head 1 low, head 1 high), widened K halves Y12-Y15.
// Registers as dotF16Rows4AVX2, without AX and R14; no frame.

// COL2(KL, KH, QL, QH, TL, TH, A0, A1, A2, A3): COL1 for the two heads:
// the chunk's low and high K halves at KL/KH(DI) widened into TL/TH and
// multiplied by q's halves at QL/QH.
#define COL2(KL, KH, QL, QH, TL, TH, A0, A1, A2, A3) \
	VCVTPH2PS KL(DI), TL; \
	VCVTPH2PS KH(DI), TH; \
	VMULPS    QL(SI), TL, A0; \
	VMULPS    QH(SI), TH, A1; \
	VMULPS    QL(SI)(R12*1), TL, A2; \
	VMULPS    QH(SI)(R12*1), TH, A3

// COLN2: COLN for the two heads, as COL2.
#define COLN2(KL, KH, QL, QH, TL, TH, A0, A1, A2, A3) \
	VCVTPH2PS   KL(DI), TL; \
	VCVTPH2PS   KH(DI), TH; \
	VFMADD231PS QL(SI), TL, A0; \
	VFMADD231PS QH(SI), TH, A1; \
	VFMADD231PS QL(SI)(R12*1), TL, A2; \
	VFMADD231PS QH(SI)(R12*1), TH, A3

// TREE2: the two heads' row sums (low halves Y0/Y2, high Y1/Y3) through
// the lane tree, l+8 to l+1, +0 added (see COL1), to out and out +
// ostride: after l+8, 128-bit lane 0 carries head 0 and lane 1 head 1.
#define TREE2 \
	VADDPS       Y1, Y0, Y0; \
	VADDPS       Y3, Y2, Y2; \
	VPERM2F128   $0x20, Y2, Y0, Y4; \
	VPERM2F128   $0x31, Y2, Y0, Y5; \
	VADDPS       Y5, Y4, Y4; \
	VSHUFPS      $0xEE, Y4, Y4, Y5; \
	VADDPS       Y5, Y4, Y4; \
	VMOVSHDUP    Y4, Y5; \
	VADDPS       Y5, Y4, Y4; \
	VXORPS       Y5, Y5, Y5; \
	VADDPS       Y5, Y4, Y4; \
	VMOVSS       X4, (R9); \
	VEXTRACTF128 $1, Y4, X5; \
	VMOVSS       X5, (R9)(R13*1)

// func dotF16Rows2AVX2(out *float32, ostride int, q *float32, qstride int, k *uint16, kstride int, n int, d16 int)
TEXT ·dotF16Rows2AVX2(SB), NOSPLIT, $0-64
	MOVQ out+0(FP), R9
	MOVQ ostride+8(FP), R13
	SHLQ $2, R13
	MOVQ q+16(FP), SI
	MOVQ qstride+24(FP), R12
	SHLQ $2, R12
	MOVQ k+32(FP), DI
	MOVQ kstride+40(FP), R8
	SHLQ $1, R8
	MOVQ n+48(FP), CX
	CMPQ d16+56(FP), $8
	JEQ  p2row128
p2row64:
	PREFETCHT0 (DI)(R8*8)
	PREFETCHT0 64(DI)(R8*8)
	COL2(0, 16, 0, 32, Y12, Y13, Y0, Y1, Y2, Y3)
	COL2(32, 48, 64, 96, Y14, Y15, Y4, Y5, Y6, Y7)
	ADD4(Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3)
	COL2(64, 80, 128, 160, Y12, Y13, Y4, Y5, Y6, Y7)
	COL2(96, 112, 192, 224, Y14, Y15, Y8, Y9, Y10, Y11)
	ADD4(Y8, Y9, Y10, Y11, Y4, Y5, Y6, Y7)
	ADD4(Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3)
	TREE2
	ADDQ $4, R9
	ADDQ R8, DI
	DECQ CX
	JNZ  p2row64
	VZEROUPPER
	RET
p2row128:
	PREFETCHT0 (DI)(R8*8)
	PREFETCHT0 64(DI)(R8*8)
	PREFETCHT0 128(DI)(R8*8)
	PREFETCHT0 192(DI)(R8*8)
	COL2(0, 16, 0, 32, Y12, Y13, Y0, Y1, Y2, Y3)
	COLN2(128, 144, 256, 288, Y14, Y15, Y0, Y1, Y2, Y3)
	COL2(32, 48, 64, 96, Y12, Y13, Y4, Y5, Y6, Y7)
	COLN2(160, 176, 320, 352, Y14, Y15, Y4, Y5, Y6, Y7)
	ADD4(Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3)
	COL2(64, 80, 128, 160, Y12, Y13, Y4, Y5, Y6, Y7)
	COLN2(192, 208, 384, 416, Y14, Y15, Y4, Y5, Y6, Y7)
	COL2(96, 112, 192, 224, Y12, Y13, Y8, Y9, Y10, Y11)
	COLN2(224, 240, 448, 480, Y14, Y15, Y8, Y9, Y10, Y11)
	ADD4(Y8, Y9, Y10, Y11, Y4, Y5, Y6, Y7)
	ADD4(Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3)
	TREE2
	ADDQ $4, R9
	ADDQ R8, DI
	DECQ CX
	JNZ  p2row128
	VZEROUPPER
	RET

// axpyF16Rows2AVX2 is axpyF16RowsAVX2 for two heads over the same V rows:
// two 16-element chunks at a time (head h's chunk c in Y(4h+2c),
// Y(4h+2c+1)) across all rows, each row's four half-chunks widened once
// into Y12-Y15 and multiplied by the two heads' probabilities (Y8/Y9,
// broadcast anew for each pass), every element one fused multiply-add a
// row in row order as the single-head loop; an odd last chunk takes a pass
// of its own. DI acc (R13 astride in bytes), SI p (R14 pstride in bytes),
// BX chunks left, CX rows, R8 V at the current chunk, R9 its row stride in
// bytes; R10-R12 the row loop's V, p and count. There is no four-head
// form: the loop is bound by its multiply-adds, one per element a head
// whatever the grouping, and four heads (eight accumulators of one chunk,
// four broadcasts a row) ran no faster than two pairs (2.70-2.77 against
// 2.59-2.71 µs for 512 rows of 64).

// func axpyF16Rows2AVX2(acc *float32, astride int, d16 int, p *float32, pstride int, n int, v *uint16, vstride int)
TEXT ·axpyF16Rows2AVX2(SB), NOSPLIT, $0-64
	MOVQ acc+0(FP), DI
	MOVQ astride+8(FP), R13
	SHLQ $2, R13
	MOVQ d16+16(FP), BX
	MOVQ p+24(FP), SI
	MOVQ pstride+32(FP), R14
	SHLQ $2, R14
	MOVQ n+40(FP), CX
	MOVQ v+48(FP), R8
	MOVQ vstride+56(FP), R9
	SHLQ $1, R9
a2pair:
	CMPQ    BX, $2
	JLT     a2single
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VMOVUPS (DI)(R13*1), Y4
	VMOVUPS 32(DI)(R13*1), Y5
	VMOVUPS 64(DI)(R13*1), Y6
	VMOVUPS 96(DI)(R13*1), Y7
	MOVQ    R8, R10
	MOVQ    SI, R11
	MOVQ    CX, R12
a2prow:
	PREFETCHT0   (R10)(R9*8)
	VCVTPH2PS    (R10), Y12
	VCVTPH2PS    16(R10), Y13
	VCVTPH2PS    32(R10), Y14
	VCVTPH2PS    48(R10), Y15
	VBROADCASTSS (R11), Y8
	VBROADCASTSS (R11)(R14*1), Y9
	VFMADD231PS  Y12, Y8, Y0
	VFMADD231PS  Y13, Y8, Y1
	VFMADD231PS  Y14, Y8, Y2
	VFMADD231PS  Y15, Y8, Y3
	VFMADD231PS  Y12, Y9, Y4
	VFMADD231PS  Y13, Y9, Y5
	VFMADD231PS  Y14, Y9, Y6
	VFMADD231PS  Y15, Y9, Y7
	ADDQ         $4, R11
	ADDQ         R9, R10
	DECQ         R12
	JNZ          a2prow
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, (DI)(R13*1)
	VMOVUPS Y5, 32(DI)(R13*1)
	VMOVUPS Y6, 64(DI)(R13*1)
	VMOVUPS Y7, 96(DI)(R13*1)
	ADDQ    $128, DI
	ADDQ    $64, R8
	SUBQ    $2, BX
	JMP     a2pair
a2single:
	TESTQ   BX, BX
	JZ      a2done
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS (DI)(R13*1), Y4
	VMOVUPS 32(DI)(R13*1), Y5
	MOVQ    R8, R10
	MOVQ    SI, R11
	MOVQ    CX, R12
a2srow:
	VCVTPH2PS    (R10), Y12
	VCVTPH2PS    16(R10), Y13
	VBROADCASTSS (R11), Y8
	VBROADCASTSS (R11)(R14*1), Y9
	VFMADD231PS  Y12, Y8, Y0
	VFMADD231PS  Y13, Y8, Y1
	VFMADD231PS  Y12, Y9, Y4
	VFMADD231PS  Y13, Y9, Y5
	ADDQ         $4, R11
	ADDQ         R9, R10
	DECQ         R12
	JNZ          a2srow
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y4, (DI)(R13*1)
	VMOVUPS Y5, 32(DI)(R13*1)
a2done:
	VZEROUPPER
	RET

// func axpyQ8_0RowsAVX2(acc *float32, nb int, p *float32, n int, v *byte, vstride int)
// axpyQ8_0Rows on 8 lanes: per block the 32 acc values in Y0-Y3 take one
// FMA per row of float(q) by p[j]·d_j (the product rounded first, as the
// reference's s), rows in order; the quants are sign-extended 8 at a time.
// It prefetches as the AVX-512 loop does.
TEXT ·axpyQ8_0RowsAVX2(SB), NOSPLIT, $0-48
	MOVQ acc+0(FP), DI
	MOVQ nb+8(FP), BX
	MOVQ p+16(FP), SI
	MOVQ n+24(FP), CX
	MOVQ v+32(FP), R8
	MOVQ vstride+40(FP), R9
q8blk:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	MOVQ    R8, R10
	MOVQ    SI, R11
	MOVQ    CX, R12
q8row:
	PREFETCHT0   (R10)(R9*8)
	PREFETCHT0   64(R10)(R9*8)
	MOVWLZX      (R10), AX
	VMOVD        AX, X6
	VCVTPH2PS    X6, X6
	VMULSS       (R11), X6, X7
	VBROADCASTSS X7, Y7
	VPMOVSXBD    2(R10), Y8
	VCVTDQ2PS    Y8, Y8
	VPMOVSXBD    10(R10), Y9
	VCVTDQ2PS    Y9, Y9
	VPMOVSXBD    18(R10), Y10
	VCVTDQ2PS    Y10, Y10
	VPMOVSXBD    26(R10), Y11
	VCVTDQ2PS    Y11, Y11
	VFMADD231PS  Y7, Y8, Y0
	VFMADD231PS  Y7, Y9, Y1
	VFMADD231PS  Y7, Y10, Y2
	VFMADD231PS  Y7, Y11, Y3
	ADDQ         $4, R11
	ADDQ         R9, R10
	DECQ         R12
	JNZ          q8row
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	ADDQ    $34, R8
	DECQ    BX
	JNZ     q8blk
	VZEROUPPER
	RET
