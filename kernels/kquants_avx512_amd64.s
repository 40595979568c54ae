//go:build amd64

#include "textflag.h"

// K-quant × Q8_K block dot kernels, AVX-512BW row loop. Identical to
// kquants_amd64.s except that each activation row's integer products are
// taken two sub-blocks per 512-bit step; the int32 lanes are folded back to
// 8 (an exact integer add), so the results are bit-identical to the AVX2
// kernels. The calling convention, frame layout and shared macros are in
// kquants_amd64.h.

#include "kquants_amd64.h"

// ---------------------------------------------------------------------------
// Q4_K: d, dmin (fp16), scales[12], qs[128]. Chunk c (64 elements) is
// qs[32c..32c+31]: low nibbles with scale/min pair 2c, high nibbles 2c+1.
// Frame: 256 scales as 8 dwords sc|sc<<16, 288 mins as 16 int16
// (m0 m0 m1 m1 ...), 320 accumulators (8×32). Z16-Z19 hold the unpacked
// quants (64 per register), Z20-Z23 the scale vectors (sc_2k ×16 |
// sc_2k+1 ×16).
#define ACC 320

// SUB4(j): Y2 += (Σ over sub-block j of q·a in int16 pairs)·sc_j.
// SUB4(k, wq, sc): sub-blocks 2k, 2k+1 with weights and scales in registers
// (frame loads of 64 bytes would straddle cache lines: SP is not aligned).
#define SUB4(k, wq, sc) \
	VPMADDUBSW (64*k)(AX), wq, Z0; \
	VPMADDWD   sc, Z0, Z0; \
	VPADDD     Z0, Z2, Z2

// SCZ4(k, dst): the scale vector of sub-blocks 2k, 2k+1.
#define SCZ4(k, dst) \
	VPBROADCASTD (256+8*k)(SP), Y0; \
	VPBROADCASTD (260+8*k)(SP), Y1; \
	VINSERTI64X4 $1, Y1, Z0, dst

// UNPACK4(c, dst): the 64 quants of chunk c into a register.
#define UNPACK4(c, dst) \
	VMOVDQU      (16+32*c)(SI), Y0; \
	VPAND        Y12, Y0, Y1; \
	VPSRLW       $4, Y0, Y0; \
	VPAND        Y12, Y0, Y0; \
	VINSERTI64X4 $1, Y0, Z1, dst

// func dotQ4_KAVX512(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotQ4_KAVX512(SB), 0, $576-64
	SETUP(256)
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12

sb:
	// Six-bit scales and mins (get_scale_min_k4), with u0,u1,u2 the three
	// little-endian words of scales[12]:
	//   sc[0..3] = u0 & 0x3f..       m[0..3] = u1 & 0x3f..
	//   sc[4..7] = (u2 & 0x0f..) | ((u0>>6) & 0x03..)<<4
	//   m[4..7]  = ((u2>>4) & 0x0f..) | ((u1>>6) & 0x03..)<<4
	MOVL  4(SI), AX
	MOVL  8(SI), BX
	MOVL  12(SI), DI
	MOVL  AX, R14
	ANDL  $0x3f3f3f3f, R14
	VMOVD R14, X3            // sc[0..3]
	MOVL  BX, R14
	ANDL  $0x3f3f3f3f, R14
	VMOVD R14, X4            // m[0..3]
	SHRL  $6, AX
	ANDL  $0x03030303, AX
	SHLL  $4, AX
	MOVL  DI, R14
	ANDL  $0x0f0f0f0f, R14
	ORL   R14, AX            // sc[4..7]
	VPINSRD $1, AX, X3, X3
	SHRL  $6, BX
	ANDL  $0x03030303, BX
	SHLL  $4, BX
	SHRL  $4, DI
	ANDL  $0x0f0f0f0f, DI
	ORL   DI, BX             // m[4..7]
	VPINSRD $1, BX, X4, X4
	VPMOVZXBW  X3, X3        // 8 int16 scales
	VPUNPCKLWD X3, X3, X5
	VPUNPCKHWD X3, X3, X6
	VINSERTI128 $1, X6, Y5, Y5
	VMOVDQU    Y5, 256(SP)   // one store: loads of it then forward
	VPMOVZXBW  X4, X4        // 8 int16 mins
	VPUNPCKLWD X4, X4, X5
	VPUNPCKHWD X4, X4, X6
	VINSERTI128 $1, X6, Y5, Y5
	VMOVDQU    Y5, 288(SP)   // VPMADDWD reads all 32 bytes
	SCZ4(0, Z20)
	SCZ4(1, Z21)
	SCZ4(2, Z22)
	SCZ4(3, Z23)
	VPBROADCASTW (SI), X14
	VCVTPH2PS    X14, Y14    // d
	VPBROADCASTW 2(SI), X15
	VCVTPH2PS    X15, Y15    // dmin
	UNPACK4(0, Z16)
	UNPACK4(1, Z17)
	UNPACK4(2, Z18)
	UNPACK4(3, Z19)
	MOVQ R8, AX
	MOVQ R10, BX
	MOVQ R12, DI
	XORQ R14, R14

row:
	VPXORD Z2, Z2, Z2
	SUB4(0, Z16, Z20)
	SUB4(1, Z17, Z21)
	SUB4(2, Z18, Z22)
	SUB4(3, Z19, Z23)
	VEXTRACTI64X4 $1, Z2, Y3
	VPADDD        Y3, Y2, Y2
	VMOVDQU      (DI), Y0
	VPMADDWD     288(SP), Y0, Y0      // m_j·(bs_2j + bs_2j+1)
	VCVTDQ2PS    Y2, Y2
	VCVTDQ2PS    Y0, Y0
	VBROADCASTSS (BX), Y1
	VMULPS       Y14, Y1, Y3          // d·d_a
	VMULPS       Y15, Y1, Y1          // dmin·d_a
	VMOVUPS      ACC(SP)(R14*1), Y4
	VFMADD231PS  Y3, Y2, Y4
	VFNMADD231PS Y1, Y0, Y4
	VMOVUPS      Y4, ACC(SP)(R14*1)
	ADVANCE_ROW
	ADVANCE_SB(144)
	STORE


#undef ACC

// ---------------------------------------------------------------------------
// Q6_K: ql[128], qh[64], scales[16] (int8), d (fp16). Element e is the
// 6-bit value q_e − 32 with scale sc[e/16]; half h (128 elements) uses
// ql[64h..], qh[32h..]: with l = 0..31,
//   e = 128h+l:    ql[l] & 15     | (qh[l] & 3)<<4
//   e = 128h+32+l: ql[l+32] & 15  | (qh[l]>>2 & 3)<<4
//   e = 128h+64+l: ql[l] >> 4     | (qh[l]>>4 & 3)<<4
//   e = 128h+96+l: ql[l+32] >> 4  | (qh[l]>>6 & 3)<<4
// Σ(q−32)·a = Σq·a − 32·Σ_g sc_g·bsum_g, all exact in int32.
// Registers Z16-Z19 hold the unpacked quants (64 each), Z20-Z23 the scale
// vectors of two sub-blocks each (sub-block p: int16 sc[2p]×8 | sc[2p+1]×8).
// Y15 holds the 16 scales as int16. Frame: 544 accumulators (8×32).
#define ACC 544

// Byte order that puts the even scales in the low 8 bytes, odd in the high.
DATA q6kEvenOddZ<>+0(SB)/8, $0x0e0c0a0806040200
DATA q6kEvenOddZ<>+8(SB)/8, $0x0f0d0b0907050301
GLOBL q6kEvenOddZ<>(SB), RODATA|NOPTR, $16

// SUB6(k, wq, sc): sub-blocks 2k and 2k+1 from registers loaded once per
// super-block (Z16+k quants, Z20+k their two adjacent scale vectors).
#define SUB6(k, wq, sc) \
	VPMADDUBSW (64*k)(AX), wq, Z0; \
	VPMADDWD   sc, Z0, Z0; \
	VPADDD     Z0, Z2, Z2

// UNPACK6Z(h, dA, dB): the 128 quants of half h into two registers
// (elements 128h..128h+63 in dA, the next 64 in dB).
#define UNPACK6Z(h, dA, dB) \
	VMOVDQU      (64*h)(SI), Y4; \
	VMOVDQU      (64*h+32)(SI), Y5; \
	VMOVDQU      (128+32*h)(SI), Y6; \
	VPAND        Y12, Y4, Y0; \
	VPAND        Y11, Y6, Y1; \
	VPSLLW       $4, Y1, Y1; \
	VPOR         Y1, Y0, Y0; \
	VPAND        Y12, Y5, Y3; \
	VPSLLW       $2, Y6, Y1; \
	VPAND        Y10, Y1, Y1; \
	VPOR         Y1, Y3, Y3; \
	VINSERTI64X4 $1, Y3, Z0, dA; \
	VPSRLW       $4, Y4, Y0; \
	VPAND        Y12, Y0, Y0; \
	VPAND        Y10, Y6, Y1; \
	VPOR         Y1, Y0, Y0; \
	VPSRLW       $4, Y5, Y3; \
	VPAND        Y12, Y3, Y3; \
	VPSRLW       $2, Y6, Y1; \
	VPAND        Y10, Y1, Y1; \
	VPOR         Y1, Y3, Y3; \
	VINSERTI64X4 $1, Y3, Z0, dB

// SCALE6Z(dst): scale vectors of the next two sub-blocks from Y7 (even |
// odd scales) and the word-select control Y8, which advances by two.
#define SCALE6Z(dst) \
	VPSHUFB      Y8, Y7, Y0; \
	VPADDW       Y9, Y8, Y8; \
	VPSHUFB      Y8, Y7, Y1; \
	VPADDW       Y9, Y8, Y8; \
	VINSERTI64X4 $1, Y1, Z0, dst

// func dotQ6_KAVX512(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotQ6_KAVX512(SB), 0, $800-64
	SETUP(256)
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         $0x03030303, AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	MOVL         $0x30303030, AX
	VMOVD        AX, X10
	VPBROADCASTD X10, Y10
	MOVL         $0x02020202, AX
	VMOVD        AX, X9
	VPBROADCASTD X9, Y9
	VMOVDQU      q6kEvenOddZ<>(SB), X13

sb:
	VMOVDQU      192(SI), X0
	VPMOVSXBW    X0, Y15              // scales in order, int16
	VPSHUFB      X13, X0, X0
	VPMOVSXBW    X0, Y7               // even scales | odd scales
	MOVL         $0x01000100, AX
	VMOVD        AX, X8
	VPBROADCASTD X8, Y8               // selects word 0 of each lane
	SCALE6Z(Z20)
	SCALE6Z(Z21)
	SCALE6Z(Z22)
	SCALE6Z(Z23)
	VPBROADCASTW 208(SI), X14
	VCVTPH2PS    X14, Y14             // d
	UNPACK6Z(0, Z16, Z17)
	UNPACK6Z(1, Z18, Z19)
	MOVQ R8, AX
	MOVQ R10, BX
	MOVQ R12, DI
	XORQ R14, R14

row:
	VPXORD Z2, Z2, Z2
	SUB6(0, Z16, Z20)
	SUB6(1, Z17, Z21)
	SUB6(2, Z18, Z22)
	SUB6(3, Z19, Z23)
	VEXTRACTI64X4 $1, Z2, Y3
	VPADDD        Y3, Y2, Y2
	VMOVDQU      (DI), Y0
	VPMADDWD     Y15, Y0, Y0          // sc_2j·bs_2j + sc_2j+1·bs_2j+1
	VPSLLD       $5, Y0, Y0
	VPSUBD       Y0, Y2, Y2
	FINISH_SCALED
	ADVANCE_ROW
	ADVANCE_SB(210)
	STORE

// ---------------------------------------------------------------------------
// IQ4_XS with VNNI (layout in kquants_amd64.s). Each level is stored as
// level+128 (1..241, unsigned), so one VPDPBUSD takes 64 products straight
// into int32 lanes (no sign trick, no int16 step), and a second one with
// 0x80 bytes takes the offset's share 128·a back off in the same lanes:
// each lane then holds its four elements' exact Σ level·a, which the
// group scale multiplies (VPMULLD). Lane j of zmm k covers elements
// 4j..4j+3 of group 2k (lanes 8+j: of group 2k+1); folded to 8 lanes after
// the four zmm, lane j is Σ_g sc_g·Σ level·a over elements 4j..4j+3 of
// every group, IQ4_XS/avx2's lane j exactly (below 2^24, exact in
// float32), so the two give the same bits. Z16-Z19 hold the offset levels
// of groups (2k, 2k+1), Z20-Z23 their scale vectors (sc_2k ×8 | sc_2k+1
// ×8), Z29 0x80 bytes, Z30 the offset level table, Z31 0x0F bytes. Frame:
// 544 the scales as dwords, ACC at 576.
#undef ACC
#define ACC 576

DATA iq4xsLevels128<>+0(SB)/8, $0x766a5d4f3f2d1801
DATA iq4xsLevels128<>+8(SB)/8, $0xf1d9c5b5a6998d81
GLOBL iq4xsLevels128<>(SB), RODATA|NOPTR, $16

// UNPACK_XSZ(k, dst): the 64 offset levels of groups 2k, 2k+1: the 32
// code bytes' low nibbles and high nibbles, put in element order
// (g.lo, g.hi, g+1.lo, g+1.hi) by one 128-bit lane shuffle.
#define UNPACK_XSZ(k, dst) \
	VMOVDQU      (8+32*k)(SI), Y0; \
	VPSRLW       $4, Y0, Y1; \
	VINSERTI64X4 $1, Y1, Z0, Z0; \
	VSHUFI64X2   $0xd8, Z0, Z0, Z0; \
	VPANDD       Z31, Z0, Z0; \
	VPSHUFB      Z0, Z30, dst

// SCZ_XS(k, dst): the scale vector of groups 2k, 2k+1.
#define SCZ_XS(k, dst) \
	VPBROADCASTD (544+8*k)(SP), Y0; \
	VPBROADCASTD (548+8*k)(SP), Y1; \
	VINSERTI64X4 $1, Y1, Z0, dst

// SUB_XSZ(k, wq, sc): Z2 += sc·(Σ level·a), lane by lane, over groups 2k
// and 2k+1.
#define SUB_XSZ(k, wq, sc) \
	VMOVDQU64 (64*k)(AX), Z1; \
	VPXORD    Z0, Z0, Z0; \
	VPDPBUSD  Z1, wq, Z0; \
	VPXORD    Z3, Z3, Z3; \
	VPDPBUSD  Z1, Z29, Z3; \
	VPSUBD    Z3, Z0, Z0; \
	VPMULLD   sc, Z0, Z0; \
	VPADDD    Z0, Z2, Z2

// func dotIQ4_XSAVX512(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotIQ4_XSAVX512(SB), 0, $832-64
	SETUP(256)
	MOVL             $0x0f0f0f0f, AX
	VPBROADCASTD     AX, Z31
	MOVL             $0x80808080, AX
	VPBROADCASTD     AX, Z29
	VBROADCASTI32X4  iq4xsLevels128<>(SB), Z30

sb:
	IQ4XS_SCALES(Y31)
	VMOVDQU      Y0, 544(SP)
	VPBROADCASTW (SI), X14
	VCVTPH2PS    X14, Y14
	UNPACK_XSZ(0, Z16)
	UNPACK_XSZ(1, Z17)
	UNPACK_XSZ(2, Z18)
	UNPACK_XSZ(3, Z19)
	SCZ_XS(0, Z20)
	SCZ_XS(1, Z21)
	SCZ_XS(2, Z22)
	SCZ_XS(3, Z23)
	MOVQ R8, AX
	MOVQ R10, BX
	MOVQ R12, DI
	XORQ R14, R14

row:
	VPXORD        Z2, Z2, Z2
	SUB_XSZ(0, Z16, Z20)
	SUB_XSZ(1, Z17, Z21)
	SUB_XSZ(2, Z18, Z22)
	SUB_XSZ(3, Z19, Z23)
	VEXTRACTI64X4 $1, Z2, Y3
	VPADDD        Y3, Y2, Y2
	FINISH_SCALED
	ADVANCE_ROW
	ADVANCE_SB(136)
	STORE
