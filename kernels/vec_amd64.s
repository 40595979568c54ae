//go:build amd64

#include "textflag.h"

// AVX-512 loops of VecOps (vec.go): attention scores over fp16/f32 K rows
// and the probability-weighted sum of fp16/f32 V rows. The order of every
// float operation is the one vec.go documents and its Go reference follows.
//
// Scores: Z0-Z3 the four chunk accumulators, Z4-Z7 widened K chunks; SI q,
// DI the current K row, R8 the row stride in bytes, R9 out, CX rows left,
// DX chunks per row (BX counting down), R10/R11 chunk pointers.
// Weighted sum: Z0-Z3 up to four acc chunks held across all rows, Z4 the
// broadcast probability, Z5-Z8 widened V chunks; DI acc, BX chunks left,
// SI p, CX rows, R8 V at the current chunk, R9 row stride in bytes.

// ROWVEC(LOAD, K1, K2, K3, KSTEP, quad, rest, done): one K row at DI
// against q at SI: Z0 = (c0+c1)+(c2+c3) of the four chunk accumulators
// (chunk j of the row's 16-element pieces goes to accumulator j mod 4).
// The first two lines of the row 8 ahead are prefetched: cache rows are a
// slot apart (all KV heads' rows of a position sit together), a stride the
// hardware prefetchers pick up late in 16-row blocks.
#define ROWVEC(LOAD, K1, K2, K3, KSTEP, quad, rest, done) \
	PREFETCHT0 (DI)(R8*8); \
	PREFETCHT0 64(DI)(R8*8); \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	MOVQ   DI, R10; \
	MOVQ   SI, R11; \
	MOVQ   DX, BX; \
quad: \
	CMPQ BX, $4; \
	JLT  rest; \
	LOAD (R10), Z4; \
	VFMADD231PS (R11), Z4, Z0; \
	LOAD K1(R10), Z5; \
	VFMADD231PS 64(R11), Z5, Z1; \
	LOAD K2(R10), Z6; \
	VFMADD231PS 128(R11), Z6, Z2; \
	LOAD K3(R10), Z7; \
	VFMADD231PS 192(R11), Z7, Z3; \
	ADDQ $KSTEP, R10; \
	ADDQ $256, R11; \
	SUBQ $4, BX; \
	JMP  quad; \
rest: \
	TESTQ BX, BX; \
	JZ    done; \
	LOAD (R10), Z4; \
	VFMADD231PS (R11), Z4, Z0; \
	CMPQ BX, $1; \
	JEQ  done; \
	LOAD K1(R10), Z5; \
	VFMADD231PS 64(R11), Z5, Z1; \
	CMPQ BX, $2; \
	JEQ  done; \
	LOAD K2(R10), Z6; \
	VFMADD231PS 128(R11), Z6, Z2; \
done: \
	VADDPS Z1, Z0, Z0; \
	VADDPS Z3, Z2, Z2; \
	VADDPS Z2, Z0, Z0

// PAIR8(a, b, dst): lanes 0-7 of dst = a[l]+a[l+8], lanes 8-15 = b[l]+b[l+8].
#define PAIR8(a, b, dst) \
	VSHUFF32X4 $0x44, b, a, Z4; \
	VSHUFF32X4 $0xEE, b, a, Z5; \
	VADDPS     Z5, Z4, dst

// PAIR8AT(oa, ob, dst): PAIR8 of the lane vectors stored at oa(R13) and
// ob(R13).
#define PAIR8AT(oa, ob, dst) \
	VMOVUPS oa(R13), Z6; \
	VMOVUPS ob(R13), Z7; \
	PAIR8(Z6, Z7, dst)

// PAIR4(p, q, dst): 128-bit lane j of dst = lane j's 4 partials l + l+4 of
// the rows in the 256-bit halves of p (j = 0, 1) and q (j = 2, 3).
#define PAIR4(p, q, dst) \
	VSHUFF32X4 $0x88, q, p, Z4; \
	VSHUFF32X4 $0xDD, q, p, Z5; \
	VADDPS     Z5, Z4, dst

// TREE16: the 16 lane vectors stored at R13 (64 bytes apart, one per
// row) summed by the tree (l, l+8), (l, l+4), (l, l+2), (l, l+1) for all
// rows at once; Z30 = the 16 sums in row order (Z31 holds dotRowsPerm).
#define TREE16 \
	PAIR8AT(0, 64, Z16); \
	PAIR8AT(128, 192, Z17); \
	PAIR8AT(256, 320, Z18); \
	PAIR8AT(384, 448, Z19); \
	PAIR8AT(512, 576, Z20); \
	PAIR8AT(640, 704, Z21); \
	PAIR8AT(768, 832, Z22); \
	PAIR8AT(896, 960, Z23); \
	PAIR4(Z16, Z17, Z24); \
	PAIR4(Z18, Z19, Z25); \
	PAIR4(Z20, Z21, Z26); \
	PAIR4(Z22, Z23, Z27); \
	VSHUFPS $0x44, Z25, Z24, Z4; \
	VSHUFPS $0xEE, Z25, Z24, Z5; \
	VADDPS  Z5, Z4, Z28; \
	VSHUFPS $0x44, Z27, Z26, Z4; \
	VSHUFPS $0xEE, Z27, Z26, Z5; \
	VADDPS  Z5, Z4, Z29; \
	VSHUFPS $0x88, Z29, Z28, Z4; \
	VSHUFPS $0xDD, Z29, Z28, Z5; \
	VADDPS  Z5, Z4, Z30; \
	VPERMPS Z30, Z31, Z30

// DOTROWS(LOAD, K1, K2, K3, KSTEP, KSHIFT): the score loop for K elements
// widened by LOAD (VCVTPH2PS for fp16, VMOVUPS for f32); K1-K3 are the byte
// offsets of chunks 1-3 (16 elements each), KSTEP of four chunks, KSHIFT
// log2 of the element size. Each row's 16 lanes are summed by the tree
// (l, l+8), (l, l+4), (l, l+2), (l, l+1). Whole groups of 16 rows store
// their lane vectors in the frame and run that tree for all 16 at once with
// shuffles (the same additions: the 4 levels pair the same lanes); the
// remaining rows run it one row at a time.
#define DOTROWS(LOAD, K1, K2, K3, KSTEP, KSHIFT) \
	MOVQ out+0(FP), R9; \
	MOVQ q+8(FP), SI; \
	MOVQ k+16(FP), DI; \
	MOVQ kstride+24(FP), R8; \
	SHLQ $KSHIFT, R8; \
	MOVQ n+32(FP), CX; \
	MOVQ d16+40(FP), DX; \
	LEAQ 0(SP), R13; \
	VMOVDQU32 dotRowsPerm<>(SB), Z31; \
group: \
	CMPQ CX, $16; \
	JLT  row; \
	MOVQ R13, R14; \
	MOVQ $16, R12; \
grow: \
	ROWVEC(LOAD, K1, K2, K3, KSTEP, gquad, grest, gdone); \
	VMOVUPS Z0, (R14); \
	ADDQ    $64, R14; \
	ADDQ    R8, DI; \
	DECQ    R12; \
	JNZ     grow; \
	TREE16; \
	VMOVUPS Z30, (R9); \
	ADDQ    $64, R9; \
	SUBQ    $16, CX; \
	JMP     group; \
row: \
	TESTQ CX, CX; \
	JZ    end; \
	ROWVEC(LOAD, K1, K2, K3, KSTEP, quad, rest, reduce); \
	VEXTRACTF64X4 $1, Z0, Y1; \
	VADDPS        Y1, Y0, Y0; \
	VEXTRACTF128  $1, Y0, X1; \
	VADDPS        X1, X0, X0; \
	VMOVHLPS      X0, X0, X1; \
	VADDPS        X1, X0, X0; \
	VMOVSHDUP     X0, X1; \
	VADDSS        X1, X0, X0; \
	VMOVSS        X0, (R9); \
	ADDQ          $4, R9; \
	ADDQ          R8, DI; \
	DECQ          CX; \
	JMP           row; \
end: \
	VZEROUPPER; \
	RET

// dotRowsPerm: the 16-row tree leaves row 4e+j at element 4j+e.
DATA dotRowsPerm<>+0(SB)/4, $0
DATA dotRowsPerm<>+4(SB)/4, $4
DATA dotRowsPerm<>+8(SB)/4, $8
DATA dotRowsPerm<>+12(SB)/4, $12
DATA dotRowsPerm<>+16(SB)/4, $1
DATA dotRowsPerm<>+20(SB)/4, $5
DATA dotRowsPerm<>+24(SB)/4, $9
DATA dotRowsPerm<>+28(SB)/4, $13
DATA dotRowsPerm<>+32(SB)/4, $2
DATA dotRowsPerm<>+36(SB)/4, $6
DATA dotRowsPerm<>+40(SB)/4, $10
DATA dotRowsPerm<>+44(SB)/4, $14
DATA dotRowsPerm<>+48(SB)/4, $3
DATA dotRowsPerm<>+52(SB)/4, $7
DATA dotRowsPerm<>+56(SB)/4, $11
DATA dotRowsPerm<>+60(SB)/4, $15
GLOBL dotRowsPerm<>(SB), RODATA|NOPTR, $64

// AXPYROWS(LOAD, K1, K2, K3, KSTEP, KSHIFT): the weighted-sum loop, same
// parameters for the V elements. Like the score loop it prefetches the
// first two lines of the row 8 ahead.
#define AXPYROWS(LOAD, K1, K2, K3, KSTEP, KSHIFT) \
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
	VMOVUPS (DI), Z0; \
	VMOVUPS 64(DI), Z1; \
	VMOVUPS 128(DI), Z2; \
	VMOVUPS 192(DI), Z3; \
	MOVQ    R8, R10; \
	MOVQ    SI, R11; \
	MOVQ    CX, R12; \
qloop: \
	PREFETCHT0 (R10)(R9*8); \
	PREFETCHT0 64(R10)(R9*8); \
	VBROADCASTSS (R11), Z4; \
	LOAD (R10), Z5; \
	VFMADD231PS Z5, Z4, Z0; \
	LOAD K1(R10), Z6; \
	VFMADD231PS Z6, Z4, Z1; \
	LOAD K2(R10), Z7; \
	VFMADD231PS Z7, Z4, Z2; \
	LOAD K3(R10), Z8; \
	VFMADD231PS Z8, Z4, Z3; \
	ADDQ $4, R11; \
	ADDQ R9, R10; \
	DECQ R12; \
	JNZ  qloop; \
	VMOVUPS Z0, (DI); \
	VMOVUPS Z1, 64(DI); \
	VMOVUPS Z2, 128(DI); \
	VMOVUPS Z3, 192(DI); \
	ADDQ    $256, DI; \
	ADDQ    $KSTEP, R8; \
	SUBQ    $4, BX; \
	JMP     quad; \
single: \
	TESTQ   BX, BX; \
	JZ      done; \
	VMOVUPS (DI), Z0; \
	MOVQ    R8, R10; \
	MOVQ    SI, R11; \
	MOVQ    CX, R12; \
sloop: \
	VBROADCASTSS (R11), Z4; \
	LOAD (R10), Z5; \
	VFMADD231PS Z5, Z4, Z0; \
	ADDQ $4, R11; \
	ADDQ R9, R10; \
	DECQ R12; \
	JNZ  sloop; \
	VMOVUPS Z0, (DI); \
	ADDQ    $64, DI; \
	ADDQ    $K1, R8; \
	DECQ    BX; \
	JMP     single; \
done: \
	VZEROUPPER; \
	RET

// func dotF16Rows(out *float32, q *float32, k *uint16, kstride int, n int, d16 int)
// The 1 KiB frame holds a 16-row group's lane vectors.
TEXT ·dotF16Rows(SB), 0, $1024-48
	DOTROWS(VCVTPH2PS, 32, 64, 96, 128, 1)

// func dotF32Rows(out *float32, q *float32, k *float32, kstride int, n int, d16 int)
TEXT ·dotF32Rows(SB), 0, $1024-48
	DOTROWS(VMOVUPS, 64, 128, 192, 256, 2)

// func axpyF16Rows(acc *float32, d16 int, p *float32, n int, v *uint16, vstride int)
TEXT ·axpyF16Rows(SB), NOSPLIT, $0-48
	AXPYROWS(VCVTPH2PS, 32, 64, 96, 128, 1)

// func axpyF32Rows(acc *float32, d16 int, p *float32, n int, v *float32, vstride int)
TEXT ·axpyF32Rows(SB), NOSPLIT, $0-48
	AXPYROWS(VMOVUPS, 64, 128, 192, 256, 2)

// QTREE(y, x, DST): the Q8_0 score's 8 lanes in y (x its low half) summed
// by the tree l+4, l+2, l+1 and stored at DST (X1 scratch).
#define QTREE(y, x, DST) \
	VEXTRACTF128 $1, y, X1; \
	VADDPS     X1, x, x; \
	VMOVHLPS   x, x, X1; \
	VADDPS     X1, x, x; \
	VMOVSHDUP  x, X1; \
	VADDSS     X1, x, x; \
	VMOVSS     x, DST

// QTREE4(A, XA, B, XB, C, XC, D, XD): the lane trees of four heads' row
// sums, stored at R9 and R14 bytes apart (AX is clobbered).
#define QTREE4(A, XA, B, XB, C, XC, D, XD) \
	QTREE(A, XA, (R9)); \
	QTREE(B, XB, (R9)(R14*1)); \
	QTREE(C, XC, (R9)(R14*2)); \
	LEAQ (R9)(R14*2), AX; \
	QTREE(D, XD, (AX)(R14*1))

// QHEAD(acc): one head's step of a block: its quants at AX signed by the K
// quants (Y1, absolute values in Y4), multiplied and widened to 8 lanes,
// and added to acc with one FMA by d_k (X6) · its scale at DX.
#define QHEAD(acc) \
	VMOVDQU    (AX), Y2; \
	VPSIGNB    Y1, Y2, Y3; \
	VPMADDUBSW Y3, Y4, Y5; \
	VPMADDWD   Y15, Y5, Y5; \
	VCVTDQ2PS  Y5, Y5; \
	VMULSS     (DX), X6, X7; \
	VBROADCASTSS X7, Y7; \
	VFMADD231PS Y7, Y5, acc

// VHEAD(P, LO, HI): one head's step of a row: its 32 sums in LO/HI take
// the widened V block (Z2, Z3) times its probability at P · d_v (X6).
#define VHEAD(P, LO, HI) \
	VMULSS     P, X6, X7; \
	VBROADCASTSS X7, Z7; \
	VFMADD231PS Z7, Z2, LO; \
	VFMADD231PS Z7, Z3, HI

// The Q8_0 row loops prefetch the first two lines of the row 8 ahead, as
// the fp16 ones do (cold-cache decode over a Q8_0 cache: attention 1.22-1.30
// → 0.89-0.93 ms a llama-1b step at context ~256).
//
// func dotQ8_0Rows(out *float32, q *byte, qd *float32, k *byte, kstride int, n int, nb int)
// Q8_0 cache rows (34-byte blocks: fp16 d, 32 int8) against a Q8_0 query
// (quants q, block scales qd): per row 8 int32 lanes per block (lane l
// covers quants 4l..4l+3, VPSIGNB/VPABSB/VPMADDUBSW/VPMADDWD, exact),
// converted and added with one FMA by d_k·d_q in block order, then the
// fixed lane tree (l+4, l+2, l+1).
TEXT ·dotQ8_0Rows(SB), NOSPLIT, $0-56
	MOVQ out+0(FP), R9
	MOVQ q+8(FP), SI
	MOVQ qd+16(FP), R11
	MOVQ k+24(FP), DI
	MOVQ kstride+32(FP), R8
	MOVQ n+40(FP), CX
	MOVQ nb+48(FP), R12
	MOVL $0x00010001, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15

qrow:
	PREFETCHT0 (DI)(R8*8)
	PREFETCHT0 64(DI)(R8*8)
	VXORPS Y0, Y0, Y0
	MOVQ   DI, R10
	XORQ   BX, BX

qblk:
	VMOVDQU    2(R10), Y1
	VPABSB     Y1, Y4
	MOVWLZX    (R10), AX
	VMOVD      AX, X6
	VCVTPH2PS  X6, X6
	MOVQ       BX, AX
	SHLQ       $5, AX
	ADDQ       SI, AX
	LEAQ       (R11)(BX*4), DX
	QHEAD(Y0)
	ADDQ       $34, R10
	INCQ       BX
	CMPQ       BX, R12
	JLT        qblk
	QTREE(Y0, X0, (R9))
	ADDQ       $4, R9
	ADDQ       R8, DI
	DECQ       CX
	JNZ        qrow
	VZEROUPPER
	RET

// func axpyQ8_0Rows(acc *float32, nb int, p *float32, n int, v *byte, vstride int)
// acc[e] += p[j]·d_j·q_j[e] over Q8_0 rows j in order: per block, the 32
// acc values in Z0/Z1 take one FMA per row of float(q) by p[j]·d_j.
TEXT ·axpyQ8_0Rows(SB), NOSPLIT, $0-48
	MOVQ acc+0(FP), DI
	MOVQ nb+8(FP), BX
	MOVQ p+16(FP), SI
	MOVQ n+24(FP), CX
	MOVQ v+32(FP), R8
	MOVQ vstride+40(FP), R9

vblk:
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	MOVQ    R8, R10
	MOVQ    SI, R11
	MOVQ    CX, R12

vrow:
	PREFETCHT0 (R10)(R9*8)
	PREFETCHT0 64(R10)(R9*8)
	MOVWLZX    (R10), AX
	VMOVD      AX, X6
	VCVTPH2PS  X6, X6
	VPMOVSXBD  2(R10), Z2
	VCVTDQ2PS  Z2, Z2
	VPMOVSXBD  18(R10), Z3
	VCVTDQ2PS  Z3, Z3
	VHEAD((R11), Z0, Z1)
	ADDQ       $4, R11
	ADDQ       R9, R10
	DECQ       R12
	JNZ        vrow
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ    $128, DI
	ADDQ    $34, R8
	DECQ    BX
	JNZ     vblk
	VZEROUPPER
	RET

// dotF16Rows4 is dotF16Rows for four query heads against the same fp16 K
// rows: each row's chunks are widened once and multiplied into the four
// heads' accumulators (head h: Z8+4h .. Z11+4h), every head with exactly
// dotF16Rows' operations in its order; the 16-row tree then runs per head
// from its own 1 KiB of the frame. Head h's q is at q + h·qstride floats,
// its output at out + h·ostride. R12/AX = 1×/3× qstride in bytes, R13
// counts a group's rows, R14 walks its lane vectors; the rest as DOTROWS.
// Besides ROW4's prefetch 8 rows ahead, each row of a group prefetches the
// row farRows ahead into L2 while that many rows are left in the call.
//
// Heads of 64 or 128 elements (d16 4 or 8, the common sizes) take the
// groups of rgroup instead: the four heads' first four q chunks stay in
// Z16-Z31 for the group (reloaded after its trees, which use those
// registers), the row's chunks are widened into Z0-Z7, and each head's
// chunk products start with a VMULPS rather than a multiply-add onto a
// zeroed accumulator. With q read from memory, 16 of a row's 20 loads were
// q's: a 64-element head's scores took 5.8-5.9 ns a row warm against
// 4.4-4.5 this way (docs/performance.md, round 22). The products are the
// same; only a product of -0 differs from the zeroed accumulator's +0, so
// each group's sums get +0 added, which turns a -0 sum (all its products
// -0) into the +0 the other paths give and changes nothing else.

// CHUNK4(KOFF, QOFF, A0, A1, A2, A3): one 16-element K chunk at KOFF(R10)
// widened and multiplied by the four heads' q chunks at QOFF.
#define CHUNK4(KOFF, QOFF, A0, A1, A2, A3) \
	VCVTPH2PS   KOFF(R10), Z4; \
	VFMADD231PS QOFF(R11), Z4, A0; \
	VFMADD231PS QOFF(R11)(R12*1), Z4, A1; \
	VFMADD231PS QOFF(R11)(R12*2), Z4, A2; \
	VFMADD231PS QOFF(R11)(AX*1), Z4, A3

// SUM4(a, b, c, d): a = (a+b)+(c+d), ROWVEC's chunk sum.
#define SUM4(a, b, c, d) \
	VADDPS b, a, a; \
	VADDPS d, c, c; \
	VADDPS c, a, a

// ROW4(quad, rest, done): ROWVEC for four heads; head h's row sum (before
// the lane tree) is left in Z8+4h.
#define ROW4(quad, rest, done) \
	PREFETCHT0 (DI)(R8*8); \
	PREFETCHT0 64(DI)(R8*8); \
	VPXORD Z8, Z8, Z8; VPXORD Z9, Z9, Z9; VPXORD Z10, Z10, Z10; VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; VPXORD Z13, Z13, Z13; VPXORD Z14, Z14, Z14; VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; VPXORD Z17, Z17, Z17; VPXORD Z18, Z18, Z18; VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; VPXORD Z21, Z21, Z21; VPXORD Z22, Z22, Z22; VPXORD Z23, Z23, Z23; \
	MOVQ DI, R10; \
	MOVQ SI, R11; \
	MOVQ DX, BX; \
quad: \
	CMPQ BX, $4; \
	JLT  rest; \
	CHUNK4(0, 0, Z8, Z12, Z16, Z20); \
	CHUNK4(32, 64, Z9, Z13, Z17, Z21); \
	CHUNK4(64, 128, Z10, Z14, Z18, Z22); \
	CHUNK4(96, 192, Z11, Z15, Z19, Z23); \
	ADDQ $128, R10; \
	ADDQ $256, R11; \
	SUBQ $4, BX; \
	JMP  quad; \
rest: \
	TESTQ BX, BX; \
	JZ    done; \
	CHUNK4(0, 0, Z8, Z12, Z16, Z20); \
	CMPQ  BX, $1; \
	JEQ   done; \
	CHUNK4(32, 64, Z9, Z13, Z17, Z21); \
	CMPQ  BX, $2; \
	JEQ   done; \
	CHUNK4(64, 128, Z10, Z14, Z18, Z22); \
done: \
	SUM4(Z8, Z9, Z10, Z11); \
	SUM4(Z12, Z13, Z14, Z15); \
	SUM4(Z16, Z17, Z18, Z19); \
	SUM4(Z20, Z21, Z22, Z23)

// MUL4(Q0, Q1, Q2, Q3, P0, P1, P2, P3): the products of the widened
// chunks Z0-Z3 and one head's q chunks in Q0-Q3.
#define MUL4(Q0, Q1, Q2, Q3, P0, P1, P2, P3) \
	VMULPS Q0, Z0, P0; \
	VMULPS Q1, Z1, P1; \
	VMULPS Q2, Z2, P2; \
	VMULPS Q3, Z3, P3

// HEADR(Q0, Q1, Q2, Q3, P0, P1, P2, P3, OFF): one head's row sum before
// the lane tree, ROW4's (c0+c1)+(c2+c3), from the widened chunks Z0-Z3 and
// the head's q chunks in Q0-Q3, stored at OFF(R14).
#define HEADR(Q0, Q1, Q2, Q3, P0, P1, P2, P3, OFF) \
	MUL4(Q0, Q1, Q2, Q3, P0, P1, P2, P3); \
	SUM4(P0, P1, P2, P3); \
	VMOVUPS P0, OFF(R14)

// HEADR8(Q0, Q1, Q2, Q3, M4, M5, M6, M7, P0, P1, P2, P3, OFF): HEADR for a
// 128-element head: chunks 4-7 (Z4-Z7) multiplied by q's at M4-M7 and
// added into the first four's products, as ROW4's second quad does.
#define HEADR8(Q0, Q1, Q2, Q3, M4, M5, M6, M7, P0, P1, P2, P3, OFF) \
	MUL4(Q0, Q1, Q2, Q3, P0, P1, P2, P3); \
	VFMADD231PS M4, Z4, P0; \
	VFMADD231PS M5, Z5, P1; \
	VFMADD231PS M6, Z6, P2; \
	VFMADD231PS M7, Z7, P3; \
	SUM4(P0, P1, P2, P3); \
	VMOVUPS     P0, OFF(R14)

// LOADQ4: the four heads' q chunks 0-3 into Z16-Z31 (head h: Z16+4h ..).
#define LOADQ4 \
	VMOVUPS (SI), Z16; VMOVUPS 64(SI), Z17; VMOVUPS 128(SI), Z18; VMOVUPS 192(SI), Z19; \
	VMOVUPS (SI)(R12*1), Z20; VMOVUPS 64(SI)(R12*1), Z21; VMOVUPS 128(SI)(R12*1), Z22; VMOVUPS 192(SI)(R12*1), Z23; \
	VMOVUPS (SI)(R12*2), Z24; VMOVUPS 64(SI)(R12*2), Z25; VMOVUPS 128(SI)(R12*2), Z26; VMOVUPS 192(SI)(R12*2), Z27; \
	VMOVUPS (SI)(AX*1), Z28; VMOVUPS 64(SI)(AX*1), Z29; VMOVUPS 128(SI)(AX*1), Z30; VMOVUPS 192(SI)(AX*1), Z31

// RROW(SKIP): the start of a register-path row: the far and near
// prefetches and chunks 0-3 of the K row at DI widened into Z0-Z3.
#define RROW(SKIP) \
	LEAQ       -16(CX)(R13*1), R10; \
	FARPREFETCH(R10, R10, R8, DI, SKIP); \
	PREFETCHT0 (DI)(R8*8); \
	PREFETCHT0 64(DI)(R8*8); \
	VCVTPH2PS  (DI), Z0; \
	VCVTPH2PS  32(DI), Z1; \
	VCVTPH2PS  64(DI), Z2; \
	VCVTPH2PS  96(DI), Z3

// RROWHI: chunks 4-7 of a 128-element row widened into Z4-Z7.
#define RROWHI \
	VCVTPH2PS 128(DI), Z4; \
	VCVTPH2PS 160(DI), Z5; \
	VCVTPH2PS 192(DI), Z6; \
	VCVTPH2PS 224(DI), Z7

// RTREE(OFF, DST): one head's 16-row tree from its lane vectors at OFF(SP),
// +0 added (Z8 holds zeros), stored at DST.
#define RTREE(OFF, DST) \
	LEAQ    OFF(SP), R13; \
	TREE16; \
	VADDPS  Z8, Z30, Z30; \
	VMOVUPS Z30, DST

// HSUM(z, y, DST): the lane tree of one row's sum in z (y its low half's
// register) stored at DST, as DOTROWS' single rows.
#define HSUM(z, y, DST) \
	VEXTRACTF64X4 $1, z, Y1; \
	VADDPS        Y1, y, Y0; \
	VEXTRACTF128  $1, Y0, X1; \
	VADDPS        X1, X0, X0; \
	VMOVHLPS      X0, X0, X1; \
	VADDPS        X1, X0, X0; \
	VMOVSHDUP     X0, X1; \
	VADDSS        X1, X0, X0; \
	VMOVSS        X0, DST

// func dotF16Rows4(out *float32, ostride int, q *float32, qstride int, k *uint16, kstride int, n int, d16 int, farRows int)
TEXT ·dotF16Rows4(SB), 0, $4096-72
// FARPREFETCH(LEFT, T, STRIDE, ROW, SKIP): while more than farRows rows
// are left (LEFT), prefetch into L2 the first two lines of the row farRows
// ahead of ROW (rows STRIDE bytes apart), computing its address in T. It is
// defined here, inside dotF16Rows4, because go vet checks a macro's frame
// references against the function it sits in; axpyF16Rows4 and the
// two-head loops (dotF16Rows2, axpyF16Rows2) have farRows at the same
// offset.
#define FARPREFETCH(LEFT, T, STRIDE, ROW, SKIP) \
	CMPQ       LEFT, farRows+64(FP); \
	JLE        SKIP; \
	MOVQ       farRows+64(FP), T; \
	IMULQ      STRIDE, T; \
	ADDQ       ROW, T; \
	PREFETCHT1 (T); \
	PREFETCHT1 64(T); \
SKIP:

	MOVQ out+0(FP), R9
	MOVQ q+16(FP), SI
	MOVQ qstride+24(FP), R12
	SHLQ $2, R12
	LEAQ (R12)(R12*2), AX
	MOVQ k+32(FP), DI
	MOVQ kstride+40(FP), R8
	SHLQ $1, R8
	MOVQ n+48(FP), CX
	MOVQ d16+56(FP), DX
	VMOVDQU32 dotRowsPerm<>(SB), Z31
	CMPQ DX, $4
	JEQ  rgroup
	CMPQ DX, $8
	JEQ  rgroup

group:
	CMPQ CX, $16
	JLT  row
	LEAQ 0(SP), R14
	MOVQ $16, R13

grow:
	LEAQ -16(CX)(R13*1), R10
	FARPREFETCH(R10, R10, R8, DI, gnear)
	ROW4(gquad, grest, gdone)
	VMOVUPS Z8, (R14)
	VMOVUPS Z12, 1024(R14)
	VMOVUPS Z16, 2048(R14)
	VMOVUPS Z20, 3072(R14)
	ADDQ    $64, R14
	ADDQ    R8, DI
	DECQ    R13
	JNZ     grow
	MOVQ    ostride+8(FP), R10
	SHLQ    $2, R10
	LEAQ    (R10)(R10*2), R11
	LEAQ    0(SP), R13
	TREE16
	VMOVUPS Z30, (R9)
	LEAQ    1024(SP), R13
	TREE16
	VMOVUPS Z30, (R9)(R10*1)
	LEAQ    2048(SP), R13
	TREE16
	VMOVUPS Z30, (R9)(R10*2)
	LEAQ    3072(SP), R13
	TREE16
	VMOVUPS Z30, (R9)(R11*1)
	ADDQ    $64, R9
	SUBQ    $16, CX
	JMP     group

rgroup:
	CMPQ CX, $16
	JLT  row
	LOADQ4
	LEAQ 0(SP), R14
	MOVQ $16, R13

rrow:
	RROW(rnear)
	CMPQ       DX, $4
	JNE        rrow8
	HEADR(Z16, Z17, Z18, Z19, Z8, Z9, Z10, Z11, 0)
	HEADR(Z20, Z21, Z22, Z23, Z12, Z13, Z14, Z15, 1024)
	HEADR(Z24, Z25, Z26, Z27, Z8, Z9, Z10, Z11, 2048)
	HEADR(Z28, Z29, Z30, Z31, Z12, Z13, Z14, Z15, 3072)
	JMP        rnext

rrow8:
	RROWHI
	HEADR8(Z16, Z17, Z18, Z19, 256(SI), 320(SI), 384(SI), 448(SI), Z8, Z9, Z10, Z11, 0)
	HEADR8(Z20, Z21, Z22, Z23, 256(SI)(R12*1), 320(SI)(R12*1), 384(SI)(R12*1), 448(SI)(R12*1), Z12, Z13, Z14, Z15, 1024)
	HEADR8(Z24, Z25, Z26, Z27, 256(SI)(R12*2), 320(SI)(R12*2), 384(SI)(R12*2), 448(SI)(R12*2), Z8, Z9, Z10, Z11, 2048)
	HEADR8(Z28, Z29, Z30, Z31, 256(SI)(AX*1), 320(SI)(AX*1), 384(SI)(AX*1), 448(SI)(AX*1), Z12, Z13, Z14, Z15, 3072)

rnext:
	ADDQ $64, R14
	ADDQ R8, DI
	DECQ R13
	JNZ  rrow
	VMOVDQU32 dotRowsPerm<>(SB), Z31
	VPXORD    Z8, Z8, Z8
	MOVQ      ostride+8(FP), R10
	SHLQ      $2, R10
	LEAQ      (R10)(R10*2), R11
	RTREE(0, (R9))
	RTREE(1024, (R9)(R10*1))
	RTREE(2048, (R9)(R10*2))
	RTREE(3072, (R9)(R11*1))
	ADDQ      $64, R9
	SUBQ      $16, CX
	JMP       rgroup

row:
	TESTQ CX, CX
	JZ    end
	ROW4(rquad, rrest, rdone)
	MOVQ  ostride+8(FP), R10
	SHLQ  $2, R10
	LEAQ  (R10)(R10*2), R11
	HSUM(Z8, Y8, (R9))
	HSUM(Z12, Y12, (R9)(R10*1))
	HSUM(Z16, Y16, (R9)(R10*2))
	HSUM(Z20, Y20, (R9)(R11*1))
	ADDQ  $4, R9
	ADDQ  R8, DI
	DECQ  CX
	JMP   row

end:
	VZEROUPPER
	RET

// dotF16Rows2 is dotF16Rows4's register path (rgroup) for two heads: q's
// first four chunks of heads 0 and 1 in Z16-Z23, whole 16-row groups only
// (n a multiple of 16), heads of 64 or 128 elements (d16 4 or 8). Two
// query heads a KV head (hcx-seed-0.5b, qwen3-0.6b) would otherwise run
// the four-head loops with two of the heads wasted.
// func dotF16Rows2(out *float32, ostride int, q *float32, qstride int, k *uint16, kstride int, n int, d16 int, farRows int)
TEXT ·dotF16Rows2(SB), 0, $2048-72
	MOVQ out+0(FP), R9
	MOVQ q+16(FP), SI
	MOVQ qstride+24(FP), R12
	SHLQ $2, R12
	MOVQ k+32(FP), DI
	MOVQ kstride+40(FP), R8
	SHLQ $1, R8
	MOVQ n+48(FP), CX
	MOVQ d16+56(FP), DX

p2group:
	CMPQ    CX, $16
	JLT     p2end
	VMOVUPS (SI), Z16
	VMOVUPS 64(SI), Z17
	VMOVUPS 128(SI), Z18
	VMOVUPS 192(SI), Z19
	VMOVUPS (SI)(R12*1), Z20
	VMOVUPS 64(SI)(R12*1), Z21
	VMOVUPS 128(SI)(R12*1), Z22
	VMOVUPS 192(SI)(R12*1), Z23
	LEAQ    0(SP), R14
	MOVQ    $16, R13

p2row:
	RROW(p2near)
	CMPQ       DX, $4
	JNE        p2row8
	HEADR(Z16, Z17, Z18, Z19, Z8, Z9, Z10, Z11, 0)
	HEADR(Z20, Z21, Z22, Z23, Z12, Z13, Z14, Z15, 1024)
	JMP        p2next

p2row8:
	RROWHI
	HEADR8(Z16, Z17, Z18, Z19, 256(SI), 320(SI), 384(SI), 448(SI), Z8, Z9, Z10, Z11, 0)
	HEADR8(Z20, Z21, Z22, Z23, 256(SI)(R12*1), 320(SI)(R12*1), 384(SI)(R12*1), 448(SI)(R12*1), Z12, Z13, Z14, Z15, 1024)

p2next:
	ADDQ $64, R14
	ADDQ R8, DI
	DECQ R13
	JNZ  p2row
	VMOVDQU32 dotRowsPerm<>(SB), Z31
	VPXORD    Z8, Z8, Z8
	MOVQ      ostride+8(FP), R10
	SHLQ      $2, R10
	RTREE(0, (R9))
	RTREE(1024, (R9)(R10*1))
	ADDQ      $64, R9
	SUBQ      $16, CX
	JMP       p2group

p2end:
	VZEROUPPER
	RET

// axpyF16Rows4 is axpyF16Rows (AXPYROWS) for four heads over the same fp16
// V rows: each row's chunks are widened once and added into the four
// heads' accumulators (head h: Z8+4h .. Z11+4h) with their own
// probabilities (Z24+h), every head with axpyF16Rows' operations in its
// order. Head h's acc is at acc + h·astride floats, its probabilities at
// p + h·pstride. R13/AX = 1×/3× astride, R14/DX = 1×/3× pstride in bytes.
// The row loop prefetches 8 rows ahead into L1 and, while that many rows
// are left, farRows ahead into L2 (through AX, restored after the loop).

// LOADACC4 / STOREACC4(OFF, A0, A1, A2, A3): the four heads' acc chunks
// at OFF into / from A0-A3.
#define LOADACC4(OFF, A0, A1, A2, A3) \
	VMOVUPS OFF(DI), A0; \
	VMOVUPS OFF(DI)(R13*1), A1; \
	VMOVUPS OFF(DI)(R13*2), A2; \
	VMOVUPS OFF(DI)(AX*1), A3

#define STOREACC4(OFF, A0, A1, A2, A3) \
	VMOVUPS A0, OFF(DI); \
	VMOVUPS A1, OFF(DI)(R13*1); \
	VMOVUPS A2, OFF(DI)(R13*2); \
	VMOVUPS A3, OFF(DI)(AX*1)

// PROBS4: the four heads' probabilities of the current row, broadcast.
#define PROBS4 \
	VBROADCASTSS (R11), Z24; \
	VBROADCASTSS (R11)(R14*1), Z25; \
	VBROADCASTSS (R11)(R14*2), Z26; \
	VBROADCASTSS (R11)(DX*1), Z27

// VCHUNK4(KOFF, V, A0, A1, A2, A3): the V chunk at KOFF(R10) widened into
// V and added into the four heads' accumulators.
#define VCHUNK4(KOFF, V, A0, A1, A2, A3) \
	VCVTPH2PS   KOFF(R10), V; \
	VFMADD231PS V, Z24, A0; \
	VFMADD231PS V, Z25, A1; \
	VFMADD231PS V, Z26, A2; \
	VFMADD231PS V, Z27, A3

// func axpyF16Rows4(acc *float32, astride int, d16 int, p *float32, pstride int, n int, v *uint16, vstride int, farRows int)
TEXT ·axpyF16Rows4(SB), NOSPLIT, $0-72
	MOVQ acc+0(FP), DI
	MOVQ astride+8(FP), R13
	SHLQ $2, R13
	LEAQ (R13)(R13*2), AX
	MOVQ d16+16(FP), BX
	MOVQ p+24(FP), SI
	MOVQ pstride+32(FP), R14
	SHLQ $2, R14
	LEAQ (R14)(R14*2), DX
	MOVQ n+40(FP), CX
	MOVQ v+48(FP), R8
	MOVQ vstride+56(FP), R9
	SHLQ $1, R9

quad:
	CMPQ BX, $4
	JLT  single
	LOADACC4(0, Z8, Z12, Z16, Z20)
	LOADACC4(64, Z9, Z13, Z17, Z21)
	LOADACC4(128, Z10, Z14, Z18, Z22)
	LOADACC4(192, Z11, Z15, Z19, Z23)
	MOVQ R8, R10
	MOVQ SI, R11
	MOVQ CX, R12

qloop:
	PREFETCHT0 (R10)(R9*8)
	PREFETCHT0 64(R10)(R9*8)
	FARPREFETCH(R12, AX, R9, R10, qnear)
	PROBS4
	VCHUNK4(0, Z4, Z8, Z12, Z16, Z20)
	VCHUNK4(32, Z5, Z9, Z13, Z17, Z21)
	VCHUNK4(64, Z6, Z10, Z14, Z18, Z22)
	VCHUNK4(96, Z7, Z11, Z15, Z19, Z23)
	ADDQ $4, R11
	ADDQ R9, R10
	DECQ R12
	JNZ  qloop
	LEAQ (R13)(R13*2), AX
	STOREACC4(0, Z8, Z12, Z16, Z20)
	STOREACC4(64, Z9, Z13, Z17, Z21)
	STOREACC4(128, Z10, Z14, Z18, Z22)
	STOREACC4(192, Z11, Z15, Z19, Z23)
	ADDQ $256, DI
	ADDQ $128, R8
	SUBQ $4, BX
	JMP  quad

single:
	TESTQ BX, BX
	JZ    done
	LOADACC4(0, Z8, Z12, Z16, Z20)
	MOVQ  R8, R10
	MOVQ  SI, R11
	MOVQ  CX, R12

sloop:
	PROBS4
	VCHUNK4(0, Z4, Z8, Z12, Z16, Z20)
	ADDQ $4, R11
	ADDQ R9, R10
	DECQ R12
	JNZ  sloop
	STOREACC4(0, Z8, Z12, Z16, Z20)
	ADDQ $64, DI
	ADDQ $32, R8
	DECQ BX
	JMP  single

done:
	VZEROUPPER
	RET

// axpyF16Rows2 is axpyF16Rows4 for two heads (acc chunks Z8-Z11 and
// Z12-Z15, probabilities Z24/Z25); AX is free for the far prefetch.

// LOADACC2 / STOREACC2(OFF, A0, A1): the two heads' acc chunks at OFF.
#define LOADACC2(OFF, A0, A1) \
	VMOVUPS OFF(DI), A0; \
	VMOVUPS OFF(DI)(R13*1), A1

#define STOREACC2(OFF, A0, A1) \
	VMOVUPS A0, OFF(DI); \
	VMOVUPS A1, OFF(DI)(R13*1)

// VCHUNK2(KOFF, V, A0, A1): the V chunk at KOFF(R10) widened into V and
// added into the two heads' accumulators.
#define VCHUNK2(KOFF, V, A0, A1) \
	VCVTPH2PS   KOFF(R10), V; \
	VFMADD231PS V, Z24, A0; \
	VFMADD231PS V, Z25, A1

// func axpyF16Rows2(acc *float32, astride int, d16 int, p *float32, pstride int, n int, v *uint16, vstride int, farRows int)
TEXT ·axpyF16Rows2(SB), NOSPLIT, $0-72
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

a2quad:
	CMPQ BX, $4
	JLT  a2single
	LOADACC2(0, Z8, Z12)
	LOADACC2(64, Z9, Z13)
	LOADACC2(128, Z10, Z14)
	LOADACC2(192, Z11, Z15)
	MOVQ R8, R10
	MOVQ SI, R11
	MOVQ CX, R12

a2qloop:
	PREFETCHT0   (R10)(R9*8)
	PREFETCHT0   64(R10)(R9*8)
	FARPREFETCH(R12, AX, R9, R10, a2qnear)
	VBROADCASTSS (R11), Z24
	VBROADCASTSS (R11)(R14*1), Z25
	VCHUNK2(0, Z4, Z8, Z12)
	VCHUNK2(32, Z5, Z9, Z13)
	VCHUNK2(64, Z6, Z10, Z14)
	VCHUNK2(96, Z7, Z11, Z15)
	ADDQ         $4, R11
	ADDQ         R9, R10
	DECQ         R12
	JNZ          a2qloop
	STOREACC2(0, Z8, Z12)
	STOREACC2(64, Z9, Z13)
	STOREACC2(128, Z10, Z14)
	STOREACC2(192, Z11, Z15)
	ADDQ $256, DI
	ADDQ $128, R8
	SUBQ $4, BX
	JMP  a2quad

a2single:
	TESTQ BX, BX
	JZ    a2done
	LOADACC2(0, Z8, Z12)
	MOVQ  R8, R10
	MOVQ  SI, R11
	MOVQ  CX, R12

a2sloop:
	VBROADCASTSS (R11), Z24
	VBROADCASTSS (R11)(R14*1), Z25
	VCHUNK2(0, Z4, Z8, Z12)
	ADDQ         $4, R11
	ADDQ         R9, R10
	DECQ         R12
	JNZ          a2sloop
	STOREACC2(0, Z8, Z12)
	ADDQ $64, DI
	ADDQ $32, R8
	DECQ BX
	JMP  a2single

a2done:
	VZEROUPPER
	RET

// Softmax passes (VecOps.ScaleMax, SubScalar, Scale): element-wise, so
// the vector loops give the scalar loops' bits; the running maximum skips
// NaNs as `if v > m` does (VMAXPS keeps its second operand when the first
// is NaN).

// func scaleMaxF32(x *float32, n16 int, s float32) float32
TEXT ·scaleMaxF32(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n16+8(FP), CX
	VBROADCASTSS s+16(FP), Z1
	MOVL $0xff800000, AX
	VPBROADCASTD AX, Z0
smloop:
	VMULPS  (DI), Z1, Z2
	VMOVUPS Z2, (DI)
	VMAXPS  Z0, Z2, Z0
	ADDQ    $64, DI
	DECQ    CX
	JNZ     smloop
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS  Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS  X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS  X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS  X1, X0, X0
	VMOVSS  X0, ret+24(FP)
	VZEROUPPER
	RET

// func subScalarF32(x *float32, n16 int, m float32)
TEXT ·subScalarF32(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n16+8(FP), CX
	VBROADCASTSS m+16(FP), Z1
ssloop:
	VMOVUPS (DI), Z2
	VSUBPS  Z1, Z2, Z2
	VMOVUPS Z2, (DI)
	ADDQ    $64, DI
	DECQ    CX
	JNZ     ssloop
	VZEROUPPER
	RET

// func scaleF32(x *float32, n16 int, s float32)
TEXT ·scaleF32(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n16+8(FP), CX
	VBROADCASTSS s+16(FP), Z1
scloop:
	VMULPS  (DI), Z1, Z2
	VMOVUPS Z2, (DI)
	ADDQ    $64, DI
	DECQ    CX
	JNZ     scloop
	VZEROUPPER
	RET

// dotQ8_0Rows4 is dotQ8_0Rows for four query heads against the same Q8_0 K
// rows: head h's quants at q + h·nb·32, its scales at qd + h·nb·4 and its
// outputs ostride floats apart. Per row and block the K quants, their
// absolute values and d_k are loaded once; each head then runs the
// one-head kernel's QHEAD (sign, multiply-add, widen, scale, FMA into its
// own 8 lanes: Y0, Y8, Y9, Y10) and the same lane tree at the end.
// AX walks the heads' quants and DX their scales (R12, R13: the strides).
// func dotQ8_0Rows4(out *float32, ostride int, q *byte, qd *float32, nb int, k *byte, kstride int, n int)
TEXT ·dotQ8_0Rows4(SB), NOSPLIT, $0-64
	MOVQ out+0(FP), R9
	MOVQ ostride+8(FP), R14
	SHLQ $2, R14
	MOVQ q+16(FP), SI
	MOVQ qd+24(FP), R11
	MOVQ nb+32(FP), R13
	MOVQ R13, R12
	SHLQ $5, R12
	SHLQ $2, R13
	MOVQ k+40(FP), DI
	MOVQ kstride+48(FP), R8
	MOVQ n+56(FP), CX
	MOVL $0x00010001, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15

q4row:
	PREFETCHT0 (DI)(R8*8)
	PREFETCHT0 64(DI)(R8*8)
	VXORPS Y0, Y0, Y0
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	MOVQ   DI, R10
	XORQ   BX, BX

q4blk:
	VMOVDQU    2(R10), Y1
	VPABSB     Y1, Y4
	MOVWLZX    (R10), AX
	VMOVD      AX, X6
	VCVTPH2PS  X6, X6
	MOVQ       BX, AX
	SHLQ       $5, AX
	ADDQ       SI, AX
	LEAQ       (R11)(BX*4), DX
	QHEAD(Y0)
	ADDQ       R12, AX
	ADDQ       R13, DX
	QHEAD(Y8)
	ADDQ       R12, AX
	ADDQ       R13, DX
	QHEAD(Y9)
	ADDQ       R12, AX
	ADDQ       R13, DX
	QHEAD(Y10)
	ADDQ       $34, R10
	INCQ       BX
	CMPQ       BX, nb+32(FP)
	JLT        q4blk
	QTREE4(Y0, X0, Y8, X8, Y9, X9, Y10, X10)
	ADDQ       $4, R9
	ADDQ       R8, DI
	DECQ       CX
	JNZ        q4row
	VZEROUPPER
	RET

// dotQ8_0Rows4VNNI is dotQ8_0Rows4 with VPDPBUSD, two heads to a 512-bit
// register (heads 0 and 1 in Z10, 2 and 3 in Z11, eight lanes each), for
// heads of up to eight blocks. It first lays out in its frame, per head
// pair and block (192 bytes; a pair's blocks one after another, R12 = a
// pair's nb·192): the two heads' quants, their lane corrections −128·Σ4 q
// and their scales, each head's in eight lanes. Per row, each K block's
// quants are loaded once for both halves and biased by 128 into unsigned
// bytes (Z2), so VPDPBUSD from the correction gives each lane Σ4 k·q
// exactly; the one-head kernel's sign trick gives the same integer for
// every quant a Q8_0 quantizer makes (−127..127; it wraps for a −128
// query quant against a negative K quant, where this kernel and the Go
// reference multiply exactly). The conversion, the scale d_q·d_k and the
// FMA into each head's lanes are the one-head kernel's, and each head
// ends with its lane tree (QTREE).
// func dotQ8_0Rows4VNNI(out *float32, ostride int, q *byte, qd *float32, nb int, k *byte, kstride int, n int)
TEXT ·dotQ8_0Rows4VNNI(SB), 0, $3072-64
	MOVQ  q+16(FP), R8
	MOVQ  qd+24(FP), R9
	MOVQ  nb+32(FP), R13
	MOVQ  R13, R12
	SHLQ  $5, R12
	MOVQ  R13, BX
	SHLQ  $2, BX
	MOVL  $0x80808080, AX
	VPBROADCASTD AX, Z31
	VPXORD Z30, Z30, Z30
	LEAQ  0(SP), R10
	MOVQ  $2, R14

vprep:
	MOVQ R13, CX

vprepblk:
	VMOVDQU      (R8), Y4
	VINSERTI64X4 $1, (R8)(R12*1), Z4, Z4
	VMOVDQU64    Z4, (R10)
	VPXORD       Z5, Z5, Z5
	VPDPBUSD     Z4, Z31, Z5
	VPSUBD       Z5, Z30, Z5
	VMOVDQU64    Z5, 64(R10)
	VBROADCASTSS (R9), Z6
	VBROADCASTSS (R9)(BX*1), Y7
	VINSERTF64X4 $1, Y7, Z6, Z6
	VMOVUPS      Z6, 128(R10)
	ADDQ         $32, R8
	ADDQ         $4, R9
	ADDQ         $192, R10
	DECQ         CX
	JNZ          vprepblk
	ADDQ         R12, R8
	ADDQ         BX, R9
	DECQ         R14
	JNZ          vprep

	MOVQ  out+0(FP), R9
	MOVQ  ostride+8(FP), R14
	SHLQ  $2, R14
	MOVQ  k+40(FP), DI
	MOVQ  kstride+48(FP), R8
	MOVQ  n+56(FP), CX
	MOVQ  R13, R12
	IMULQ $192, R12

v4row:
	PREFETCHT0 (DI)(R8*8)
	PREFETCHT0 64(DI)(R8*8)
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	MOVQ   DI, R10
	LEAQ   0(SP), R11
	MOVQ   R13, BX

v4blk:
	VBROADCASTI64X4 2(R10), Z2
	VPXORD          Z31, Z2, Z2
	MOVWLZX         (R10), AX
	VMOVD           AX, X3
	VCVTPH2PS       X3, X3
	VBROADCASTSS    X3, Z3
	VMOVDQU64       64(R11), Z4
	VPDPBUSD        (R11), Z2, Z4
	VCVTDQ2PS       Z4, Z4
	VMULPS          128(R11), Z3, Z5
	VFMADD231PS     Z5, Z4, Z10
	VMOVDQU64       64(R11)(R12*1), Z6
	VPDPBUSD        (R11)(R12*1), Z2, Z6
	VCVTDQ2PS       Z6, Z6
	VMULPS          128(R11)(R12*1), Z3, Z7
	VFMADD231PS     Z7, Z6, Z11
	ADDQ            $34, R10
	ADDQ            $192, R11
	DECQ            BX
	JNZ             v4blk
	VEXTRACTF64X4 $1, Z10, Y12
	VEXTRACTF64X4 $1, Z11, Y13
	QTREE4(Y10, X10, Y12, X12, Y11, X11, Y13, X13)
	ADDQ          $4, R9
	ADDQ          R8, DI
	DECQ          CX
	JNZ           v4row
	VZEROUPPER
	RET

// axpyQ8_0Rows4 is axpyQ8_0Rows for four heads over the same Q8_0 V rows:
// head h's sums at acc + h·astride floats, its probabilities at p +
// h·pstride floats. Per block the four heads' 32 sums stay in Z0/Z1,
// Z8/Z9, Z10/Z11 and Z12/Z13 across all rows; per row the V block is
// widened once and each head takes the one-head kernel's two FMAs by
// p_h[j]·d_j.
// func axpyQ8_0Rows4(acc *float32, astride int, nb int, p *float32, pstride int, n int, v *byte, vstride int)
TEXT ·axpyQ8_0Rows4(SB), NOSPLIT, $0-64
	MOVQ acc+0(FP), DI
	MOVQ astride+8(FP), R14
	SHLQ $2, R14
	MOVQ nb+16(FP), BX
	MOVQ p+24(FP), SI
	MOVQ pstride+32(FP), R13
	SHLQ $2, R13
	MOVQ n+40(FP), CX
	MOVQ v+48(FP), R8
	MOVQ vstride+56(FP), R9

a4blk:
	LEAQ    (DI)(R14*2), AX
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS (DI)(R14*1), Z8
	VMOVUPS 64(DI)(R14*1), Z9
	VMOVUPS (AX), Z10
	VMOVUPS 64(AX), Z11
	VMOVUPS (AX)(R14*1), Z12
	VMOVUPS 64(AX)(R14*1), Z13
	MOVQ    R8, R10
	MOVQ    SI, R11
	MOVQ    CX, R12

a4row:
	PREFETCHT0 (R10)(R9*8)
	PREFETCHT0 64(R10)(R9*8)
	MOVWLZX    (R10), AX
	VMOVD      AX, X6
	VCVTPH2PS  X6, X6
	VPMOVSXBD  2(R10), Z2
	VCVTDQ2PS  Z2, Z2
	VPMOVSXBD  18(R10), Z3
	VCVTDQ2PS  Z3, Z3
	LEAQ       (R11)(R13*2), AX
	VHEAD((R11), Z0, Z1)
	VHEAD((R11)(R13*1), Z8, Z9)
	VHEAD((AX), Z10, Z11)
	VHEAD((AX)(R13*1), Z12, Z13)
	ADDQ       $4, R11
	ADDQ       R9, R10
	DECQ       R12
	JNZ        a4row
	LEAQ    (DI)(R14*2), AX
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z8, (DI)(R14*1)
	VMOVUPS Z9, 64(DI)(R14*1)
	VMOVUPS Z10, (AX)
	VMOVUPS Z11, 64(AX)
	VMOVUPS Z12, (AX)(R14*1)
	VMOVUPS Z13, 64(AX)(R14*1)
	ADDQ    $128, DI
	ADDQ    $34, R8
	DECQ    BX
	JNZ     a4blk
	VZEROUPPER
	RET


// sumSquaresF64 sets lanes[j] (j < 16) to the sum, in float64 and in
// increasing i, of the float32 squares x[i]·x[i] with i ≡ j (mod 16), over
// the first 16·n16 elements: Z0 holds lanes 0-7, Z1 lanes 8-15.
// func sumSquaresF64(x *float32, n16 int, lanes *float64)
// func sumF64(x *float32, n16 int, lanes *float64)
// lanes[j] = Σ float64(x[16i+j]) for i < n16 (the sum in float64 lanes of
// VecOps.SumF64).
TEXT ·sumF64(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n16+8(FP), CX
	MOVQ lanes+16(FP), SI
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
sumloop:
	VCVTPS2PD (DI), Z3
	VCVTPS2PD 32(DI), Z4
	VADDPD  Z3, Z0, Z0
	VADDPD  Z4, Z1, Z1
	ADDQ    $64, DI
	DECQ    CX
	JNZ     sumloop
	VMOVUPD Z0, (SI)
	VMOVUPD Z1, 64(SI)
	VZEROUPPER
	RET

TEXT ·sumSquaresF64(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n16+8(FP), CX
	MOVQ lanes+16(FP), SI
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
sqloop:
	VMOVUPS (DI), Z2
	VMULPS  Z2, Z2, Z2
	VCVTPS2PD Y2, Z3
	VEXTRACTF64X4 $1, Z2, Y4
	VCVTPS2PD Y4, Z4
	VADDPD  Z3, Z0, Z0
	VADDPD  Z4, Z1, Z1
	ADDQ    $64, DI
	DECQ    CX
	JNZ     sqloop
	VMOVUPD Z0, (SI)
	VMOVUPD Z1, 64(SI)
	VZEROUPPER
	RET

// func scaleMulF32(y, x, w *float32, n16 int, s float32)
TEXT ·scaleMulF32(SB), NOSPLIT, $0-36
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ n16+24(FP), CX
	VBROADCASTSS s+32(FP), Z1
smulloop:
	VMULPS  (SI), Z1, Z2
	VMULPS  (DX), Z2, Z2
	VMOVUPS Z2, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	DECQ    CX
	JNZ     smulloop
	VZEROUPPER
	RET

// func addF32(y, a, b *float32, n16 int)
TEXT ·addF32(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n16+24(FP), CX
addloop:
	VMOVUPS (SI), Z2
	VADDPS  (DX), Z2, Z2
	VMOVUPS Z2, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	DECQ    CX
	JNZ     addloop
	VZEROUPPER
	RET

// func prefetchRows(p *byte, n int, stride int, size int)
TEXT ·prefetchRows(SB), NOSPLIT, $0-32
	MOVQ  p+0(FP), DI
	MOVQ  n+8(FP), CX
	MOVQ  stride+16(FP), R8
	MOVQ  size+24(FP), DX
	TESTQ CX, CX
	JLE   pdone
	LEAQ  -1(DI)(DX*1), R9

prow:
	MOVQ       DI, SI

pline:
	PREFETCHT0 (SI)
	ADDQ       $64, SI
	CMPQ       SI, R9
	JLE        pline
	PREFETCHT0 (R9)
	ADDQ       R8, DI
	ADDQ       R8, R9
	DECQ       CX
	JNZ        prow

pdone:
	RET
