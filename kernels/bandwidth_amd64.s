//go:build amd64

#include "textflag.h"

// The read loops add every 64-bit lane into four 256-bit accumulators,
// Y0-Y3, which ZERO_SUMS clears and FOLD_SUMS adds into AX.
#define ZERO_SUMS \
	VPXOR Y0, Y0, Y0 \
	VPXOR Y1, Y1, Y1 \
	VPXOR Y2, Y2, Y2 \
	VPXOR Y3, Y3, Y3

#define FOLD_SUMS \
	VPADDQ       Y1, Y0, Y0 \
	VPADDQ       Y3, Y2, Y2 \
	VPADDQ       Y2, Y0, Y0 \
	VEXTRACTI128 $1, Y0, X1 \
	VPADDQ       X1, X0, X0 \
	VPSHUFD      $0x4e, X0, X1 \
	VPADDQ       X1, X0, X0 \
	VMOVQ        X0, AX \
	VZEROUPPER

// func readSumAVX2(p *byte, n128 int) uint64
// Streams n128·128 bytes with four independent 256-bit accumulators.
// Requires AVX2; MeasureReadBandwidth is only meaningful on the fast path's
// machines anyway, and every amd64 machine Nuri targets has AVX2.
TEXT ·readSumAVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n128+8(FP), CX
	ZERO_SUMS

loop:
	VPADDQ (SI), Y0, Y0
	VPADDQ 32(SI), Y1, Y1
	VPADDQ 64(SI), Y2, Y2
	VPADDQ 96(SI), Y3, Y3
	ADDQ   $128, SI
	DECQ   CX
	JNZ    loop
	FOLD_SUMS
	MOVQ   AX, ret+16(FP)
	RET

// func readSum2AVX2(p *byte, n64 int, part int) uint64
// Streams two parts of n64·64 bytes, at p and p+part, side by side: 64
// bytes of the one, then 64 of the other.
TEXT ·readSum2AVX2(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ n64+8(FP), CX
	MOVQ part+16(FP), DX
	ZERO_SUMS

loop2:
	VPADDQ (SI), Y0, Y0
	VPADDQ 32(SI), Y1, Y1
	VPADDQ (SI)(DX*1), Y2, Y2
	VPADDQ 32(SI)(DX*1), Y3, Y3
	ADDQ   $64, SI
	DECQ   CX
	JNZ    loop2
	FOLD_SUMS
	MOVQ   AX, ret+24(FP)
	RET

// func readSum4AVX2(p *byte, n64 int, part int) uint64
// Streams four parts of n64·64 bytes, at p, p+part, p+2·part and
// p+3·part, side by side, 64 bytes of each in turn.
TEXT ·readSum4AVX2(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ n64+8(FP), CX
	MOVQ part+16(FP), DX
	LEAQ (DX)(DX*2), BX
	ZERO_SUMS

loop4:
	VPADDQ (SI), Y0, Y0
	VPADDQ 32(SI), Y1, Y1
	VPADDQ (SI)(DX*1), Y2, Y2
	VPADDQ 32(SI)(DX*1), Y3, Y3
	VPADDQ (SI)(DX*2), Y0, Y0
	VPADDQ 32(SI)(DX*2), Y1, Y1
	VPADDQ (SI)(BX*1), Y2, Y2
	VPADDQ 32(SI)(BX*1), Y3, Y3
	ADDQ   $64, SI
	DECQ   CX
	JNZ    loop4
	FOLD_SUMS
	MOVQ   AX, ret+24(FP)
	RET

// func readSum4AVX512(p *byte, n64 int, part int) uint64
// readSum4AVX2's four parts with one 512-bit load of each in turn: the
// kernels load their weights 64 bytes at a time, and on the 2-core Zen 5
// VM this loop read 1-3 % more than the 256-bit one (medians of twelve
// alternating passes over 1 GiB, seven runs; docs/performance.md round 20).
TEXT ·readSum4AVX512(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ n64+8(FP), CX
	MOVQ part+16(FP), DX
	LEAQ (DX)(DX*2), BX
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1

loop4z:
	VPADDQ (SI), Z0, Z0
	VPADDQ (SI)(DX*1), Z1, Z1
	VPADDQ (SI)(DX*2), Z0, Z0
	VPADDQ (SI)(BX*1), Z1, Z1
	ADDQ   $64, SI
	DECQ   CX
	JNZ    loop4z
	// The upper halves of Z0 and Z1 into Y2 and Y3: FOLD_SUMS adds the four.
	VEXTRACTI64X4 $1, Z0, Y2
	VEXTRACTI64X4 $1, Z1, Y3
	FOLD_SUMS
	MOVQ          AX, ret+24(FP)
	RET

// func readSum4PFAVX2(p *byte, n64 int, part int) uint64
// readSum4AVX2's four parts with each line of every part prefetched
// (PREFETCHT0) 2 KiB ahead, as the kernels fetch their weights. The
// 256-bit loads read 3.7 % more than 512-bit ones in one alternating run
// on the Intel Xeon VM; prefetches past the buffer's end do not fault.
TEXT ·readSum4PFAVX2(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ n64+8(FP), CX
	MOVQ part+16(FP), DX
	LEAQ (DX)(DX*2), BX
	ZERO_SUMS

loop4p:
	VPADDQ     (SI), Y0, Y0
	VPADDQ     32(SI), Y1, Y1
	PREFETCHT0 2048(SI)
	VPADDQ     (SI)(DX*1), Y2, Y2
	VPADDQ     32(SI)(DX*1), Y3, Y3
	PREFETCHT0 2048(SI)(DX*1)
	VPADDQ     (SI)(DX*2), Y0, Y0
	VPADDQ     32(SI)(DX*2), Y1, Y1
	PREFETCHT0 2048(SI)(DX*2)
	VPADDQ     (SI)(BX*1), Y2, Y2
	VPADDQ     32(SI)(BX*1), Y3, Y3
	PREFETCHT0 2048(SI)(BX*1)
	ADDQ       $64, SI
	DECQ       CX
	JNZ        loop4p
	FOLD_SUMS
	MOVQ       AX, ret+24(FP)
	RET
