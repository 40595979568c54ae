// Shared by the K-quant row kernels (kquants_amd64.s, AVX2, and
// kquants_avx512_amd64.s, AVX-512BW): calling convention and frame macros.
// Each file defines ACC, the frame offset of the accumulators, before use.
// One call computes one weight row against n ≤ 8 activation rows.
//
// func k(w *byte, nb int, qs *byte, d *float32, bs *int16, n int, y *float32, ystride int)
//   qs: activation quants, row i at qs + i·nb·256
//   d:  activation scales (float32), row i at d + i·nb·4
//   bs: activation group sums (16 int16 per super-block), row i at bs + i·nb·32
//
// Per super-block the weights are unpacked once into the frame (256 unsigned
// bytes in element order plus the scale vectors), then every activation row
// runs the same sequence: exact int32 lane sums of the scaled sub-block
// products, one conversion to float32, and FMAs into that row's 8-lane
// accumulator (kept in the frame). The 8 lanes are added at the end in a
// fixed tree, so an output's bits do not depend on n.
//
// Registers: SI weights, CX super-blocks left, DX n·32, R8/R10/R12 qs/d/bs
// of row 0 for the current super-block, R9/R11/R13 their row strides, R14
// the row offset into the accumulators, AX/BX/DI the row's qs/d/bs.

// HSUM(acc, xacc, dst): dst = ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
#define HSUM(acc, xacc, dst) \
	VEXTRACTF128 $1, acc, X10; \
	VADDPS       X10, xacc, X10; \
	VMOVHLPS     X10, X10, X11; \
	VADDPS       X11, X10, X10; \
	VMOVSHDUP    X10, X11; \
	VADDSS       X11, X10, X10; \
	VMOVSS       X10, dst

#define SETUP(qsPerBlock) \
	MOVQ   nb+8(FP), CX; \
	MOVQ   CX, R9; \
	SHLQ   $8, R9; \
	MOVQ   CX, R11; \
	SHLQ   $2, R11; \
	MOVQ   CX, R13; \
	SHLQ   $5, R13; \
	MOVQ   qs+16(FP), R8; \
	MOVQ   d+24(FP), R10; \
	MOVQ   bs+32(FP), R12; \
	MOVQ   n+40(FP), DX; \
	SHLQ   $5, DX; \
	MOVQ   w+0(FP), SI; \
	VXORPS Y0, Y0, Y0; \
	XORQ   R14, R14; \
zero: \
	VMOVUPS Y0, ACC(SP)(R14*1); \
	ADDQ    $32, R14; \
	CMPQ    R14, DX; \
	JLT     zero

// FINISH_SCALED: the end of a row for the types without a min term:
// acc += (d·d_a)·float(Y2), d broadcast in Y14, d_a at BX.
#define FINISH_SCALED \
	VCVTDQ2PS    Y2, Y2; \
	VBROADCASTSS (BX), Y1; \
	VMULPS       Y14, Y1, Y1; \
	VMOVUPS      ACC(SP)(R14*1), Y4; \
	VFMADD231PS  Y1, Y2, Y4; \
	VMOVUPS      Y4, ACC(SP)(R14*1)

#define ADVANCE_ROW \
	ADDQ R9, AX; \
	ADDQ R11, BX; \
	ADDQ R13, DI; \
	ADDQ $32, R14; \
	CMPQ R14, DX; \
	JLT  row

#define ADVANCE_SB(wbytes) \
	ADDQ $wbytes, SI; \
	ADDQ $256, R8; \
	ADDQ $4, R10; \
	ADDQ $32, R12; \
	DECQ CX; \
	JNZ  sb

#define STORE \
	MOVQ y+48(FP), SI; \
	MOVQ ystride+56(FP), CX; \
	XORQ R14, R14; \
out: \
	VMOVUPS ACC(SP)(R14*1), Y0; \
	HSUM(Y0, X0, (SI)); \
	ADDQ    CX, SI; \
	ADDQ    $32, R14; \
	CMPQ    R14, DX; \
	JLT     out; \
	VZEROUPPER; \
	RET

// IQ4_XS's group scales, for both files: a DATA symbol in this header is
// defined, file-local, in each file that includes it.
DATA iq4xsShiftL<>+0(SB)/8, $0x0000000400000000
DATA iq4xsShiftL<>+8(SB)/8, $0x0000000c00000008
DATA iq4xsShiftL<>+16(SB)/8, $0x0000001400000010
DATA iq4xsShiftL<>+24(SB)/8, $0x0000001c00000018
GLOBL iq4xsShiftL<>(SB), RODATA|NOPTR, $32
DATA iq4xsShiftH<>+0(SB)/8, $0x0000000200000000
DATA iq4xsShiftH<>+8(SB)/8, $0x0000000600000004
DATA iq4xsShiftH<>+16(SB)/8, $0x0000000a00000008
DATA iq4xsShiftH<>+24(SB)/8, $0x0000000e0000000c
GLOBL iq4xsShiftH<>(SB), RODATA|NOPTR, $32

// IQ4XS_SCALES(mask): Y0 = the eight signed group scales ls−32 of the
// IQ4_XS block at SI as dwords, lane g from scales_l's 32 bits shifted
// right by 4g (low nibble) and scales_h shifted right by 2g (two high
// bits). mask holds 0x0F bytes; the masks 15 and 3 and the offset 32 are
// made from it and all-ones. Clobbers Y1, Y2.
#define IQ4XS_SCALES(mask) \
	VPSRLD       $24, mask, Y2; \
	VPBROADCASTD 4(SI), Y0; \
	VPSRLVD      iq4xsShiftL<>(SB), Y0, Y0; \
	VPAND        Y2, Y0, Y0; \
	VPSRLD       $26, mask, Y2; \
	VPBROADCASTW 2(SI), Y1; \
	VPSRLVD      iq4xsShiftH<>(SB), Y1, Y1; \
	VPAND        Y2, Y1, Y1; \
	VPSLLD       $4, Y1, Y1; \
	VPOR         Y1, Y0, Y0; \
	VPCMPEQD     Y2, Y2, Y2; \
	VPSRLD       $31, Y2, Y2; \
	VPSLLD       $5, Y2, Y2; \
	VPSUBD       Y2, Y0, Y0
