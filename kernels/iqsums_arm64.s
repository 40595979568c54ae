//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// MLA Vd.4S, Vn.4S, Vm.4S: each int32 lane of Vd adds the product of the
// same lanes of Vn and Vm.
#define MLA4S(d, n, m) WORD $(0x4EA09400 | ((m)<<16) | ((n)<<5) | (d))

// Half a block: 128 levels at R0 against 128 activation quants at R3
// (both advanced), each 16-element unit's sum times its multiplier (eight
// int32 at R1, advanced) added to V30's lanes. SDOT gives each unit's four
// partial sums, three ADDPs fold them unit by unit into V20 (units 0-3)
// and V24 (units 4-7).
#define IQ_HALF \
	VLD1.P 64(R0), [V0.B16, V1.B16, V2.B16, V3.B16] \
	VLD1.P 64(R3), [V16.B16, V17.B16, V18.B16, V19.B16] \
	VLD1.P 64(R0), [V4.B16, V5.B16, V6.B16, V7.B16] \
	VLD1.P 64(R3), [V8.B16, V9.B16, V10.B16, V11.B16] \
	VEOR   V20.B16, V20.B16, V20.B16 \
	VEOR   V21.B16, V21.B16, V21.B16 \
	VEOR   V22.B16, V22.B16, V22.B16 \
	VEOR   V23.B16, V23.B16, V23.B16 \
	VEOR   V24.B16, V24.B16, V24.B16 \
	VEOR   V25.B16, V25.B16, V25.B16 \
	VEOR   V26.B16, V26.B16, V26.B16 \
	VEOR   V27.B16, V27.B16, V27.B16 \
	SDOT(20, 0, 16) \
	SDOT(21, 1, 17) \
	SDOT(22, 2, 18) \
	SDOT(23, 3, 19) \
	SDOT(24, 4, 8) \
	SDOT(25, 5, 9) \
	SDOT(26, 6, 10) \
	SDOT(27, 7, 11) \
	VLD1.P 32(R1), [V12.S4, V13.S4] \
	VADDP  V21.S4, V20.S4, V20.S4 \
	VADDP  V23.S4, V22.S4, V22.S4 \
	VADDP  V22.S4, V20.S4, V20.S4 \
	VADDP  V25.S4, V24.S4, V24.S4 \
	VADDP  V27.S4, V26.S4, V26.S4 \
	VADDP  V26.S4, V24.S4, V24.S4 \
	MLA4S(30, 20, 12) \
	MLA4S(30, 24, 13)

// func iqBlockSumsNEON(level *uint64, mult *int32, nb int, q8 *byte, sums *int32)
// For each of nb blocks of 256 int8 levels (level, 256 bytes a block) with
// 16 int32 multipliers a block (one a 16 elements, mult) against 256
// activation quants (q8, consecutive): sums[b] = Σ_u mult[u]·Σ level·q8
// over the block's 16-element units u. Every step is integer and exact:
// |level| ≤ 62, |q8| ≤ 127 and mult ≤ 31 keep a block's sum under 2^27.
TEXT ·iqBlockSumsNEON(SB), NOSPLIT, $0-40
	MOVD level+0(FP), R0
	MOVD mult+8(FP), R1
	MOVD nb+16(FP), R2
	MOVD q8+24(FP), R3
	MOVD sums+32(FP), R4
	CBZ  R2, done

block:
	VEOR    V30.B16, V30.B16, V30.B16
	IQ_HALF
	IQ_HALF
	VADDV   V30.S4, V30
	FMOVS   F30, R5
	MOVW.P  R5, 4(R4)
	SUBS    $1, R2, R2
	BNE     block

done:
	RET
