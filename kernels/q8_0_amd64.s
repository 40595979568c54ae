//go:build amd64

#include "textflag.h"

// Block dot kernels for weights whose activations are Q8_0 (Q8_0 and Q4_0
// weights), 256-bit. One call computes one weight row against nx ≤ 4
// activation rows.
//
// func k(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
//   w:  nb weight blocks (ggml layout)
//   qs: activation quants, row i at qs + i·nb·32
//   d:  activation scales as float32, row i at d + i·nb·4
//   bs: unused here
//   y:  output for activation row i at y + i·ystride (bytes)
//
// Per output and block: the 32 products are summed exactly into 8 int32
// lanes, converted to float32 and accumulated as acc += lanes·(d_w·d_a) with
// one FMA; the 8 lanes are added at the end in a fixed tree. Every output
// follows the same instruction sequence whatever nx is, so results do not
// depend on batch composition.
//
// Register use: Y0-Y3 accumulators, Y4 d_w, Y5 signed weights, Y6 |w|,
// Y7-Y9 temporaries, Y13 0x08 bytes, Y14 0x0F bytes, Y15 int16 ones.
// SI weights, CX blocks left, AX qs byte offset, BX block index,
// R8-R11 qs row bases, R12-R14/DI d row bases, DX nx.

// DOT(u, s, dst): dst = int32 lanes, each the sum of 4 adjacent u8·s8
// products. The maddubs form cannot saturate here (|u| ≤ 128, |s| ≤ 127 so a
// pair is ≤ 32512), so both forms give identical lanes.
#define DOT_AVX2(u, s, dst) \
	VPMADDUBSW s, u, dst; \
	VPMADDWD   Y15, dst, dst

#define DOT_VNNI(u, s, dst) \
	VPXOR    dst, dst, dst; \
	VPDPBUSD s, u, dst

// ROW(qb, db, acc): one activation row against the weight block in Y5/Y6.
#define ROW(qb, db, acc) \
	VMOVDQU      (qb)(AX*1), Y7; \
	VPSIGNB      Y5, Y7, Y7; \
	DOT(Y6, Y7, Y8); \
	VCVTDQ2PS    Y8, Y8; \
	VBROADCASTSS (db)(BX*4), Y9; \
	VMULPS       Y4, Y9, Y9; \
	VFMADD231PS  Y9, Y8, acc

// HSUM(acc, xacc, dst): dst = ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
#define HSUM(acc, xacc, dst) \
	VEXTRACTF128 $1, acc, X10; \
	VADDPS       X10, xacc, X10; \
	VMOVHLPS     X10, X10, X11; \
	VADDPS       X11, X10, X10; \
	VMOVSHDUP    X10, X11; \
	VADDSS       X11, X10, X10; \
	VMOVSS       X10, dst

#define SETUP \
	MOVQ         nb+8(FP), CX; \
	MOVQ         CX, AX; \
	SHLQ         $5, AX; \
	MOVQ         qs+16(FP), R8; \
	LEAQ         (R8)(AX*1), R9; \
	LEAQ         (R9)(AX*1), R10; \
	LEAQ         (R10)(AX*1), R11; \
	MOVQ         CX, AX; \
	SHLQ         $2, AX; \
	MOVQ         d+24(FP), R12; \
	LEAQ         (R12)(AX*1), R13; \
	LEAQ         (R13)(AX*1), R14; \
	LEAQ         (R14)(AX*1), DI; \
	MOVQ         w+0(FP), SI; \
	MOVQ         nx+40(FP), DX; \
	MOVL         $0x00010001, AX; \
	VMOVD        AX, X15; \
	VPBROADCASTD X15, Y15; \
	MOVL         $0x0f0f0f0f, AX; \
	VMOVD        AX, X14; \
	VPBROADCASTD X14, Y14; \
	MOVL         $0x08080808, AX; \
	VMOVD        AX, X13; \
	VPBROADCASTD X13, Y13; \
	XORQ         AX, AX; \
	XORQ         BX, BX; \
	VXORPS       Y0, Y0, Y0; \
	VXORPS       Y1, Y1, Y1; \
	VXORPS       Y2, Y2, Y2; \
	VXORPS       Y3, Y3, Y3

#define ROWS \
	ROW(R8, R12, Y0); \
	CMPQ DX, $1; \
	JEQ  next; \
	ROW(R9, R13, Y1); \
	CMPQ DX, $2; \
	JEQ  next; \
	ROW(R10, R14, Y2); \
	CMPQ DX, $3; \
	JEQ  next; \
	ROW(R11, DI, Y3)

#define STORE \
	MOVQ y+48(FP), SI; \
	MOVQ ystride+56(FP), CX; \
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

// Q8_0 weight block: d (fp16), qs[32] int8.
#define LOAD_Q8_0 \
	VPBROADCASTW (SI), X4; \
	VCVTPH2PS    X4, Y4; \
	VMOVDQU      2(SI), Y5; \
	VPABSB       Y5, Y6

// Q4_0 weight block: d (fp16), qs[16]; element j is the low nibble of qs[j],
// element j+16 the high nibble; value = nibble − 8.
#define LOAD_Q4_0 \
	VPBROADCASTW (SI), X4; \
	VCVTPH2PS    X4, Y4; \
	VMOVDQU      2(SI), X5; \
	VPSRLW       $4, X5, X6; \
	VINSERTI128  $1, X6, Y5, Y5; \
	VPAND        Y14, Y5, Y5; \
	VPSUBB       Y13, Y5, Y5; \
	VPABSB       Y5, Y6

#define DOT DOT_AVX2

// func dotQ8_0AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-64
	SETUP
	TESTQ CX, CX
	JZ    store

loop:
	LOAD_Q8_0
	ROWS

next:
	ADDQ $34, SI
	ADDQ $32, AX
	INCQ BX
	DECQ CX
	JNZ  loop

store:
	STORE

done:
	VZEROUPPER
	RET

// func dotQ4_0AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-64
	SETUP
	TESTQ CX, CX
	JZ    store

loop:
	LOAD_Q4_0
	ROWS

next:
	ADDQ $18, SI
	ADDQ $32, AX
	INCQ BX
	DECQ CX
	JNZ  loop

store:
	STORE

done:
	VZEROUPPER
	RET

#undef DOT
#define DOT DOT_VNNI

// func dotQ8_0VNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ8_0VNNI(SB), NOSPLIT, $0-64
	SETUP
	TESTQ CX, CX
	JZ    store

loop:
	LOAD_Q8_0
	ROWS

next:
	ADDQ $34, SI
	ADDQ $32, AX
	INCQ BX
	DECQ CX
	JNZ  loop

store:
	STORE

done:
	VZEROUPPER
	RET

// func dotQ4_0VNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ4_0VNNI(SB), NOSPLIT, $0-64
	SETUP
	TESTQ CX, CX
	JZ    store

loop:
	LOAD_Q4_0
	ROWS

next:
	ADDQ $18, SI
	ADDQ $32, AX
	INCQ BX
	DECQ CX
	JNZ  loop

store:
	STORE

done:
	VZEROUPPER
	RET
