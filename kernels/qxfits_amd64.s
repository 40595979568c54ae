//go:build amd64

#include "textflag.h"

// func qxFitsAVX512(x, w *float32, n int, nmax int, iscale, sumlx, suml2 *float32)
// quant.QxGroup.Fit for sixteen trials, one a lane: for each of the n
// elements in order, l = clamp(nearest(iscale·x), −nmax, nmax−1) with
// ggml's nearest_int (the bits of v + 1.5·2²³, masked), then Σ (w·x)·l
// and Σ (w·l)·l, each product and sum rounded as the Go loop rounds them
// (no fused multiply-adds). AVX-512F.
TEXT ·qxFitsAVX512(SB), NOSPLIT, $0-56
	MOVQ iscale+32(FP), AX
	VMOVUPS (AX), Z0             // the trials' multipliers
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ nmax+24(FP), DX
	VPBROADCASTD DX, Z9          // nmax
	VPXORD       Z8, Z8, Z8
	VPSUBD       Z9, Z8, Z8      // −nmax
	MOVL         $1, AX
	VPBROADCASTD AX, Z10
	VPSUBD       Z10, Z9, Z9     // nmax−1
	MOVL         $0x4b400000, AX // 12582912.0 = 1.5·2²³
	VPBROADCASTD AX, Z11
	MOVL         $0x007fffff, AX
	VPBROADCASTD AX, Z12
	MOVL         $0x00400000, AX
	VPBROADCASTD AX, Z13
	VPXORD       Z1, Z1, Z1      // Σ (w·x)·l
	VPXORD       Z2, Z2, Z2      // Σ (w·l)·l
	TESTQ        CX, CX
	JZ           done

fit:
	VBROADCASTSS (SI), Z3        // x
	VBROADCASTSS (DI), Z4        // w
	VMULPS       Z3, Z0, Z5      // iscale·x
	VADDPS       Z11, Z5, Z5     // nearest_int: + 1.5·2²³, then the low bits
	VPANDD       Z12, Z5, Z5
	VPSUBD       Z13, Z5, Z5
	VPMAXSD      Z8, Z5, Z5
	VPMINSD      Z9, Z5, Z5
	VCVTDQ2PS    Z5, Z5          // l
	VMULPS       Z3, Z4, Z6      // w·x
	VMULPS       Z5, Z6, Z6      // (w·x)·l
	VADDPS       Z6, Z1, Z1
	VMULPS       Z5, Z4, Z7      // w·l
	VMULPS       Z5, Z7, Z7      // (w·l)·l
	VADDPS       Z7, Z2, Z2
	ADDQ         $4, SI
	ADDQ         $4, DI
	DECQ         CX
	JNZ          fit

done:
	MOVQ    sumlx+40(FP), AX
	VMOVUPS Z1, (AX)
	MOVQ    suml2+48(FP), AX
	VMOVUPS Z2, (AX)
	VZEROUPPER
	RET
