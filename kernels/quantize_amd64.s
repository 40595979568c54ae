//go:build amd64

#include "textflag.h"

// Q8_0 activation quantization, bit-identical to quant.QuantizeActivations
// (llama.cpp's AVX2 quantize_row_q8_0): per 32 floats, amax = max|x|,
// d = fp16(amax/127), multiplier id = 127/amax (0 when amax is 0),
// q = round-half-even(x·id) packed with signed saturation. The scale is
// written widened back to float32 (exactly the value ggml's dot uses).

// Permutation undoing the lane interleave of VPACKSSDW+VPACKSSWB.
DATA q8PackPerm<>+0(SB)/4, $0
DATA q8PackPerm<>+4(SB)/4, $4
DATA q8PackPerm<>+8(SB)/4, $1
DATA q8PackPerm<>+12(SB)/4, $5
DATA q8PackPerm<>+16(SB)/4, $2
DATA q8PackPerm<>+20(SB)/4, $6
DATA q8PackPerm<>+24(SB)/4, $3
DATA q8PackPerm<>+28(SB)/4, $7
GLOBL q8PackPerm<>(SB), RODATA|NOPTR, $32

// QBLOCK: quantize the 32 floats at SI. Leaves the 32 quants in Y0 and the
// widened scale in X4 (lane 0). Needs Y13 = 0x7fffffff, Y12 = the pack
// permutation; X14 = 127.0, clobbers Y1-Y7, AX.
#define QBLOCK(zero_label, done_label) \
	VMOVUPS    (SI), Y0; \
	VMOVUPS    32(SI), Y1; \
	VMOVUPS    64(SI), Y2; \
	VMOVUPS    96(SI), Y3; \
	VANDPS     Y13, Y0, Y4; \
	VANDPS     Y13, Y1, Y5; \
	VMAXPS     Y5, Y4, Y4; \
	VANDPS     Y13, Y2, Y5; \
	VANDPS     Y13, Y3, Y6; \
	VMAXPS     Y6, Y5, Y5; \
	VMAXPS     Y5, Y4, Y4; \
	VEXTRACTF128 $1, Y4, X5; \
	VMAXPS     X5, X4, X4; \
	VMOVHLPS   X4, X4, X5; \
	VMAXPS     X5, X4, X4; \
	VMOVSHDUP  X4, X5; \
	VMAXSS     X5, X4, X4; \
	VXORPS     X5, X5, X5; \
	VUCOMISS   X5, X4; \
	JEQ        zero_label; \
	VDIVSS     X4, X14, X6; \
	VDIVSS     X14, X4, X4; \
	VCVTPS2PH  $0, X4, X4; \
	VCVTPH2PS  X4, X4; \
	VBROADCASTSS X6, Y6; \
	VMULPS     Y6, Y0, Y0; \
	VMULPS     Y6, Y1, Y1; \
	VMULPS     Y6, Y2, Y2; \
	VMULPS     Y6, Y3, Y3; \
	VROUNDPS   $0, Y0, Y0; \
	VROUNDPS   $0, Y1, Y1; \
	VROUNDPS   $0, Y2, Y2; \
	VROUNDPS   $0, Y3, Y3; \
	VCVTPS2DQ  Y0, Y0; \
	VCVTPS2DQ  Y1, Y1; \
	VCVTPS2DQ  Y2, Y2; \
	VCVTPS2DQ  Y3, Y3; \
	VPACKSSDW  Y1, Y0, Y0; \
	VPACKSSDW  Y3, Y2, Y2; \
	VPACKSSWB  Y2, Y0, Y0; \
	VPERMD     Y0, Y12, Y0; \
	JMP        done_label; \
zero_label: \
	VPXOR      Y0, Y0, Y0; \
	VXORPS     X4, X4, X4; \
done_label:

#define QSETUP \
	MOVL         $0x7fffffff, AX; \
	VMOVD        AX, X13; \
	VPBROADCASTD X13, Y13; \
	VMOVDQU      q8PackPerm<>(SB), Y12; \
	MOVL         $0x42fe0000, AX; \
	VMOVD        AX, X14

// SUMSETUP loads the constants for summing quants with VPMADDUBSW and
// VPMADDWD: Y10 = u8 ones, Y9 = int16 ones (clobbers AX).
#define SUMSETUP \
	MOVL         $0x01010101, AX; \
	VMOVD        AX, X10; \
	VPBROADCASTD X10, Y10; \
	MOVL         $0x00010001, AX; \
	VMOVD        AX, X9; \
	VPBROADCASTD X9, Y9

// func quantQ8_0Split(x *float32, nb int, qs *byte, d *float32)
// Block b: quants at qs + 32b, scale at d[b].
TEXT ·quantQ8_0Split(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ qs+16(FP), DI
	MOVQ d+24(FP), R8
	QSETUP
	TESTQ CX, CX
	JZ    end

loop:
	QBLOCK(zero, quantized)
	VMOVDQU Y0, (DI)
	VMOVSS  X4, (R8)
	ADDQ    $128, SI
	ADDQ    $32, DI
	ADDQ    $4, R8
	DECQ    CX
	JNZ     loop

end:
	VZEROUPPER
	RET

// func quantQ8_0Pairs(x *float32, nb int, dst *byte, negZero int)
// Writes the pair layout of splitPairs: block b in record b/2 (192 bytes),
// half b%2: quants at +0, lanes negZero·(sum of 4 quants) at +64, scale ×8
// at +128. An odd last block gets a zero padding half.
TEXT ·quantQ8_0Pairs(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ dst+16(FP), DI
	QSETUP
	MOVQ         negZero+24(FP), AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11          // −zero point
	SUMSETUP
	XORQ         DX, DX            // half: 0 or 32
	TESTQ        CX, CX
	JZ           end

loop:
	QBLOCK(zero, quantized)
	VMOVDQU      Y0, (DI)(DX*1)
	VPMADDUBSW   Y0, Y10, Y1       // pairs of quants (int16)
	VPMADDWD     Y9, Y1, Y1        // sums of 4 (int32)
	VPMULLD      Y11, Y1, Y1
	VMOVDQU      Y1, 64(DI)(DX*1)
	VBROADCASTSS X4, Y4
	VMOVUPS      Y4, 128(DI)(DX*1)
	ADDQ         $128, SI
	XORQ         $32, DX
	JNZ          same
	ADDQ         $192, DI

same:
	DECQ CX
	JNZ  loop
	TESTQ DX, DX
	JZ    end
	VPXOR   Y0, Y0, Y0
	VMOVDQU Y0, 32(DI)
	VMOVDQU Y0, 96(DI)
	VMOVDQU Y0, 160(DI)

end:
	VZEROUPPER
	RET

// func quantQ8_KSplit(x *float32, nb int, qs *byte, d *float32, bs *int16)
// Q8_K activations (ggml's reference quantize_row_q8_K, as quant does it):
// per 256 floats, max = the first element of largest magnitude,
// iscale = −127/max, q = min(127, round-half-even(iscale·x)), d = 1/iscale,
// bsums = sums of each 16 quants. An all-zero block gives zeros. Block b:
// quants at qs + 256b, scale at d[b], sums at bs + 16b.
TEXT ·quantQ8_KSplit(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ qs+16(FP), DI
	MOVQ d+24(FP), R8
	MOVQ bs+32(FP), R9
	QSETUP
	SUMSETUP
	TESTQ        CX, CX
	JZ           end

block:
	// amax over the 256 values.
	VXORPS Y4, Y4, Y4
	XORQ   DX, DX

amax:
	VANDPS (SI)(DX*1), Y13, Y0
	VMAXPS Y0, Y4, Y4
	ADDQ   $32, DX
	CMPQ   DX, $1024
	JLT    amax
	VEXTRACTF128 $1, Y4, X5
	VMAXPS       X5, X4, X4
	VMOVHLPS     X4, X4, X5
	VMAXPS       X5, X4, X4
	VMOVSHDUP    X4, X5
	VMAXSS       X5, X4, X4
	VXORPS       X5, X5, X5
	VUCOMISS     X5, X4
	JEQ          zeroblock
	// The first element whose magnitude equals amax.
	VBROADCASTSS X4, Y4
	XORQ         DX, DX

find:
	VANDPS    (SI)(DX*1), Y13, Y0
	VCMPPS    $0, Y4, Y0, Y0
	VMOVMSKPS Y0, AX
	TESTL     AX, AX
	JNZ       found
	ADDQ      $32, DX
	JMP       find

found:
	BSFL   AX, AX
	LEAQ   (DX)(AX*4), DX
	VMOVSS (SI)(DX*1), X5          // max (signed)
	MOVL   $0xc2fe0000, AX         // −127
	VMOVD  AX, X6
	VDIVSS X5, X6, X6              // iscale = −127/max
	MOVL   $0x3f800000, AX         // 1
	VMOVD  AX, X7
	VDIVSS X6, X7, X7              // d = 1/iscale
	VMOVSS X7, (R8)
	VBROADCASTSS X6, Y6
	XORQ   DX, DX                  // float offset; DX/4 = quant offset
	XORQ   R10, R10                // group index

quant:
	VMULPS    (SI)(DX*1), Y6, Y0
	VMULPS    32(SI)(DX*1), Y6, Y1
	VMULPS    64(SI)(DX*1), Y6, Y2
	VMULPS    96(SI)(DX*1), Y6, Y3
	VROUNDPS  $0, Y0, Y0
	VROUNDPS  $0, Y1, Y1
	VROUNDPS  $0, Y2, Y2
	VROUNDPS  $0, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD    Y0, Y12, Y0
	VMOVDQU   Y0, (DI)
	// Sums of the two groups of 16 in this chunk.
	VPMADDUBSW Y0, Y10, Y1
	VPMADDWD   Y9, Y1, Y1
	VPHADDD    Y1, Y1, Y1
	VPHADDD    Y1, Y1, Y1
	VMOVD      X1, AX
	MOVW       AX, (R9)(R10*2)
	VEXTRACTI128 $1, Y1, X1
	VMOVD      X1, AX
	MOVW       AX, 2(R9)(R10*2)
	ADDQ       $32, DI
	ADDQ       $2, R10
	ADDQ       $128, DX
	CMPQ       DX, $1024
	JLT        quant
	JMP        next

zeroblock:
	VPXOR   Y0, Y0, Y0
	VMOVSS  X0, (R8)
	VMOVDQU Y0, (R9)
	XORQ    DX, DX

zq:
	VMOVDQU Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, DX
	CMPQ    DX, $256
	JLT     zq

next:
	ADDQ $1024, SI
	ADDQ $4, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  block

end:
	VZEROUPPER
	RET

// func roundF16(x *float32, n8 int, dst *float32)
// dst = float32(fp16(x)) for 8·n8 values: VCVTPS2PH with round-to-nearest-
// even (imm 0), as ggml's F16C path and quant.FP32ToFP16 round.
TEXT ·roundF16(SB), NOSPLIT, $0-24
	MOVQ  x+0(FP), SI
	MOVQ  n8+8(FP), CX
	MOVQ  dst+16(FP), DI
	TESTQ CX, CX
	JZ    done

loop:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X0
	VCVTPH2PS X0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       loop

done:
	VZEROUPPER
	RET

// func toF16(x *float32, n8 int, dst *uint16)
// dst = fp16 bits of x for 8·n8 values: VCVTPS2PH with round-to-nearest-
// even (imm 0), the conversion quant.FP32ToFP16 performs.
TEXT ·toF16(SB), NOSPLIT, $0-24
	MOVQ  x+0(FP), SI
	MOVQ  n8+8(FP), CX
	MOVQ  dst+16(FP), DI
	TESTQ CX, CX
	JZ    done

loop:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X0
	VMOVDQU   X0, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	DECQ      CX
	JNZ       loop

done:
	VZEROUPPER
	RET

// func toBF16(x *float32, n8 int, dst *uint16)
// dst = bf16 bits of x for 8·n8 values as quant.FP32ToBF16 rounds them:
// (u + 0x7fff + bit 16 of u) >> 16, ties to even, subnormals kept; a NaN
// keeps its top half with the quiet bit set. (VCVTNEPS2BF16 would flush
// subnormal inputs to zero.)
TEXT ·toBF16(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         n8+8(FP), CX
	MOVQ         dst+16(FP), DI
	TESTQ        CX, CX
	JZ           done
	MOVL         $1, AX
	MOVD         AX, X5
	VPBROADCASTD X5, Y5             // 1
	MOVL         $0x7fff, AX
	MOVD         AX, X6
	VPBROADCASTD X6, Y6             // rounding bias
	MOVL         $0x7fffffff, AX
	MOVD         AX, X7
	VPBROADCASTD X7, Y7             // |u| mask
	MOVL         $0x7f800000, AX
	MOVD         AX, X8
	VPBROADCASTD X8, Y8             // infinity
	MOVL         $0x40, AX
	MOVD         AX, X10
	VPBROADCASTD X10, Y10           // quiet bit of the top half

loop:
	VMOVDQU      (SI), Y0
	VPSRLD       $16, Y0, Y1
	VPAND        Y5, Y1, Y1
	VPADDD       Y6, Y0, Y2
	VPADDD       Y1, Y2, Y2
	VPSRLD       $16, Y2, Y2
	VPAND        Y7, Y0, Y3
	VPCMPGTD     Y8, Y3, Y4         // NaN lanes
	VPSRLD       $16, Y0, Y9
	VPOR         Y10, Y9, Y9
	VPBLENDVB    Y4, Y9, Y2, Y2
	VPACKUSDW    Y2, Y2, Y2         // per 128-bit lane: 4 words, twice
	VPERMQ       $0x08, Y2, Y2      // both lanes' words together
	VMOVDQU      X2, (DI)
	ADDQ         $32, SI
	ADDQ         $16, DI
	DECQ         CX
	JNZ          loop

done:
	VZEROUPPER
	RET

// func quantQ8_0Tile(x *float32, nb int, qs *byte, qstride int, d *float32, corr *int32, dstride int, negZero int)
// The packed kernels' tile layout: block b's quants at qs + b·qstride, its
// scale at d + b·dstride and negZero·(sum of its quants) at corr + b·dstride
// (byte strides).
TEXT ·quantQ8_0Tile(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ qs+16(FP), DI
	MOVQ qstride+24(FP), R9
	MOVQ d+32(FP), R8
	MOVQ corr+40(FP), R10
	MOVQ dstride+48(FP), R11
	MOVQ negZero+56(FP), R12
	QSETUP
	SUMSETUP
	TESTQ CX, CX
	JZ    tend

tloop:
	QBLOCK(tzero, tquantized)
	VMOVDQU    Y0, (DI)
	VMOVSS     X4, (R8)
	VPMADDUBSW Y0, Y10, Y1         // pairs of quants (int16)
	VPMADDWD   Y9, Y1, Y1          // sums of 4 (int32)
	VEXTRACTI128 $1, Y1, X2
	VPADDD     X2, X1, X1
	VPSHUFD    $0x4e, X1, X2
	VPADDD     X2, X1, X1
	VPSHUFD    $0xb1, X1, X2
	VPADDD     X2, X1, X1
	VMOVD      X1, AX
	IMULL      R12, AX
	MOVL       AX, (R10)
	ADDQ       $128, SI
	ADDQ       R9, DI
	ADDQ       R11, R8
	ADDQ       R11, R10
	DECQ       CX
	JNZ        tloop

tend:
	VZEROUPPER
	RET

// func geluF16Table(x *float32, up *float32, n8 int, table *float32, dst *float32)
// dst = gelu(x)·up (up nil: gelu(x)) for 8·n8 values, gelu as
// kernels.geluAt reads it: 0 for x ≤ -10, x for x ≥ 10, else the table's
// entry at x's fp16 bits (a gather of 8 entries at a time).
TEXT ·geluF16Table(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         up+8(FP), DX
	MOVQ         n8+16(FP), CX
	MOVQ         table+24(FP), R8
	MOVQ         dst+32(FP), DI
	TESTQ        CX, CX
	JZ           gdone
	MOVL         $0xC1200000, AX // -10.0
	VMOVD        AX, X5
	VBROADCASTSS X5, Y5
	MOVL         $0x41200000, AX // 10.0
	VMOVD        AX, X6
	VBROADCASTSS X6, Y6

gloop:
	VMOVUPS    (SI), Y0
	VCVTPS2PH  $0, Y0, X1
	VPMOVZXWD  X1, Y1
	VPCMPEQD   Y7, Y7, Y7
	VXORPS     Y2, Y2, Y2
	VGATHERDPS Y7, (R8)(Y1*4), Y2
	VCMPPS     $2, Y5, Y0, Y3  // x <= -10
	VANDNPS    Y2, Y3, Y2      // → 0
	VCMPPS     $13, Y6, Y0, Y4 // x >= 10
	VBLENDVPS  Y4, Y0, Y2, Y2  // → x
	TESTQ      DX, DX
	JZ         gstore
	VMULPS     (DX), Y2, Y2
	ADDQ       $32, DX

gstore:
	VMOVUPS Y2, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     gloop

gdone:
	VZEROUPPER
	RET
