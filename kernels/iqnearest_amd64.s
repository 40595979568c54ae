//go:build amd64

#include "textflag.h"


// The lane numbers 0..15 are built in a register (PASSES), not read from
// a DATA table. (Binaries with the table once decoded slower; rebuilt,
// they did not: docs/performance.md, round 91. The register form costs
// nothing, so it stayed.)

// Registers: Z0 the pass's codes, Z1 each lane's least sum so far, Z2 its
// candidate's place, Z3 the pass's sums, Z13 the lane numbers, Z14
// scale·v, Z15 a level index's mask, Y16-Y23 the positions' terms, K1
// the pass's lanes that hold candidates.

// ROW(off, T): the terms of the position at byte off of x and w, one a
// level: T = (w·diff)·diff with diff = scale·v − x, each rounded as the Go
// loop rounds them (no fused multiply-adds).
#define ROW(off, T) \
	VBROADCASTSS off(AX), Y12; \
	VSUBPS       Y12, Y14, Y11; \
	VBROADCASTSS off(DX), Y12; \
	VMULPS       Y11, Y12, Y12; \
	VMULPS       Y11, Y12, T

// SETUP loads the arguments, scale·v (the nv levels, the rest zero) and
// the constants, and the first pass's lane mask.
#define SETUP(mask) \
	MOVQ         x+0(FP), AX; \
	MOVQ         w+8(FP), DX; \
	MOVQ         v+16(FP), R9; \
	MOVQ         nv+24(FP), R10; \
	MOVL         $-1, R8; \
	BZHIL        R10, R8, R8; \
	KMOVW        R8, K1; \
	VMOVUPS.Z    (R9), K1, Y14; \
	VBROADCASTSS scale+32(FP), Y12; \
	VMULPS       Y12, Y14, Y14; \
	MOVQ         codes+40(FP), SI; \
	MOVQ         n+48(FP), CX; \
	MOVL         $mask, R8; \
	VPBROADCASTD R8, Z15; \
	MOVL         $0x7f7fffff, R8; \
	VPBROADCASTD R8, Z1; \
	MOVL         $-1, R8; \
	MOVL         $16, R10; \
	CMPQ         CX, R10; \
	CMOVQLT      CX, R10; \
	BZHIL        R10, R8, R8; \
	KMOVW        R8, K1; \
	XORQ         BX, BX

// LOAD loads the pass's codes at place BX (K1's lanes; the rest read as
// zero) and clears the sums.
#define LOAD \
	VPMOVZXWD.Z (SI)(BX*2), K1, Z0; \
	VPXORD      Z3, Z3, Z3

// TERM(shift, T): add to the sums each lane's term of the position whose
// level index is at bit shift of the codes, looked up in that position's
// terms (T, ROW's) by VPERMPS.
#define TERM(shift, T) \
	VPSRLD  $shift, Z0, Z4; \
	VPANDD  Z15, Z4, Z4; \
	VPERMPS T, Z4, Z5; \
	VADDPS  Z5, Z3, Z3

// HMIN(Z, Y, TY, TYX, TX, TX2): the least of Z's sixteen floats (Y its
// low half) in TX's low lane; TY (TYX its low half) and TX2 are scratch.
#define HMIN(Z, Y, TY, TYX, TX, TX2) \
	VEXTRACTF64X4 $1, Z, TY; \
	VMINPS        TY, Y, TY; \
	VEXTRACTF128  $1, TY, TX; \
	VMINPS        TX, TYX, TX; \
	VPERMILPS     $0x4e, TX, TX2; \
	VMINPS        TX2, TX, TX; \
	VPERMILPS     $0xb1, TX, TX2; \
	VMINPS        TX2, TX, TX

// ONE answers a search of one pass (n ≤ 16): the first lane whose sum is
// the least of those under MaxFloat32, or −1 when there are none.
#define ONE \
	VCMPPS        $0x11, Z1, Z3, K1, K2; \
	KORTESTW      K2, K2; \
	JZ            none; \
	MOVL          $0x7f800000, R8; \
	VPBROADCASTD  R8, Z7; \
	VMOVAPS       Z3, K2, Z7; \
	HMIN(Z7, Y7, Y8, X8, X9, X10); \
	VBROADCASTSS  X9, Z9; \
	VCMPPS        $0, Z9, Z7, K2, K3; \
	KMOVW         K3, AX; \
	TZCNTL        AX, AX; \
	MOVQ          AX, ret+56(FP); \
	VZEROUPPER; \
	RET; \
none: \
	MOVQ $-1, ret+56(FP); \
	VZEROUPPER; \
	RET

// KEEP keeps, lane by lane, the pass's sums that are less than the best
// so far and their candidates' places (the first of equals, as the Go
// loop's strict comparison keeps), then sets BX and K1 for the next pass,
// or jumps to reduce when there is none.
#define KEEP \
	VCMPPS       $0x11, Z1, Z3, K1, K2; \
	VMOVAPS      Z3, K2, Z1; \
	VPBROADCASTD BX, Z6; \
	VPADDD       Z13, Z6, Z6; \
	VMOVDQA32    Z6, K2, Z2; \
	ADDQ         $16, BX; \
	MOVQ         CX, R10; \
	SUBQ         BX, R10; \
	JLE          reduce; \
	MOVL         $16, R9; \
	CMPQ         R10, R9; \
	CMOVQGT      R9, R10; \
	MOVL         $-1, R8; \
	BZHIL        R10, R8, R8; \
	KMOVW        R8, K1

// REDUCE answers a search of several passes: the least place among the
// lanes whose best sum is the least, or −1 when no lane found a sum under
// MaxFloat32 (those lanes' places stay past any candidate).
#define REDUCE \
	HMIN(Z1, Y1, Y3, X3, X4, X5); \
	VBROADCASTSS  X4, Z4; \
	VCMPPS        $0, Z4, Z1, K3; \
	MOVL          $0x7fffffff, R8; \
	VPBROADCASTD  R8, Z6; \
	VMOVDQA32     Z2, K3, Z6; \
	VEXTRACTI64X4 $1, Z6, Y7; \
	VPMINUD       Y7, Y6, Y7; \
	VEXTRACTI128  $1, Y7, X8; \
	VPMINUD       X8, X7, X8; \
	VPSHUFD       $0x4e, X8, X9; \
	VPMINUD       X9, X8, X8; \
	VPSHUFD       $0xb1, X8, X9; \
	VPMINUD       X9, X8, X8; \
	VMOVD         X8, AX; \
	CMPL          AX, $0x7fffffff; \
	JNE           2(PC); \
	MOVQ          $-1, AX; \
	MOVQ          AX, ret+56(FP); \
	VZEROUPPER; \
	RET

// PASSES runs the search of n > 16 candidates, pass by pass, with the
// terms TERMS.
#define PASSES(TERMS) \
	MOVL         $0x7fffffff, R8; \
	VPBROADCASTD R8, Z2; \
	MOVQ         $0x0706050403020100, R8; \
	VMOVQ        R8, X13; \
	MOVQ         $0x0f0e0d0c0b0a0908, R8; \
	VPINSRQ      $1, R8, X13, X13; \
	VPMOVZXBD    X13, Z13; \
pass: \
	LOAD; \
	TERMS; \
	KEEP; \
	JMP pass; \
reduce: \
	REDUCE

#define TERMS8x2 \
	TERM(0, Z16); \
	TERM(2, Z17); \
	TERM(4, Z18); \
	TERM(6, Z19); \
	TERM(8, Z20); \
	TERM(10, Z21); \
	TERM(12, Z22); \
	TERM(14, Z23)

#define TERMS4x3 \
	TERM(0, Z16); \
	TERM(3, Z17); \
	TERM(6, Z18); \
	TERM(9, Z19)

// func iqNearest8x2AVX512(x, w, v *float32, nv int, scale float32, codes *uint16, n int) int
// quant.IQCandidates.Nearest for eight positions of two bits (the IQ2 and
// IQ1 codebooks), n ≥ 1, 1 ≤ nv ≤ 8: the terms of each position at each
// level, then sixteen candidates a pass, one a lane, each lane's sum
// adding its eight terms in order, as the Go loop does, so the sums are
// its bits. AVX-512F, BMI1, BMI2.
TEXT ·iqNearest8x2AVX512(SB), NOSPLIT, $0-64
	SETUP(3)
	ROW(0, Y16)
	ROW(4, Y17)
	ROW(8, Y18)
	ROW(12, Y19)
	ROW(16, Y20)
	ROW(20, Y21)
	ROW(24, Y22)
	ROW(28, Y23)
	CMPQ CX, $16
	JGT  passes
	LOAD
	TERMS8x2
	ONE

passes:
	PASSES(TERMS8x2)

// func iqNearest4x3AVX512(x, w, v *float32, nv int, scale float32, codes *uint16, n int) int
// quant.IQCandidates.Nearest for four positions of three bits (the IQ3
// codebooks), as iqNearest8x2AVX512.
TEXT ·iqNearest4x3AVX512(SB), NOSPLIT, $0-64
	SETUP(7)
	ROW(0, Y16)
	ROW(4, Y17)
	ROW(8, Y18)
	ROW(12, Y19)
	CMPQ CX, $16
	JGT  passes
	LOAD
	TERMS4x3
	ONE

passes:
	PASSES(TERMS4x3)
