//go:build amd64

#include "textflag.h"

// RoPE's rotations (VecOps.RoPE), 256-bit: products rounded to float32,
// then one add or subtract, as ropeRef.

// func ropePairsAVX2(x, cs *float32, n8 int)
// Eight values (four pairs) a pass: out = x·c ∓ swap(x)·s, where c and s
// repeat each pair's cosine and sine and VADDSUBPS subtracts in the even
// lanes and adds in the odd ones.
TEXT ·ropePairsAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ cs+8(FP), SI
	MOVQ n8+16(FP), CX

pairs:
	VMOVUPS   (DI), Y0
	VMOVUPS   (SI), Y1
	VMOVSLDUP Y1, Y2
	VMOVSHDUP Y1, Y3
	VPERMILPS $0xB1, Y0, Y4
	VMULPS    Y2, Y0, Y5
	VMULPS    Y3, Y4, Y6
	VADDSUBPS Y6, Y5, Y7
	VMOVUPS   Y7, (DI)
	ADDQ      $32, DI
	ADDQ      $32, SI
	DECQ      CX
	JNZ       pairs
	VZEROUPPER
	RET

// func ropeHalvesAVX2(x, cs *float32, half, n8 int)
// Eight pairs (x[i], x[i+half]) a pass; the interleaved cosines and sines
// are split with VSHUFPS and put back in order with VPERMPD.
TEXT ·ropeHalvesAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), DI
	MOVQ cs+8(FP), SI
	MOVQ half+16(FP), R8
	MOVQ n8+24(FP), CX
	LEAQ (DI)(R8*4), R8

halves:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xDD, Y1, Y0, Y3
	VPERMPD $0xD8, Y2, Y2
	VPERMPD $0xD8, Y3, Y3
	VMOVUPS (DI), Y4
	VMOVUPS (R8), Y5
	VMULPS  Y2, Y4, Y6
	VMULPS  Y3, Y5, Y7
	VSUBPS  Y7, Y6, Y8
	VMULPS  Y3, Y4, Y9
	VMULPS  Y2, Y5, Y10
	VADDPS  Y10, Y9, Y11
	VMOVUPS Y8, (DI)
	VMOVUPS Y11, (R8)
	ADDQ    $32, DI
	ADDQ    $32, R8
	ADDQ    $64, SI
	DECQ    CX
	JNZ     halves
	VZEROUPPER
	RET
