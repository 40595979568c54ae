//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// The attention loops over an fp16 or f32 cache (VecOps.DotF16Rows,
// AxpyF16Rows, DotF32Rows, AxpyF32Rows) with FMLA, whose fused
// multiply-add is fma32's: the same lanes, order and bits as the Go
// references (laneDot, axpyTail). Each body is a macro over the row load.

// Sixteen fp16 cache elements at R7 (advanced), as float32, in V22-V25.
#define ROW16_F16 \
	VLD1.P 32(R7), [V20.H8, V21.H8] \
	FCVTL(22, 20) \
	FCVTL2(23, 20) \
	FCVTL(24, 21) \
	FCVTL2(25, 21)

// Sixteen f32 cache elements at R7 (advanced) in V22-V25.
#define ROW16_F32 \
	VLD1.P 64(R7), [V22.S4, V23.S4, V24.S4, V25.S4]

// One 16-element chunk of q (R6) and of a K row (R7, read by row), both
// advanced, into the accumulator set a, b, c, d (laneDot's acc[chunk % 4]).
#define DOT_CHUNK(row, a, b, c, d) \
	VLD1.P 64(R6), [V16.S4, V17.S4, V18.S4, V19.S4] \
	row \
	VFMLA  V22.S4, V16.S4, a.S4 \
	VFMLA  V23.S4, V17.S4, b.S4 \
	VFMLA  V24.S4, V18.S4, c.S4 \
	VFMLA  V25.S4, V19.S4, d.S4

// out[j] = q · K row j over 16·d16 elements, n rows kstride elements apart
// (an element 1 << shift bytes, read by row): chunk c into lanes acc[c%4]
// (V0-V3, V4-V7, V8-V11, V12-V15), then s = (acc0 + acc1) + (acc2 + acc3)
// and the halving tree of laneDot.
#define DOT_ROWS(row, shift, drow, dchunks, dsum) \
	MOVD out+0(FP), R0 \
	MOVD q+8(FP), R1 \
	MOVD k+16(FP), R2 \
	MOVD kstride+24(FP), R3 \
	LSL  $shift, R3, R3 \
	MOVD n+32(FP), R4 \
	MOVD d16+40(FP), R5 \
drow: \
	VEOR V0.B16, V0.B16, V0.B16 \
	VEOR V1.B16, V1.B16, V1.B16 \
	VEOR V2.B16, V2.B16, V2.B16 \
	VEOR V3.B16, V3.B16, V3.B16 \
	VEOR V4.B16, V4.B16, V4.B16 \
	VEOR V5.B16, V5.B16, V5.B16 \
	VEOR V6.B16, V6.B16, V6.B16 \
	VEOR V7.B16, V7.B16, V7.B16 \
	VEOR V8.B16, V8.B16, V8.B16 \
	VEOR V9.B16, V9.B16, V9.B16 \
	VEOR V10.B16, V10.B16, V10.B16 \
	VEOR V11.B16, V11.B16, V11.B16 \
	VEOR V12.B16, V12.B16, V12.B16 \
	VEOR V13.B16, V13.B16, V13.B16 \
	VEOR V14.B16, V14.B16, V14.B16 \
	VEOR V15.B16, V15.B16, V15.B16 \
	MOVD R1, R6 \
	MOVD R2, R7 \
	MOVD R5, R8 \
dchunks: \
	DOT_CHUNK(row, V0, V1, V2, V3) \
	SUBS $1, R8, R8 \
	BEQ  dsum \
	DOT_CHUNK(row, V4, V5, V6, V7) \
	SUBS $1, R8, R8 \
	BEQ  dsum \
	DOT_CHUNK(row, V8, V9, V10, V11) \
	SUBS $1, R8, R8 \
	BEQ  dsum \
	DOT_CHUNK(row, V12, V13, V14, V15) \
	SUBS $1, R8, R8 \
	BNE  dchunks \
dsum: \
	FADD4(16, 0, 4) \
	FADD4(20, 8, 12) \
	FADD4(16, 16, 20) \
	FADD4(17, 1, 5) \
	FADD4(20, 9, 13) \
	FADD4(17, 17, 20) \
	FADD4(18, 2, 6) \
	FADD4(20, 10, 14) \
	FADD4(18, 18, 20) \
	FADD4(19, 3, 7) \
	FADD4(20, 11, 15) \
	FADD4(19, 19, 20) \
	FADD4(16, 16, 18) \
	FADD4(17, 17, 19) \
	FADD4(16, 16, 17) \
	VEXT    $8, V16.B16, V16.B16, V17.B16 \
	FADD4(16, 16, 17) \
	FADDP2S(16, 16) \
	FMOVS.P F16, 4(R0) \
	ADD     R3, R2, R2 \
	SUBS    $1, R4, R4 \
	BNE     drow \
	RET

// Sixteen elements of a V row (R7, read by row, advanced) times p_j (V28)
// added to the accumulators a, b, c, d.
#define AXPY_CHUNK(row, a, b, c, d) \
	row \
	VFMLA  V22.S4, V28.S4, a.S4 \
	VFMLA  V23.S4, V28.S4, b.S4 \
	VFMLA  V24.S4, V28.S4, c.S4 \
	VFMLA  V25.S4, V28.S4, d.S4

// acc[e] += p[j]·V row j[e] for e < 16·d16, rows in order (elements of
// 1 << shift bytes, cb bytes a 16-element chunk, cb4 four chunks): four
// chunks of acc (V0-V15) a pass over the rows while four remain, then one.
#define AXPY_ROWS(row, shift, cb, cb4, agroup, afour, aone, aonerow, adone) \
	MOVD acc+0(FP), R0 \
	MOVD d16+8(FP), R1 \
	MOVD p+16(FP), R2 \
	MOVD n+24(FP), R3 \
	MOVD v+32(FP), R4 \
	MOVD vstride+40(FP), R5 \
	LSL  $shift, R5, R5 \
	SUB  $cb, R5, R10 \
	SUB  $cb4, R5, R11 \
agroup: \
	CMP  $4, R1 \
	BLT  aone \
	VLD1 (R0), [V0.S4, V1.S4, V2.S4, V3.S4] \
	ADD  $64, R0, R12 \
	VLD1 (R12), [V4.S4, V5.S4, V6.S4, V7.S4] \
	ADD  $128, R0, R12 \
	VLD1 (R12), [V8.S4, V9.S4, V10.S4, V11.S4] \
	ADD  $192, R0, R12 \
	VLD1 (R12), [V12.S4, V13.S4, V14.S4, V15.S4] \
	MOVD R2, R6 \
	MOVD R4, R7 \
	MOVD R3, R8 \
afour: \
	VLD1R.P 4(R6), [V28.S4] \
	AXPY_CHUNK(row, V0, V1, V2, V3) \
	AXPY_CHUNK(row, V4, V5, V6, V7) \
	AXPY_CHUNK(row, V8, V9, V10, V11) \
	AXPY_CHUNK(row, V12, V13, V14, V15) \
	ADD  R11, R7, R7 \
	SUBS $1, R8, R8 \
	BNE  afour \
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0) \
	VST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R0) \
	VST1.P [V8.S4, V9.S4, V10.S4, V11.S4], 64(R0) \
	VST1.P [V12.S4, V13.S4, V14.S4, V15.S4], 64(R0) \
	ADD  $cb4, R4, R4 \
	SUB  $4, R1, R1 \
	B    agroup \
aone: \
	CBZ  R1, adone \
	VLD1 (R0), [V0.S4, V1.S4, V2.S4, V3.S4] \
	MOVD R2, R6 \
	MOVD R4, R7 \
	MOVD R3, R8 \
aonerow: \
	VLD1R.P 4(R6), [V28.S4] \
	AXPY_CHUNK(row, V0, V1, V2, V3) \
	ADD  R10, R7, R7 \
	SUBS $1, R8, R8 \
	BNE  aonerow \
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0) \
	ADD  $cb, R4, R4 \
	SUB  $1, R1, R1 \
	B    aone \
adone: \
	RET

// func dotF16RowsNEON(out *float32, q *float32, k *uint16, kstride int, n int, d16 int)
TEXT ·dotF16RowsNEON(SB), NOSPLIT, $0-48
	DOT_ROWS(ROW16_F16, 1, hdrow, hdchunks, hdsum)

// func dotF32RowsNEON(out *float32, q *float32, k *float32, kstride int, n int, d16 int)
TEXT ·dotF32RowsNEON(SB), NOSPLIT, $0-48
	DOT_ROWS(ROW16_F32, 2, fdrow, fdchunks, fdsum)

// func axpyF16RowsNEON(acc *float32, d16 int, p *float32, n int, v *uint16, vstride int)
TEXT ·axpyF16RowsNEON(SB), NOSPLIT, $0-48
	AXPY_ROWS(ROW16_F16, 1, 32, 128, hagroup, hafour, haone, haonerow, hadone)

// func axpyF32RowsNEON(acc *float32, d16 int, p *float32, n int, v *float32, vstride int)
TEXT ·axpyF32RowsNEON(SB), NOSPLIT, $0-48
	AXPY_ROWS(ROW16_F32, 2, 64, 256, fagroup, fafour, faone, faonerow, fadone)
