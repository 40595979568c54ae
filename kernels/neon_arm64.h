// Shared by the arm64 kernels (q8_0_arm64.s, legacy_arm64.s,
// iq4_arm64.s, kquants_arm64.s, kquants23_arm64.s, and float_arm64.s,
// vec_arm64.s and vexp_arm64.s for the WORD macros).
//
// func k(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
//   one weight row of nb blocks against nx activation rows in the split
//   layout MatMul prepares: qs the quants (row i at qs + i·nb·block bytes),
//   d the scales (Q8_1: scale, then d·Σq), bs Q8_K's group sums.
//
// Registers: R0 the weight row, R1 nb, R2 quants, R3 scales, R4 group sums
// (all three walk on from row to row), R5 rows left, R6 and R7 the output
// and its stride, R8 the current block, R9 blocks left. Each activation row
// is a pass of its own over the weights (which stay in L1), so an output's
// bits do not depend on nx.

// SDOT Vd.4S, Vn.16B, Vm.16B (FEAT_DotProd, which the Go assembler does
// not spell): each int32 lane of Vd adds the products of the four signed
// byte pairs in the same lane of Vn and Vm.
#define SDOT(d, n, m) WORD $(0x4E809400 | ((m)<<16) | ((n)<<5) | (d))

#define ROW_ARGS \
	MOVD w+0(FP), R0 \
	MOVD nb+8(FP), R1 \
	MOVD qs+16(FP), R2 \
	MOVD d+24(FP), R3 \
	MOVD bs+32(FP), R4 \
	MOVD nx+40(FP), R5 \
	MOVD y+48(FP), R6 \
	MOVD ystride+56(FP), R7

// A row's start (sum, the float register F, zeroed) and end (the sum
// stored, on to the next row): the labels are the kernel's own.
#define ROW_HEAD(row, store, F) \
row: \
	MOVD  R0, R8 \
	MOVD  R1, R9 \
	FMOVS ZR, F \
	CBZ   R9, store

#define ROW_TAIL(row, block, store, F) \
	SUBS  $1, R9, R9 \
	BNE   block \
store: \
	FMOVS F, (R6) \
	ADD   R7, R6, R6 \
	SUBS  $1, R5, R5 \
	BNE   row \
	RET

// Eight vectors of 16 codes (V7-V14) against the next 128 activation
// quants at R2, into V20-V27's lanes (the K-quant kernels' groups).
#define DOT8 \
	VLD1.P 64(R2), [V16.B16, V17.B16, V18.B16, V19.B16] \
	VEOR   V20.B16, V20.B16, V20.B16 \
	VEOR   V21.B16, V21.B16, V21.B16 \
	VEOR   V22.B16, V22.B16, V22.B16 \
	VEOR   V23.B16, V23.B16, V23.B16 \
	SDOT(20, 7, 16) \
	SDOT(21, 8, 17) \
	SDOT(22, 9, 18) \
	SDOT(23, 10, 19) \
	VLD1.P 64(R2), [V16.B16, V17.B16, V18.B16, V19.B16] \
	VEOR   V24.B16, V24.B16, V24.B16 \
	VEOR   V25.B16, V25.B16, V25.B16 \
	VEOR   V26.B16, V26.B16, V26.B16 \
	VEOR   V27.B16, V27.B16, V27.B16 \
	SDOT(24, 11, 16) \
	SDOT(25, 12, 17) \
	SDOT(26, 13, 18) \
	SDOT(27, 14, 19)

// Float instructions the Go assembler does not spell (base ARMv8 NEON):
// FCVTL/FCVTL2 Vd.4S from the low/high four fp16 lanes of Vn; SHLL/SHLL2
// Vd.4S, Vn.4H/8H, #16 (a bf16 lane's float32 bits); FADD and FADDP
// Vd.4S, Vn.4S, Vm.4S; FADDP Sd, Vn.2S.
#define FCVTL(d, n) WORD $(0x0E217800 | ((n)<<5) | (d))
#define FCVTL2(d, n) WORD $(0x4E217800 | ((n)<<5) | (d))
#define SHLL16(d, n) WORD $(0x2E613800 | ((n)<<5) | (d))
#define SHLL216(d, n) WORD $(0x6E613800 | ((n)<<5) | (d))
#define FADD4(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FADDP4(d, n, m) WORD $(0x6E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FADDP2S(d, n) WORD $(0x7E30D800 | ((n)<<5) | (d))

// More of them (.4S): FMAX, FMIN, FMUL, FDIV, FRINTN, FCVTZS, FNEG, and
// SSHR by 1.
#define FMAX4(d, n, m) WORD $(0x4E20F400 | ((m)<<16) | ((n)<<5) | (d))
#define FMIN4(d, n, m) WORD $(0x4EA0F400 | ((m)<<16) | ((n)<<5) | (d))
#define FMUL4(d, n, m) WORD $(0x6E20DC00 | ((m)<<16) | ((n)<<5) | (d))
#define FDIV4(d, n, m) WORD $(0x6E20FC00 | ((m)<<16) | ((n)<<5) | (d))
#define FRINTN4(d, n) WORD $(0x4E218800 | ((n)<<5) | (d))
#define FCVTZS4(d, n) WORD $(0x4EA1B800 | ((n)<<5) | (d))
#define FNEG4(d, n) WORD $(0x6EA0F800 | ((n)<<5) | (d))
#define SSHR1_4(d, n) WORD $(0x4F3F0400 | ((n)<<5) | (d))

// A 32-element block's 16 nibble bytes at src (advanced): the low nibbles
// (elements 0-15) in V2, the high ones (16-31) in V3; V31 = 0x0f.
#define NIBBLES(src) \
	VLD1.P 16(src), [V1.B16] \
	VAND   V31.B16, V1.B16, V2.B16 \
	VUSHR  $4, V1.B16, V3.B16

// The block's codes V2, V3 against its 32 activation quants at R2
// (advanced): the exact integer dot, as float32, in F21.
#define DOT32 \
	VLD1.P  32(R2), [V4.B16, V5.B16] \
	VEOR    V20.B16, V20.B16, V20.B16 \
	SDOT(20, 2, 4) \
	SDOT(20, 3, 5) \
	VADDV   V20.S4, V20 \
	FMOVS   F20, R15 \
	SCVTFWS R15, F21

// F22 from the fp16 bits in R10 (a block's weight scale).
#define HALF_F22 \
	FMOVS  R10, F22 \
	FCVTHS F22, F22

// Integer widening and conversion (base NEON): SXTL/SXTL2 (SSHLL #0)
// Vd.8H from the low/high eight int8 lanes of Vn, and Vd.4S from its
// low/high four int16 lanes; SCVTF Vd.4S, Vn.4S.
#define SXTL8H(d, n) WORD $(0x0F08A400 | ((n)<<5) | (d))
#define SXTL28H(d, n) WORD $(0x4F08A400 | ((n)<<5) | (d))
#define SXTL4S(d, n) WORD $(0x0F10A400 | ((n)<<5) | (d))
#define SXTL24S(d, n) WORD $(0x4F10A400 | ((n)<<5) | (d))
#define SCVTF4(d, n) WORD $(0x4E21D800 | ((n)<<5) | (d))

// For the activation quantizers (.4S unless named): FABS, FMAXV Sd,
// FCVTNS (round to nearest, ties to even), FCMEQ, and the saturating
// narrows SQXTN/SQXTN2 from .4S to .4H/.8H and from .8H to .8B/.16B.
#define FABS4(d, n) WORD $(0x4EA0F800 | ((n)<<5) | (d))
#define FMAXV4(d, n) WORD $(0x6E30F800 | ((n)<<5) | (d))
#define FCVTNS4(d, n) WORD $(0x4E21A800 | ((n)<<5) | (d))
#define FCMEQ4(d, n, m) WORD $(0x4E20E400 | ((m)<<16) | ((n)<<5) | (d))
#define SQXTN4H(d, n) WORD $(0x0E614800 | ((n)<<5) | (d))
#define SQXTN28H(d, n) WORD $(0x4E614800 | ((n)<<5) | (d))
#define SQXTN8B(d, n) WORD $(0x0E214800 | ((n)<<5) | (d))
#define SQXTN216B(d, n) WORD $(0x4E214800 | ((n)<<5) | (d))
// FMAXNM and FMAXNMV: the maximum of the numbers, a NaN ignored.
#define FMAXNM4(d, n, m) WORD $(0x4E20C400 | ((m)<<16) | ((n)<<5) | (d))
#define FMAXNMV4(d, n) WORD $(0x6E30C800 | ((n)<<5) | (d))

// For the softmax and norm passes: FSUB .4S, and FCVTL/FCVTL2 from .2S
// (the low or high half of .4S) to .2D, FADD .2D.
#define FSUB4(d, n, m) WORD $(0x4EA0D400 | ((m)<<16) | ((n)<<5) | (d))
#define FCVTLD(d, n) WORD $(0x0E617800 | ((n)<<5) | (d))
#define FCVTL2D(d, n) WORD $(0x4E617800 | ((n)<<5) | (d))
#define FADD2D(d, n, m) WORD $(0x4E60D400 | ((m)<<16) | ((n)<<5) | (d))

// FCVTN Vd.4H, Vn.4S and FCVTN2 Vd.8H, Vn.4S: float32 to fp16 with the
// FPCR's rounding (Go leaves it at nearest-even, no flush to zero); a NaN
// keeps its sign and top payload bits and comes out quiet.
#define FCVTN4H(d, n) WORD $(0x0E216800 | ((n)<<5) | (d))
#define FCVTN28H(d, n) WORD $(0x4E216800 | ((n)<<5) | (d))
