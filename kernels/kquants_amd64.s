//go:build amd64

#include "textflag.h"
#include "avxvnni_amd64.h"

// K-quant × Q8_K block dot kernels, 256-bit AVX2. The calling convention,
// frame layout and shared macros are in kquants_amd64.h.

#include "kquants_amd64.h"

// ---------------------------------------------------------------------------
// Q4_K: d, dmin (fp16), scales[12], qs[128]. Chunk c (64 elements) is
// qs[32c..32c+31]: low nibbles with scale/min pair 2c, high nibbles 2c+1.
// The codes stay in registers (UNPACK4R); frame: 256 scales as 8 dwords
// sc|sc<<16, 288 mins as 16 int16 (m0 m0 m1 m1 ...), 320 accumulators
// (8×32).
#define ACC 320

// SCALEMIN_K4: the six-bit scales and mins of Q4_K and Q5_K (both keep
// scales[12] at byte 4; get_scale_min_k4) into the frame at 256 and 288,
// and d, dmin (bytes 0, 2) broadcast into Y14, Y15. With u0,u1,u2 the
// three little-endian words of scales[12]:
//   sc[0..3] = u0 & 0x3f..       m[0..3] = u1 & 0x3f..
//   sc[4..7] = (u2 & 0x0f..) | ((u0>>6) & 0x03..)<<4
//   m[4..7]  = ((u2>>4) & 0x0f..) | ((u1>>6) & 0x03..)<<4
// Clobbers AX, BX, DI, R14, X3-X6.
#define SCALEMIN_K4 \
	MOVL  4(SI), AX; \
	MOVL  8(SI), BX; \
	MOVL  12(SI), DI; \
	MOVL  AX, R14; \
	ANDL  $0x3f3f3f3f, R14; \
	VMOVD R14, X3; \
	MOVL  BX, R14; \
	ANDL  $0x3f3f3f3f, R14; \
	VMOVD R14, X4; \
	SHRL  $6, AX; \
	ANDL  $0x03030303, AX; \
	SHLL  $4, AX; \
	MOVL  DI, R14; \
	ANDL  $0x0f0f0f0f, R14; \
	ORL   R14, AX; \
	VPINSRD $1, AX, X3, X3; \
	SHRL  $6, BX; \
	ANDL  $0x03030303, BX; \
	SHLL  $4, BX; \
	SHRL  $4, DI; \
	ANDL  $0x0f0f0f0f, DI; \
	ORL   DI, BX; \
	VPINSRD $1, BX, X4, X4; \
	VPMOVZXBW  X3, X3; \
	VPUNPCKLWD X3, X3, X5; \
	VPUNPCKHWD X3, X3, X6; \
	VINSERTI128 $1, X6, Y5, Y5; \
	VMOVDQU    Y5, 256(SP); \
	VPMOVZXBW  X4, X4; \
	VPUNPCKLWD X4, X4, X5; \
	VPUNPCKHWD X4, X4, X6; \
	VINSERTI128 $1, X6, Y5, Y5; \
	VMOVDQU    Y5, 288(SP); \
	VPBROADCASTW (SI), X14; \
	VCVTPH2PS    X14, Y14; \
	VPBROADCASTW 2(SI), X15; \
	VCVTPH2PS    X15, Y15

// FINISH_MIN(mins): the end of a row for the types with a min (Q2_K,
// Q4_K, Q5_K): acc += (d·d_a)·Y2 − (dmin·d_a)·Σ m·bs, where the 16 int16
// at mins(SP) pair with the 16 group sums so that dword j of the VPMADDWD
// is the min term of elements 32j..32j+31 (below 2^18: exact in float32).
#define FINISH_MIN(mins) \
	VMOVDQU      (DI), Y0; \
	VPMADDWD     mins(SP), Y0, Y0; \
	VCVTDQ2PS    Y2, Y2; \
	VCVTDQ2PS    Y0, Y0; \
	VBROADCASTSS (BX), Y1; \
	VMULPS       Y14, Y1, Y3; \
	VMULPS       Y15, Y1, Y1; \
	VMOVUPS      ACC(SP)(R14*1), Y4; \
	VFMADD231PS  Y3, Y2, Y4; \
	VFNMADD231PS Y1, Y0, Y4; \
	VMOVUPS      Y4, ACC(SP)(R14*1)

// UNPACK4R(c, lo, hi): the 64 codes of chunk c into registers lo, hi.
#define UNPACK4R(c, lo, hi) \
	VMOVDQU (16+32*c)(SI), hi; \
	VPAND   Y12, hi, lo; \
	VPSRLW  $4, hi, hi; \
	VPAND   Y12, hi, hi

// SUB4R(j, q): Y2 += (Σ over sub-block j of q·a in int16 pairs)·sc_j, with
// sub-block j's codes in register q and sc_j from the frame.
#define SUB4R(j, q) \
	VPMADDUBSW   (32*j)(AX), q, Y0; \
	VPBROADCASTD (256+4*j)(SP), Y1; \
	VPMADDWD     Y1, Y0, Y0; \
	VPADDD       Y0, Y2, Y2

// ROWS_K4: every activation row against the super-block whose eight
// sub-blocks' codes are in Y5-Y11 and Y13, Q4_K's and Q5_K's 32-element
// sub-blocks with their mins. The codes stay in registers across the rows:
// read from the frame, they made the loads the kernels' limit (prefill
// tiles ran 30-40 % slower).
#define ROWS_K4 \
	MOVQ R8, AX; \
	MOVQ R10, BX; \
	MOVQ R12, DI; \
	XORQ R14, R14; \
row: \
	VPXOR Y2, Y2, Y2; \
	SUB4R(0, Y5); \
	SUB4R(1, Y6); \
	SUB4R(2, Y7); \
	SUB4R(3, Y8); \
	SUB4R(4, Y9); \
	SUB4R(5, Y10); \
	SUB4R(6, Y11); \
	SUB4R(7, Y13); \
	FINISH_MIN(288); \
	ADVANCE_ROW

// func dotQ4_KAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
#define Q4_K_ROWS \
	SETUP(256); \
	MOVL         $0x0f0f0f0f, AX; \
	VMOVD        AX, X12; \
	VPBROADCASTD X12, Y12; \
sb: \
	SCALEMIN_K4; \
	UNPACK4R(0, Y5, Y6); \
	UNPACK4R(1, Y7, Y8); \
	UNPACK4R(2, Y9, Y10); \
	UNPACK4R(3, Y11, Y13); \
	ROWS_K4; \
	ADVANCE_SB(144); \
	STORE

TEXT ·dotQ4_KAVX2(SB), 0, $576-64
	Q4_K_ROWS

// K_PAIR1(c): chunk c's two sub-blocks against one activation row (AX),
// from registers: Y1 holds the codes of sub-block 2c, Y0 those of 2c+1.
// Each sub-block's int16 pair sums are scaled by its sc from the frame and
// added into Y2: the lanes of ROWS_K4, the same exact int32 sums.
#define K_PAIR1(c) \
	VPMADDUBSW   (64*c)(AX), Y1, Y1; \
	VPBROADCASTD (256+8*c)(SP), Y3; \
	VPMADDWD     Y3, Y1, Y1; \
	VPMADDUBSW   (64*c+32)(AX), Y0, Y0; \
	VPBROADCASTD (260+8*c)(SP), Y4; \
	VPMADDWD     Y4, Y0, Y0; \
	VPADDD       Y1, Y0, Y0; \
	VPADDD       Y0, Y2, Y2

// K4_CHUNK1(c): K_PAIR1 on chunk c of a Q4_K super-block.
#define K4_CHUNK1(c) \
	UNPACK4R(c, Y1, Y0); \
	K_PAIR1(c)

// FINISH_MIN1(acc): FINISH_MIN for one row whose accumulator is the
// register acc (the same operations).
#define FINISH_MIN1(acc) \
	VMOVDQU      (R12), Y0; \
	VPMADDWD     288(SP), Y0, Y0; \
	VCVTDQ2PS    Y2, Y2; \
	VCVTDQ2PS    Y0, Y0; \
	VBROADCASTSS (R10), Y1; \
	VMULPS       Y14, Y1, Y3; \
	VMULPS       Y15, Y1, Y1; \
	VFMADD231PS  Y3, Y2, acc; \
	VFNMADD231PS Y1, Y0, acc

// ONE_SETUP: the arguments of a one-row K-quant kernel (n is 1): SI
// weights, CX super-blocks, R8/R10/R12 the row's qs/d/bs; Y12 0x0F bytes.
#define ONE_SETUP \
	MOVQ         nb+8(FP), CX; \
	MOVQ         qs+16(FP), R8; \
	MOVQ         d+24(FP), R10; \
	MOVQ         bs+32(FP), R12; \
	MOVQ         w+0(FP), SI; \
	MOVL         $0x0f0f0f0f, AX; \
	VMOVD        AX, X12; \
	VPBROADCASTD X12, Y12

// ONE_PREFETCH(d): the one-row kernels' prefetch of the super-block eight
// ahead (d = 8 × its bytes; three lines, 192 bytes, from d). Without it
// the K-quant one-row kernels read 7-10 GB/s on two cores of the Intel
// Xeon VM, Q6_K's 15.6, against 32 for the probe (NURI_KERNELS=avx2
// -bench 'MatMul/.*nx=1$'): each super-block starts on scalar loads of its
// scales, and the frame kernels pass them through stores that the next
// loads wait on, so the next super-block's DRAM miss began only then. Four
// super-blocks ahead read less, sixteen about the same as eight.
#define ONE_PREFETCH(d) \
	PREFETCHT0 (d)(SI); \
	PREFETCHT0 (d+64)(SI); \
	PREFETCHT0 (d+128)(SI)

// ONE_PREFETCH4(d): ONE_PREFETCH for Q6_K's 210-byte super-blocks.
#define ONE_PREFETCH4(d) \
	ONE_PREFETCH(d); \
	PREFETCHT0 (d+192)(SI)

// ONE_PREFETCH2(d): ONE_PREFETCH for the super-blocks under 128 bytes.
#define ONE_PREFETCH2(d) \
	PREFETCHT0 (d)(SI); \
	PREFETCHT0 (d+64)(SI)

#define ONE_ADVANCE(wbytes) \
	ADDQ $wbytes, SI; \
	ADDQ $256, R8; \
	ADDQ $4, R10; \
	ADDQ $32, R12; \
	DECQ CX; \
	JNZ  sb1

// func dotQ4_K1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
//
// dotQ4_KAVX2 for one activation row (n is 1): the codes and the
// accumulator stay in registers (only the scales go through the frame),
// with the same float operations in the same order, so the bits are
// dotQ4_KAVX2's.
#define Q4_K_ONE \
	ONE_SETUP; \
	VXORPS Y13, Y13, Y13; \
	TESTQ  CX, CX; \
	JZ     store1; \
sb1: \
	ONE_PREFETCH(1152); \
	SCALEMIN_K4; \
	MOVQ  R8, AX; \
	VPXOR Y2, Y2, Y2; \
	K4_CHUNK1(0); \
	K4_CHUNK1(1); \
	K4_CHUNK1(2); \
	K4_CHUNK1(3); \
	FINISH_MIN1(Y13); \
	ONE_ADVANCE(144); \
store1: \
	MOVQ y+48(FP), SI; \
	HSUM(Y13, X13, (SI)); \
	VZEROUPPER; \
	RET

TEXT ·dotQ4_K1AVX2(SB), 0, $576-64
	Q4_K_ONE

// ---------------------------------------------------------------------------
// Q5_K: d, dmin (fp16), scales[12] (as Q4_K), qh[32], qs[128]. Q4_K's
// nibbles plus a fifth bit: with l = 0..31,
//   e = 64c+l:    qs[32c+l] & 15  | (qh[l]>>2c & 1)<<4
//   e = 64c+32+l: qs[32c+l] >> 4  | (qh[l]>>(2c+1) & 1)<<4
// Codes are 0..31, so a VPMADDUBSW pair is at most 2·31·128 < 2^15 (no
// saturation) and a lane's int32 sum over the super-block (32 products
// times sc ≤ 63) stays below 2^24, exact in float32 too. Frame and
// registers as Q4_K's.

// UNPACK5R(c, lo, hi): the 64 codes of chunk c into registers lo, hi. Y13
// holds qh shifted right by 2c (word shifts: bits 0 and 1 of each byte are
// still that byte's bits 2c and 2c+1), and is advanced for the next chunk;
// Y11 holds 0x10 bytes.
#define UNPACK5R(c, lo, hi) \
	VMOVDQU (48+32*c)(SI), hi; \
	VPAND   Y12, hi, lo; \
	VPSLLW  $4, Y13, Y3; \
	VPAND   Y11, Y3, Y3; \
	VPOR    Y3, lo, lo; \
	VPSRLW  $4, hi, hi; \
	VPAND   Y12, hi, hi; \
	VPSLLW  $3, Y13, Y3; \
	VPAND   Y11, Y3, Y3; \
	VPOR    Y3, hi, hi; \
	VPSRLW  $2, Y13, Y13

// func dotQ5_KAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
#define Q5_K_ROWS \
	SETUP(256); \
	MOVL         $0x0f0f0f0f, AX; \
	VMOVD        AX, X12; \
	VPBROADCASTD X12, Y12; \
sb: \
	SCALEMIN_K4; \
	MOVL         $0x10101010, AX; \
	VMOVD        AX, X11; \
	VPBROADCASTD X11, Y11; \
	VMOVDQU      16(SI), Y13; \
	UNPACK5R(0, Y5, Y6); \
	UNPACK5R(1, Y7, Y8); \
	UNPACK5R(2, Y9, Y10); \
	UNPACK5R(3, Y1, Y0); \
	VMOVDQU      Y1, Y11; \
	VMOVDQU      Y0, Y13; \
	ROWS_K4; \
	ADVANCE_SB(176); \
	STORE

TEXT ·dotQ5_KAVX2(SB), 0, $576-64
	Q5_K_ROWS

// K5_CHUNK1(c): K_PAIR1 on chunk c of a Q5_K super-block (UNPACK5R's
// registers: Y13 qh shifted right by 2c, which advances, Y11 0x10 bytes).
#define K5_CHUNK1(c) \
	UNPACK5R(c, Y1, Y0); \
	K_PAIR1(c)

// func dotQ5_K1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
//
// dotQ5_KAVX2 for one activation row, as dotQ4_K1AVX2 is for Q4_K.
#define Q5_K_ONE \
	ONE_SETUP; \
	MOVL         $0x10101010, AX; \
	VMOVD        AX, X11; \
	VPBROADCASTD X11, Y11; \
	VXORPS       Y7, Y7, Y7; \
	TESTQ        CX, CX; \
	JZ           store1; \
sb1: \
	ONE_PREFETCH(1408); \
	SCALEMIN_K4; \
	MOVQ    R8, AX; \
	VPXOR   Y2, Y2, Y2; \
	VMOVDQU 16(SI), Y13; \
	K5_CHUNK1(0); \
	K5_CHUNK1(1); \
	K5_CHUNK1(2); \
	K5_CHUNK1(3); \
	FINISH_MIN1(Y7); \
	ONE_ADVANCE(176); \
store1: \
	MOVQ y+48(FP), SI; \
	HSUM(Y7, X7, (SI)); \
	VZEROUPPER; \
	RET

TEXT ·dotQ5_K1AVX2(SB), 0, $576-64
	Q5_K_ONE

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
// The codes stay in registers (UNPACK6R); frame: 256 eight scale vectors
// (32-element run p: int16 sc[2p]×8 | sc[2p+1]×8), 512 the 16 scales as
// int16, 544 accumulators (8×32).
#define ACC 544

// Byte order that puts the even scales in the low 8 bytes, odd in the high.
DATA q6kEvenOdd<>+0(SB)/8, $0x0e0c0a0806040200
DATA q6kEvenOdd<>+8(SB)/8, $0x0f0d0b0907050301
GLOBL q6kEvenOdd<>(SB), RODATA|NOPTR, $16

// SCALE6(p): scale vector of sub-block p from Y7 (even | odd scales) and
// the word-p shuffle control in Y8, then advance the control.
#define SCALE6(p) \
	VPSHUFB Y8, Y7, Y0; \
	VMOVDQU Y0, (256+32*p)(SP); \
	VPADDW  Y9, Y8, Y8

// SCALES16: the sixteen signed byte scales in X0 into the frame: in order
// as int16 at 512, and as the eight sub-block scale vectors at 256.
#define SCALES16 \
	VPMOVSXBW    X0, Y1; \
	VMOVDQU      Y1, 512(SP); \
	VPSHUFB      X13, X0, X0; \
	VPMOVSXBW    X0, Y7; \
	MOVL         $0x01000100, AX; \
	VMOVD        AX, X8; \
	VPBROADCASTD X8, Y8; \
	SCALE6(0); \
	SCALE6(1); \
	SCALE6(2); \
	SCALE6(3); \
	SCALE6(4); \
	SCALE6(5); \
	SCALE6(6); \
	SCALE6(7)

// Byte constants, broadcast afresh each super-block by the kernels whose
// codes take the registers that held them.
DATA kc0F<>+0(SB)/4, $0x0f0f0f0f
GLOBL kc0F<>(SB), RODATA|NOPTR, $4
DATA kc03<>+0(SB)/4, $0x03030303
GLOBL kc03<>(SB), RODATA|NOPTR, $4
DATA kc30<>+0(SB)/4, $0x30303030
GLOBL kc30<>(SB), RODATA|NOPTR, $4
DATA kc02<>+0(SB)/4, $0x02020202
GLOBL kc02<>(SB), RODATA|NOPTR, $4
DATA kc04<>+0(SB)/4, $0x04040404
GLOBL kc04<>(SB), RODATA|NOPTR, $4
DATA kc20<>+0(SB)/4, $0x20202020
GLOBL kc20<>(SB), RODATA|NOPTR, $4

// SUB6R(p, q): Y2 += (Σ over run p of code·a in int16 pairs)·(its two
// sub-blocks' scales, the vector at 256+32p), the codes in register q.
#define SUB6R(p, q) \
	VPMADDUBSW (32*p)(AX), q, Y0; \
	VPMADDWD   (256+32*p)(SP), Y0, Y0; \
	VPADDD     Y0, Y2, Y2

// ROWS16R(finish): every activation row against the super-block whose
// eight 32-code runs are in Y5-Y12 (sixteen 16-element sub-blocks, the
// int16 scale vectors at 256), then finish. The codes stay in registers
// across the rows: read from the frame, they made the loads the kernels'
// limit.
#define ROWS16R(finish) \
	MOVQ R8, AX; \
	MOVQ R10, BX; \
	MOVQ R12, DI; \
	XORQ R14, R14; \
row: \
	VPXOR Y2, Y2, Y2; \
	SUB6R(0, Y5); \
	SUB6R(1, Y6); \
	SUB6R(2, Y7); \
	SUB6R(3, Y8); \
	SUB6R(4, Y9); \
	SUB6R(5, Y10); \
	SUB6R(6, Y11); \
	SUB6R(7, Y12); \
	finish; \
	ADVANCE_ROW

// OFFSET_FINISH(shift): the offset's share −(1<<shift)·Σ sc_g·bs_g from
// the scales at 512 (Q6_K 32, Q3_K 4), then FINISH_SCALED.
#define OFFSET_FINISH(shift) \
	VMOVDQU      (DI), Y0; \
	VPMADDWD     512(SP), Y0, Y0; \
	VPSLLD       $shift, Y0, Y0; \
	VPSUBD       Y0, Y2, Y2; \
	FINISH_SCALED

// UNPACK6R(h, c0, c1, c2, c3): the four 32-code runs of half h (the
// element formulas above) into registers, with Y15 0x0F, Y14 0x03 and Y2 0x30 bytes; clobbers Y1, Y3,
// Y4, Y13.
#define UNPACK6R(h, c0, c1, c2, c3) \
	VMOVDQU (64*h)(SI), Y4; \
	VMOVDQU (64*h+32)(SI), Y3; \
	VMOVDQU (128+32*h)(SI), Y13; \
	VPAND   Y15, Y4, c0; \
	VPAND   Y14, Y13, Y1; \
	VPSLLW  $4, Y1, Y1; \
	VPOR    Y1, c0, c0; \
	VPAND   Y15, Y3, c1; \
	VPSLLW  $2, Y13, Y1; \
	VPAND   Y2, Y1, Y1; \
	VPOR    Y1, c1, c1; \
	VPSRLW  $4, Y4, c2; \
	VPAND   Y15, c2, c2; \
	VPAND   Y2, Y13, Y1; \
	VPOR    Y1, c2, c2; \
	VPSRLW  $4, Y3, c3; \
	VPAND   Y15, c3, c3; \
	VPSRLW  $2, Y13, Y1; \
	VPAND   Y2, Y1, Y1; \
	VPOR    Y1, c3, c3

// func dotQ6_KAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
#define Q6_K_ROWS \
	SETUP(256); \
sb: \
	VPBROADCASTD kc02<>(SB), Y9; \
	VMOVDQU      q6kEvenOdd<>(SB), X13; \
	VMOVDQU      192(SI), X0; \
	SCALES16; \
	VPBROADCASTD kc0F<>(SB), Y15; \
	VPBROADCASTD kc03<>(SB), Y14; \
	VPBROADCASTD kc30<>(SB), Y2; \
	UNPACK6R(0, Y5, Y6, Y7, Y8); \
	UNPACK6R(1, Y9, Y10, Y11, Y12); \
	VPBROADCASTW 208(SI), X14; \
	VCVTPH2PS    X14, Y14; \
	ROWS16R(OFFSET_FINISH(5)); \
	ADVANCE_SB(210); \
	STORE

TEXT ·dotQ6_KAVX2(SB), 0, $800-64
	Q6_K_ROWS

// ONE_ARGS: the arguments of the frame-free one-row kernels: SI weights,
// CX super-blocks, AX/BX/DI the row's qs/d/bs.
#define ONE_ARGS \
	MOVQ nb+8(FP), CX; \
	MOVQ qs+16(FP), AX; \
	MOVQ d+24(FP), BX; \
	MOVQ bs+32(FP), DI; \
	MOVQ w+0(FP), SI

// ONE_NEXT(wbytes): on to the next super-block of a frame-free one-row
// kernel (loop label sb1).
#define ONE_NEXT(wbytes) \
	ADDQ $wbytes, SI; \
	ADDQ $256, AX; \
	ADDQ $4, BX; \
	ADDQ $32, DI; \
	DECQ CX; \
	JNZ  sb1

// scaleWord<>+32p: the VPSHUFB control that copies int16 word p of each
// 128-bit lane into all of that lane's words (SCALE6's control, advanced p
// times), for the one-row kernels' scale vectors.
DATA scaleWord<>+0(SB)/8, $0x0100010001000100
DATA scaleWord<>+8(SB)/8, $0x0100010001000100
DATA scaleWord<>+16(SB)/8, $0x0100010001000100
DATA scaleWord<>+24(SB)/8, $0x0100010001000100
DATA scaleWord<>+32(SB)/8, $0x0302030203020302
DATA scaleWord<>+40(SB)/8, $0x0302030203020302
DATA scaleWord<>+48(SB)/8, $0x0302030203020302
DATA scaleWord<>+56(SB)/8, $0x0302030203020302
DATA scaleWord<>+64(SB)/8, $0x0504050405040504
DATA scaleWord<>+72(SB)/8, $0x0504050405040504
DATA scaleWord<>+80(SB)/8, $0x0504050405040504
DATA scaleWord<>+88(SB)/8, $0x0504050405040504
DATA scaleWord<>+96(SB)/8, $0x0706070607060706
DATA scaleWord<>+104(SB)/8, $0x0706070607060706
DATA scaleWord<>+112(SB)/8, $0x0706070607060706
DATA scaleWord<>+120(SB)/8, $0x0706070607060706
DATA scaleWord<>+128(SB)/8, $0x0908090809080908
DATA scaleWord<>+136(SB)/8, $0x0908090809080908
DATA scaleWord<>+144(SB)/8, $0x0908090809080908
DATA scaleWord<>+152(SB)/8, $0x0908090809080908
DATA scaleWord<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA scaleWord<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA scaleWord<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA scaleWord<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA scaleWord<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA scaleWord<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA scaleWord<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA scaleWord<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA scaleWord<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA scaleWord<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA scaleWord<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA scaleWord<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL scaleWord<>(SB), RODATA|NOPTR, $256

// Q6_SUB1(src, p): sub-block p's 32 codes, in Y0 from src's nibbles
// (already moved down and masked into Y0) and the two high bits in Y1,
// against the activation row at AX: Y2 += its scaled pair sums. The scale
// vector comes from Y7 by scaleWord's control p.
#define Q6_SUB1(p) \
	VPOR       Y1, Y0, Y0; \
	VPMADDUBSW (32*p)(AX), Y0, Y0; \
	VPSHUFB    scaleWord<>+(32*p)(SB), Y7, Y3; \
	VPMADDWD   Y3, Y0, Y0; \
	VPADDD     Y0, Y2, Y2

// Q6_HALF1(h): the four runs of half h (UNPACK6R's codes).
#define Q6_HALF1(h) \
	VMOVDQU (64*h)(SI), Y4; \
	VMOVDQU (64*h+32)(SI), Y5; \
	VMOVDQU (128+32*h)(SI), Y6; \
	VPAND   Y12, Y4, Y0; \
	VPAND   Y11, Y6, Y1; \
	VPSLLW  $4, Y1, Y1; \
	Q6_SUB1((4*h)); \
	VPAND   Y12, Y5, Y0; \
	VPSLLW  $2, Y6, Y1; \
	VPAND   Y10, Y1, Y1; \
	Q6_SUB1((4*h+1)); \
	VPSRLW  $4, Y4, Y0; \
	VPAND   Y12, Y0, Y0; \
	VPAND   Y10, Y6, Y1; \
	Q6_SUB1((4*h+2)); \
	VPSRLW  $4, Y5, Y0; \
	VPAND   Y12, Y0, Y0; \
	VPSRLW  $2, Y6, Y1; \
	VPAND   Y10, Y1, Y1; \
	Q6_SUB1((4*h+3))

// func dotQ6_K1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
//
// dotQ6_KAVX2 for one activation row (n is 1), without the frame: codes,
// scale vectors and the accumulator in registers. The int32 lanes are the
// same exact sums and the float operations the same, so are the bits.
// Q6_K_ONE: Y1 takes the 16 scales as int16 and the offset's share goes
// into Y2 first; Y7 holds the even | odd scales, Y14 d.
#define Q6_K_ONE \
	ONE_ARGS; \
	VPBROADCASTD kc0F<>(SB), Y12; \
	VPBROADCASTD kc03<>(SB), Y11; \
	VPBROADCASTD kc30<>(SB), Y10; \
	VMOVDQU      q6kEvenOdd<>(SB), X13; \
	VXORPS       Y15, Y15, Y15; \
	TESTQ        CX, CX; \
	JZ           store1; \
sb1: \
	ONE_PREFETCH4(1680); \
	VMOVDQU      192(SI), X0; \
	VPMOVSXBW    X0, Y1; \
	VPMADDWD     (DI), Y1, Y1; \
	VPSLLD       $5, Y1, Y1; \
	VPXOR        Y2, Y2, Y2; \
	VPSUBD       Y1, Y2, Y2; \
	VPSHUFB      X13, X0, X0; \
	VPMOVSXBW    X0, Y7; \
	Q6_HALF1(0); \
	Q6_HALF1(1); \
	VPBROADCASTW 208(SI), X14; \
	VCVTPH2PS    X14, Y14; \
	VCVTDQ2PS    Y2, Y2; \
	VBROADCASTSS (BX), Y1; \
	VMULPS       Y14, Y1, Y1; \
	VFMADD231PS  Y1, Y2, Y15; \
	ONE_NEXT(210); \
store1: \
	MOVQ y+48(FP), SI; \
	HSUM(Y15, X15, (SI)); \
	VZEROUPPER; \
	RET

TEXT ·dotQ6_K1AVX2(SB), NOSPLIT, $0-64
	Q6_K_ONE

#undef ACC

// ---------------------------------------------------------------------------
// Q3_K: hmask[32], qs[64], scales[12], d (fp16). Element e of run
// r = e/32 = 4h+k (half h, l = e%32) is u − 4 with the code
//   u = (qs[32h+l] >> 2k & 3) | (hmask[l] >> r & 1)<<2    (0..7)
// and sub-block g = e/16 has the six-bit scale sc_g − 32 (q3KScale: low
// four bits from the nibbles of scales[0..7], high two from scales[8..11]).
// The kernel multiplies the unsigned codes, as Q6_K does:
// Σ(u−4)·a = Σu·a − 4·Σ_g sc_g·bsum_g. A VPMADDUBSW pair is at most
// 2·7·128 and every int32 lane stays far below 2^24: all exact.
// Sub-blocks are 16 elements as in Q6_K, so frame and registers are Q6_K's
// (SCALE6 and ROWS16R apply unchanged): the codes in Y5-Y12, 256 eight
// scale vectors, 512 the 16 signed scales as int16, 544 accumulators.
#define ACC 544

// Per-dword right shifts that bring the high bits of scales 4k..4k+3
// (bits 2k, 2k+1 of scales[8..11]) down to bits 0, 1.
DATA q3kShifts<>+0(SB)/8, $0x0000000200000000
DATA q3kShifts<>+8(SB)/8, $0x0000000600000004
GLOBL q3kShifts<>(SB), RODATA|NOPTR, $16

// Q3K_SCALES(c0f, c03, c20): the sixteen signed scales sc_g − 32 of the
// Q3_K block at SI as bytes in X0, with 0x0F, 0x03 and 0x20 bytes in the
// three registers. Clobbers X1.
#define Q3K_SCALES(c0f, c03, c20) \
	VMOVQ        96(SI), X0; \
	VPSRLW       $4, X0, X1; \
	VPUNPCKLQDQ  X1, X0, X0; \
	VPAND        c0f, X0, X0; \
	VPBROADCASTD 104(SI), X1; \
	VPSRLVD      q3kShifts<>(SB), X1, X1; \
	VPAND        c03, X1, X1; \
	VPSLLW       $4, X1, X1; \
	VPOR         X1, X0, X0; \
	VPSUBB       c20, X0, X0

// UNPACK3R(r, c): the 32 codes u of run r into register c: Y0 holds the
// run's half of qs shifted right by 2k, Y15 hmask shifted right by r (word
// shifts: the low bits of each byte are still that byte's own); both
// advance. Y13 holds 0x03 bytes, Y14 0x04; clobbers Y3.
#define UNPACK3R(r, c) \
	VPAND   Y13, Y0, c; \
	VPSLLW  $2, Y15, Y3; \
	VPAND   Y14, Y3, Y3; \
	VPOR    Y3, c, c; \
	VPSRLW  $2, Y0, Y0; \
	VPSRLW  $1, Y15, Y15

// func dotQ3_KAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotQ3_KAVX2(SB), 0, $800-64
	SETUP(256)

sb:
	VPBROADCASTD kc0F<>(SB), X10
	VPBROADCASTD kc03<>(SB), X12
	VPBROADCASTD kc20<>(SB), X6
	Q3K_SCALES(X10, X12, X6)
	VPBROADCASTD kc02<>(SB), Y9
	VMOVDQU      q6kEvenOdd<>(SB), X13
	SCALES16
	VPBROADCASTD kc03<>(SB), Y13
	VPBROADCASTD kc04<>(SB), Y14
	VMOVDQU      (SI), Y15            // hmask
	VMOVDQU      32(SI), Y0
	UNPACK3R(0, Y5)
	UNPACK3R(1, Y6)
	UNPACK3R(2, Y7)
	UNPACK3R(3, Y8)
	VMOVDQU      64(SI), Y0
	UNPACK3R(4, Y9)
	UNPACK3R(5, Y10)
	UNPACK3R(6, Y11)
	UNPACK3R(7, Y12)
	VPBROADCASTW 108(SI), X14
	VCVTPH2PS    X14, Y14             // d
	ROWS16R(OFFSET_FINISH(2))
	ADVANCE_SB(110)
	STORE

#undef ACC

// ---------------------------------------------------------------------------
// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin
// (fp16). Element e of run r = e/32 = 4h+k (l = e%32) has the code
// qs[32h+l] >> 2k & 3 and sub-block g = e/16 the scale and min of
// scales[g]: w = d·sc_g·q − dmin·m_g. Codes 0..3 and scales 0..15 keep
// every VPMADDUBSW pair and int32 lane exact. 16-element sub-blocks as in
// Q6_K and Q3_K, so frame and registers are theirs with the mins in place
// of the scales at 512: the codes in Y5-Y12, 256 eight scale vectors, 512
// the 16 mins as int16, 544 accumulators (8×32).
#define ACC 544

// UNPACK2R(r, c): the 32 codes of run r into register c from Y0, its half
// of qs shifted right by 2k, which advances (Y13: 0x03 bytes).
#define UNPACK2R(r, c) \
	VPAND  Y13, Y0, c; \
	VPSRLW $2, Y0, Y0

// func dotQ2_KAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotQ2_KAVX2(SB), 0, $800-64
	SETUP(256)

sb:
	VPBROADCASTD kc0F<>(SB), X11
	VPBROADCASTD kc02<>(SB), Y9
	VMOVDQU      q6kEvenOdd<>(SB), X13
	VMOVDQU      (SI), X0
	VPAND        X11, X0, X1          // scales
	VPSRLW       $4, X0, X0
	VPAND        X11, X0, X0          // mins
	VPMOVZXBW    X0, Y0
	VMOVDQU      Y0, 512(SP)          // mins in order, int16
	VPSHUFB      X13, X1, X1
	VPMOVZXBW    X1, Y7               // even scales | odd scales
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
	VPBROADCASTD kc03<>(SB), Y13
	VMOVDQU      16(SI), Y0
	UNPACK2R(0, Y5)
	UNPACK2R(1, Y6)
	UNPACK2R(2, Y7)
	UNPACK2R(3, Y8)
	VMOVDQU      48(SI), Y0
	UNPACK2R(4, Y9)
	UNPACK2R(5, Y10)
	UNPACK2R(6, Y11)
	UNPACK2R(7, Y12)
	VPBROADCASTW 80(SI), X14
	VCVTPH2PS    X14, Y14             // d
	VPBROADCASTW 82(SI), X15
	VCVTPH2PS    X15, Y15             // dmin
	ROWS16R(FINISH_MIN(512))
	ADVANCE_SB(84)
	STORE

// ---------------------------------------------------------------------------
// IQ4_XS: d (fp16), scales_h (u16), scales_l[4], qs[128]. Group g (32
// elements) takes the codes qs[16g..16g+15], element j the low nibble and
// j+16 the high one; each code indexes the 16 int8 levels of iq4xsLevels
// (quant.IQ4Levels), and the group's scale is ls−32 with ls = nibble g%2 of
// scales_l[g/2] | (bits 2g, 2g+1 of scales_h)<<4. The levels are signed
// and reach ±127, so the unsigned-offset form of Q6_K would saturate
// VPMADDUBSW; the rows take Q4_0's sign trick instead: the eight groups'
// levels stay in Y5-Y12 (VPSIGNB's sign source; VPABSB gives the
// magnitudes), and the frame holds the group scales as dwords sc|sc<<16
// at 512. A lane's sum stays below
// 8·2·(2·127·127)·32 < 2^24: exact in int32 and in float32.
#undef ACC
#define ACC 544

DATA iq4xsLevels<>+0(SB)/8, $0xf6eaddcfbfad9881
DATA iq4xsLevels<>+8(SB)/8, $0x7159453526190d01
GLOBL iq4xsLevels<>(SB), RODATA|NOPTR, $16

// UNPACK_XSR(g, c): group g's 32 signed levels into register c (Y15
// holding 0x0F bytes, Y13 the levels in both lanes).
#define UNPACK_XSR(g, c) \
	VMOVDQU     (8+16*g)(SI), X0; \
	VPSRLW      $4, X0, X1; \
	VINSERTI128 $1, X1, Y0, c; \
	VPAND       Y15, c, c; \
	VPSHUFB     c, Y13, c

// SCALES_XS(mask): the eight signed group scales into the frame at 512 as
// the int16 pairs sc|sc<<16 (IQ4XS_SCALES, mask holding 0x0F bytes).
#define SCALES_XS(mask) \
	IQ4XS_SCALES(mask); \
	VPSLLD       $16, Y0, Y1; \
	VPBLENDW     $0xaa, Y1, Y0, Y0; \
	VMOVDQU      Y0, 512(SP)

// SUB_XSR(g, q): Y2 += (Σ over group g of level·a in int16 pairs)·sc_g,
// the levels in register q: their signs onto the activations, their
// magnitudes into VPMADDUBSW.
#define SUB_XSR(g, q) \
	VMOVDQU      (32*g)(AX), Y0; \
	VPSIGNB      q, Y0, Y0; \
	VPABSB       q, Y1; \
	VPMADDUBSW   Y0, Y1, Y0; \
	VPBROADCASTD (512+4*g)(SP), Y1; \
	VPMADDWD     Y1, Y0, Y0; \
	VPADDD       Y0, Y2, Y2

// func dotIQ4_XSAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotIQ4_XSAVX2(SB), 0, $800-64
	SETUP(256)
	MOVL           $0x0f0f0f0f, AX
	VMOVD          AX, X15
	VPBROADCASTD   X15, Y15
	VBROADCASTI128 iq4xsLevels<>(SB), Y13

sb:
	SCALES_XS(Y15)
	VPBROADCASTW (SI), X14
	VCVTPH2PS    X14, Y14
	UNPACK_XSR(0, Y5)
	UNPACK_XSR(1, Y6)
	UNPACK_XSR(2, Y7)
	UNPACK_XSR(3, Y8)
	UNPACK_XSR(4, Y9)
	UNPACK_XSR(5, Y10)
	UNPACK_XSR(6, Y11)
	UNPACK_XSR(7, Y12)
	MOVQ R8, AX
	MOVQ R10, BX
	MOVQ R12, DI
	XORQ R14, R14

row:
	VPXOR Y2, Y2, Y2
	SUB_XSR(0, Y5)
	SUB_XSR(1, Y6)
	SUB_XSR(2, Y7)
	SUB_XSR(3, Y8)
	SUB_XSR(4, Y9)
	SUB_XSR(5, Y10)
	SUB_XSR(6, Y11)
	SUB_XSR(7, Y12)
	FINISH_SCALED
	ADVANCE_ROW
	ADVANCE_SB(136)
	STORE

// SUB_XS1(g): SUB_XSR for one activation row (AX), the levels unpacked
// here.
#define SUB_XS1(g) \
	VMOVDQU      (8+16*g)(SI), X0; \
	VPSRLW       $4, X0, X1; \
	VINSERTI128  $1, X1, Y0, Y0; \
	VPAND        Y12, Y0, Y0; \
	VPSHUFB      Y0, Y13, Y0; \
	VPABSB       Y0, Y1; \
	VMOVDQU      (32*g)(AX), Y3; \
	VPSIGNB      Y0, Y3, Y3; \
	VPMADDUBSW   Y3, Y1, Y3; \
	VPBROADCASTD (512+4*g)(SP), Y1; \
	VPMADDWD     Y1, Y3, Y3; \
	VPADDD       Y3, Y2, Y2

// func dotIQ4_XS1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
//
// dotIQ4_XSAVX2 for one activation row (n is 1): the levels and the
// accumulator in registers, the same lanes and float operations.
TEXT ·dotIQ4_XS1AVX2(SB), 0, $800-64
	ONE_SETUP
	VBROADCASTI128 iq4xsLevels<>(SB), Y13
	VXORPS         Y15, Y15, Y15
	TESTQ          CX, CX
	JZ             store1

sb1:
	ONE_PREFETCH(1088)
	SCALES_XS(Y12)
	MOVQ         R8, AX
	VPXOR        Y2, Y2, Y2
	SUB_XS1(0)
	SUB_XS1(1)
	SUB_XS1(2)
	SUB_XS1(3)
	SUB_XS1(4)
	SUB_XS1(5)
	SUB_XS1(6)
	SUB_XS1(7)
	VPBROADCASTW (SI), X14
	VCVTPH2PS    X14, Y14
	VCVTDQ2PS    Y2, Y2
	VBROADCASTSS (R10), Y1
	VMULPS       Y14, Y1, Y1
	VFMADD231PS  Y1, Y2, Y15
	ONE_ADVANCE(136)

store1:
	MOVQ y+48(FP), SI
	HSUM(Y15, X15, (SI))
	VZEROUPPER
	RET

// SUB16_1(p): SUB6R for one activation row (AX) with the 32 codes of run p
// in Y1 and the scale vector made from Y7 by scaleWord's control p,
// without the frame.
#define SUB16_1(p) \
	VPMADDUBSW (32*p)(AX), Y1, Y1; \
	VPSHUFB    scaleWord<>+(32*p)(SB), Y7, Y3; \
	VPMADDWD   Y3, Y1, Y1; \
	VPADDD     Y1, Y2, Y2

// UNPACK3_1(r): UNPACK3R's codes of run r into Y1, then SUB16_1.
#define UNPACK3_1(r) \
	UNPACK3R(r, Y1); \
	SUB16_1(r)

// SCALE_WORDS(ext): the eight scale vectors' source (SCALES16 without the
// frame): Y7 the even | odd scales of X0 widened to int16 by ext.
#define SCALE_WORDS(ext) \
	VPSHUFB X13, X0, X0; \
	ext     X0, Y7

// func dotQ3_K1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
//
// dotQ3_KAVX2 for one activation row (n is 1), without the frame: the
// same exact int32 lanes and float operations, so the same bits.
TEXT ·dotQ3_K1AVX2(SB), NOSPLIT, $0-64
	ONE_ARGS
	VPBROADCASTD kc03<>(SB), Y12
	VPBROADCASTD kc0F<>(SB), Y10
	VPBROADCASTD kc20<>(SB), Y9
	VXORPS       Y5, Y5, Y5
	TESTQ        CX, CX
	JZ           store1

sb1:
	ONE_PREFETCH2(880)
	Q3K_SCALES(X10, X12, X9)
	VPMOVSXBW    X0, Y1
	VPMADDWD     (DI), Y1, Y1
	VPSLLD       $2, Y1, Y1
	VPXOR        Y2, Y2, Y2
	VPSUBD       Y1, Y2, Y2           // the offset's share first
	VMOVDQU      q6kEvenOdd<>(SB), X13
	SCALE_WORDS(VPMOVSXBW)
	VPBROADCASTD kc03<>(SB), Y13      // UNPACK3R's masks
	VPBROADCASTD kc04<>(SB), Y14
	VMOVDQU      (SI), Y15            // hmask
	VMOVDQU      32(SI), Y0
	UNPACK3_1(0)
	UNPACK3_1(1)
	UNPACK3_1(2)
	UNPACK3_1(3)
	VMOVDQU      64(SI), Y0
	UNPACK3_1(4)
	UNPACK3_1(5)
	UNPACK3_1(6)
	UNPACK3_1(7)
	VPBROADCASTW 108(SI), X14
	VCVTPH2PS    X14, Y14             // d
	VCVTDQ2PS    Y2, Y2
	VBROADCASTSS (BX), Y1
	VMULPS       Y14, Y1, Y1
	VFMADD231PS  Y1, Y2, Y5
	ONE_NEXT(110)

store1:
	MOVQ y+48(FP), SI
	HSUM(Y5, X5, (SI))
	VZEROUPPER
	RET

// UNPACK2_1(r): UNPACK2R's codes of run r into Y1, then SUB16_1.
#define UNPACK2_1(r) \
	UNPACK2R(r, Y1); \
	SUB16_1(r)

// func dotQ2_K1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
//
// dotQ2_KAVX2 for one activation row (n is 1), without the frame: the
// same exact int32 lanes and float operations, so the same bits.
TEXT ·dotQ2_K1AVX2(SB), NOSPLIT, $0-64
	ONE_ARGS
	VPBROADCASTD kc0F<>(SB), Y11
	VXORPS       Y5, Y5, Y5
	TESTQ        CX, CX
	JZ           store1

sb1:
	ONE_PREFETCH2(672)
	VMOVDQU      (SI), X0
	VPAND        X11, X0, X1          // scales
	VPSRLW       $4, X0, X0
	VPAND        X11, X0, X0          // mins
	VPMOVZXBW    X0, Y6               // mins in order, int16
	VMOVDQU      X1, X0
	VMOVDQU      q6kEvenOdd<>(SB), X13
	SCALE_WORDS(VPMOVZXBW)
	VPBROADCASTD kc03<>(SB), Y13      // UNPACK2R's mask
	VPXOR        Y2, Y2, Y2
	VMOVDQU      16(SI), Y0
	UNPACK2_1(0)
	UNPACK2_1(1)
	UNPACK2_1(2)
	UNPACK2_1(3)
	VMOVDQU      48(SI), Y0
	UNPACK2_1(4)
	UNPACK2_1(5)
	UNPACK2_1(6)
	UNPACK2_1(7)
	VPBROADCASTW 80(SI), X14
	VCVTPH2PS    X14, Y14             // d
	VPBROADCASTW 82(SI), X15
	VCVTPH2PS    X15, Y15             // dmin
	VMOVDQU      (DI), Y0
	VPMADDWD     Y6, Y0, Y0
	VCVTDQ2PS    Y2, Y2
	VCVTDQ2PS    Y0, Y0
	VBROADCASTSS (BX), Y1
	VMULPS       Y14, Y1, Y3
	VMULPS       Y15, Y1, Y1
	VFMADD231PS  Y3, Y2, Y5
	VFNMADD231PS Y1, Y0, Y5
	ONE_NEXT(84)

store1:
	MOVQ y+48(FP), SI
	HSUM(Y5, X5, (SI))
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// AVX-VNNI forms of the Q4_K, Q5_K and Q6_K kernels for CPUs with AVX-VNNI
// but no AVX-512: each sub-block's VPMADDWD by its scales and the VPADDD
// into Y2 that follows become one VPDPWSSD into Y2. The int32 sums are the
// same exact integers (no int16 pair product comes near overflow), so the
// bits are the AVX2 kernels'. The bodies are the AVX2 kernels' macros with
// the dot macros redefined; the VEX instructions are avxvnni_amd64.h's.

#undef SUB4R
#define SUB4R(j, q) \
	VPMADDUBSW   (32*j)(AX), q, Y0; \
	VPBROADCASTD (256+4*j)(SP), Y1; \
	AVXVNNI_W_Y2_Y0_Y1

// K_PAIR1's two sub-blocks go into Y2 one after the other, where the AVX2
// form adds them first: the same exact sum.
#undef K_PAIR1
#define K_PAIR1(c) \
	VPMADDUBSW   (64*c)(AX), Y1, Y1; \
	VPBROADCASTD (256+8*c)(SP), Y3; \
	AVXVNNI_W_Y2_Y1_Y3; \
	VPMADDUBSW   (64*c+32)(AX), Y0, Y0; \
	VPBROADCASTD (260+8*c)(SP), Y4; \
	AVXVNNI_W_Y2_Y0_Y4

#undef SUB6R
#define SUB6R(p, q) \
	VPMADDUBSW (32*p)(AX), q, Y0; \
	AVXVNNI_W_Y2_Y0_SP(256+32*p)

#undef Q6_SUB1
#define Q6_SUB1(p) \
	VPOR       Y1, Y0, Y0; \
	VPMADDUBSW (32*p)(AX), Y0, Y0; \
	VPSHUFB    scaleWord<>+(32*p)(SB), Y7, Y3; \
	AVXVNNI_W_Y2_Y0_Y3

#undef ACC
#define ACC 320

// func dotQ4_KAVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotQ4_KAVXVNNI(SB), 0, $576-64
	Q4_K_ROWS

// func dotQ4_K1AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotQ4_K1AVXVNNI(SB), 0, $576-64
	Q4_K_ONE

// func dotQ5_KAVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotQ5_KAVXVNNI(SB), 0, $576-64
	Q5_K_ROWS

// func dotQ5_K1AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotQ5_K1AVXVNNI(SB), 0, $576-64
	Q5_K_ONE

#undef ACC
#define ACC 544

// func dotQ6_KAVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotQ6_KAVXVNNI(SB), 0, $800-64
	Q6_K_ROWS

// func dotQ6_K1AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
TEXT ·dotQ6_K1AVXVNNI(SB), NOSPLIT, $0-64
	Q6_K_ONE

#undef ACC
