//go:build amd64

#include "textflag.h"

// Float weight kernels (F32, F16, BF16) × float32 activations, AVX2+FMA+F16C.
// One call computes one weight row against n ≤ 4 activation rows over the
// first 8·n8 columns; the caller adds any remaining columns.
//
// func k(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)
//   a: activation row i at a + i·astride bytes (already rounded to the
//      weight's activation type, held as float32: exact)
//   y: output i at y + i·ystride bytes
//
// Per output: 8 float32 lanes, lane l accumulating columns ≡ l (mod 8) with
// one FMA each in column order, then the fixed lane tree. The sequence does
// not depend on n.
//
// Registers: Y0-Y3 accumulators, Y4 widened weights, Y5 temp; SI weights,
// CX groups left, AX column byte offset (float32), R8-R11 row bases, DX n.

#define FROW(base, acc) \
	VFMADD231PS (base)(AX*1), Y4, acc

#define FROWS \
	FROW(R8, Y0); \
	CMPQ DX, $1; \
	JEQ  next; \
	FROW(R9, Y1); \
	CMPQ DX, $2; \
	JEQ  next; \
	FROW(R10, Y2); \
	CMPQ DX, $3; \
	JEQ  next; \
	FROW(R11, Y3)

#define HSUM(acc, xacc, dst) \
	VEXTRACTF128 $1, acc, X10; \
	VADDPS       X10, xacc, X10; \
	VMOVHLPS     X10, X10, X11; \
	VADDPS       X11, X10, X10; \
	VMOVSHDUP    X10, X11; \
	VADDSS       X11, X10, X10; \
	VMOVSS       X10, dst

#define FSETUP \
	MOVQ   w+0(FP), SI; \
	MOVQ   n8+8(FP), CX; \
	MOVQ   a+16(FP), R8; \
	MOVQ   astride+24(FP), AX; \
	LEAQ   (R8)(AX*1), R9; \
	LEAQ   (R9)(AX*1), R10; \
	LEAQ   (R10)(AX*1), R11; \
	MOVQ   n+32(FP), DX; \
	XORQ   AX, AX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3

#define FSTORE \
	MOVQ y+40(FP), SI; \
	MOVQ ystride+48(FP), CX; \
	HSUM(Y0, X0, (SI)); \
	CMPQ DX, $1; \
	JEQ  done; \
	HSUM(Y1, X1, (SI)(CX*1)); \
	CMPQ DX, $2; \
	JEQ  done; \
	LEAQ (SI)(CX*2), SI; \
	HSUM(Y2, X2, (SI)); \
	CMPQ DX, $3; \
	JEQ  done; \
	HSUM(Y3, X3, (SI)(CX*1))

// func dotF32AVX2(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-56
	FSETUP
	TESTQ CX, CX
	JZ    store

loop:
	VMOVUPS (SI), Y4
	FROWS

next:
	ADDQ $32, SI
	ADDQ $32, AX
	DECQ CX
	JNZ  loop

store:
	FSTORE

done:
	VZEROUPPER
	RET

// func dotF16AVX2(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-56
	FSETUP
	TESTQ CX, CX
	JZ    store

loop:
	VCVTPH2PS (SI), Y4
	FROWS

next:
	ADDQ $16, SI
	ADDQ $32, AX
	DECQ CX
	JNZ  loop

store:
	FSTORE

done:
	VZEROUPPER
	RET

// func dotBF16AVX2(w *byte, n8 int, a *float32, astride int, n int, y *float32, ystride int)
// bf16 → f32 is exact: the 16 bits become the high half of the float.
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-56
	FSETUP
	TESTQ CX, CX
	JZ    store

loop:
	VPMOVZXWD (SI), Y4
	VPSLLD    $16, Y4, Y4
	FROWS

next:
	ADDQ $16, SI
	ADDQ $32, AX
	DECQ CX
	JNZ  loop

store:
	FSTORE

done:
	VZEROUPPER
	RET
