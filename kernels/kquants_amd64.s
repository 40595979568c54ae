//go:build amd64

#include "textflag.h"

// K-quant × Q8_K block dot kernels, 256-bit AVX2. The calling convention,
// frame layout and shared macros are in kquants_amd64.h.

#include "kquants_amd64.h"

// ---------------------------------------------------------------------------
// Q4_K: d, dmin (fp16), scales[12], qs[128]. Chunk c (64 elements) is
// qs[32c..32c+31]: low nibbles with scale/min pair 2c, high nibbles 2c+1.
// Frame: 0 unpacked quants (256), 256 scales as 8 dwords sc|sc<<16,
// 288 mins as 16 int16 (m0 m0 m1 m1 ...), 320 accumulators (8×32).
#define ACC 320

// SUB4(j): Y2 += (Σ over sub-block j of q·a in int16 pairs)·sc_j.
#define SUB4(j) \
	VMOVDQU      (32*j)(SP), Y0; \
	VPMADDUBSW   (32*j)(AX), Y0, Y0; \
	VPBROADCASTD (256+4*j)(SP), Y1; \
	VPMADDWD     Y1, Y0, Y0; \
	VPADDD       Y0, Y2, Y2

// UNPACK4(c): the 64 quants of chunk c into the frame.
#define UNPACK4(c) \
	VMOVDQU (16+32*c)(SI), Y0; \
	VPAND   Y12, Y0, Y1; \
	VPSRLW  $4, Y0, Y0; \
	VPAND   Y12, Y0, Y0; \
	VMOVDQU Y1, (64*c)(SP); \
	VMOVDQU Y0, (64*c+32)(SP)

// func dotQ4_KAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotQ4_KAVX2(SB), 0, $576-64
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
	VMOVDQU    X5, 256(SP)
	VMOVDQU    X6, 272(SP)
	VPMOVZXBW  X4, X4        // 8 int16 mins
	VPUNPCKLWD X4, X4, X5
	VPUNPCKHWD X4, X4, X6
	VMOVDQU    X5, 288(SP)
	VMOVDQU    X6, 304(SP)
	VPBROADCASTW (SI), X14
	VCVTPH2PS    X14, Y14    // d
	VPBROADCASTW 2(SI), X15
	VCVTPH2PS    X15, Y15    // dmin
	UNPACK4(0)
	UNPACK4(1)
	UNPACK4(2)
	UNPACK4(3)
	MOVQ R8, AX
	MOVQ R10, BX
	MOVQ R12, DI
	XORQ R14, R14

row:
	VPXOR Y2, Y2, Y2
	SUB4(0)
	SUB4(1)
	SUB4(2)
	SUB4(3)
	SUB4(4)
	SUB4(5)
	SUB4(6)
	SUB4(7)
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
// Frame: 0 unpacked quants (256), 256 eight scale vectors (32-element
// sub-block p: int16 sc[2p]×8 | sc[2p+1]×8), 512 the 16 scales as int16,
// 544 accumulators (8×32).
#define ACC 544

// Byte order that puts the even scales in the low 8 bytes, odd in the high.
DATA q6kEvenOdd<>+0(SB)/8, $0x0e0c0a0806040200
DATA q6kEvenOdd<>+8(SB)/8, $0x0f0d0b0907050301
GLOBL q6kEvenOdd<>(SB), RODATA|NOPTR, $16

#define SUB6(p) \
	VMOVDQU    (32*p)(SP), Y0; \
	VPMADDUBSW (32*p)(AX), Y0, Y0; \
	VPMADDWD   (256+32*p)(SP), Y0, Y0; \
	VPADDD     Y0, Y2, Y2

// UNPACK6(h): the 128 quants of half h into the frame.
#define UNPACK6(h) \
	VMOVDQU (64*h)(SI), Y4; \
	VMOVDQU (64*h+32)(SI), Y5; \
	VMOVDQU (128+32*h)(SI), Y6; \
	VPAND   Y12, Y4, Y0; \
	VPAND   Y11, Y6, Y1; \
	VPSLLW  $4, Y1, Y1; \
	VPOR    Y1, Y0, Y0; \
	VMOVDQU Y0, (128*h)(SP); \
	VPAND   Y12, Y5, Y0; \
	VPSLLW  $2, Y6, Y1; \
	VPAND   Y10, Y1, Y1; \
	VPOR    Y1, Y0, Y0; \
	VMOVDQU Y0, (128*h+32)(SP); \
	VPSRLW  $4, Y4, Y0; \
	VPAND   Y12, Y0, Y0; \
	VPAND   Y10, Y6, Y1; \
	VPOR    Y1, Y0, Y0; \
	VMOVDQU Y0, (128*h+64)(SP); \
	VPSRLW  $4, Y5, Y0; \
	VPAND   Y12, Y0, Y0; \
	VPSRLW  $2, Y6, Y1; \
	VPAND   Y10, Y1, Y1; \
	VPOR    Y1, Y0, Y0; \
	VMOVDQU Y0, (128*h+96)(SP)

// SCALE6(p): scale vector of sub-block p from Y7 (even | odd scales) and
// the word-p shuffle control in Y8, then advance the control.
#define SCALE6(p) \
	VPSHUFB Y8, Y7, Y0; \
	VMOVDQU Y0, (256+32*p)(SP); \
	VPADDW  Y9, Y8, Y8

// func dotQ6_KAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotQ6_KAVX2(SB), 0, $800-64
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
	VMOVDQU      q6kEvenOdd<>(SB), X13

sb:
	VMOVDQU      192(SI), X0
	VPMOVSXBW    X0, Y1
	VMOVDQU      Y1, 512(SP)          // scales in order, int16
	VPSHUFB      X13, X0, X0
	VPMOVSXBW    X0, Y7               // even scales | odd scales
	MOVL         $0x01000100, AX
	VMOVD        AX, X8
	VPBROADCASTD X8, Y8               // selects word 0 of each lane
	SCALE6(0)
	SCALE6(1)
	SCALE6(2)
	SCALE6(3)
	SCALE6(4)
	SCALE6(5)
	SCALE6(6)
	SCALE6(7)
	VPBROADCASTW 208(SI), X14
	VCVTPH2PS    X14, Y14             // d
	UNPACK6(0)
	UNPACK6(1)
	MOVQ R8, AX
	MOVQ R10, BX
	MOVQ R12, DI
	XORQ R14, R14

row:
	VPXOR Y2, Y2, Y2
	SUB6(0)
	SUB6(1)
	SUB6(2)
	SUB6(3)
	SUB6(4)
	SUB6(5)
	SUB6(6)
	SUB6(7)
	VMOVDQU      (DI), Y0
	VPMADDWD     512(SP), Y0, Y0      // sc_2j·bs_2j + sc_2j+1·bs_2j+1
	VPSLLD       $5, Y0, Y0
	VPSUBD       Y0, Y2, Y2
	VCVTDQ2PS    Y2, Y2
	VBROADCASTSS (BX), Y1
	VMULPS       Y14, Y1, Y1
	VMOVUPS      ACC(SP)(R14*1), Y4
	VFMADD231PS  Y1, Y2, Y4
	VMOVUPS      Y4, ACC(SP)(R14*1)
	ADVANCE_ROW
	ADVANCE_SB(210)
	STORE
