//go:build amd64

#include "textflag.h"

// 512-bit VNNI block dot kernels for Q4_0 and Q8_0 weights × Q8_0
// activations. One call computes one weight row against n ≤ 8 activation
// rows, two 32-element blocks per zmm step.
//
// func k(w *byte, nb int, act *byte, astride int, acc *float32, mode int, n int, y *float32, ystride int)
//
// Activations are in the "pair" layout (see splitPairs in matmul.go): per
// row, ⌈nb/2⌉ records of 192 bytes, row i at act + i·astride:
//   +0   quants of blocks 2p and 2p+1 (64 int8; zero for a padding block)
//   +64  16 int32 lanes: −off·(sum of the 4 quants the lane covers), where
//        off is the weight type's zero point (8 for Q4_0, 128 for Q8_0)
//   +128 16 float32: the scale of block 2p ×8, then of block 2p+1 ×8
// VPDPBUSD multiplies unsigned weight codes u = w + off by the signed
// quants, so lane = corr + Σu·a = Σ w·a exactly. Per output and block pair:
// acc += float(lanes)·(d_w·d_a), one FMA per lane; at the end the 16 lanes
// are added in a fixed tree. An odd last block runs the same sequence with
// the upper half of the weights zero and the padding record's zeros, so it
// adds exact zeros. Every output sees the same sequence whatever n is.
//
// A row may be split into column chunks of an even number of blocks over
// several calls (mmTask.pairRows): mode bit 0 starts the lanes from acc
// (row i at acc + 64·i) instead of zero, bit 1 saves them there instead of
// summing them into y. The lanes then see exactly the additions of one
// whole-row call, so the bits are the same.
//
// Registers: Z0-Z7 accumulators, Z8 weight codes, Z9 d_w, Z10-Z12 temps,
// Z14 0x0F bytes, Z15 0x80 bytes. SI weights, CX whole pairs left, AX
// record offset, R8-R14/DI the 8 row bases, DX n, BX odd-block flag.

#define ROWZ(base, acc) \
	VMOVDQU32   64(base)(AX*1), Z10; \
	VPDPBUSD    (base)(AX*1), Z8, Z10; \
	VCVTDQ2PS   Z10, Z10; \
	VMULPS      128(base)(AX*1), Z9, Z11; \
	VFMADD231PS Z11, Z10, acc

#define ROWSZ(next) \
	ROWZ(R8, Z0); \
	CMPQ DX, $1; \
	JEQ  next; \
	ROWZ(R9, Z1); \
	CMPQ DX, $2; \
	JEQ  next; \
	ROWZ(R10, Z2); \
	CMPQ DX, $3; \
	JEQ  next; \
	ROWZ(R11, Z3); \
	CMPQ DX, $4; \
	JEQ  next; \
	ROWZ(R12, Z4); \
	CMPQ DX, $5; \
	JEQ  next; \
	ROWZ(R13, Z5); \
	CMPQ DX, $6; \
	JEQ  next; \
	ROWZ(R14, Z6); \
	CMPQ DX, $7; \
	JEQ  next; \
	ROWZ(DI, Z7)

// HSUMZ(acc, yacc, xacc, dst): 16 lanes → 8 (l_i + l_{i+8}) → the ymm tree.
#define HSUMZ(acc, yacc, xacc, dst) \
	VEXTRACTF64X4 $1, acc, Y10; \
	VADDPS        Y10, yacc, Y10; \
	VEXTRACTF128  $1, Y10, X11; \
	VADDPS        X11, X10, X10; \
	VMOVHLPS      X10, X10, X11; \
	VADDPS        X11, X10, X10; \
	VMOVSHDUP     X10, X11; \
	VADDSS        X11, X10, X10; \
	VMOVSS        X10, dst

#define SETUPZ \
	MOVQ         nb+8(FP), CX; \
	MOVQ         CX, BX; \
	ANDQ         $1, BX; \
	MOVQ         astride+24(FP), AX; \
	MOVQ         act+16(FP), R8; \
	LEAQ         (R8)(AX*1), R9; \
	LEAQ         (R9)(AX*1), R10; \
	LEAQ         (R10)(AX*1), R11; \
	LEAQ         (R11)(AX*1), R12; \
	LEAQ         (R12)(AX*1), R13; \
	LEAQ         (R13)(AX*1), R14; \
	LEAQ         (R14)(AX*1), DI; \
	SHRQ         $1, CX; \
	MOVQ         w+0(FP), SI; \
	MOVQ         n+48(FP), DX; \
	MOVL         $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z14; \
	MOVL         $0x80808080, AX; \
	VPBROADCASTD AX, Z15; \
	XORQ         AX, AX; \
	VPXORD       Z0, Z0, Z0; \
	VPXORD       Z1, Z1, Z1; \
	VPXORD       Z2, Z2, Z2; \
	VPXORD       Z3, Z3, Z3; \
	VPXORD       Z4, Z4, Z4; \
	VPXORD       Z5, Z5, Z5; \
	VPXORD       Z6, Z6, Z6; \
	VPXORD       Z7, Z7, Z7

// LOADACC: with mode bit 0, the accumulators start from the 16 lanes per
// row saved at acc (row i at acc + 64·i) by an earlier call over the
// preceding columns, instead of zero.
#define LOADACC \
	TESTQ   $1, mode+40(FP); \
	JZ      fresh; \
	MOVQ    acc+32(FP), AX; \
	VMOVUPS (AX), Z0; \
	CMPQ    DX, $1; \
	JEQ     loaded; \
	VMOVUPS 64(AX), Z1; \
	CMPQ    DX, $2; \
	JEQ     loaded; \
	VMOVUPS 128(AX), Z2; \
	CMPQ    DX, $3; \
	JEQ     loaded; \
	VMOVUPS 192(AX), Z3; \
	CMPQ    DX, $4; \
	JEQ     loaded; \
	VMOVUPS 256(AX), Z4; \
	CMPQ    DX, $5; \
	JEQ     loaded; \
	VMOVUPS 320(AX), Z5; \
	CMPQ    DX, $6; \
	JEQ     loaded; \
	VMOVUPS 384(AX), Z6; \
	CMPQ    DX, $7; \
	JEQ     loaded; \
	VMOVUPS 448(AX), Z7; \
loaded: \
	XORQ    AX, AX; \
fresh:

// SAVEACC: with mode bit 1, the lanes are saved to acc for a later call
// over the following columns and nothing is written to y.
#define SAVEACC \
	TESTQ   $2, mode+40(FP); \
	JZ      final; \
	MOVQ    acc+32(FP), SI; \
	VMOVUPS Z0, (SI); \
	CMPQ    DX, $1; \
	JEQ     done; \
	VMOVUPS Z1, 64(SI); \
	CMPQ    DX, $2; \
	JEQ     done; \
	VMOVUPS Z2, 128(SI); \
	CMPQ    DX, $3; \
	JEQ     done; \
	VMOVUPS Z3, 192(SI); \
	CMPQ    DX, $4; \
	JEQ     done; \
	VMOVUPS Z4, 256(SI); \
	CMPQ    DX, $5; \
	JEQ     done; \
	VMOVUPS Z5, 320(SI); \
	CMPQ    DX, $6; \
	JEQ     done; \
	VMOVUPS Z6, 384(SI); \
	CMPQ    DX, $7; \
	JEQ     done; \
	VMOVUPS Z7, 448(SI); \
	JMP     done; \
final:


#define STOREZ \
	MOVQ y+56(FP), SI; \
	MOVQ ystride+64(FP), CX; \
	HSUMZ(Z0, Y0, X0, (SI)); \
	CMPQ DX, $1; \
	JEQ  done; \
	ADDQ CX, SI; \
	HSUMZ(Z1, Y1, X1, (SI)); \
	CMPQ DX, $2; \
	JEQ  done; \
	ADDQ CX, SI; \
	HSUMZ(Z2, Y2, X2, (SI)); \
	CMPQ DX, $3; \
	JEQ  done; \
	ADDQ CX, SI; \
	HSUMZ(Z3, Y3, X3, (SI)); \
	CMPQ DX, $4; \
	JEQ  done; \
	ADDQ CX, SI; \
	HSUMZ(Z4, Y4, X4, (SI)); \
	CMPQ DX, $5; \
	JEQ  done; \
	ADDQ CX, SI; \
	HSUMZ(Z5, Y5, X5, (SI)); \
	CMPQ DX, $6; \
	JEQ  done; \
	ADDQ CX, SI; \
	HSUMZ(Z6, Y6, X6, (SI)); \
	CMPQ DX, $7; \
	JEQ  done; \
	ADDQ CX, SI; \
	HSUMZ(Z7, Y7, X7, (SI))

// func dotQ4_0AVX512(w *byte, nb int, act *byte, astride int, acc *float32, mode int, n int, y *float32, ystride int)
TEXT ·dotQ4_0AVX512(SB), NOSPLIT, $0-72
	SETUPZ
	LOADACC
	TESTQ CX, CX
	JZ    tail

loop:
	// d_w of both blocks: 8 copies each, widened to 16 floats.
	VPBROADCASTW (SI), X9
	VPBROADCASTW 18(SI), X10
	VINSERTI128  $1, X10, Y9, Y9
	VCVTPH2PS    Y9, Z9
	// Codes: 128-bit lanes [lo(b), hi(b), lo(b+1), hi(b+1)].
	VMOVDQU       2(SI), X10
	VINSERTI128   $1, 20(SI), Y10, Y10
	VPSRLW        $4, Y10, Y11
	VINSERTI64X4  $1, Y11, Z10, Z10
	VPANDD        Z14, Z10, Z10
	VSHUFI64X2    $0xd8, Z10, Z10, Z8
	ROWSZ(next)

next:
	ADDQ $36, SI
	ADDQ $192, AX
	DECQ CX
	JNZ  loop

tail:
	TESTQ BX, BX
	JZ    store
	VPBROADCASTW (SI), X9
	VCVTPH2PS    X9, Y9      // VEX: the upper half of Z9 becomes zero
	VMOVDQU      2(SI), X10
	VPSRLW       $4, X10, X11
	VINSERTI128  $1, X11, Y10, Y8
	VPAND        Y14, Y8, Y8
	ROWSZ(store)

store:
	SAVEACC
	STOREZ

done:
	VZEROUPPER
	RET

// func dotQ8_0AVX512(w *byte, nb int, act *byte, astride int, acc *float32, mode int, n int, y *float32, ystride int)
TEXT ·dotQ8_0AVX512(SB), NOSPLIT, $0-72
	SETUPZ
	LOADACC
	TESTQ CX, CX
	JZ    tail

loop:
	VPBROADCASTW (SI), X9
	VPBROADCASTW 34(SI), X10
	VINSERTI128  $1, X10, Y9, Y9
	VCVTPH2PS    Y9, Z9
	VMOVDQU      2(SI), Y10
	VINSERTI64X4 $1, 36(SI), Z10, Z10
	VPXORD       Z15, Z10, Z8
	ROWSZ(next)

next:
	ADDQ $68, SI
	ADDQ $192, AX
	DECQ CX
	JNZ  loop

tail:
	TESTQ BX, BX
	JZ    store
	VPBROADCASTW (SI), X9
	VCVTPH2PS    X9, Y9
	VMOVDQU      2(SI), Y10
	VPXORD       Z15, Z10, Z8
	ROWSZ(store)

store:
	SAVEACC
	STOREZ

done:
	VZEROUPPER
	RET
