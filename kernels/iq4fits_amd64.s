//go:build amd64

#include "textflag.h"

// iq4mid: twice the midpoints of IQ4_NL's neighbouring levels (ggml's
// kvalues_iq4nl), L[m]+L[m+1] for m < 15, as float32.
DATA iq4mid<>+0(SB)/4, $-231.0
DATA iq4mid<>+4(SB)/4, $-187.0
DATA iq4mid<>+8(SB)/4, $-148.0
DATA iq4mid<>+12(SB)/4, $-114.0
DATA iq4mid<>+16(SB)/4, $-84.0
DATA iq4mid<>+20(SB)/4, $-57.0
DATA iq4mid<>+24(SB)/4, $-32.0
DATA iq4mid<>+28(SB)/4, $-9.0
DATA iq4mid<>+32(SB)/4, $14.0
DATA iq4mid<>+36(SB)/4, $38.0
DATA iq4mid<>+40(SB)/4, $63.0
DATA iq4mid<>+44(SB)/4, $91.0
DATA iq4mid<>+48(SB)/4, $122.0
DATA iq4mid<>+52(SB)/4, $158.0
DATA iq4mid<>+56(SB)/4, $202.0
GLOBL iq4mid<>(SB), RODATA|NOPTR, $60

// iq4lev: the sixteen levels as float32.
DATA iq4lev<>+0(SB)/4, $-127.0
DATA iq4lev<>+4(SB)/4, $-104.0
DATA iq4lev<>+8(SB)/4, $-83.0
DATA iq4lev<>+12(SB)/4, $-65.0
DATA iq4lev<>+16(SB)/4, $-49.0
DATA iq4lev<>+20(SB)/4, $-35.0
DATA iq4lev<>+24(SB)/4, $-22.0
DATA iq4lev<>+28(SB)/4, $-10.0
DATA iq4lev<>+32(SB)/4, $1.0
DATA iq4lev<>+36(SB)/4, $13.0
DATA iq4lev<>+40(SB)/4, $25.0
DATA iq4lev<>+44(SB)/4, $38.0
DATA iq4lev<>+48(SB)/4, $53.0
DATA iq4lev<>+52(SB)/4, $69.0
DATA iq4lev<>+56(SB)/4, $89.0
DATA iq4lev<>+60(SB)/4, $113.0
GLOBL iq4lev<>(SB), RODATA|NOPTR, $64

// MID(m, Z): compare lane by lane whether ⌊2v⌋ (Z5) is not below twice
// midpoint m (Z), and count it into the codes (Z6).
#define MID(Z) \
	VCMPPS $5, Z, Z5, K1; \
	VPADDD Z24, Z6, K1, Z6

// func iq4FitsAVX512(x, w, ids, sqx, sq2 *float32)
// quant.IQ4Fits with one multiplier a lane: for each of the 32 elements
// in order, the code nearest id·x is the count of twice-midpoints that
// ⌊2·id·x⌋ is not below (ties to the higher level; NaN gives 15, as
// ggml's search ends there), its level q, and the sums take w·q·x and
// w·q·q, each product and sum rounded as the Go loop rounds them (no
// fused multiply-adds). AVX-512F.
TEXT ·iq4FitsAVX512(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ ids+16(FP), AX
	MOVQ sqx+24(FP), BX
	MOVQ sq2+32(FP), DX
	VMOVUPS (AX), Z0
	VBROADCASTSS iq4mid<>+0(SB), Z8
	VBROADCASTSS iq4mid<>+4(SB), Z9
	VBROADCASTSS iq4mid<>+8(SB), Z10
	VBROADCASTSS iq4mid<>+12(SB), Z11
	VBROADCASTSS iq4mid<>+16(SB), Z12
	VBROADCASTSS iq4mid<>+20(SB), Z13
	VBROADCASTSS iq4mid<>+24(SB), Z14
	VBROADCASTSS iq4mid<>+28(SB), Z15
	VBROADCASTSS iq4mid<>+32(SB), Z16
	VBROADCASTSS iq4mid<>+36(SB), Z17
	VBROADCASTSS iq4mid<>+40(SB), Z18
	VBROADCASTSS iq4mid<>+44(SB), Z19
	VBROADCASTSS iq4mid<>+48(SB), Z20
	VBROADCASTSS iq4mid<>+52(SB), Z21
	VBROADCASTSS iq4mid<>+56(SB), Z22
	VMOVUPS      iq4lev<>(SB), Z23
	MOVL         $1, CX
	VPBROADCASTD CX, Z24
	VPXORD       Z1, Z1, Z1
	VPXORD       Z2, Z2, Z2
	MOVQ         $32, CX

fit:
	VBROADCASTSS (SI), Z3
	VMULPS       Z3, Z0, Z4       // v = id·x
	VADDPS       Z4, Z4, Z5       // 2v, exact
	VRNDSCALEPS  $9, Z5, Z5       // ⌊2v⌋
	VPXORD       Z6, Z6, Z6
	MID(Z8)
	MID(Z9)
	MID(Z10)
	MID(Z11)
	MID(Z12)
	MID(Z13)
	MID(Z14)
	MID(Z15)
	MID(Z16)
	MID(Z17)
	MID(Z18)
	MID(Z19)
	MID(Z20)
	MID(Z21)
	MID(Z22)
	VPERMPS      Z23, Z6, Z7      // q = L[code]
	VBROADCASTSS (DI), Z4
	VMULPS       Z7, Z4, Z4       // w·q
	VMULPS       Z3, Z4, Z5       // w·q·x
	VADDPS       Z5, Z1, Z1
	VMULPS       Z7, Z4, Z4       // w·q·q
	VADDPS       Z4, Z2, Z2
	ADDQ         $4, SI
	ADDQ         $4, DI
	DECQ         CX
	JNZ          fit

	VMOVUPS Z1, (BX)
	VMOVUPS Z2, (DX)
	VZEROUPPER
	RET
