//go:build amd64

#include "textflag.h"

// func nibbleToQ8_0(dst *byte, src *byte, n int, nb int, sstride int, table *int8)
// Transcodes n rows of nb 18-byte nibble blocks (Q4_0, IQ4_NL: fp16 d,
// then 16 bytes whose low nibbles are elements 0-15 and high nibbles
// elements 16-31), sstride bytes apart, into Q8_0 blocks at dst, the rows
// one after another: d is copied and each code becomes its int8 level
// table[code], looked up 16 at a time with VPSHUFB. The values are the
// same (level·d), so the Q8_0 attention loops run on the copy, which
// stays in L1. AVX2 (VEX) code; the row 8 ahead is prefetched, as the
// Q8_0 loops do over the cache.
TEXT ·nibbleToQ8_0(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVQ         nb+24(FP), BX
	MOVQ         sstride+32(FP), R9
	MOVQ         table+40(FP), AX
	VMOVDQU      (AX), X5
	MOVL         $0x0F0F0F0F, AX
	VMOVD        AX, X4
	VPBROADCASTD X4, X4

trow:
	PREFETCHT0 (SI)(R9*8)
	PREFETCHT0 63(SI)(R9*8)
	MOVQ       SI, R10
	MOVQ       BX, R12

tblk:
	MOVWLZX (R10), AX
	MOVW    AX, (DI)
	VMOVDQU 2(R10), X2
	VPSRLW  $4, X2, X3
	VPAND   X4, X2, X2
	VPAND   X4, X3, X3
	VPSHUFB X2, X5, X2
	VPSHUFB X3, X5, X3
	VMOVDQU X2, 2(DI)
	VMOVDQU X3, 18(DI)
	ADDQ    $18, R10
	ADDQ    $34, DI
	DECQ    R12
	JNZ     tblk
	ADDQ    R9, SI
	DECQ    CX
	JNZ     trow
	VZEROUPPER
	RET

// Constants of the 5-bit blocks: VPSHUFB indexes that spread qh's bytes 0
// and 1 (elements 0-15) and 2 and 3 (elements 16-31) eight lanes each,
// each lane's bit, and the fifth bit's value 0x10 (also Q5_0's offset).
DATA q5lo<>+0(SB)/8, $0x0000000000000000
DATA q5lo<>+8(SB)/8, $0x0101010101010101
GLOBL q5lo<>(SB), RODATA|NOPTR, $16
DATA q5hi<>+0(SB)/8, $0x0202020202020202
DATA q5hi<>+8(SB)/8, $0x0303030303030303
GLOBL q5hi<>(SB), RODATA|NOPTR, $16
DATA q5bit<>+0(SB)/8, $0x8040201008040201
DATA q5bit<>+8(SB)/8, $0x8040201008040201
GLOBL q5bit<>(SB), RODATA|NOPTR, $16
DATA q5x10<>+0(SB)/8, $0x1010101010101010
DATA q5x10<>+8(SB)/8, $0x1010101010101010
GLOBL q5x10<>(SB), RODATA|NOPTR, $16

// Q5CONSTS loads the registers Q5CODES reads: X4 the low-nibble mask,
// X8/X11 the spreading indexes, X9 the lane bits, X10 0x10.
#define Q5CONSTS \
	MOVL         $0x0F0F0F0F, AX; \
	VMOVD        AX, X4; \
	VPBROADCASTD X4, X4; \
	VMOVDQU      q5lo<>(SB), X8; \
	VMOVDQU      q5hi<>(SB), X11; \
	VMOVDQU      q5bit<>(SB), X9; \
	VMOVDQU      q5x10<>(SB), X10

// Q5CODES(QH, QS): the 32 five-bit codes of a block whose 4 bytes of
// fifth bits are at QH and 16 bytes of nibbles at QS: elements 0-15 in X0,
// 16-31 in X1 (element e's fifth bit is bit e of the little-endian qh);
// X2, X3 and X13 are scratch.
#define Q5CODES(QH, QS) \
	VMOVD    QH, X13; \
	VPSHUFB  X8, X13, X2; \
	VPAND    X9, X2, X2; \
	VPCMPEQB X9, X2, X2; \
	VPAND    X10, X2, X2; \
	VPSHUFB  X11, X13, X3; \
	VPAND    X9, X3, X3; \
	VPCMPEQB X9, X3, X3; \
	VPAND    X10, X3, X3; \
	VMOVDQU  QS, X0; \
	VPSRLW   $4, X0, X1; \
	VPAND    X4, X0, X0; \
	VPAND    X4, X1, X1; \
	VPOR     X2, X0, X0; \
	VPOR     X3, X1, X1

// func q5_0ToQ8_0(dst *byte, src *byte, n int, nb int, sstride int)
// nibbleToQ8_0 for Q5_0's 22-byte blocks (fp16 d, 4 bytes of fifth bits,
// 16 bytes of nibbles): each value's quant is its code - 16.
TEXT ·q5_0ToQ8_0(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVQ         nb+24(FP), BX
	MOVQ         sstride+32(FP), R9
	Q5CONSTS
q5row:
	PREFETCHT0 (SI)(R9*8)
	PREFETCHT0 63(SI)(R9*8)
	MOVQ       SI, R10
	MOVQ       BX, R12
q5blk:
	MOVWLZX (R10), AX
	MOVW    AX, (DI)
	Q5CODES(2(R10), 6(R10))
	VPSUBB  X10, X0, X0 // the offset 16 is the fifth bit's 0x10
	VPSUBB  X10, X1, X1
	VMOVDQU X0, 2(DI)
	VMOVDQU X1, 18(DI)
	ADDQ    $22, R10
	ADDQ    $34, DI
	DECQ    R12
	JNZ     q5blk
	ADDQ    R9, SI
	DECQ    CX
	JNZ     q5row
	VZEROUPPER
	RET

// MINS stores the block's fp16 m (at R10+2) as float32 at (R13), and
// steps R13 to the next block's (R14 bytes on).
#define MINS \
	MOVWLZX   2(R10), AX; \
	VMOVD     AX, X6; \
	VCVTPH2PS X6, X6; \
	VMOVSS    X6, (R13); \
	ADDQ      R14, R13

// func q4_1ToQ8_0(dst *byte, mins *float32, src *byte, n int, nb int, sstride int)
// nibbleToQ8_0 for Q4_1's 20-byte blocks (fp16 d, fp16 m, 16 bytes of
// nibbles): each value's quant is its code, so the Q8_0 block holds the
// value less the block's m, and m goes to mins as float32, block b of
// row j at mins[b·n+j] (the caller adds it back).
TEXT ·q4_1ToQ8_0(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         mins+8(FP), R11
	MOVQ         src+16(FP), SI
	MOVQ         n+24(FP), CX
	MOVQ         nb+32(FP), BX
	MOVQ         sstride+40(FP), R9
	LEAQ         (CX*4), R14
	MOVL         $0x0F0F0F0F, AX
	VMOVD        AX, X4
	VPBROADCASTD X4, X4
t41row:
	PREFETCHT0 (SI)(R9*8)
	PREFETCHT0 63(SI)(R9*8)
	MOVQ       SI, R10
	MOVQ       BX, R12
	MOVQ       R11, R13
t41blk:
	MOVWLZX (R10), AX
	MOVW    AX, (DI)
	MINS
	VMOVDQU 4(R10), X2
	VPSRLW  $4, X2, X3
	VPAND   X4, X2, X2
	VPAND   X4, X3, X3
	VMOVDQU X2, 2(DI)
	VMOVDQU X3, 18(DI)
	ADDQ    $20, R10
	ADDQ    $34, DI
	DECQ    R12
	JNZ     t41blk
	ADDQ    R9, SI
	ADDQ    $4, R11
	DECQ    CX
	JNZ     t41row
	VZEROUPPER
	RET

// func q5_1ToQ8_0(dst *byte, mins *float32, src *byte, n int, nb int, sstride int)
// q4_1ToQ8_0 for Q5_1's 24-byte blocks (fp16 d, fp16 m, 4 bytes of fifth
// bits, 16 bytes of nibbles): each value's quant is its 5-bit code.
TEXT ·q5_1ToQ8_0(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         mins+8(FP), R11
	MOVQ         src+16(FP), SI
	MOVQ         n+24(FP), CX
	MOVQ         nb+32(FP), BX
	MOVQ         sstride+40(FP), R9
	LEAQ         (CX*4), R14
	Q5CONSTS
t51row:
	PREFETCHT0 (SI)(R9*8)
	PREFETCHT0 63(SI)(R9*8)
	MOVQ       SI, R10
	MOVQ       BX, R12
	MOVQ       R11, R13
t51blk:
	MOVWLZX (R10), AX
	MOVW    AX, (DI)
	MINS
	Q5CODES(4(R10), 8(R10))
	VMOVDQU X0, 2(DI)
	VMOVDQU X1, 18(DI)
	ADDQ    $24, R10
	ADDQ    $34, DI
	DECQ    R12
	JNZ     t51blk
	ADDQ    R9, SI
	ADDQ    $4, R11
	DECQ    CX
	JNZ     t51row
	VZEROUPPER
	RET

// AFFINE(OFF): the 32 codes in X0 (elements 0-15) and X1 (16-31) as
// float32(code)·d + m, each product rounded before the sum (Y6 d, Y7 m
// broadcast), stored at OFF(DI) and on: quant.Dequantize's Q4_1/Q5_1.
#define AFFINE \
	VPMOVZXBD   X0, Y2; \
	VCVTDQ2PS   Y2, Y2; \
	VMULPS      Y6, Y2, Y2; \
	VADDPS      Y7, Y2, Y2; \
	VMOVUPS     Y2, (DI); \
	VPSRLDQ     $8, X0, X0; \
	VPMOVZXBD   X0, Y2; \
	VCVTDQ2PS   Y2, Y2; \
	VMULPS      Y6, Y2, Y2; \
	VADDPS      Y7, Y2, Y2; \
	VMOVUPS     Y2, 32(DI); \
	VPMOVZXBD   X1, Y2; \
	VCVTDQ2PS   Y2, Y2; \
	VMULPS      Y6, Y2, Y2; \
	VADDPS      Y7, Y2, Y2; \
	VMOVUPS     Y2, 64(DI); \
	VPSRLDQ     $8, X1, X1; \
	VPMOVZXBD   X1, Y2; \
	VCVTDQ2PS   Y2, Y2; \
	VMULPS      Y6, Y2, Y2; \
	VADDPS      Y7, Y2, Y2; \
	VMOVUPS     Y2, 96(DI)

// DM loads a block's fp16 d and m (at R10) broadcast into Y6 and Y7.
#define DM \
	MOVWLZX      (R10), AX; \
	VMOVD        AX, X6; \
	VCVTPH2PS    X6, X6; \
	VBROADCASTSS X6, Y6; \
	MOVWLZX      2(R10), AX; \
	VMOVD        AX, X7; \
	VCVTPH2PS    X7, X7; \
	VBROADCASTSS X7, Y7

// func dequantQ4_1Rows(dst *float32, src *byte, n int, nb int, sstride int)
// Dequantizes n rows of nb Q4_1 blocks (20 bytes: fp16 d, fp16 m, 16
// bytes of nibbles), sstride bytes apart, into consecutive float32 rows.
TEXT ·dequantQ4_1Rows(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVQ         nb+24(FP), BX
	MOVQ         sstride+32(FP), R9
	MOVL         $0x0F0F0F0F, AX
	VMOVD        AX, X4
	VPBROADCASTD X4, X4
d41row:
	PREFETCHT0 (SI)(R9*8)
	PREFETCHT0 63(SI)(R9*8)
	MOVQ       SI, R10
	MOVQ       BX, R12
d41blk:
	DM
	VMOVDQU 4(R10), X0
	VPSRLW  $4, X0, X1
	VPAND   X4, X0, X0
	VPAND   X4, X1, X1
	AFFINE
	ADDQ    $20, R10
	ADDQ    $128, DI
	DECQ    R12
	JNZ     d41blk
	ADDQ    R9, SI
	DECQ    CX
	JNZ     d41row
	VZEROUPPER
	RET

// func dequantQ5_1Rows(dst *float32, src *byte, n int, nb int, sstride int)
// dequantQ4_1Rows for Q5_1's 24-byte blocks (fp16 d, fp16 m, 4 bytes of
// fifth bits, 16 bytes of nibbles).
TEXT ·dequantQ5_1Rows(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ nb+24(FP), BX
	MOVQ sstride+32(FP), R9
	Q5CONSTS
d51row:
	PREFETCHT0 (SI)(R9*8)
	PREFETCHT0 63(SI)(R9*8)
	MOVQ       SI, R10
	MOVQ       BX, R12
d51blk:
	DM
	Q5CODES(4(R10), 8(R10))
	AFFINE
	ADDQ    $24, R10
	ADDQ    $128, DI
	DECQ    R12
	JNZ     d51blk
	ADDQ    R9, SI
	DECQ    CX
	JNZ     d51row
	VZEROUPPER
	RET
