//go:build amd64

#include "textflag.h"
#include "avxvnni_amd64.h"

// Block dot kernels for the 32-element weight blocks, 256-bit: Q8_0, Q4_0,
// Q5_0 and IQ4_NL against Q8_0 activations, Q4_1 and Q5_1 against Q8_1. One call
// computes one weight row against nx ≤ 4 activation rows.
//
// func k(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
//   w:  nb weight blocks (ggml layout)
//   qs: activation quants, row i at qs + i·nb·32
//   d:  Q8_0: activation scales as float32, row i at d + i·nb·4;
//       Q8_1: (scale, s) float32 pairs, row i at d + i·nb·8, where s is the
//       block's fp16 d·Σq widened
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

// SETUP(dshift): the d rows are nb<<dshift bytes apart.
#define SETUP(dshift) \
	MOVQ         nb+8(FP), CX; \
	MOVQ         CX, AX; \
	SHLQ         $5, AX; \
	MOVQ         qs+16(FP), R8; \
	LEAQ         (R8)(AX*1), R9; \
	LEAQ         (R9)(AX*1), R10; \
	LEAQ         (R10)(AX*1), R11; \
	MOVQ         CX, AX; \
	SHLQ         $dshift, AX; \
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

// BLOCKS(load, rows, size): a kernel's loop over the row's blocks of size
// bytes (load unpacks one, rows runs it against every activation row),
// then the stores. Each block prefetches the block 64 on (a 2048-wide
// layer's next row): on two cores of the Intel Xeon VM, one-row calls
// from memory (NURI_KERNELS=avx2 -bench 'MatMul/.*nx=1$') read Q8_0 15.4
// -> 20.8-22.4 GB/s, Q4_1 6.9 -> 14.8-16.0, Q5_1 6.9 -> 16.2-16.3 (16
// blocks on: 17.7, 9.2, 6.9; 32: 22.4, 15.2, 9.7).
#define BLOCKS(load, rows, size) \
	TESTQ CX, CX; \
	JZ    store; \
loop: \
	PREFETCHT0 (64*size)(SI); \
	load; \
	rows; \
next: \
	ADDQ $size, SI; \
	ADDQ $32, AX; \
	INCQ BX; \
	DECQ CX; \
	JNZ  loop; \
store: \
	STORE; \
done: \
	VZEROUPPER; \
	RET

// ---------------------------------------------------------------------------
// Four Q4_0, IQ4_NL or Q5_0 weight rows against one activation row
// (decode's calls). The one-row kernels below carry a single FMA chain
// through a row's blocks and are bound by their arithmetic (Q4_0 23-26 G
// weights/s on a Zen 5 core); here four rows' chains run side by side and
// share each block's activation load and scale, and Q4_0 takes its
// nibbles unsigned (34-38 G weights/s; IQ4_NL 26 -> 28-31, Q5_0 20.6 ->
// 22; from memory on two cores, Q4_0 22-25 -> 26-31 GB/s, IQ4_NL 19-22 ->
// 24-26, Q5_0 22-23 -> 22.5-24.5). Every output gets the one-row kernel's
// int32 lanes, then the same float steps in the same order (the product
// of the two scales, one FMA into its accumulator, HSUM), so it has that
// kernel's bits.
//
// Four rows read side by side, 18-22 bytes a block each, 1-5 KiB apart, are
// not a pattern the hardware prefetchers follow: without help a 75 MB
// matrix read at 11-13 GB/s on two cores, against 27 GB/s a row at a
// time. So each block also prefetches two lines of the rows GROUPS_AHEAD
// calls on (R13: the next rows' bytes swept at four times the rows' pace),
// and the same matrix read at 32-36 GB/s; one and two groups ahead read
// 1-3 GB/s less, eight the same as four. Q8_0 had the same form (41
// against 29 G weights/s in L2), but streamed from memory, where a Q8_0
// row kernel is already near what two cores read, it was as often slower
// than the one-row kernel as faster (docs/performance.md, round 45).
//
// func k(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)
//   w:   row r's blocks at w + r·wstride
//   qs:  the activation row's quants, d its float32 scales
//   y:   output r at y + 4·r
//
// Register use: Y0-Y3 the rows' accumulators, Y4 d_w, Y5-Y9
// temporaries (Q4_0: Y6 0x08 bytes), Y10 a type's constant or per-block
// activation term, Y11 the activation block's scale, Y12 its quants, Y13
// the nibble shifts, Y14 0x0F bytes, Y15 int16 ones. SI, R9, R10, R11 the
// rows, R12 the block's byte offset in a row, AX qs, BX d, CX blocks
// left, R13 the prefetches' base.

#define GROUPS_AHEAD 4

// ENTRY4: the arguments, the shared constants (Y13-Y15) and zeroed
// accumulators.
#define ENTRY4 \
	MOVQ         w+0(FP), SI; \
	MOVQ         wstride+8(FP), DX; \
	LEAQ         (SI)(DX*1), R9; \
	LEAQ         (R9)(DX*1), R10; \
	LEAQ         (R10)(DX*1), R11; \
	MOVQ         DX, R13; \
	IMULQ        $(4*GROUPS_AHEAD), R13; \
	ADDQ         SI, R13; \
	MOVQ         nb+16(FP), CX; \
	MOVQ         qs+24(FP), AX; \
	MOVQ         d+32(FP), BX; \
	MOVL         $0x00010001, DX; \
	VMOVD        DX, X15; \
	VPBROADCASTD X15, Y15; \
	MOVL         $0x0f0f0f0f, DX; \
	VMOVD        DX, X14; \
	VPBROADCASTD X14, Y14; \
	VMOVDQU      q4HighShift<>(SB), Y13; \
	XORQ         R12, R12; \
	VXORPS       Y0, Y0, Y0; \
	VXORPS       Y1, Y1, Y1; \
	VXORPS       Y2, Y2, Y2; \
	VXORPS       Y3, Y3, Y3

// LOOP4(prep, row, size): the blocks of size bytes, prep run once a block
// after the activation block's load, row for each of the four rows; then
// the four outputs.
#define LOOP4(prep, row, size) \
	TESTQ        CX, CX; \
	JZ           store4; \
loop4: \
	VMOVDQU      (AX), Y12; \
	VBROADCASTSS (BX), Y11; \
	prep; \
	row(SI, Y0); \
	row(R9, Y1); \
	row(R10, Y2); \
	row(R11, Y3); \
	PREFETCHT0   (R13)(R12*4); \
	PREFETCHT0   64(R13)(R12*4); \
	ADDQ         $size, R12; \
	ADDQ         $32, AX; \
	ADDQ         $4, BX; \
	DECQ         CX; \
	JNZ          loop4; \
store4: \
	MOVQ         y+40(FP), DI; \
	HSUM(Y0, X0, (DI)); \
	HSUM(Y1, X1, 4(DI)); \
	HSUM(Y2, X2, 8(DI)); \
	HSUM(Y3, X3, 12(DI)); \
	VZEROUPPER; \
	RET

// NIBBLES4(off, b): the 16 code bytes at off in row b's block into the 32
// nibbles of Y5, as NIBBLES orders them: the bytes in both halves, the
// high half shifted right by 4 (dword shifts by Y13), the low nibble of
// each byte kept.
#define NIBBLES4(off, b) \
	VBROADCASTI128 off(b)(R12*1), Y5; \
	VPSRLVD        Y13, Y5, Y5; \
	VPAND          Y14, Y5, Y5

// D4(b): row b's block scale into Y4.
#define D4(b) \
	VPBROADCASTW (b)(R12*1), X4; \
	VCVTPH2PS    X4, Y4

// SCALE4(lanes, acc): the block's int32 lanes into acc, as ROW adds them:
// times d_w·d_a, one FMA.
#define SCALE4(lanes, acc) \
	VCVTDQ2PS   lanes, lanes; \
	VMULPS      Y4, Y11, Y9; \
	VFMADD231PS Y9, lanes, acc

// SIGNED4(acc): the signed weights in Y5 against the activation block
// (Y11, Y12) into acc: ROW's steps, with ROW's dot (DOT, whichever form
// is defined where a kernel expands it).
#define SIGNED4(acc) \
	VPABSB      Y5, Y6; \
	VPSIGNB     Y5, Y12, Y7; \
	DOT(Y6, Y7, Y8); \
	SCALE4(Y8, acc)

// Q4_0: the nibbles taken unsigned. Each lane's Σ(n−8)·a is Σn·a − Σ8·a,
// exact integers both ways, so the lanes are LOAD_Q4_0's; Σ8·a (Y10) is
// the activation block's alone, made once for the four rows (PREP_Q4_0,
// with Y6 0x08 bytes).
#define PREP_Q4_0 DOT_AVX2(Y6, Y12, Y10)

// NO_PREP: no per-block activation work.
#define NO_PREP

#define ROW4_Q4_0(b, acc) \
	D4(b); \
	NIBBLES4(2, b); \
	DOT_AVX2(Y5, Y12, Y7); \
	VPSUBD      Y10, Y7, Y7; \
	SCALE4(Y7, acc)

// IQ4_NL: LOAD_IQ4_NL's levels (the table in Y10), then ROW's steps.
#define ROW4_IQ4_NL(b, acc) \
	D4(b); \
	NIBBLES4(2, b); \
	VPSHUFB Y5, Y10, Y5; \
	SIGNED4(acc)

// Q5_0: LOAD_Q5_0's signed codes (QH_BITS with its constants from memory
// and q5Bits in Y10), then ROW's steps.
#define ROW4_Q5_0(b, acc) \
	D4(b); \
	NIBBLES4(6, b); \
	VPBROADCASTD 2(b)(R12*1), Y7; \
	VPSHUFB      q5Spread<>(SB), Y7, Y7; \
	VPAND        Y10, Y7, Y7; \
	VPCMPEQB     Y10, Y7, Y7; \
	VPANDN       q5High<>(SB), Y7, Y7; \
	VPOR         Y7, Y5, Y5; \
	SIGNED4(acc)

DATA q5High<>+0(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA q5High<>+8(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA q5High<>+16(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA q5High<>+24(SB)/8, $0xf0f0f0f0f0f0f0f0
GLOBL q5High<>(SB), RODATA|NOPTR, $32

DATA q4HighShift<>+0(SB)/8, $0
DATA q4HighShift<>+8(SB)/8, $0
DATA q4HighShift<>+16(SB)/8, $0x0000000400000004
DATA q4HighShift<>+24(SB)/8, $0x0000000400000004
GLOBL q4HighShift<>(SB), RODATA|NOPTR, $32

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
	SETUP(2)
	BLOCKS(LOAD_Q8_0, ROWS, 34)

// func dotQ4_0AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-64
	SETUP(2)
	BLOCKS(LOAD_Q4_0, ROWS, 18)

// func dotQ4_0R4AVX2(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)
TEXT ·dotQ4_0R4AVX2(SB), NOSPLIT, $0-48
	ENTRY4
	MOVL         $0x08080808, DX
	VMOVD        DX, X6
	VPBROADCASTD X6, Y6
	LOOP4(PREP_Q4_0, ROW4_Q4_0, 18)

// ---------------------------------------------------------------------------
// Five-bit weights: each block's qh holds the fifth bit of element e in bit
// e, and element e sits in byte e of the nibble vector (low nibbles first, as
// LOAD_Q4_0 builds it). QH_BITS(off) turns the four qh bytes into a byte mask
// in Y7, 0xFF where the bit is set: byte e copies qh byte e/8 (q5Spread),
// keeps bit e%8 (q5Bits) and compares. Y11 holds q5Bits, Y12 q5Spread.

DATA q5Spread<>+0(SB)/8, $0x0000000000000000
DATA q5Spread<>+8(SB)/8, $0x0101010101010101
DATA q5Spread<>+16(SB)/8, $0x0202020202020202
DATA q5Spread<>+24(SB)/8, $0x0303030303030303
GLOBL q5Spread<>(SB), RODATA|NOPTR, $32

DATA q5Bits<>+0(SB)/8, $0x8040201008040201
GLOBL q5Bits<>(SB), RODATA|NOPTR, $8

// SETUP_Q5(hi): the qh constants, and Y13 = hi in every byte (replacing
// SETUP's 0x08).
#define SETUP_Q5(hi) \
	VMOVDQU      q5Spread<>(SB), Y12; \
	VPBROADCASTQ q5Bits<>(SB), Y11; \
	MOVL         $hi, AX; \
	VMOVD        AX, X13; \
	VPBROADCASTD X13, Y13; \
	XORQ         AX, AX

#define QH_BITS(off) \
	VPBROADCASTD off(SI), Y7; \
	VPSHUFB      Y12, Y7, Y7; \
	VPAND        Y11, Y7, Y7; \
	VPCMPEQB     Y11, Y7, Y7

// NIBBLES(off): the 16 code bytes at off into the 32 nibbles of Y5.
#define NIBBLES(off) \
	VMOVDQU     off(SI), X5; \
	VPSRLW      $4, X5, X8; \
	VINSERTI128 $1, X8, Y5, Y5; \
	VPAND       Y14, Y5, Y5

// Q5_0 weight block: d (fp16), qh[4], qs[16]; value = (nibble | bit<<4) − 16,
// which is the nibble with 0xF0 set where the fifth bit is clear (Y13 =
// 0xF0): a signed byte in −16..15, so the sign trick of Q4_0 applies.
#define LOAD_Q5_0 \
	VPBROADCASTW (SI), X4; \
	VCVTPH2PS    X4, Y4; \
	NIBBLES(6); \
	QH_BITS(2); \
	VPANDN       Y13, Y7, Y7; \
	VPOR         Y7, Y5, Y5; \
	VPABSB       Y5, Y6

// func dotQ5_0AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $0-64
	SETUP(2)
	SETUP_Q5(0xf0f0f0f0)
	BLOCKS(LOAD_Q5_0, ROWS, 22)

// func dotQ5_0R4AVX2(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)
TEXT ·dotQ5_0R4AVX2(SB), NOSPLIT, $0-48
	ENTRY4
	VPBROADCASTQ q5Bits<>(SB), Y10
	LOOP4(NO_PREP, ROW4_Q5_0, 22)

// ---------------------------------------------------------------------------
// IQ4_NL weight block: Q4_0's layout, but each nibble indexes the 16 int8
// levels of iq4Levels (quant.IQ4Levels) instead of standing for nibble − 8:
// one VPSHUFB with the table in both lanes of Y13 (replacing Q4_0's 0x08
// bytes) turns the nibbles into signed weights, then Q4_0's sign trick
// applies (|level| ≤ 127; no level is 0, so VPSIGNB never zeroes a product).

DATA iq4Levels<>+0(SB)/8, $0xf6eaddcfbfad9881
DATA iq4Levels<>+8(SB)/8, $0x7159453526190d01
GLOBL iq4Levels<>(SB), RODATA|NOPTR, $16

#define LOAD_IQ4_NL \
	VPBROADCASTW (SI), X4; \
	VCVTPH2PS    X4, Y4; \
	NIBBLES(2); \
	VPSHUFB      Y5, Y13, Y5; \
	VPABSB       Y5, Y6

// func dotIQ4_NLAVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotIQ4_NLAVX2(SB), NOSPLIT, $0-64
	SETUP(2)
	VBROADCASTI128 iq4Levels<>(SB), Y13
	BLOCKS(LOAD_IQ4_NL, ROWS, 18)

// func dotIQ4_NLR4AVX2(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)
TEXT ·dotIQ4_NLR4AVX2(SB), NOSPLIT, $0-48
	ENTRY4
	VBROADCASTI128 iq4Levels<>(SB), Y10
	LOOP4(NO_PREP, ROW4_IQ4_NL, 18)

// ---------------------------------------------------------------------------
// Q4_1 and Q5_1 against Q8_1: the codes are unsigned (value = d·q + m), so
// they go straight into VPMADDUBSW (q ≤ 31, |a| ≤ 128: a pair is at most
// 7936, no saturation). Per block and activation row the lanes become
// lanes·(d_w·d_a) + (m·s, 0, …, 0), m·s being the min's share (s = d_a·Σa
// from the Q8_1 block; VMOVSS clears X10's other lanes and VMULSS keeps
// them), and are added to acc: one add a block in acc's dependency chain,
// where an FMA into acc and a second add would make two. Y6 holds m in
// lane 0.

// DOT1: ROW1's dot, the codes (Y5) against the activations (Y7) into Y8.
#define DOT1 DOT_AVX2(Y5, Y7, Y8)

// ROW1(qb, db, acc): one Q8_1 activation row against the block in Y5/Y4/Y6.
#define ROW1(qb, db, acc) \
	VMOVDQU      (qb)(AX*1), Y7; \
	DOT1; \
	VCVTDQ2PS    Y8, Y8; \
	VBROADCASTSS (db)(BX*8), Y9; \
	VMULPS       Y4, Y9, Y9; \
	VMOVSS       4(db)(BX*8), X10; \
	VMULSS       X6, X10, X10; \
	VFMADD213PS  Y10, Y9, Y8; \
	VADDPS       Y8, acc, acc

#define ROWS1 \
	ROW1(R8, R12, Y0); \
	CMPQ DX, $1; \
	JEQ  next; \
	ROW1(R9, R13, Y1); \
	CMPQ DX, $2; \
	JEQ  next; \
	ROW1(R10, R14, Y2); \
	CMPQ DX, $3; \
	JEQ  next; \
	ROW1(R11, DI, Y3)

#define LOAD_D_M \
	VPBROADCASTW (SI), X4; \
	VCVTPH2PS    X4, Y4; \
	VPBROADCASTW 2(SI), X6; \
	VCVTPH2PS    X6, X6

// Q4_1 weight block: d, m (fp16), qs[16] as Q4_0's.
#define LOAD_Q4_1 \
	LOAD_D_M; \
	NIBBLES(4)

// Q5_1 weight block: d, m (fp16), qh[4], qs[16]; q = nibble | bit<<4
// (Y13 = 0x10).
#define LOAD_Q5_1 \
	LOAD_D_M; \
	NIBBLES(8); \
	QH_BITS(4); \
	VPAND        Y13, Y7, Y7; \
	VPOR         Y7, Y5, Y5

// func dotQ4_1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ4_1AVX2(SB), NOSPLIT, $0-64
	SETUP(3)
	BLOCKS(LOAD_Q4_1, ROWS1, 20)

// func dotQ5_1AVX2(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ5_1AVX2(SB), NOSPLIT, $0-64
	SETUP(3)
	SETUP_Q5(0x10101010)
	BLOCKS(LOAD_Q5_1, ROWS1, 24)

#undef DOT
#define DOT DOT_VNNI

// func dotQ8_0VNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ8_0VNNI(SB), NOSPLIT, $0-64
	SETUP(2)
	BLOCKS(LOAD_Q8_0, ROWS, 34)

// func dotQ4_0VNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ4_0VNNI(SB), NOSPLIT, $0-64
	SETUP(2)
	BLOCKS(LOAD_Q4_0, ROWS, 18)

// ---------------------------------------------------------------------------
// AVX-VNNI forms of the kernels above, for CPUs with AVX-VNNI but without
// AVX-512: the same steps with the int8 dot on VEX VPDPBUSD
// (avxvnni_amd64.h), so the same int32 lanes and the same bits.

// DOT_AVXVNNI is DOT for its uses in ROW and SIGNED4: u = Y6, s = Y7,
// dst = Y8.
#define DOT_AVXVNNI(u, s, dst) \
	VPXOR Y8, Y8, Y8; \
	AVXVNNI_Y8_Y6_Y7

#undef DOT
#define DOT DOT_AVXVNNI

// func dotQ8_0AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ8_0AVXVNNI(SB), NOSPLIT, $0-64
	SETUP(2)
	BLOCKS(LOAD_Q8_0, ROWS, 34)

// func dotQ4_0AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ4_0AVXVNNI(SB), NOSPLIT, $0-64
	SETUP(2)
	BLOCKS(LOAD_Q4_0, ROWS, 18)

// Four Q4_0 rows with AVX-VNNI: the block's −Σ8·a (Y10) is each row's
// starting lanes, and VPDPBUSD adds Σn·a to them, where the AVX2 form
// subtracts Σ8·a from Σn·a: the same exact integers, so the same bits, in
// two instructions fewer a row.
#define PREP_Q4_0_AVXVNNI \
	VPXOR   Y10, Y10, Y10; \
	AVXVNNI_Y10_Y6_Y12; \
	VPXOR   Y9, Y9, Y9; \
	VPSUBD  Y10, Y9, Y10

#define ROW4_Q4_0_AVXVNNI(b, acc) \
	D4(b); \
	NIBBLES4(2, b); \
	VMOVDQU Y10, Y7; \
	AVXVNNI_Y7_Y5_Y12; \
	SCALE4(Y7, acc)

// func dotQ4_0R4AVXVNNI(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)
TEXT ·dotQ4_0R4AVXVNNI(SB), NOSPLIT, $0-48
	ENTRY4
	MOVL         $0x08080808, DX
	VMOVD        DX, X6
	VPBROADCASTD X6, Y6
	LOOP4(PREP_Q4_0_AVXVNNI, ROW4_Q4_0_AVXVNNI, 18)

// Q5_0 and IQ4_NL with AVX-VNNI: their AVX2 kernels, whose ROW and
// SIGNED4 now expand DOT_AVXVNNI.

// func dotQ5_0AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ5_0AVXVNNI(SB), NOSPLIT, $0-64
	SETUP(2)
	SETUP_Q5(0xf0f0f0f0)
	BLOCKS(LOAD_Q5_0, ROWS, 22)

// func dotQ5_0R4AVXVNNI(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)
TEXT ·dotQ5_0R4AVXVNNI(SB), NOSPLIT, $0-48
	ENTRY4
	VPBROADCASTQ q5Bits<>(SB), Y10
	LOOP4(NO_PREP, ROW4_Q5_0, 22)

// func dotIQ4_NLAVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotIQ4_NLAVXVNNI(SB), NOSPLIT, $0-64
	SETUP(2)
	VBROADCASTI128 iq4Levels<>(SB), Y13
	BLOCKS(LOAD_IQ4_NL, ROWS, 18)

// func dotIQ4_NLR4AVXVNNI(w *byte, wstride int, nb int, qs *byte, d *float32, y *float32)
TEXT ·dotIQ4_NLR4AVXVNNI(SB), NOSPLIT, $0-48
	ENTRY4
	VBROADCASTI128 iq4Levels<>(SB), Y10
	LOOP4(NO_PREP, ROW4_IQ4_NL, 18)

// Q4_1 and Q5_1 with AVX-VNNI: ROW1 with its dot (DOT1) taken by
// VPDPBUSD.
#undef DOT1
#define DOT1 \
	VPXOR Y8, Y8, Y8; \
	AVXVNNI_Y8_Y5_Y7

// func dotQ4_1AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ4_1AVXVNNI(SB), NOSPLIT, $0-64
	SETUP(3)
	BLOCKS(LOAD_Q4_1, ROWS1, 20)

// func dotQ5_1AVXVNNI(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
TEXT ·dotQ5_1AVXVNNI(SB), NOSPLIT, $0-64
	SETUP(3)
	SETUP_Q5(0x10101010)
	BLOCKS(LOAD_Q5_1, ROWS1, 24)
