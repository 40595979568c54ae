// AVX-VNNI's VEX instructions for the AVX2 kernels (q8_0_amd64.s,
// kquants_amd64.s): VPDPBUSD and VPDPWSSD of CPUs with AVX-VNNI but without
// AVX-512 (Intel's Alder Lake and later client cores, Sierra Forest). Go's
// assembler knows them only in their EVEX (AVX-512 VNNI) form, so each is
// spelled out as bytes for one fixed set of operands: C4, then R̄X̄B̄ with
// map 0F38, then W0 with the inverted first source (vvvv), L = 256 bits and
// pp = 66, then the opcode (50 VPDPBUSD, 52 VPDPWSSD) and ModRM (dst,
// second source), with SIB and disp32 for the frame operand.
//
// VPDPBUSD: dst += the sum of 4 adjacent u8·s8 products in each int32
// lane, with no saturation; the lanes equal VPMADDUBSW+VPMADDWD's wherever
// that pair cannot saturate. VPDPWSSD: dst += the sum of 2 adjacent s16·s16
// products in each int32 lane, VPMADDWD+VPADDD's lanes.

// VPDPBUSD ymm8, ymm6, ymm7
#define AVXVNNI_Y8_Y6_Y7 \
	BYTE $0xC4; BYTE $0x62; BYTE $0x4D; BYTE $0x50; BYTE $0xC7

// VPDPBUSD ymm10, ymm6, ymm12
#define AVXVNNI_Y10_Y6_Y12 \
	BYTE $0xC4; BYTE $0x42; BYTE $0x4D; BYTE $0x50; BYTE $0xD4

// VPDPBUSD ymm7, ymm5, ymm12
#define AVXVNNI_Y7_Y5_Y12 \
	BYTE $0xC4; BYTE $0xC2; BYTE $0x55; BYTE $0x50; BYTE $0xFC

// VPDPBUSD ymm8, ymm5, ymm7
#define AVXVNNI_Y8_Y5_Y7 \
	BYTE $0xC4; BYTE $0x62; BYTE $0x55; BYTE $0x50; BYTE $0xC7

// VPDPWSSD ymm2, ymm0, ymm1
#define AVXVNNI_W_Y2_Y0_Y1 \
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7D; BYTE $0x52; BYTE $0xD1

// VPDPWSSD ymm2, ymm0, ymm3
#define AVXVNNI_W_Y2_Y0_Y3 \
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7D; BYTE $0x52; BYTE $0xD3

// VPDPWSSD ymm2, ymm1, ymm3
#define AVXVNNI_W_Y2_Y1_Y3 \
	BYTE $0xC4; BYTE $0xE2; BYTE $0x75; BYTE $0x52; BYTE $0xD3

// VPDPWSSD ymm2, ymm0, ymm4
#define AVXVNNI_W_Y2_Y0_Y4 \
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7D; BYTE $0x52; BYTE $0xD4

// VPDPWSSD ymm2, ymm0, [rsp + off]: off(SP), the frame
#define AVXVNNI_W_Y2_Y0_SP(off) \
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7D; BYTE $0x52; BYTE $0x94; BYTE $0x24; LONG $(off)
