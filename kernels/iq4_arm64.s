//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// iq4Levels (quant): the sixteen int8 values an IQ4 code stands for, for
// TBL.
DATA iq4levels<>+0(SB)/8, $0xF6EADDCFBFAD9881
DATA iq4levels<>+8(SB)/8, $0x7159453526190D01
GLOBL iq4levels<>(SB), RODATA|NOPTR, $16

// 32 IQ4 codes (16 bytes at src, advanced: element j in the low nibble of
// byte j, element j+16 in the high one) mapped through the table in V29,
// dotted with 32 activation quants at R2, summed to F21.
#define IQ4_GROUP_DOT(src) \
	NIBBLES(src) \
	VTBL V2.B16, [V29.B16], V2.B16 \
	VTBL V3.B16, [V29.B16], V3.B16 \
	DOT32

// ROW_ARGS, then the level table in V29 and the nibble mask in V31.
#define IQ4_ARGS \
	ROW_ARGS \
	MOVD $iq4levels<>(SB), R9 \
	VLD1 (R9), [V29.B16] \
	VMOVI $15, V31.B16

// func dotIQ4_NLNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// IQ4_NL (18 bytes: fp16 d, 16 code bytes) against Q8_0 activations in the
// split layout: sumf += float32(float32(d_w·d_a)·float32(sum)), as
// quant's dotIQ4_NL.
TEXT ·dotIQ4_NLNEON(SB), NOSPLIT, $0-64
	IQ4_ARGS
	ROW_HEAD(nlrow, nlstore, F25)

nlblock:
	MOVHU.P 2(R8), R10
	FMOVS.P 4(R3), F23
	IQ4_GROUP_DOT(R8)
	HALF_F22
	FMULS   F23, F22, F24
	FMULS   F24, F21, F24
	FADDS   F24, F25, F25
	ROW_TAIL(nlrow, nlblock, nlstore, F25)

// One IQ4_XS group g: its integer dot (codes at R10) times its 6-bit scale
// (low four bits from the 32-bit word R13, high two from R12, minus 32),
// F26 = d_w·d_a: sumf += float32(float32(d·scale)·float32(sum)).
#define IQ4XS_GROUP(g) \
	IQ4_GROUP_DOT(R10) \
	UBFX    $(4*(g)), R13, $4, R16 \
	UBFX    $(2*(g)), R12, $2, R17 \
	ORR     R17<<4, R16, R16 \
	SUB     $32, R16, R16 \
	SCVTFWS R16, F22 \
	FMULS   F22, F26, F24 \
	FMULS   F21, F24, F24 \
	FADDS   F24, F25, F25

// func dotIQ4_XSNEON(w *byte, nb int, qs *byte, d *float32, bs *int16, nx int, y *float32, ystride int)
// IQ4_XS (136 bytes: fp16 d, 16 bits of high scale bits, 4 bytes of low
// scale nibbles, 128 code bytes) against Q8_K activations, group by group
// as quant's dotIQ4_XS.
TEXT ·dotIQ4_XSNEON(SB), NOSPLIT, $0-64
	IQ4_ARGS
	ROW_HEAD(xsrow, xsstore, F25)

xsblock:
	MOVHU   0(R8), R11
	MOVHU   2(R8), R12
	MOVWU   4(R8), R13
	ADD     $8, R8, R10
	FMOVS   R11, F26
	FCVTHS  F26, F26
	FMOVS.P 4(R3), F3
	FMULS   F3, F26, F26
	IQ4XS_GROUP(0)
	IQ4XS_GROUP(1)
	IQ4XS_GROUP(2)
	IQ4XS_GROUP(3)
	IQ4XS_GROUP(4)
	IQ4XS_GROUP(5)
	IQ4XS_GROUP(6)
	IQ4XS_GROUP(7)
	ADD     $136, R8, R8
	ROW_TAIL(xsrow, xsblock, xsstore, F25)
