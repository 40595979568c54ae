//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// MLA Vd.4S, Vn.4S, Vm.4S: each int32 lane of Vd adds the product of the
// same lanes of Vn and Vm.
#define MLA4S(d, n, m) WORD $(0x4EA09400 | ((m)<<16) | ((n)<<5) | (d))

// Half a block: 128 levels at R0 against 128 activation quants at R2
// (both advanced), each 16-element unit's sum times its multiplier (eight
// int32 at R1, advanced) added to V30's lanes. DOT8 gives each unit's four
// partial sums in V20-V27, three ADDPs fold them unit by unit into V20
// (units 0-3) and V24 (units 4-7).
#define IQ_HALF \
	VLD1.P 64(R0), [V7.B16, V8.B16, V9.B16, V10.B16] \
	VLD1.P 64(R0), [V11.B16, V12.B16, V13.B16, V14.B16] \
	DOT8 \
	VLD1.P 32(R1), [V0.S4, V1.S4] \
	VADDP  V21.S4, V20.S4, V20.S4 \
	VADDP  V23.S4, V22.S4, V22.S4 \
	VADDP  V22.S4, V20.S4, V20.S4 \
	VADDP  V25.S4, V24.S4, V24.S4 \
	VADDP  V27.S4, V26.S4, V26.S4 \
	VADDP  V26.S4, V24.S4, V24.S4 \
	MLA4S(30, 20, 0) \
	MLA4S(30, 24, 1)

// func iqBlockSumsNEON(level *uint64, mult *int32, nb int, q8 *byte, sums *int32)
// For each of nb blocks of 256 int8 levels (level, 256 bytes a block) with
// 16 int32 multipliers a block (one a 16 elements, mult) against 256
// activation quants (q8, consecutive): sums[b] = Σ_u mult[u]·Σ level·q8
// over the block's 16-element units u. Every step is integer and exact:
// |level| ≤ 62, |q8| ≤ 127 and mult ≤ 31 keep a block's sum under 2^27.
TEXT ·iqBlockSumsNEON(SB), NOSPLIT, $0-40
	MOVD level+0(FP), R0
	MOVD mult+8(FP), R1
	MOVD nb+16(FP), R3
	MOVD q8+24(FP), R2
	MOVD sums+32(FP), R4
	CBZ  R3, done

block:
	VEOR    V30.B16, V30.B16, V30.B16
	IQ_HALF
	IQ_HALF
	VADDV   V30.S4, V30
	FMOVS   F30, R5
	MOVW.P  R5, 4(R4)
	SUBS    $1, R3, R3
	BNE     block

done:
	RET
