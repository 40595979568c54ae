//go:build amd64

#include "textflag.h"

// One row of a quant.Qkx2Batch array: 16 lanes of float32.
#define ROW 64

// ggml's nearest_int of the floats in R, to int32: the bits of R + 1.5·2²³
// masked (Z31 = 1.5·2²³, Z30 = 0x7fffff, Z29 = 0x400000).
#define NEAREST(R) \
	VADDPS Z31, R, R \
	VPANDD Z30, R, R \
	VPSUBD Z29, R, R

// func qkx2FitsAVX512(x, w, l, aux, scale, mn, numer *float32, n, trials, nmax, flags int)
//
// quant.Qkx2Batch.Fit, one make_qkx2_quants search a lane: x, w, l and aux
// are [n][16] arrays (value i of lane g at i·16+g), numer the trials'
// numerators, flags bit 0 UseMad and bit 1 Guard. Each lane computes what
// makeQkx2Quants computes, in its order, every product and sum rounded
// alone (no fused multiply-adds), its branches as masks: a trial that
// beats a lane's best replaces its codes, scale and min, and the later
// trials quantize against that min. AVX-512F.
TEXT ·qkx2FitsAVX512(SB), NOSPLIT, $0-88
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ l+16(FP), R8
	MOVQ aux+24(FP), R9
	MOVQ numer+48(FP), R10
	MOVQ n+56(FP), CX
	MOVQ trials+64(FP), R11
	MOVQ nmax+72(FP), DX
	MOVQ flags+80(FP), R12

	MOVL         $0x4b400000, AX
	VPBROADCASTD AX, Z31
	MOVL         $0x007fffff, AX
	VPBROADCASTD AX, Z30
	MOVL         $0x00400000, AX
	VPBROADCASTD AX, Z29
	VPBROADCASTD DX, Z28          // nmax
	VCVTDQ2PS    Z28, Z27         // nmax as a float
	VPXORD       Z26, Z26, Z26    // 0, as float and as int
	MOVL         $0x7fffffff, AX
	VPBROADCASTD AX, Z25          // |·|
	MOVL         $0x3f800000, AX
	VPBROADCASTD AX, Z24          // 1.0

	// lo, hi, Σw, Σw·x: lo = x < lo ? x : lo is VMINPS with x first, as
	// the Go comparisons keep lo for a NaN x.
	VMOVUPS (SI), Z0              // lo
	VMOVAPS Z0, Z1                // hi
	VMOVUPS (DI), Z2              // Σw
	VMULPS  Z0, Z2, Z3            // Σw·x
	LEAQ    ROW(SI), AX
	LEAQ    ROW(DI), DX
	MOVQ    CX, BX
	DECQ    BX
	JZ      ranged

bounds:
	VMOVUPS (AX), Z10
	VMOVUPS (DX), Z11
	VMINPS  Z0, Z10, Z0
	VMAXPS  Z1, Z10, Z1
	VADDPS  Z11, Z2, Z2
	VMULPS  Z10, Z11, Z12
	VADDPS  Z12, Z3, Z3
	ADDQ    $ROW, AX
	ADDQ    $ROW, DX
	DECQ    BX
	JNZ     bounds

ranged:
	VCMPPS  $0x1e, Z26, Z0, K2    // lo > 0 (GT_OQ) …
	VMOVAPS Z26, K2, Z0           // … is 0
	VCMPPS  $0x06, Z0, Z1, K1     // K1: the lanes that search, !(hi <= lo) (NLE_US)

	// The first fit: scale (hi − lo)/nmax, codes clamped to 0..nmax.
	VSUBPS Z0, Z1, Z6
	VDIVPS Z6, Z27, Z6            // iscale
	VDIVPS Z6, Z24, Z4            // scale = 1/iscale
	VPXORD Z5, Z5, Z5             // the best error
	MOVQ   SI, AX
	MOVQ   DI, DX
	MOVQ   R8, BX
	MOVQ   CX, R13

first:
	VMOVUPS   (AX), Z10
	VSUBPS    Z0, Z10, Z12
	VMULPS    Z12, Z6, Z12
	NEAREST(Z12)
	VPMAXSD   Z26, Z12, Z12
	VPMINSD   Z28, Z12, Z12
	VCVTDQ2PS Z12, Z12
	VMOVUPS   Z12, (BX)
	VMULPS    Z12, Z4, Z13
	VADDPS    Z0, Z13, Z13
	VSUBPS    Z10, Z13, Z13       // scale·l + lo − x
	TESTQ     $1, R12
	JZ        firstsq
	VANDPS    Z25, Z13, Z13
	JMP       firsterr

firstsq:
	VMULPS Z13, Z13, Z13

firsterr:
	VMULPS (DX), Z13, Z13
	VADDPS Z13, Z5, Z5
	ADDQ   $ROW, AX
	ADDQ   $ROW, DX
	ADDQ   $ROW, BX
	DECQ   R13
	JNZ    first

	TESTQ R11, R11
	JZ    done

trial:
	VSUBPS       Z0, Z1, Z6
	VBROADCASTSS (R10), Z7
	VDIVPS       Z6, Z7, Z6       // iscale = numer/(hi − lo), lo the best fit's
	VPXORD       Z7, Z7, Z7       // Σw·l
	VPXORD       Z8, Z8, Z8       // Σw·l²
	VPXORD       Z9, Z9, Z9       // Σw·l·x
	MOVQ         SI, AX
	MOVQ         DI, DX
	MOVQ         R9, BX
	MOVQ         CX, R13

quants:
	VMOVUPS (AX), Z10
	VSUBPS  Z0, Z10, Z12
	VMULPS  Z12, Z6, Z12          // v = iscale·(x − lo)
	TESTQ   $2, R12
	JZ      clamp
	VCMPPS  $0x1e, Z26, Z12, K2   // guarded: v > 0 …
	VMINPS  Z27, Z12, Z12         // … nearest(min(v, nmax)), else 0
	NEAREST(Z12)
	VMOVDQA32.Z Z12, K2, Z12
	JMP     fitted

clamp:
	NEAREST(Z12)
	VPMAXSD Z26, Z12, Z12
	VPMINSD Z28, Z12, Z12

fitted:
	VCVTDQ2PS Z12, Z12            // l
	VMOVUPS   Z12, (BX)
	VMULPS    (DX), Z12, Z13      // w·l
	VADDPS    Z13, Z7, Z7
	VMULPS    Z12, Z13, Z14
	VADDPS    Z14, Z8, Z8
	VMULPS    Z10, Z13, Z14
	VADDPS    Z14, Z9, Z9
	ADDQ      $ROW, AX
	ADDQ      $ROW, DX
	ADDQ      $ROW, BX
	DECQ      R13
	JNZ       quants

	// D = Σw·Σw·l² − (Σw·l)²; the lanes with D > 0 fit a scale and min.
	VMULPS   Z8, Z2, Z15
	VMULPS   Z7, Z7, Z16
	VSUBPS   Z16, Z15, Z15
	VCMPPS   $0x1e, Z26, Z15, K3
	KANDW    K1, K3, K3
	KORTESTW K3, K3
	JZ       next
	VMULPS   Z9, Z2, Z16
	VMULPS   Z7, Z3, Z17
	VSUBPS   Z17, Z16, Z16
	VDIVPS   Z15, Z16, Z20        // this scale
	VMULPS   Z3, Z8, Z16
	VMULPS   Z9, Z7, Z17
	VSUBPS   Z17, Z16, Z16
	VDIVPS   Z15, Z16, Z21        // this min
	VCMPPS   $0x1e, Z26, Z21, K4  // a min above 0 …
	VMOVAPS  Z26, K4, Z21         // … is 0, and the scale Σw·l·x / Σw·l²
	VDIVPS   Z8, Z9, K4, Z20

	VPXORD Z22, Z22, Z22          // the trial's error
	MOVQ   SI, AX
	MOVQ   DI, DX
	MOVQ   R9, BX
	MOVQ   CX, R13

score:
	VMOVUPS (BX), Z12
	VMULPS  Z12, Z20, Z13
	VADDPS  Z21, Z13, Z13
	VSUBPS  (AX), Z13, Z13
	TESTQ   $1, R12
	JZ      scoresq
	VANDPS  Z25, Z13, Z13
	JMP     scoreerr

scoresq:
	VMULPS Z13, Z13, Z13

scoreerr:
	VMULPS (DX), Z13, Z13
	VADDPS Z13, Z22, Z22
	ADDQ   $ROW, AX
	ADDQ   $ROW, DX
	ADDQ   $ROW, BX
	DECQ   R13
	JNZ    score

	VCMPPS   $0x11, Z5, Z22, K5   // error < best (LT_OQ), where D > 0
	KANDW    K3, K5, K5
	KORTESTW K5, K5
	JZ       next
	VMOVAPS  Z22, K5, Z5
	VMOVAPS  Z20, K5, Z4
	VMOVAPS  Z21, K5, Z0
	MOVQ     R8, AX
	MOVQ     R9, BX
	MOVQ     CX, R13

keep:
	VMOVUPS (BX), Z12
	VMOVUPS Z12, K5, (AX)
	ADDQ    $ROW, AX
	ADDQ    $ROW, BX
	DECQ    R13
	JNZ     keep

next:
	ADDQ $4, R10
	DECQ R11
	JNZ  trial

done:
	// The lanes that did not search: codes 0, scale 0.
	KNOTW   K1, K6
	VMOVAPS Z26, K6, Z4
	MOVQ    R8, AX
	MOVQ    CX, R13

zero:
	VMOVUPS Z26, K6, (AX)
	ADDQ    $ROW, AX
	DECQ    R13
	JNZ     zero

	MOVQ         scale+32(FP), AX
	VMOVUPS      Z4, (AX)
	MOVL         $0x80000000, DX
	VPBROADCASTD DX, Z7
	VPXORD       Z7, Z0, Z0       // −lo
	MOVQ         mn+40(FP), AX
	VMOVUPS      Z0, (AX)
	VZEROUPPER
	RET
