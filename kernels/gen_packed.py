#!/usr/bin/env python3
# Generates packed_amd64.s, the packed 16-row kernels (layouts in packed.go):
#   go generate ./kernels   (or: python3 gen_packed.py, from this folder)
# With an argument it writes that file instead: `make test` regenerates
# into a temporary file and compares it with the committed one, so an edit
# to either alone fails CI.
# One kernel per weight type and activation tile size N; everything is
# unrolled so each output's operations come in the documented order.

import re
import sys

# Software prefetch. K-quant records are kilobytes long: prefetching 16 KiB
# ahead raised their DRAM-bound GEMV from ~31-36 to ~40-55 GB/s
# (BenchmarkMatMulPacked, 2 threads) and their batched tiles by 40-80 %
# (Q6_K 128256x2048, nx=8/16: 373/487 -> 605/754 GOP/s with N=8). For the
# short Q4_0/Q8_0-family records it measured neutral to harmful in the
# one-group GEMV (N <= 2), so those have none (the multi-stream GEMV
# kernels below do, a few records ahead); their N >= 4 tiles, which spend
# longer on each record, gain 15-50 % from 8 KiB ahead (Q4_0 N=8
# 586-695 -> 870-897 GOP/s, Q8_0 334-685 -> 403-880).
PREFETCH_K = 16384
# Q6_K's one-group GEMV (N = 1; single rows take the two-stream kernel
# below, this one a call's rows outside whole stream pieces) is better
# served nearer:
# 6 KiB ahead against 16 KiB, in two alternating runs on the 2-core Zen 5
# VM, read 1.13-1.21 against 1.09 of the probe on its 128256x2048 output
# matrix and 1.07-1.14 against 1.03-1.08 on 2048x8192 ffn_down (4 KiB and
# 3.4 KiB were worse again, 8 KiB in between); see docs/performance.md.
# PREFETCHT1 in its place measured 0.97 of the Q4_0 file's step time where
# the memory was busy (38 GB/s) and 1.05 where it was free (67); 12 KiB
# ahead and PREFETCHNTA were level (round 16). T0 stays.
Q6K_GEMV_PREFETCH = 6144
PREFETCH_TILE = 8192

# The NOPs after each main-loop prefetch of a type's paced single-row
# stream kernels (paced; every single-row stream kernel but Q2_K's has
# one). On the 2-core Intel Xeon VM, 1 GiB of cold matrices, alternating
# with the unpaced kernels (round 54), by NOPs: Q4_0 20 1.012, 32
# 1.015-1.020, 48 0.954; Q8_0 20 1.08, 24 1.098, 32 1.104-1.107, 40 1.088;
# Q4_K 24 1.042-1.053, 32 1.057, 40 0.980; Q6_K 16 1.071, 20 1.058-1.100,
# 28 1.041. Each count is below the best by a margin from the cliff; the
# other types take their family's (Q4_0's, Q4_K's, Q6_K's). In llama-1b,
# each binary's pacer against the plain form (round 55): Q4_0 16 / 28 / 40,
# Q8_0 20 / 28 / 36, Q4_K 16 / 24 / 32 and Q6_K 12 / 20 / 28 put these
# counts at or next to the best. Since round 61 the four-stream K-quant
# and IQ4_XS kernels prefetch each line once (prefetch_part, once: 37
# prefetches a record and stream instead of 44 for Q4_K, 53 instead of 68
# for Q6_K); Q4_K, Q5_K and Q6_K take 28, 28 and 24 NOPs, about the same
# padding a record as before (Q3_K and IQ4_XS keep 20, as measured): in llama-1b
# decode, alternating with the duplicate prefetches and 24 / 20 NOPs in
# one process, Q4_K_M steps took 0.991-0.998 of the time (four runs),
# Q4_0 0.995 (two); with the NOPs left at 24 / 20, 1.010-1.012. Before
# that change, Q4_K at 16 or 32 NOPs measured 1.002-1.007 and 1.023-1.025,
# Q6_K at 8, 12, 16 and 24 0.999-1.013.
PACE_NOPS = {'q4_0': 28, 'q8_0': 28, 'q5_0': 28, 'q4_1': 28, 'q5_1': 28, 'iq4_nl': 28,
             'q4_K': 28, 'q5_K': 28, 'q6_K': 24, 'q3_K': 20, 'iq4_XS': 20}

# ggml's kvalues_iq4nl + 128, as bytes: the table IQ4_NL and IQ4_XS codes
# index (quant.IQ4Levels), unsigned for VPDPBUSD.
IQ4_LEVELS128 = (0x766a5d4f3f2d1801, 0xf1d9c5b5a6998d81)

def prefetch_part(a, rec, part, parts, dist, once=False):
    """Prefetches, dist bytes ahead, the cache lines of part part of parts
    of the rec-byte record at SI (spread over a record's sub-blocks so the
    prefetches interleave with the work): every line the part touches, so
    a line across two parts is prefetched twice, or (once) the lines that
    start in the part."""
    lo, hi = rec*part//parts, rec*(part+1)//parts
    for o in range((lo + 63) // 64 * 64 if once else lo - lo % 64, hi, 64):
        a(f"\tPREFETCHT0 {dist+o}(SI)")
OUT = sys.argv[1] if len(sys.argv) > 1 else 'packed_amd64.s'
def prologue(a, name):
    """The shared signature and argument loads of every packed kernel."""
    a(f"// func {name}(w *byte, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int)")
    a(f"TEXT ·{name}(SB), NOSPLIT, $0-72")
    a("\tMOVQ w+0(FP), SI")
    a("\tMOVQ nb+8(FP), CX")
    a("\tMOVQ act+16(FP), R8")
    a("\tMOVQ astride+24(FP), R9")
    a("\tMOVQ d+32(FP), DI")
    a("\tMOVQ corr+40(FP), BX")
    a("\tMOVQ dstride+48(FP), DX")

def store_outputs(a, N, first, ptr, op="VMOVUPS"):
    """Stores the N output registers Z{first}.. (16 floats each) at ptr,
    ptr + ystride, ... (CX = ystride; ptr is advanced) with op."""
    for i in range(N):
        a(f"\t{op} Z{first+i}, ({ptr})")
        if i < N-1:
            a(f"\tADDQ CX, {ptr}")

def epilogue(a, N, first):
    """Stores the N output registers Z{first}.. at y, y + ystride, ... and
    returns."""
    a("\tMOVQ y+56(FP), SI")
    a("\tMOVQ ystride+64(FP), CX")
    store_outputs(a, N, first, "SI")
    a("\tVZEROUPPER")
    a("\tRET")
    a("")

def next_block(a, N, rec, first):
    """Advance to the next block (record, activations, scales, corrections)
    and loop; after the loop, store the outputs Z{first}.. ."""
    a(f"\tADDQ ${rec}, SI")
    a("\tADDQ R9, R8")
    a("\tADDQ DX, DI")
    a("\tADDQ R10, BX")
    a("\tDECQ CX")
    a("\tJNZ  loop")
    a("")
    epilogue(a, N, first)

def min_block_end(a, N, rec, late_d=False):
    """End of a block for kernels with minimums (Q2_K, Q4_K, Q5_K): per act,
    acc += float(dots)·(d·d_a), acc −= float(mins)·(dmin·d_a); next block;
    after the loop, store the outputs Z12.. . late_d: the record's d and
    dmin are widened here, not at the loop's head (min_loop_head)."""
    if late_d:
        widen_d(a)
    for i in range(N):
        a(f"\tVCVTDQ2PS Z{4+i}, Z{4+i}")
        a(f"\tVCVTDQ2PS Z{8+i}, Z{8+i}")
        a(f"\tVMULPS.BCST {4*i}(DI), Z28, Z21")
        a(f"\tVFMADD231PS Z21, Z{4+i}, Z{12+i}")
        a(f"\tVMULPS.BCST {4*i}(DI), Z29, Z22")
        a(f"\tVFNMADD231PS Z22, Z{8+i}, Z{12+i}")
    next_block(a, N, rec, 12)

def scaled_block_end(a, N, acc, tmp, rec):
    """End of a block for the scaled kernels without minimums (Q6_K,
    IQ4_XS): per act, out += float(dots Z{acc(i)})·(d·d_a), through
    Z{tmp(i)}; next block; after the loop, store the outputs Z16.. ."""
    for i in range(N):
        a(f"\tVCVTDQ2PS Z{acc(i)}, Z{acc(i)}")
        a(f"\tVMULPS.BCST {4*i}(DI), Z30, Z{tmp(i)}")
        a(f"\tVFMADD231PS Z{tmp(i)}, Z{acc(i)}, Z{16+i}")
    next_block(a, N, rec, 16)

def widen_d(a):
    """The record's d (Z28) and dmin (Z29), widened to float32."""
    a("\tVCVTPH2PS (SI), Z28")
    a("\tVCVTPH2PS 32(SI), Z29")

def min_loop_head(a, N, late_d=False):
    """Start of the kernels with minimums (Q2_K, Q4_K, Q5_K): zero the
    outputs Z12.., open the block loop, widen the record's d (Z28) and dmin
    (Z29) unless late_d (min_block_end does then), zero the per-block dot
    and minimum sums Z4.. and Z8.. ."""
    for i in range(N):
        a(f"\tVPXORD Z{12+i}, Z{12+i}, Z{12+i}")
    a("")
    a("loop:")
    if not late_d:
        widen_d(a)
    for i in range(N):
        a(f"\tVPXORD Z{4+i}, Z{4+i}, Z{4+i}")
        a(f"\tVPXORD Z{8+i}, Z{8+i}, Z{8+i}")

def at_si(off):
    return f"{off}(SI)"

def nibble_codes(a, off, g, lo, hi, fifth, at=at_si, hi16=False):
    """Loads the 64 code bytes at at(off) and splits them into the codes of
    groups g (low nibbles, into lo) and g+4 (high nibbles, into hi), with the
    0x0F mask in Z31. fifth = (H, tmp, mask 0x10) adds the fifth bits: element
    4g+k's at bit g of H's byte k, element 16+4g+k's at bit 4+g, moved to
    bit 4 and merged (one shift and one VPTERNLOGD each). hi16 leaves the
    high nibbles in place (hi = 16 × code, one VPANDND and no shift): for
    kernels whose high-nibble dots have an accumulator of their own, which
    is divided by 16 (exactly) before it joins the low one."""
    a(f"\tVMOVDQU64 {at(off)}, {lo}")
    if hi16:
        assert not fifth
        a(f"\tVPANDND {lo}, Z31, {hi}")
        a(f"\tVPANDD Z31, {lo}, {lo}")
        return
    a(f"\tVPSRLW $4, {lo}, {hi}")
    a(f"\tVPANDD Z31, {lo}, {lo}")
    a(f"\tVPANDD Z31, {hi}, {hi}")
    if fifth:
        h, tmp, m = fifth
        a(f"\tVPSLLW ${4-g}, {h}, {tmp}")
        a(f"\tVPTERNLOGD $0xF8, {m}, {tmp}, {lo}")
        if g == 0:
            a(f"\tVPTERNLOGD $0xF8, {m}, {h}, {hi}")
        else:
            a(f"\tVPSRLW ${g}, {h}, {tmp}")
            a(f"\tVPTERNLOGD $0xF8, {m}, {tmp}, {hi}")

def two_bit_codes(a, src, g, dst):
    """dst = the 2-bit codes of group g of the 64 bytes in src (bits 2g,
    2g+1 of each byte), with the 0x03 mask in Z31."""
    if g == 0:
        a(f"\tVPANDD Z31, {src}, {dst}")
    else:
        a(f"\tVPSRLW ${2*g}, {src}, {dst}")
        a(f"\tVPANDD Z31, {dst}, {dst}")

def kern(N, name, wdecode, pf=None, tile_pf=True):
    # wdecode: 'q4', 'q5' (Q4_0/Q5_0: codes + zero-point corrections),
    # 'iq4nl' (IQ4_NL: Q4_0's codes, each turned into level+128 by one
    # VPSHUFB with the table in Z27, zero point 128),
    # 'q41', 'q51' (Q4_1/Q5_1: unsigned codes and a minimum: +16 bytes of
    # fp16 m per record, and the activation's s = d_a·Σq in the correction
    # slot, as float bits) or 'q8'. pf: prefetch every line of the record
    # this many bytes ahead (None: none, unless N >= 4).
    split = N <= 2  # two integer chains per act to shorten the dependency chain
    nib = wdecode in ('q4', 'q5', 'q41', 'q51', 'iq4nl')
    lut = wdecode == 'iq4nl'
    five = wdecode in ('q5', 'q51')
    mins = wdecode in ('q41', 'q51')
    co = 64 if mins else 32  # first code byte
    # The split kernels' high-nibble chain takes the codes ×16 (see
    # nibble_codes): one VPANDND where a shift and an AND were, and one
    # arithmetic shift per block at the end.
    hi16 = split and nib and not five and not lut
    L=[]
    a=L.append
    prologue(a, name)
    if nib:
        a("\tMOVL $0x0f0f0f0f, AX")
        a("\tVPBROADCASTD AX, Z31")
    if five:
        a("\tMOVL $0x10101010, AX")
        a("\tVPBROADCASTD AX, Z25")
    if lut:
        a(f"\tMOVQ ${IQ4_LEVELS128[0]:#x}, AX")
        a("\tVPBROADCASTQ AX, Z27")
        a(f"\tMOVQ ${IQ4_LEVELS128[1]:#x}, AX")
        a("\tVPBROADCASTQ AX, Z26")
        a("\tVPUNPCKLQDQ Z26, Z27, Z27")
    for i in range(N):
        a(f"\tVPXORD Z{16+i}, Z{16+i}, Z{16+i}")
    a("")
    a("loop:")
    rec = {'q4': 288, 'q5': 352, 'q8': 544, 'q41': 320, 'q51': 384, 'iq4nl': 288}[wdecode]
    if N >= 4 and tile_pf:
        prefetch_part(a, rec, 0, 1, PREFETCH_TILE)
    if pf:
        prefetch_part(a, rec, 0, 1, pf)
    a("\tVCVTPH2PS (SI), Z30")
    if mins:
        a("\tVCVTPH2PS 32(SI), Z24")
    for i in range(N):
        if mins:
            a(f"\tVPXORD Z{i}, Z{i}, Z{i}")
        else:
            a(f"\tVPBROADCASTD {4*i}(BX), Z{i}")
        if split:
            a(f"\tVPXORD Z{8+i}, Z{8+i}, Z{8+i}")
    if nib:
        if five:
            a(f"\tVMOVDQU64 {co+256}(SI), Z27")
        for g in range(4):
            nibble_codes(a, co+64*g, g, "Z28", "Z29", ("Z27", "Z26", "Z25") if five else None, hi16=hi16)
            if lut:
                a("\tVPSHUFB Z28, Z27, Z28")
                a("\tVPSHUFB Z29, Z27, Z29")
            for i in range(N):
                a(f"\tVPDPBUSD.BCST {32*i+4*g}(R8), Z28, Z{i}")
                a(f"\tVPDPBUSD.BCST {32*i+16+4*g}(R8), Z29, Z{8+i if split else i}")
    else:
        for g in range(8):
            r = 28 + (g % 2)
            a(f"\tVMOVDQU64 {32+64*g}(SI), Z{r}")
            for i in range(N):
                acc = (8+i) if (split and g%2) else i
                a(f"\tVPDPBUSD.BCST {32*i+4*g}(R8), Z{r}, Z{acc}")
    for i in range(N):
        if hi16:
            a(f"\tVPSRAD $4, Z{8+i}, Z{8+i}")
        if split:
            a(f"\tVPADDD Z{8+i}, Z{i}, Z{i}")
        a(f"\tVCVTDQ2PS Z{i}, Z{i}")
        a(f"\tVMULPS.BCST {4*i}(DI), Z30, Z{8+i}")
        a(f"\tVFMADD231PS Z{8+i}, Z{i}, Z{16+i}")
        if mins:
            a(f"\tVFMADD231PS.BCST {4*i}(BX), Z24, Z{16+i}")
    a(f"\tADDQ ${rec}, SI")
    a("\tADDQ R9, R8")
    a("\tADDQ DX, DI")
    a("\tADDQ DX, BX")
    a("\tDECQ CX")
    a("\tJNZ  loop")
    a("")
    epilogue(a, N, 16)
    return "\n".join(L)

hdr = '''//go:build amd64

#include "textflag.h"

// Code generated by gen_packed.py; DO NOT EDIT.
//
// Packed-weight GEMM kernels: one call computes a group of 16 weight rows
// (the packed layout of packed.go) against N activation rows, N in 1, 2,
// 4, 8. Lane r of an accumulator holds output row r: each VPDPBUSD
// multiplies the 16 rows' unsigned codes of one 4-element group by the
// same 4 activation quants, broadcast, so after all groups lane r holds the
// whole block's integer dot (plus the activation's zero-point correction
// the accumulator started from, which makes it exact). Per block and
// activation row: float(dot) × (d_w·d_a) is added to the output lanes with
// one fused multiply-add, blocks in order: the same sequence whatever N.
//
// Q6_K and Q3_K (N in 1, 2, 4, 8) and the other K-quants (N in 1, 2, 4)
// work the same way per 16- or 32-element
// sub-block, whose integer dot is multiplied by the rows' integer scales
// (VPMULLD) and summed as int32 over the 256-element block before the one
// float step per block; Q4_K's minimums are one VPDPWSSD per two sub-blocks
// against the activation's sub-block sums.
//
// Registers (Q4_0/Q8_0): Z0-Z7 integer dots (act i), Z8-Z15 second chains
// (N ≤ 2) and scale products, Z16-Z23 outputs, Z28/Z29 weight codes, Z30
// d_w, Z31 the 0x0F mask. SI weights, CX blocks left, R8 activation quants
// of the block (act i at +32i, +256i for K-quants), R9 their block stride,
// DI scales and BX corrections (act i at +4i), DX their block stride.

// k4masks: the masks that take Q4_K's and Q5_K's 6-bit scales and minimums
// out of their three words a row (k_scale, k_mins; packQ4_K's layout).
DATA k4masks<>+0(SB)/4, $0x0000003f
DATA k4masks<>+4(SB)/4, $0x0000000f
DATA k4masks<>+8(SB)/4, $0x00000030
DATA k4masks<>+12(SB)/4, $0x003f003f
DATA k4masks<>+16(SB)/4, $0x000f000f
DATA k4masks<>+20(SB)/4, $0x00300030
GLOBL k4masks<>(SB), RODATA|NOPTR, $24

// sc6masks: the masks that gather a signed 6-bit scale from pieces in
// several words (q3_scale, iq4xs_scale; packQ3_K's and packIQ4_XS's
// layouts).
DATA sc6masks<>+0(SB)/4, $0xc0000000
DATA sc6masks<>+4(SB)/4, $0xf0000000
GLOBL sc6masks<>(SB), RODATA|NOPTR, $8

''' + "".join(f"// PACE{n}: the {n} one-byte NOPs after each main-loop prefetch of a paced\n"
            f"// stream kernel (gen_packed.py, paced).\n#define PACE{n} " + "; ".join(["BYTE $0x90"] * n) + "\n\n"
            for n in sorted(set(PACE_NOPS.values())))
out = hdr
for N in (1,2,4,8):
    out += kern(N, f"q4_0x16N{N}", 'q4')
for N in (1,2,4,8):
    out += kern(N, f"q8_0x16N{N}", 'q8')
for N in (1,2,4,8):
    out += kern(N, f"q5_0x16N{N}", 'q5')
for N in (1,2,4,8):
    out += kern(N, f"q4_1x16N{N}", 'q41')
for N in (1,2,4,8):
    out += kern(N, f"q5_1x16N{N}", 'q51')
for N in (1,2,4,8):
    out += kern(N, f"iq4_nlx16N{N}", 'iq4nl')
open(OUT,'w').write(out.rstrip()+"\n")

# Q3_K records: 1760 bytes, the file's. +0 d, +32 the sixteen signed 6-bit
# scales in three words a row (row r's word i at 32+64i+4r; q3_scale), +224
# the codes: sub-blocks 2p and 2p+1 share 192 bytes at 224+192p, their
# 2-bit planes L (at +0, +64) and the third bits H (+128, bits 0-3 for 2p,
# 4-7 for 2p+1).
Q3K_CODES = 32 + 192
Q3K_REC = Q3K_CODES + 8*192
# Where sub-block 5i+j's scale sits in word i (j < 5): bits P..P+5. The
# last one is at the top, so an arithmetic shift alone takes it out; bits
# 24-25 of the three words hold sub-block 15's, low pair first.
Q3K_SCALE_BITS = (0, 6, 12, 18, 26)

def signed6(a, off, j, dst):
    """dst (lane r) = field j (Q3K_SCALE_BITS) of row r's word at
    off+4r in the record at SI, sign-extended from its 6 bits: a left
    shift to the top and an arithmetic shift back, or the latter alone."""
    pos = Q3K_SCALE_BITS[j]
    if pos == 26:
        a(f"\tVPSRAD $26, {off}(SI), {dst}")
        return
    a(f"\tVPSLLD ${26-pos}, {off}(SI), {dst}")
    a(f"\tVPSRAD $26, {dst}, {dst}")

def q3_scale(a, s, dst, tmp):
    """dst (lane r) = row r's scale of Q3_K sub-block s, sign-extended
    from its 6 bits, from the record at SI; tmp is clobbered."""
    if s < 15:
        signed6(a, 32 + 64*(s//5), s % 5, dst)
        return
    # pieces to bits 30-31 (word 2), 28-29 (word 1), 26-27 (word 0)
    a(f"\tVPSLLD $6, 160(SI), {dst}")
    a(f"\tVPSLLD $4, 96(SI), {tmp}")
    a(f"\tVPTERNLOGD.BCST $0xE4, sc6masks<>+0(SB), {tmp}, {dst}")
    a(f"\tVPSLLD $2, 32(SI), {tmp}")
    a(f"\tVPTERNLOGD.BCST $0xE4, sc6masks<>+4(SB), {tmp}, {dst}")
    a(f"\tVPSRAD $26, {dst}, {dst}")

def q6k(N, name, three=False, pf=PREFETCH_K, marks=None, per_mark=1, once=False):
    # Q6_K records: 3360 bytes, sub-block s's codes (X, Y, Z) at 288+192s.
    # Q3_K's: Q3K_REC above.
    rec = Q3K_REC if three else 3360
    # Q6_K: the 0x0C mask of code D's middle bits, in a register no other
    # part of the kernel (or its stream forms' renames) takes. The layout
    # (packQ6_K) was made for the nine-operation decode in round 66: one
    # thread's rate over matrices in L2 (BenchmarkSingleRowKernels) rose
    # from 50 to 57-58 GB/s; llama-1b decode steps, the two layouts and
    # kernel sets alternating in one process, measured level (0.998-1.002
    # of the time with pacing on, off or the pacer's choice) and the paced
    # form's 24 NOPs still the best (16 and 32: 1.007-1.013 of the time).
    q6_mask = "Z11" if N == 8 else "Z7"
    L=[]; a=L.append
    prologue(a, name)
    a("\tMOVQ DX, R10")
    a("\tSHLQ $4, R10 // corrections: 16 per block and row")
    if three:
        a("\tMOVL $0x03030303, AX")
        a("\tVPBROADCASTD AX, Z31")
        a("\tMOVL $0x04040404, AX")
        a("\tVPBROADCASTD AX, Z29")
    else:
        a("\tMOVL $0x3f3f3f3f, AX")
        a("\tVPBROADCASTD AX, Z31")
        a("\tMOVL $0x30303030, AX")
        a("\tVPBROADCASTD AX, Z29")
        a("\tMOVL $0x0c0c0c0c, AX")
        a(f"\tVPBROADCASTD AX, {q6_mask}")
    # regs (N <= 4): facc Z16+i, itot Z20+i, isub Z0+i, tmp Z8+i; (N = 8):
    # facc Z16+i, itot Z0+i, isub Z8/Z9 alternating, tmp Z10. Both: codes
    # Z24-Z27 (A,B,C,D), loads Z12-Z14 (Q6_K: X, Y, Z; Q3_K: L, H), Z15
    # temp, Z28 sc, Z29/Z31 masks (and Q6_K's q6_mask), Z30 dw.
    itot = (lambda i: i) if N == 8 else (lambda i: 20+i)
    isub = (lambda i: 8 + i % 2) if N == 8 else (lambda i: i)
    tmp = (lambda i: 10) if N == 8 else (lambda i: 8+i)
    for i in range(N):
        a(f"\tVPXORD Z{16+i}, Z{16+i}, Z{16+i}")
    a("")
    a("loop:")
    a("\tVCVTPH2PS (SI), Z30")
    for i in range(N):
        a(f"\tVPXORD Z{itot(i)}, Z{itot(i)}, Z{itot(i)}")
    def hi(shift, dst):
        # dst |= (H shifted by shift: >0 left, <0 right) & mask Z29
        if shift == 0:
            a(f"\tVPTERNLOGD $0xF8, Z29, Z14, {dst}")
            return
        op = "VPSLLW" if shift > 0 else "VPSRLW"
        a(f"\t{op} ${abs(shift)}, Z14, Z15")
        a(f"\tVPTERNLOGD $0xF8, Z29, Z15, {dst}")
    for s in range(16):
        if marks is not None and s % per_mark == 0:
            marks.append(len(L))
        prefetch_part(a, rec, s, 16, pf, once)
        if three:
            q3_scale(a, s, "Z28", "Z15")
        else:
            a(f"\tVPMOVSXBD {32+16*s}(SI), Z28")
        if three:
            co = Q3K_CODES + 192*(s//2)
            odd = s % 2
            a(f"\tVMOVDQU64 {co+64*odd}(SI), Z12")
            a(f"\tVMOVDQU64 {co+128}(SI), Z14")
            for g, reg in enumerate(("Z24", "Z25", "Z26", "Z27")):
                # low 2 bits at 2g of L; third bit at g (+4 for odd s) of H
                two_bit_codes(a, "Z12", g, reg)
                hi(2 - g - 4*odd, reg)
        else:
            co = 288 + 192*s
            a(f"\tVMOVDQU64 {co}(SI), Z12")
            a(f"\tVMOVDQU64 {co+64}(SI), Z13")
            a(f"\tVMOVDQU64 {co+128}(SI), Z14")
            # D = ((X>>6) & 03) | ((Y>>4) & 0C) | ((Z>>2) & 30): each
            # VPTERNLOGD $0xB8 takes its first operand's bits where the
            # mask (its second) has ones and keeps the destination's
            # elsewhere; the last AND clears what the word shifts brought
            # in above bit 5.
            a("\tVPSRLW $6, Z12, Z27")
            a("\tVPSRLW $4, Z13, Z15")
            a(f"\tVPTERNLOGD $0xB8, Z15, {q6_mask}, Z27")
            a("\tVPSRLW $2, Z14, Z15")
            a("\tVPTERNLOGD $0xB8, Z15, Z29, Z27")
            a("\tVPANDD Z31, Z27, Z27")
            # A, B, C: the low six bits of X, Y, Z
            a("\tVPANDD Z31, Z12, Z24")
            a("\tVPANDD Z31, Z13, Z25")
            a("\tVPANDD Z31, Z14, Z26")
        for i in range(N):
            u = isub(i)
            a(f"\tVPBROADCASTD {4*(16*i+s)}(BX), Z{u}")
            for g,reg in enumerate((24,25,26,27)):
                a(f"\tVPDPBUSD.BCST {256*i+16*s+4*g}(R8), Z{reg}, Z{u}")
            a(f"\tVPMULLD Z28, Z{u}, Z{u}")
            a(f"\tVPADDD Z{u}, Z{itot(i)}, Z{itot(i)}")
    if marks is not None:
        marks.append(len(L))
    scaled_block_end(a, N, itot, tmp, rec)
    return "\n".join(L)

q6 = open(OUT).read().rstrip()+"\n\n"
for N in (1,2,4,8):
    q6 += q6k(N, f"q6_Kx16N{N}", pf=Q6K_GEMV_PREFETCH if N == 1 else PREFETCH_K)
open(OUT,'w').write(q6.rstrip()+"\n")

# IQ4_XS records (2176 bytes, the file's): +0 d (fp16 × 16 rows), +32 the
# eight group scales ls−32 as signed 6-bit fields in a word and a half-word
# a row (iq4xs_scale), +128 the codes of group s at 128+256s in Q4_0's
# arrangement (four 64-byte parts, row r's 4 bytes at 4r: low nibbles
# elements 4g.., high nibbles 16+4g..). One
# VPSHUFB per nibble vector turns the codes into level+128 (unsigned, Z29
# holds the table in every lane), so VPDPBUSD takes the products straight
# into dwords; each group's dot starts from the activation's correction
# −128·Σa_s, is exact after it, and is multiplied by the sign-extended
# scales (VPMULLD) into the block's int32 total, as Q6_K's sub-blocks are.

def level_table(a, levels):
    """Z29: the 16-byte code -> level table (two qwords) in every lane
    (Z27 is a temporary)."""
    a(f"\tMOVQ ${levels[0]:#x}, AX")
    a("\tVPBROADCASTQ AX, Z29")
    a(f"\tMOVQ ${levels[1]:#x}, AX")
    a("\tVPBROADCASTQ AX, Z27")
    a("\tVPUNPCKLQDQ Z27, Z29, Z29")

def iq_block_head(a):
    """The start of a transcoded i-quant record (packIQ): Z30 = the 16
    rows' d, fp16 widened and times the type's power of two (float32 at
    +48; exact), Z29 = the type's code table (level+128, at +32)."""
    a("\tVCVTPH2PS (SI), Z30")
    a("\tVMULPS.BCST 48(SI), Z30, Z30")
    a("\tVBROADCASTI32X4 32(SI), Z29")

# table_codes loads 64 bytes of 4-bit codes at off(SI) and looks them up in
# the record's 16-entry table Z29: low nibbles' levels to Z24, high to Z25
# (mask Z31, load register Z26).
def table_codes(a, off):
    a(f"\tVMOVDQU64 {off}(SI), Z26")
    a("\tVPANDD Z31, Z26, Z24")
    a("\tVPSRLW $4, Z26, Z25")
    a("\tVPANDD Z31, Z25, Z25")
    a("\tVPSHUFB Z24, Z29, Z24")
    a("\tVPSHUFB Z25, Z29, Z25")

IQ4XS_CODES = 32 + 96
IQ4XS_REC = IQ4XS_CODES + 8*256

def iq4xs_scale(a, s, dst, tmp):
    """dst (lane r) = row r's scale of IQ4_XS group s, sign-extended from
    its 6 bits, from the record at SI; tmp is clobbered. Row r's word at
    32+4r holds groups 0-4 at bits 0, 6, 12, 18 and 26 (as Q3_K's words)
    and the low pair of group 7's at 24; its half-word at 96+2r group 5's
    at bit 0, the rest of group 7's at 6 and group 6's at 10."""
    if s < 5:
        signed6(a, 32, s, dst)
    elif s == 6:
        a(f"\tVPMOVSXWD 96(SI), {dst}")
        a(f"\tVPSRAD $10, {dst}, {dst}")
    else:
        a(f"\tVPMOVZXWD 96(SI), {dst}")
        if s == 5:
            a(f"\tVPSLLD $26, {dst}, {dst}")
        else:
            a(f"\tVPSLLD $22, {dst}, {dst}")
            a(f"\tVPSLLD $2, 32(SI), {tmp}")
            a(f"\tVPTERNLOGD.BCST $0xE4, sc6masks<>+4(SB), {tmp}, {dst}")
        a(f"\tVPSRAD $26, {dst}, {dst}")

def iq4xs(N, name, pf=PREFETCH_K, iq=False, marks=None, once=False):
    # iq: the records of the transcoded i-quants (iq_block_head): a
    # 64-byte header and the group multipliers as int8 (at 64+16s), so the
    # codes sit at 192.
    codes = 192 if iq else IQ4XS_CODES
    rec = codes + 8*256
    L=[]; a=L.append
    prologue(a, name)
    a("\tMOVQ DX, R10")
    a("\tSHLQ $3, R10 // corrections: 8 per block and row")
    a("\tMOVL $0x0f0f0f0f, AX")
    a("\tVPBROADCASTD AX, Z31")
    if not iq:
        level_table(a, IQ4_LEVELS128)
    # regs: block totals Z0+i, group dots Z8+i (then the scale products),
    # outputs Z16+i, codes Z24 (low) Z25 (high), load Z26, scales Z28,
    # table Z29, d_w Z30, mask Z31.
    for i in range(N):
        a(f"\tVPXORD Z{16+i}, Z{16+i}, Z{16+i}")
    a("")
    a("loop:")
    if iq:
        iq_block_head(a)
    else:
        a("\tVCVTPH2PS (SI), Z30")
    for i in range(N):
        a(f"\tVPXORD Z{i}, Z{i}, Z{i}")
    for s in range(8):
        if marks is not None:
            marks.append(len(L))
        prefetch_part(a, rec, s, 8, pf, once)
        if iq:
            a(f"\tVPMOVSXBD {64+16*s}(SI), Z28")
        else:
            iq4xs_scale(a, s, "Z28", "Z26")
        for i in range(N):
            a(f"\tVPBROADCASTD {4*(8*i+s)}(BX), Z{8+i}")
        for g in range(4):
            table_codes(a, codes+256*s+64*g)
            for i in range(N):
                a(f"\tVPDPBUSD.BCST {256*i+32*s+4*g}(R8), Z24, Z{8+i}")
                a(f"\tVPDPBUSD.BCST {256*i+32*s+16+4*g}(R8), Z25, Z{8+i}")
        for i in range(N):
            a(f"\tVPMULLD Z28, Z{8+i}, Z{8+i}")
            a(f"\tVPADDD Z{8+i}, Z{i}, Z{i}")
    if marks is not None:
        marks.append(len(L))
    scaled_block_end(a, N, lambda i: i, lambda i: 8+i, rec)
    return "\n".join(L)

xs = open(OUT).read().rstrip()+"\n\n"
for N in (1,2,4,8):
    xs += iq4xs(N, f"iq4_XSx16N{N}") + "\n"
open(OUT,'w').write(xs.rstrip()+"\n")

# Q4_K's and Q5_K's 6-bit scales and minimums: three words a row, the
# file's 12 bytes (packQ4_K), at K_SCALES + 64i + 4r for word i of row r.
K_SCALES = 64

def k_scale(a, s, dst, tmp):
    """dst (lane r) = row r's scale of sub-block s, from the record at SI;
    tmp is clobbered. Word i holds sub-blocks 2i and 2i+1 (i < 3) at bits
    6 and 22; sub-block 6's and 7's low nibbles are word 1's bits 12 and
    28, their top two bits word 2's bits 14 and 30."""
    if s < 6:
        a(f"\tVPSRLD ${6 if s % 2 == 0 else 22}, {K_SCALES+64*(s//2)}(SI), {dst}")
        a(f"\tVPANDD.BCST k4masks<>+0(SB), {dst}, {dst}")
        return
    if s == 6:
        a(f"\tVPSRLD $12, {K_SCALES+64}(SI), {dst}")
        a(f"\tVPANDD.BCST k4masks<>+4(SB), {dst}, {dst}")
        a(f"\tVPSRLD $10, {K_SCALES+128}(SI), {tmp}")
    else:
        a(f"\tVPSRLD $28, {K_SCALES+64}(SI), {dst}")
        a(f"\tVPSRLD $26, {K_SCALES+128}(SI), {tmp}")
    a(f"\tVPTERNLOGD.BCST $0xF8, k4masks<>+8(SB), {tmp}, {dst}")

def k_mins(a, p, dst, tmp):
    """dst (lane r) = row r's minimums of sub-blocks 2p and 2p+1 as its
    low and high word, from the record at SI; tmp is clobbered. Word p < 3
    holds them at bits 0 and 16; sub-blocks 6's and 7's low nibbles are
    word 0's bits 12 and 28, their top two bits word 2's bits 12 and 28."""
    if p < 3:
        a(f"\tVMOVDQU32 {K_SCALES+64*p}(SI), {dst}")
        a(f"\tVPANDD.BCST k4masks<>+12(SB), {dst}, {dst}")
        return
    a(f"\tVPSRLD $12, {K_SCALES}(SI), {dst}")
    a(f"\tVPANDD.BCST k4masks<>+16(SB), {dst}, {dst}")
    a(f"\tVPSRLD $8, {K_SCALES+128}(SI), {tmp}")
    a(f"\tVPTERNLOGD.BCST $0xF8, k4masks<>+20(SB), {tmp}, {dst}")

def q4k_record(five):
    """Q4_K's and Q5_K's record bytes and sub-block stride: the header, the
    scales, then each sub-block's codes (256 bytes) and for Q5_K its fifth
    bits (64): 2304 and 256, or 2816 and 320, the file's bytes."""
    sub = 320 if five else 256
    return K_SCALES + 192 + 8*sub, sub

def q4k(N, name, five=False, pf=PREFETCH_K, marks=None, once=False, late_d=False):
    # marks (a list): gets the line index where each sub-block's work
    # starts and where the record's end starts (interleaved_streams_of).
    rec, sub = q4k_record(five)
    codes = K_SCALES + 192
    L=[]; a=L.append
    prologue(a, name)
    a("\tMOVQ DX, R10")
    a("\tSHLQ $2, R10 // minimum sums: 4 words per block and row")
    a("\tMOVL $0x0f0f0f0f, AX")
    a("\tVPBROADCASTD AX, Z31")
    if five:
        a("\tMOVL $0x10101010, AX")
        a("\tVPBROADCASTD AX, Z30")
    min_loop_head(a, N, late_d)
    for s in range(8):
        if marks is not None:
            marks.append(len(L))
        prefetch_part(a, rec, s, 8, pf, once)
        k_scale(a, s, "Z16", "Z18")
        if s % 2 == 0:
            k_mins(a, s//2, "Z17", "Z18")
        for i in range(N):
            a(f"\tVPXORD Z{i}, Z{i}, Z{i}")
        if five:
            a(f"\tVMOVDQU64 {codes+sub*s+256}(SI), Z20")
        for g in range(4):
            nibble_codes(a, codes+sub*s+64*g, g, "Z18", "Z19", ("Z20", "Z23", "Z30") if five else None)
            for i in range(N):
                a(f"\tVPDPBUSD.BCST {256*i+32*s+4*g}(R8), Z18, Z{i}")
                a(f"\tVPDPBUSD.BCST {256*i+32*s+16+4*g}(R8), Z19, Z{i}")
        for i in range(N):
            a(f"\tVPMULLD Z16, Z{i}, Z{i}")
            a(f"\tVPADDD Z{i}, Z{4+i}, Z{4+i}")
        if s % 2 == 0:
            for i in range(N):
                a(f"\tVPDPWSSD.BCST {16*i+2*s}(BX), Z17, Z{8+i}")
    if marks is not None:
        marks.append(len(L))
    min_block_end(a, N, rec, late_d)
    return "\n".join(L)

q4 = open(OUT).read().rstrip()+"\n\n"
for N in (1,2,4):
    q4 += q4k(N, f"q4_Kx16N{N}")
open(OUT,'w').write(q4.rstrip()+"\n")

q5 = open(OUT).read().rstrip()+"\n\n"
for N in (1,2,4):
    q5 += q4k(N, f"q5_Kx16N{N}", five=True)
open(OUT,'w').write(q5.rstrip()+"\n")

q3 = open(OUT).read().rstrip()+"\n\n"
for N in (1,2,4,8):
    q3 += q6k(N, f"q3_Kx16N{N}", three=True)
open(OUT,'w').write(q3.rstrip()+"\n")

def q2k(N, name, pf=PREFETCH_K):
    # Q2_K records, 1344 bytes (the file's size): +0 d, +32 dmin (fp16 × 16
    # rows), +64 the file's scale bytes (scale | min<<4) of sub-block s at
    # 64+16s, +320 the 2-bit codes of sub-block s at 320+64s (groups a-d at
    # bits 0-1, 2-3, 4-5, 6-7). Minimums: one VPDPWSSD per two sub-blocks
    # against the activation's 16-element sums, paired.
    rec = 1344
    L=[]; a=L.append
    prologue(a, name)
    a("\tMOVQ DX, R10")
    a("\tSHLQ $3, R10 // sum pairs: 8 words per block and row")
    a("\tMOVL $0x03030303, AX")
    a("\tVPBROADCASTD AX, Z31")
    a("\tMOVL $0x0f, AX")
    a("\tVPBROADCASTD AX, Z30")
    min_loop_head(a, N)
    for s in range(16):
        prefetch_part(a, rec, s, 16, pf)
        if s % 2 == 0:
            a(f"\tVPMOVZXBD {64+16*s}(SI), Z16")
            a(f"\tVPMOVZXBD {64+16*(s+1)}(SI), Z18")
            a("\tVPSRLD $4, Z16, Z20")
            a("\tVPSRLD $4, Z18, Z23")
            a("\tVPSLLD $16, Z23, Z23")
            a("\tVPORD Z23, Z20, Z17")
            a("\tVPANDD Z30, Z16, Z16")
            a("\tVPANDD Z30, Z18, Z18")
        scale = "Z16" if s % 2 == 0 else "Z18"
        a(f"\tVMOVDQU64 {320+64*s}(SI), Z19")
        for g, reg in enumerate(("Z24", "Z25", "Z26", "Z27")):
            two_bit_codes(a, "Z19", g, reg)
        for i in range(N):
            a(f"\tVPXORD Z{i}, Z{i}, Z{i}")
            for g, reg in enumerate(("Z24", "Z25", "Z26", "Z27")):
                a(f"\tVPDPBUSD.BCST {256*i+16*s+4*g}(R8), {reg}, Z{i}")
            a(f"\tVPMULLD {scale}, Z{i}, Z{i}")
            a(f"\tVPADDD Z{i}, Z{4+i}, Z{4+i}")
            if s % 2 == 0:
                a(f"\tVPDPWSSD.BCST {32*i+2*s}(BX), Z17, Z{8+i}")
    min_block_end(a, N, rec)
    return "\n".join(L)

q2 = open(OUT).read().rstrip()+"\n\n"
for N in (1,2,4):
    q2 += q2k(N, f"q2_Kx16N{N}")
open(OUT,'w').write(q2.rstrip()+"\n")

def float_weights(a, kind, c, at, w):
    """Loads column c (of a record's 4) of 16 rows of float weights of kind
    into w as float32; at(off) addresses the record's byte off. F16 and
    F32 records hold each column's 16 values together; BF16 records hold
    column pairs (see bf16_prologue), column 2p in the low halves of the
    64-byte pair, column 2p+1 in the high halves: the pair is loaded into
    Z28 at the even column and reused at the odd one."""
    if kind == 'f16':
        a(f"\tVCVTPH2PS {at(32*c)}, {w}")
    elif kind == 'bf16':
        if c % 2 == 0:
            a(f"\tVMOVDQU32 {at(64*(c//2))}, Z28")
            a(f"\tVPSLLD $16, Z28, {w}")
        else:
            a(f"\tVPANDD Z31, Z28, {w}")
    else:
        a(f"\tVMOVUPS {at(64*c)}, {w}")

def bf16_prologue(a):
    """Z31 = 0xffff0000 in every lane: keeps a BF16 pair's high half, the
    odd column's value as float32 bits."""
    a("\tMOVL $0xffff0000, AX")
    a("\tVPBROADCASTD AX, Z31")

def fkern(N, name, kind):
    # Float weights (F16, BF16, F32), records of 4 columns × 16 rows: column
    # c's 16 values at c·cs. Activations: float32, 4 per block and row.
    # Output (row r, act i): four chains by column mod 4, one FMA each in
    # column order, then (a0+a1)+(a2+a3).
    cs = 64 if kind == 'f32' else 32
    L=[]; a=L.append
    prologue(a, name)
    if kind == 'bf16':
        bf16_prologue(a)
    for i in range(N):
        for c in range(4):
            a(f"\tVPXORD Z{4*i+c}, Z{4*i+c}, Z{4*i+c}")
    a("")
    a("loop:")
    for c in range(4):
        w = f"Z{16+c}"
        float_weights(a, kind, c, lambda off: f"{off}(SI)", w)
        for i in range(N):
            a(f"\tVFMADD231PS.BCST {16*i+4*c}(R8), {w}, Z{4*i+c}")
    a(f"\tADDQ ${4*cs}, SI")
    a("\tADDQ R9, R8")
    a("\tDECQ CX")
    a("\tJNZ  loop")
    a("")
    for i in range(N):
        a(f"\tVADDPS Z{4*i+1}, Z{4*i}, Z{4*i}")
        a(f"\tVADDPS Z{4*i+3}, Z{4*i+2}, Z{4*i+2}")
        a(f"\tVADDPS Z{4*i+2}, Z{4*i}, Z{20+i}")
    epilogue(a, N, 20)
    return "\n".join(L)

fl = open(OUT).read().rstrip()+"\n\n"
for kind in ('f16', 'bf16', 'f32'):
    for N in (1,2,4):
        fl += fkern(N, f"{kind}x16N{N}", kind)
open(OUT,'w').write(fl.rstrip()+"\n")

# Multi-stream GEMV kernels (one activation row). A core streaming one
# weight run at a time keeps too few cache misses in flight while it
# computes: the hardware prefetcher's window holds the lines that arrived
# and wait for the kernel as well as those in flight. Walking STREAMS row
# groups that lie far apart in lockstep gives the prefetchers as many
# independent streams. In a llama-1b Q4_0 matmul sequence (the decode
# step's shapes, each step paired with a read-bandwidth probe) the median
# went from 0.81-0.84 to 0.96-0.97 of the probe with 4 streams; 2 streams
# gave about half of that.
#
# Each is made from its type's N = 1 kernel: the loop body is repeated for
# every stream, with the weight addresses moved to that stream's record
# (streams wstride bytes apart: R11, R12 = 3·wstride) and the output
# accumulator renamed to the stream's own. Every other register of the
# body is a temporary that the body sets before it reads it, so one
# stream's pass through it ends before the next one's starts and each
# group gets exactly the N = 1 kernel's operations, in its order.
#
# A call walks ng consecutive groups in each stream (outputs 64 bytes
# apart), the next group's records following on from the last one's, so
# the look-ahead runs on into it. Against one group a call, in the same
# sequence, alternating: Q4_0's layers +2.0 to +2.9 % in five runs
# (gate/up 0.88-1.00 -> 0.92-1.04 of the probe, q/k/v and o +1-3 %),
# Q4_K +1.5 / +2.7 %, Q8_0 +1.3 / -0.2 %. The Go side hands out the groups
# in shrinking runs (packedTask.streamRows).
STREAMS = 4

# Stream s's records are at SI + STREAM_IDX[s] (R11 = wstride, R12 =
# 3·wstride).
STREAM_IDX = {0: "", 1: "(R11*1)", 2: "(R11*2)", 3: "(R12*1)"}

def on_stream(l, s, shift=0):
    """Line l of a one-group kernel with its weight operands moved to
    stream s's records (STREAM_IDX), shift bytes further on."""
    def at(m):
        off = m.group(1) if shift == 0 else int(m.group(1) or 0) + shift
        return f"{off}(SI){STREAM_IDX[s]}"
    return re.sub(r"(-?\d*)\(SI\)", at, l)

def stream_prologue(name, yrow=False):
    """The signature and first argument loads of a multi-stream kernel
    (R13 is the next group's output; the ng argument counts the groups
    left; yrow, for tile kernels: bytes between one activation row's
    outputs and the next's)."""
    sig = "w *byte, wstride int, nb int, act *byte, astride int, d *float32, corr *int32, dstride int, y *float32, ystride int, ng int"
    extra = ", yrow int" if yrow else ""
    return [f"// func {name}({sig}{extra})",
            f"TEXT ·{name}(SB), NOSPLIT, $0-{96 if extra else 88}",
            "\tMOVQ w+0(FP), SI",
            "\tMOVQ wstride+8(FP), R11",
            "\tMOVQ nb+16(FP), CX",
            "\tMOVQ act+24(FP), R8",
            "\tMOVQ astride+32(FP), R9",
            "\tMOVQ y+64(FP), R13"]

def stream_group_end(a, S, first, scales):
    """After a group's block loop: stores the S outputs Z{first}.. (stream
    s's at R13 + s·ystride, DX the pointer), moves R13 to the next group's
    and rewinds the block count and the activation pointers (scales: DI,
    BX and DX too); the weights at SI run on into the next group. Loops to
    group while groups are left."""
    a("\tMOVQ ystride+72(FP), CX")
    store_outputs_nt(a, S, first)
    next_group(a, scales, fence=True)

def store_outputs_nt(a, N, first):
    """Stores the N output registers Z{first}.. at R13, R13 + ystride, ...
    (CX = ystride; DX walks them) with non-temporal stores where R13 and
    ystride are whole cache lines, else plainly. A decode call's outputs
    are written once, one line per group and stream, and read by the next
    op; stored plainly, each line is first read for ownership (presumably
    from the other core's cache or memory) while the weights stream. On
    the 2-core Intel Xeon VM a kernel that stored cold output lines
    plainly read 0.92-0.94 of the same loop without the stores, and
    llama-1b decode with non-temporal output stores, alternating
    repetition by repetition with plain ones in one process, ran at 1.045
    (Q4_0), 1.048 (Q4_K_M) and 1.012 (Q8_0) of their t/s (docs/
    performance.md, round 53). Such stores are weakly ordered: the kernel
    ends with SFENCE (next_group's fence) so that the pool's hand-off,
    which only Go's atomics order, publishes them."""
    stores_by_alignment(a, lambda op: store_outputs(a, N, first, "DX", op))

def stores_by_alignment(a, emit):
    """The stores of a group's outputs at R13 (lines ystride = CX apart),
    emit(op) with DX = R13: with op VMOVNTPS where R13 and ystride are
    whole cache lines (store_outputs_nt), else with VMOVUPS."""
    a("\tMOVQ R13, DX")
    a("\tORQ  CX, DX")
    a("\tTESTQ $63, DX")
    a("\tMOVQ R13, DX")
    a("\tJNZ  storeu")
    emit("VMOVNTPS")
    a("\tJMP  stored")
    a("storeu:")
    emit("VMOVUPS")
    a("stored:")

def next_group(a, scales, fence=False):
    """Moves R13 to the next group's outputs, rewinds the block count and
    the activation pointers (scales: DI, BX and DX too) and loops to group
    while groups are left; then returns (fence: after an SFENCE, which
    orders the kernel's non-temporal stores before the caller's)."""
    a("\tADDQ $64, R13")
    a("\tMOVQ nb+16(FP), CX")
    a("\tMOVQ act+24(FP), R8")
    if scales:
        a("\tMOVQ d+40(FP), DI")
        a("\tMOVQ corr+48(FP), BX")
        a("\tMOVQ dstride+56(FP), DX")
    a("\tDECQ ng+80(FP)")
    a("\tJNZ  group")
    if fence:
        a("\tSFENCE")
    a("\tVZEROUPPER")
    a("\tRET")
    a("")

def tile_group_end(a, S, N, out, scales):
    """stream_group_end for tile kernels: stores the output register
    out(s, i) of stream s and activation row i at R13 + s·ystride +
    i·yrow, then next_group."""
    a("\tMOVQ ystride+72(FP), CX")
    a("\tMOVQ R13, DX")
    for s in range(S):
        a("\tMOVQ DX, AX")
        for i in range(N):
            a(f"\tVMOVUPS Z{out(s, i)}, (AX)")
            if i < N-1:
                a("\tADDQ yrow+88(FP), AX")
        if s < S-1:
            a("\tADDQ CX, DX")
    next_group(a, scales)

def spread_prefetches(body, uniform=False):
    """body with its PREFETCH lines moved to even intervals among the other
    instructions, in their order. The four-stream Q4_0 kernel with each
    stream's five prefetches at the head of its body read 0.895-0.899 of
    the probe in the decode-step harness, spread out 0.943-0.949 (three
    alternating runs; spreading them within each stream's body instead
    gave the same), Q8_0 1.013 -> 1.062, Q4_1 0.916 -> 0.956, F16 level.
    The two-stream K-quant kernels had kept each stream's prefetches
    within its own sub-blocks (prefetch_part): on Zen 5, spread over the
    whole loop, Q4_K measured level or up to 2 % behind (five runs). On
    the 2-core Intel Xeon VM, over 1 GiB of cold matrices alternating with
    the old forms (round 54), spread over the whole loop with
    split_wide_loads they read more: Q4_K 1.072-1.094 of the GB/s, Q5_K
    1.098.

    uniform: the i-th of P prefetches follows the ceil(i·n/P)-th of the n
    other instructions (the last one ends the pass, so the gap across the
    loop's back edge is the same as the others), not the i·n/(P+1)-th
    (a double gap there). The same measurement: the uniform spacing read
    1.008-1.011 of the other for Q6_K and 1.006-1.008 for Q4_K, but
    0.992-0.997 for Q4_0 and 0.984-0.988 for Q8_0, so the K-quants take it
    and the Q4_0 family does not."""
    pf = [l for l in body if l.startswith("\tPREFETCH")]
    rest = [l for l in body if not l.startswith("\tPREFETCH")]
    out, j = [], 0
    for i, l in enumerate(rest):
        out.append(l)
        while j < len(pf) and ((j+1)*len(rest) <= (i+1)*len(pf) if uniform else (j+1)*len(rest)//(len(pf)+1) <= i):
            out.append(pf[j])
            j += 1
    return out + pf[j:]

def split_wide_loads(body):
    """body with each 512-bit weight load (VMOVDQU64 from SI) made a
    256-bit load and a VINSERTI64X4 of the upper half from memory: the
    same register, one more µop. On the 2-core Intel Xeon VM the
    single-row stream kernels read their weights faster so: over 1 GiB
    of cold matrices (one call per 1 MiB chunk, both threads, alternating
    with the kept kernels), Q4_0 1.016, Q8_0 1.031-1.034, Q6_K 1.020-1.039
    of the GB/s (docs/performance.md, round 54); the probe's prefetching
    four-part loop reads 3.7 % more with 256-bit loads than with 512-bit
    ones too (round 53)."""
    out = []
    for l in body:
        m = re.fullmatch(r"\tVMOVDQU64 (-?\d*)\(SI\)(\S*), Z(\d+)", l)
        if m:
            off, idx, z = int(m.group(1) or 0), m.group(2), m.group(3)
            out += [f"\tVMOVDQU64 {off}(SI){idx}, Y{z}", f"\tVINSERTI64X4 $1, {off+32}(SI){idx}, Z{z}, Z{z}"]
        else:
            out.append(l)
    return out

def hoist_broadcasts(records, free):
    """The lines of records (one list per record of a pass, its streams in
    turn) with the activation quants that every stream's VPDPBUSD
    broadcasts from R8 loaded once a record into registers of free
    (VPBROADCASTD before the record's first stream) and the dots taking
    them from there: a quarter of the loads with four streams. None when
    free has too few registers."""
    out = []
    for lines in records:
        offs = []
        for l in lines:
            m = re.match(r"\tVPDPBUSD\.BCST (-?\d*)\(R8\), ", l)
            if m and m.group(1) not in offs:
                offs.append(m.group(1))
        if len(offs) > len(free):
            return None
        reg = {o: free[i] for i, o in enumerate(offs)}
        out += [f"\tVPBROADCASTD {o}(R8), Z{reg[o]}" for o in offs]
        out += [re.sub(r"VPDPBUSD\.BCST (-?\d*)\(R8\), ", lambda m: f"VPDPBUSD Z{reg[m.group(1)]}, ", l) for l in lines]
    return out

def pass_prefetches(body, S, pass_bytes, line_major=False):
    """body with its prefetches replaced by one per line of the pass's
    pass_bytes in each of the S streams, as far ahead as its nearest one,
    stream by stream (all of stream 0's lines, then stream 1's, ...)
    unless line_major, and spread over the loop. Over 1 GiB of cold Q4_0
    matrices on the 2-core Intel Xeon VM, with split_wide_loads and
    hoist_broadcasts, Q4_0's four-stream kernel read 1.038-1.049 of the
    GB/s of the form before; with the same prefetches line by line across
    the streams 0.987-0.991, and stream by stream in four bursts a pass
    0.935-0.936 (round 54).

    line_major: line by line across the streams instead (line 0 of each
    stream, then line 1 of each, ...), the order the probe's prefetching
    loop reads in. Round 54 had measured it before the runs were spread
    within the page (round 60); on the spread layout it reads more for
    Q8_0 and Q4_0 (LINE_MAJOR_PREFETCH)."""
    pf = [l for l in body if l.startswith("\tPREFETCH")]
    dist = min(int(re.match(r"\tPREFETCHT0 (\d+)\(SI\)", l).group(1)) for l in pf)
    rest = [l for l in body if not l.startswith("\tPREFETCH")]
    order = [(s, o) for o in range(0, pass_bytes, 64) for s in range(S)] if line_major else \
        [(s, o) for s in range(S) for o in range(0, pass_bytes, 64)]
    return spread_prefetches(rest + [on_stream(f"\tPREFETCHT0 {dist+o}(SI)", s) for s, o in order])

def kernel_parts(single, name):
    """Splits the text of a one-group kernel for the stream makers: its
    lines, the indexes of its loop label, of the loop's first pointer step
    (ADDQ $rec, SI) and of its JNZ, the loop body before that step, and the
    Z registers it uses. It must leave R11-R13 to the streams."""
    lines = single.split("\n")
    i_loop = lines.index("loop:")
    i_tail = next(i for i in range(i_loop, len(lines)) if re.fullmatch(r"\tADDQ \$\d+, SI", lines[i]))
    i_end = lines.index("\tJNZ  loop", i_tail)
    used = {int(r) for r in re.findall(r"\bZ(\d+)\b", "\n".join(lines))}
    assert not any(r in l for l in lines for r in ("R11", "R12", "R13")), name
    return lines, i_loop, i_tail, i_end, lines[i_loop+1:i_tail], used

def stream_setup(name, lines, i_loop, outs, **kind):
    """The prologue of a stream kernel made from a one-group kernel: the
    stream arguments (stream_prologue(name, **kind)), the scale pointers,
    R12 = 3·wstride, and the one-group kernel's own set-up (its constants)
    without the zeroing of its outputs Z{outs} (each group zeroes them)."""
    first = next(i for i, l in enumerate(lines) if l.startswith("\tMOVQ dstride+48(FP), DX")) + 1
    zeros = {f"\tVPXORD Z{r}, Z{r}, Z{r}" for r in outs}
    assert zeros <= set(lines[first:i_loop]), name
    setup = [l for l in lines[first:i_loop] if l and l not in zeros]
    return stream_prologue(name, **kind) + [
        "\tMOVQ d+40(FP), DI",
        "\tMOVQ corr+48(FP), BX",
        "\tMOVQ dstride+56(FP), DX",
        "\tLEAQ (R11)(R11*2), R12"] + setup

def streams_of(single, S, out, name, spread=True):
    """The S-stream kernel made from the text of an N = 1 kernel whose
    output accumulator is Z{out}; spread: its prefetches spread evenly
    over the whole loop (spread_prefetches, uniform) and its weights
    loaded 256 bits at a time (split_wide_loads), else the prefetches where
    each stream's body has them."""
    lines, i_loop, i_tail, i_end, body, used = kernel_parts(single, name)
    for s in range(1, S):
        assert out+s not in used, (name, out+s)
    L = stream_setup(name, lines, i_loop, [out])
    L += group_head(S, out)
    L += ["", "loop:"]
    loop = []
    for s in range(S):
        for l in body:
            l = on_stream(l, s)
            loop.append(re.sub(rf"\bZ{out}\b", f"Z{out+s}", l))
    L += spread_prefetches(split_wide_loads(loop), uniform=True) if spread else loop
    L += lines[i_tail:i_end+1] + [""]
    stream_group_end(L.append, S, out, scales=True)
    return "\n".join(L)

def unrolled_streams_of(single, S, R, out, name, act_rec, scale_rec, line_major=False):
    """streams_of's S-stream kernel (prefetches spread) unrolled R records
    deep: each pass of its main loop takes R records of every stream,
    record by record (record j of each stream, then record j+1), at fixed
    displacements from the pointers, which move on once a pass. The
    displacements assume one activation row's layout (act_rec bytes of
    quants and scale_rec bytes of scale and of correction a block); a call
    with another (a tile's leftover row, packedTask.streamTile) and the
    records left once fewer than R remain take streams_of's loop, a record
    at a time (loop1). Each output gets the N = 1 kernel's operations in
    its order either way. The main loop loads each record's activation
    quants once for all streams (hoist_broadcasts), its weights 256 bits
    at a time (split_wide_loads) and prefetches the pass's lines stream by
    stream, or line by line across the streams with line_major
    (pass_prefetches). Over 1 GiB of cold matrices on the
    2-core Intel Xeon VM, alternating with the form before (round 54):
    Q4_0 1.043-1.048 of the GB/s, Q8_0 1.046-1.063, Q5_0 1.049, Q4_1
    1.060, Q5_1 1.033, IQ4_NL 1.046; split_wide_loads alone gave Q4_0
    1.016, hoist_broadcasts alone 1.009, the prefetch order alone
    1.007-1.024, the three together 1.038-1.049."""
    lines, i_loop, i_tail, i_end, body, used = kernel_parts(single, name)
    tail = lines[i_tail:i_end+1]
    rec = int(re.fullmatch(r"\tADDQ \$(\d+), SI", tail[0]).group(1))
    assert tail[1:] == ["\tADDQ R9, R8", "\tADDQ DX, DI", "\tADDQ DX, BX", "\tDECQ CX", "\tJNZ  loop"], (name, tail)
    for s in range(1, S):
        assert out+s not in used, (name, out+s)

    def at(l, s, j):
        """Line l of the body for record j of stream s."""
        l = on_stream(l, s, rec*j)
        l = re.sub(r"(-?\d*)\(R8\)", lambda m: f"{int(m.group(1) or 0)+act_rec*j}(R8)", l)
        l = re.sub(r"(-?\d*)\((DI|BX)\)", lambda m: f"{int(m.group(1) or 0)+scale_rec*j}({m.group(2)})", l)
        return re.sub(rf"\bZ{out}\b", f"Z{out+s}", l)

    L = stream_setup(name, lines, i_loop, [out])
    L += group_head(S, out)
    L += [f"\tCMPQ R9, ${act_rec}", "\tJNE  one", f"\tCMPQ DX, ${scale_rec}", "\tJNE  one",
          f"\tCMPQ CX, ${R}", "\tJLT  one", "", "loop:"]
    free = [r for r in range(32) if r not in used and not out <= r < out+S]
    records = [[at(l, s, j) for s in range(S) for l in body] for j in range(R)]
    main = hoist_broadcasts(records, free) or [l for r in records for l in r]
    main = split_wide_loads(main)
    assert rec*R % 64 == 0, name
    L += pass_prefetches(main, S, rec*R, line_major)
    L += [f"\tADDQ ${rec*R}, SI", f"\tADDQ ${act_rec*R}, R8", f"\tADDQ ${scale_rec*R}, DI",
          f"\tADDQ ${scale_rec*R}, BX", f"\tSUBQ ${R}, CX", f"\tCMPQ CX, ${R}", "\tJGE  loop",
          "", "one:", "\tTESTQ CX, CX", "\tJZ   done", "", "loop1:"]
    L += spread_prefetches([at(l, s, 0) for s in range(S) for l in body])
    L += tail[:-1] + ["\tJNZ  loop1", "", "done:"]
    stream_group_end(L.append, S, out, scales=True)
    return "\n".join(L)

def group_head(S, out):
    """A single-row stream kernel's group start: its S outputs Z{out}..
    zeroed."""
    return ["", "group:"] + [f"\tVPXORD Z{out+s}, Z{out+s}, Z{out+s}" for s in range(S)]

def paced(kernel, nops):
    """The paced twin of a single-row stream kernel (its text): named with
    a P after the kernel's name, and with nops one-byte NOPs (the header's
    PACE{nops} macro) after each prefetch of its main loop (from loop: to
    the loop's back edge), so the
    loop issues its instructions more slowly. The outputs are the kernel's
    bits: only the instruction stream's pace differs.

    Why: over cold memory the stream kernels run ahead of the memory and
    read it less well than when slowed down to just above its rate. On the
    2-core Intel Xeon VM (round 54, 1 GiB of cold matrices, both threads,
    alternating with the unpaced kernels) the best padding read 1.015-1.020
    of the GB/s (Q4_0), 1.10 (Q8_0), 1.04-1.06 (Q4_K), 1.06-1.10 (Q6_K);
    too much, and the instructions themselves are the limit (Q4_0 48 NOPs
    0.95, Q4_K 40 0.98, Q6_K 48 0.83). A padded kernel computes, from L2,
    only 1.07-1.37 times what that VM's memory gives a core, so on a
    machine with more bandwidth a core, or over weights in cache, it is
    slower: the pool picks between the two forms by measuring both
    (pacer.go)."""
    L = kernel.split("\n")
    name = re.fullmatch(r"TEXT ·(\w+)\(SB\).*", next(l for l in L if l.startswith("TEXT "))).group(1)
    out, inloop, padded = [], False, 0
    for l in L:
        if l.startswith("TEXT "):
            l = l.replace(f"·{name}(SB)", f"·{name}P(SB)", 1)
        out.append(l)
        if l == "loop:":
            inloop = True
        elif re.fullmatch(r"\tJ(NZ|GE) +loop", l):
            inloop = False
        elif inloop and l.startswith("\tPREFETCH"):
            out.append(f"\tPACE{nops}")
            padded += 1
    assert padded > 0 and not inloop, name
    return "\n".join(out)

def with_twin(kernel, t):
    """kernel's text followed by its paced twin where type t has one
    (PACE_NOPS)."""
    return kernel + ("\n" + paced(kernel, PACE_NOPS[t]) if t in PACE_NOPS else "")

# Each stream prefetches its own records STREAM_PREFETCH bytes ahead.
# The hardware prefetchers alone left the four-stream Q4_0 kernel at
# 0.66-0.76 of the read probe in the llama-1b decode sequence (Q8_0
# 0.70-0.81, Q5_0 0.69) on the 2-core Zen 5 VM; with every line of each
# stream's record prefetched 4-8 records ahead, 0.83-0.94 (Q8_0
# 0.88-1.0, Q5_0 0.94-0.97): see docs/performance.md, round 7. Once a
# call walked several groups and the prefetches were spread over the loop
# (round 8), nearer was better: Q4_0 four records (1152 bytes) ahead led
# six in five of five alternating runs (by 1.6-3.1 %), three and five
# were level with six, two 10 % behind; Q8_0 two or three records
# (1088-1632 bytes) led six by 3.6-5.9 %. One distance in bytes for the
# family, then. The one-group N = 1 kernel keeps none: one stream with
# prefetch measured no better than without.
STREAM_PREFETCH = 1152

# No kernel prefetches with PREFETCHNTA. On the 2-core Zen 5 VM, NTA had
# measured level or up to 1.6 % ahead of T0 for Q4_0, Q5_0, Q4_1 and Q5_1
# single rows (rounds 15-17), and those kernels took it. On the 2-core Intel
# Xeon VM of the machine kind (Sapphire Rapids class, 2 MiB L2 a
# core, round 48) the same kernels read 0.32-0.35 of the bandwidth probe
# over 16 matrices of 8192x2048 with NTA and 0.86-0.90 with T0
# (`-bench StreamTypes`), and Q4_0's llama-1b decode went from 25.5 to
# 36.4 t/s: there NTA's lines skip L2 and the L2 streamer, and the stream
# waits on each of them. T0 is within the noise of NTA on Zen 5 and far
# ahead on Intel, so every kernel takes it.

# The rest of the Q4_0 family's single rows take four streams two records
# a pass (unrolled_streams_of). Q8_0: 0.986-0.992 of the step time of the
# record-at-a-time loop in four runs where the memory read 70-78 GB/s
# (round 16; 0.99-1.00 in round 14's busier minutes); two streams eight
# deep, Q4_0's form, 1.03-1.04 there. Q5_0, Q4_1 and Q5_1 in llama-1b
# decode steps of their files, against the four streams a record at a
# time (`-p 0 -n 64 -r 4`, 58-73 GB/s; round 17): Q5_0 0.958-0.972 of the
# step time, Q4_1 0.963-0.981, Q5_1 0.975-0.986 in five runs; three
# records a pass 0.981-0.987 (the output matrix is Q6_K in these files, so
# the layers gained more than the steps).
Q4_0_FAMILY_UNROLL = 2
ms = open(OUT).read().rstrip()+"\n\n"
# Q4_0's single rows take the family's form too, but prefetch 2304 bytes
# (eight records) ahead, not the family's 1152. On the 2-core Intel Xeon
# VM (round 48), a llama-1b Q4_0 step's layer matmuls in one process,
# this form and the two-stream
# eight-deep one alternating step by step (throw-away harness, 60 steps a
# run, median of the pairs' time ratios): 0.954-0.963 in three runs, with
# 3456 and 4608 bytes ahead 0.956 and 0.963, three streams 0.949, four
# unrolled four deep 0.982, one deep 0.961, the family's 1152 bytes 0.980,
# two streams four deep 1.002. One core reads 16.5 GB/s there and two 32,
# so each core's misses in flight are the limit, and four streams keep
# more of them going. On the 2-core Zen 5 VM the two forms had measured
# level (0.995-1.007 in one process, round 47), after the two-stream form
# had led the neighbours of round 14 (four streams 0.98-1.04, 1152 bytes
# ahead 1.03-1.04 of its time).
Q4_0_STREAM_PREFETCH = 2304
# Q8_0's single rows prefetch 3264 bytes (six records) ahead, not the
# family's 1152. On the 2-core Intel Xeon VM, llama-1b Q8_0 decode
# alternating repetition by repetition with the 1152-byte form in one
# process (round 53, two runs each): 2176 bytes 1.010 / 1.007 of its t/s,
# 3264 bytes 1.011 / 1.014, 4352 bytes 0.992 / 0.992.
Q8_0_STREAM_PREFETCH = 3264
# The types whose single-row stream kernels prefetch line by line across
# their four streams (pass_prefetches, line_major) instead of stream by
# stream. On the 2-core Intel Xeon VM (round 68), each paced twin with its
# prefetches so reordered, alternating two decode steps with it and two
# with the kept form in one process (llama-1b, -p 0 -n 64 -r 8, medians of
# 128 blocks' time ratios), with the pacer fixed on: Q8_0 steps took
# 0.982-0.989 of the time (six runs; at depth 0 0.985), Q4_0's layers
# 0.992-1.006 (ten runs, the host slow), the K-quants' four interleaved
# streams 0.997-1.007 (Q4_K alone 1.006-1.008, Q6_K alone 1.002-1.008 in
# eight runs; their kernels come from interleaved_streams_of, which this
# set does not reach). Round 69, the host quieter, against a null variant
# (the kept kernels under other names) in the same harness: Q4_0
# 0.9935-0.9977 in nine runs (at depth 0 0.9977), the null 0.9987-1.0014,
# Q6_K 1.0038-1.0059; on files of their own type Q5_0 level with its null
# and Q4_1 0.6 % slower. So Q8_0 and Q4_0 take it. Over cold 8192x2048
# matrices alone, both threads, every type read more so (Q4_0 0.925 ->
# 0.958 of the probe, Q4_K 0.840 -> 0.903): only the model decides.
LINE_MAJOR_PREFETCH = {'q8_0', 'q4_0'}
# The near twins: for the types here, a second plain single-row stream
# kernel that prefetches this many bytes ahead instead (named with Near
# after the kernel's name; the Go side takes it where the CPU's vendor is
# AMD, or by NURI_PREFETCH=near). The distances above were measured on the
# 2-core Intel Xeon VM of the machine kind, where each core reads
# 16-20 GB/s and keeping more misses in flight pays. On the 2-core Zen 5
# VM (a core reads 35-42 GB/s) nearer reads more. llama-1b decode there,
# the two forms swapped every two steps in one process (96 or 176 pairs
# a run; a null swap of the kept forms 0.993-1.003), by step time: Q4_0
# 1152 bytes 0.959-0.967 (four runs), 1440 0.965-0.966, 1728 0.968-0.973,
# 864 0.998, 576 1.006-1.032; Q8_0 1088 0.886-0.907 (four), 1344
# 0.886-0.905, 1632 0.925-0.927, 2176 0.959-0.970, 544 0.945-0.950; Q6_K
# (the Q4_0 file's output matrix) 1408 0.945-0.954, 1152 0.949-0.960,
# 1728 0.928-0.962 (four), 2240 0.971-0.974, 640 0.980-0.986, 3392 and
# more 1.00-1.06; Q4_K (Q4_K_M file) 1728 0.953-0.998 (four), 1152
# 0.967-0.979, 1408 0.988-0.989, 2048 0.972-1.002. The paced twins keep
# the far distances: the pacer picks them where a core's memory is slow,
# Intel's case. The near twins all prefetch line by line across their
# streams (pass_prefetches' and interleaved_streams_of's line_major): on
# Zen 5 Q4_0 and Q8_0 stream by stream took 1.029-1.035 and 1.040-1.052
# of the time; Q4_K line by line 0.935-0.991 (median 0.966 over seven
# runs, a null swap 0.986-0.999 while the host was this noisy), Q6_K
# 0.992-0.997. Q5_K (a Q5_K_M file, its Q5_K calls swapped) at 1728 or
# 2240 bytes took 0.978-0.985 of the far form's step time in four runs
# (round 71). Since round 72 the pacer times each twin against the far
# form on the model's own calls, so a machine that wants far keeps it.
# Q3_K (far: two records, 3520 bytes) at 1728 bytes, in the pacer's pairs
# on a Q3_K_M file (round 72): far/near 1.03-1.05 for its ffn_down calls,
# 1.09-1.19 for its shared q/k/v calls. IQ4_XS (far: one record, 2176) at
# 1600 or 1152 bytes measured level or behind (0.97-1.08 either way) and
# has no near twin.
NEAR_PREFETCH = {'q4_0': 1152, 'q8_0': 1088, 'q4_K': 1728, 'q5_K': 1728, 'q6_K': 1408, 'q3_K': 1728}

# IQ4_NL takes Q5_0's form (it was not measured on its own).
for t, w, pf in (('q5_0', 'q5', STREAM_PREFETCH), ('q4_1', 'q41', STREAM_PREFETCH), ('q5_1', 'q51', STREAM_PREFETCH),
                 ('q8_0', 'q8', Q8_0_STREAM_PREFETCH), ('iq4_nl', 'iq4nl', STREAM_PREFETCH), ('q4_0', 'q4', Q4_0_STREAM_PREFETCH)):
    for near in (False, True) if t in NEAR_PREFETCH else (False,):
        k = unrolled_streams_of(kern(1, f"{t}x16N1", w, pf=NEAR_PREFETCH[t] if near else pf), STREAMS, Q4_0_FAMILY_UNROLL, 16,
                                f"{t}x16N1S{STREAMS}{'Near' if near else ''}", act_rec=32, scale_rec=4,
                                line_major=t in LINE_MAJOR_PREFETCH)
        ms += k if near else with_twin(k, t)

# Multi-stream kernels for small batches (2-8 activation rows, batched
# decode): the N = 2, 3 and 4 tile kernels walked over STREAMS groups in
# lockstep, as streams_of does with N = 1. Each stream's N outputs get
# registers of their own (any the tile kernel leaves unused); stream s's
# output for activation row i goes to y + s·ystride + i·yrow. Per group
# and row, the tile kernel's operations in its order: the bits of the
# one-group kernels.
def streams_tile_of(single, S, N, out, name):
    """The S-stream kernel made from the text of an N-row tile kernel whose
    output accumulators are Z{out}..Z{out+N-1}; prefetches spread over the
    loop."""
    lines, i_loop, i_tail, i_end, body, used = kernel_parts(single, name)
    free = [r for r in range(32) if r not in used]
    reg = {}
    for s in range(S):
        for i in range(N):
            reg[s, i] = out+i if s == 0 else free.pop(0)
    rename = lambda s, l: re.sub(r"\bZ(\d+)\b", lambda m: f"Z{reg[s, int(m.group(1))-out]}" if out <= int(m.group(1)) < out+N else m.group(0), l)
    L = stream_setup(name, lines, i_loop, range(out, out+N), yrow=True)
    L += ["", "group:"] + [f"\tVPXORD Z{reg[s, i]}, Z{reg[s, i]}, Z{reg[s, i]}" for s in range(S) for i in range(N)] + ["", "loop:"]
    loop = []
    for s in range(S):
        for l in body:
            l = on_stream(l, s)
            loop.append(rename(s, l))
    L += spread_prefetches(loop)
    L += lines[i_tail:i_end+1] + [""]
    tile_group_end(L.append, S, N, lambda s, i: reg[s, i], scales=True)
    return "\n".join(L)

for t, w in (('q4_0', 'q4'), ('q8_0', 'q8'), ('q5_0', 'q5'), ('q4_1', 'q41'), ('q5_1', 'q51'), ('iq4_nl', 'iq4nl')):
    for N in (2, 3, 4):
        ms += streams_tile_of(kern(N, f"{t}x16N{N}", w, pf=STREAM_PREFETCH, tile_pf=False), STREAMS, N, 16, f"{t}x16N{N}S{STREAMS}")

# The K-quants' records are kilobytes long, and two streams suit them
# better than four. In the same llama-1b sequence (every layer of one type)
# against their one-group kernels (one stream, 16 KiB ahead), in several
# alternating runs: Q4_K 0.74-0.94 -> 0.95-1.11 of the probe, Q5_K
# 0.88-0.90 -> 0.93-0.98, Q3_K 0.68-0.71 -> 0.83-0.90, Q2_K 0.65-0.89 ->
# 0.81-0.92, prefetching one record ahead (two for the records under
# 2 KiB, Q3_K and Q2_K). Four streams measured worse than one (Q4_K
# 0.67-0.77). Q6_K's single rows kept the one-group kernel until round 16:
# it led two streams, each prefetching within its own half of the loop, in
# four of six alternating runs (by up to 9 %; two streams led once, by 5 %).
# Two streams whose prefetches are spread over the whole loop lead it (see
# the Q6_K stream kernels below).
KSTREAMS = 2


def kstream_ahead(rec):
    """A K-quant stream's prefetch distance: one record ahead, two for
    records under 2 KiB, in whole lines."""
    ahead = 1 if rec >= 2048 else 2
    return (ahead*rec + 63) // 64 * 64


def interleaved_streams_of(single, marks, out, name, renames, hoist=False, line_major=False):
    """A multi-stream kernel that interleaves its streams within a record:
    the record's head for each stream in turn, then each part (marks: the
    line indexes in single where each part and the record's end begin)
    for each stream in turn, then the ends. Stream s > 0 reads its records
    s·wstride further on (R11, R12) and has the registers that live
    across parts renamed (renames[s-1]: the record's scales and sums, and
    the output Z{out} to Z{out+s}, all unused by single); the rest are
    temporaries that each part sets before it reads them, which the
    streams share. Each output gets the N = 1 kernel's operations in its
    order.

    hoist: each part loads the activation quants its dots broadcast once
    for all the streams (hoist_broadcasts, into registers neither single
    nor the renames take); there must be enough of them.

    line_major: the loop's prefetches in line order, each line of every
    stream in turn (line 0 of each stream, then line 1, ...), as
    pass_prefetches' line_major, before they are spread over the loop."""
    lines, i_loop, i_tail, i_end, body, used = kernel_parts(single, name)
    S = len(renames) + 1
    taken = set(used)
    for s, rename in enumerate(renames, 1):
        assert rename.get(out) == out+s, name
        for r in rename.values():
            assert r not in taken, (name, r)
            taken.add(r)
    cuts = [i_loop+1] + marks + [i_tail]
    assert cuts == sorted(cuts), name
    pieces = [lines[a:b] for a, b in zip(cuts, cuts[1:])]

    def on(l, s):
        if s == 0:
            return l
        l = on_stream(l, s)
        return re.sub(r"\bZ(\d+)\b", lambda m: f"Z{renames[s-1].get(int(m.group(1)), int(m.group(1)))}", l)

    L = stream_setup(name, lines, i_loop, [out])
    L += group_head(S, out)
    L += ["", "loop:"]
    parts = [[on(l, s) for s in range(S) for l in piece] for piece in pieces]
    free = [r for r in range(32) if r not in taken]
    body = hoist and hoist_broadcasts(parts, free)
    assert body or not hoist, (name, free)
    body = split_wide_loads(body or [l for part in parts for l in part])
    if line_major:
        order = {idx: s for s, idx in STREAM_IDX.items()}
        def line(l):
            m = re.fullmatch(r"\tPREFETCHT0 (\d+)\(SI\)(\S*)", l)
            return int(m.group(1)), order[m.group(2)]
        body = [l for l in body if not l.startswith("\tPREFETCH")] + \
            sorted((l for l in body if l.startswith("\tPREFETCH")), key=line)
    L += spread_prefetches(body, uniform=True)
    L += lines[i_tail:i_end+1] + [""]
    stream_group_end(L.append, S, out, scales=True)
    return "\n".join(L)


# Q4_K's and Q5_K's single rows interleave their two streams sub-block by
# sub-block (interleaved_streams_of) instead of taking a whole record of
# one stream and then of the other; prefetch one record ahead, as before.
# llama-1b decode steps, the two forms alternating step by step in one
# process (docs/performance.md, round 14): Q4_K_M (Q4_K ~60 % of the
# bytes) 0.981-0.990 of the old step time in five runs, Q5_K_M
# 0.982-0.985 in three; for Q4_K, 1216, 3584 and 4736 bytes ahead
# measured 1.06-1.07, 1.01-1.02 and 1.03-1.05. Q6_K in this form (16
# sub-blocks, as the single-row kernel) lost: 1.01-1.07. Since round 54
# the prefetches are spread evenly over the whole loop (spread_prefetches,
# uniform) and the weights loaded 256 bits at a time (split_wide_loads);
# on the 2-core Intel Xeon VM, 1 GiB of cold matrices, 1.08-1.09 of the old
# form's GB/s (Q4_K; Q5_K 1.10); one record ahead is still the best
# distance (576 bytes nearer or further, or 1152 further: 0.98-0.99 of it).
#
# Since round 61 Q4_K's and Q5_K's single rows take four such streams
# (K4_STREAMS), each line prefetched once (prefetch_part, once). In
# llama-1b decode on the 2-core Intel Xeon VM, alternating two steps with
# four streams and two with two in one process (four-stream runs laid out
# spread within the page, packRuns): Q4_K_M 0.987-0.992 of the step time
# in five runs, paced, plain or the pacer's choice (per op, gate/up 1 %
# faster, ffn_down 4 %, o 6 %); Q5_K_M 0.962-0.982 (with the duplicate
# prefetches and 24 NOPs 0.974). Round 50 had measured Q4_K's four
# streams level with page-aligned runs.
K4_STREAMS = 4
# The registers that stream s > 0 takes for those live across parts:
# the record's scales and minimums (Z28, Z29), the sums (Z4, Z8) and the
# output (Z12).
K_RENAMES = [{28: 24, 29: 25, 4: 5, 8: 9, 12: 13}, {28: 26, 29: 27, 4: 6, 8: 10, 12: 14},
             {28: 1, 29: 2, 4: 7, 8: 11, 12: 15}]
# Q6_K's and Q3_K's (q6k): the record's scale (Z30), its integer total
# (Z20) and the output (Z16); IQ4_XS's (iq4xs): the scale (Z30), the
# block total (Z0) and the output (Z16).
Q6K_RENAMES = [{30: 1, 20: 21, 16: 17}, {30: 2, 20: 22, 16: 18}, {30: 3, 20: 23, 16: 19}]
IQ4XS_RENAMES = [{30: 1, 0: 2, 16: 17}, {30: 3, 0: 4, 16: 18}, {30: 5, 0: 6, 16: 19}]
# Q3_K's parts are four of its sixteen sub-blocks (the measurements are
# at Q6_K's kernels below, which took the same until round 71).
Q6K_PER_PART = 4
# Since round 71 Q4_K's four streams load each sub-block's eight
# activation words once for all four (interleaved_streams_of, hoist): the
# record's d and dmin are widened at its end (q4k, late_d), not held
# across its parts, which frees the registers. The dots had broadcast
# them from memory stream by stream, 256 loads a pass of 144 lines. On
# the 2-core Zen 5 VM one thread over matrices in L2
# (BenchmarkSingleRowKernels) went from 92-93 to 101-104 GB/s, and
# llama-1b-shaped Q4_K layers (16 of them, cold, both threads),
# alternating step by step with the old form in one process, took
# 0.940-0.973 of the time in five runs (a null variant 0.997-1.008).
# Keeping k4masks' two common words in registers as well measured slower
# (0.986-0.990), loading the weights 512 bits at a time level with 256
# (0.965-0.973 against 0.943-0.973, all against the old form). With
# Q6_K's hoisting below, in llama-1b decode (the two kernel sets swapped
# every two steps in one process, 96 pairs a run): Q4_K_M steps took
# 0.958-0.974 of the time in three runs (a null swap 0.996-1.003), Q4_0's
# (the Q6_K output matrix alone) 0.980 (null 0.993). Q5_K keeps the old
# form: its fifth bits take three of the eight registers.
for t, five in (('q4_K', False), ('q5_K', True)):
    S = K4_STREAMS
    late = not five
    renames = [{k: v for k, v in r.items() if not (late and k in (28, 29))} for r in K_RENAMES[:S-1]]
    for near in (False, True) if t in NEAR_PREFETCH else (False,):
        marks = []
        single = q4k(1, f"{t}x16N1", five=five, pf=NEAR_PREFETCH[t] if near else kstream_ahead(q4k_record(five)[0]),
                     marks=marks, once=True, late_d=late)
        k = interleaved_streams_of(single, marks, 12, f"{t}x16N1S{S}{'Near' if near else ''}", renames, hoist=late,
                                   line_major=near)
        ms += k if near else with_twin(k, t)
# Q2_K's single rows take a whole record of one stream and then of the
# other, as Q3_K's did until round 61 (below). Q3_K spread both streams'
# prefetches over the whole loop and loaded its weights 256 bits at a
# time, as Q6_K (round 54, 1 GiB of cold matrices on the 2-core Intel Xeon
# VM: 1.014-1.029 of the GB/s with each stream's prefetches in its own
# half); Q2_K, at 0.94 of the probe's prefetching loop, measured level
# that way and keeps its form.
q2_single = q2k(1, "q2_Kx16N1", pf=kstream_ahead(1344))
ms += with_twin(streams_of(q2_single, KSTREAMS, 12, f"q2_Kx16N1S{KSTREAMS}", spread=False), 'q2_K')
# Since round 61 Q3_K's single rows take Q6_K's four interleaved streams
# (parts of four sub-blocks, each line prefetched once, laid out
# spread within the page): llama-1b Q3_K_M decode on the 2-core Intel
# Xeon VM, alternating two steps with these and two with the two streams
# (plain layout) in one process, took 0.977-0.978 of the time (parts of
# two sub-blocks 0.977-0.979). Q2_K was not measured so and keeps two.
for near in (False, True):
    marks = []
    single = q6k(1, "q3_Kx16N1", three=True, pf=NEAR_PREFETCH['q3_K'] if near else kstream_ahead(Q3K_REC), marks=marks,
                 per_mark=Q6K_PER_PART, once=True)
    k = interleaved_streams_of(single, marks, 16, f"q3_Kx16N1S{K4_STREAMS}{'Near' if near else ''}", Q6K_RENAMES,
                               line_major=near)
    ms += k if near else with_twin(k, 'q3_K')
# Their N = 2 tile forms serve batches of two rows, the N = 3 ones three
# (round 28: in place of 2 + 1, a 3-row llama-1b step took 15-16 ms
# instead of 18-19 with Q4_0 layers and the Q6_K output, 20 instead of 22
# with Q4_K_M, 31 instead of 35 with Q8_0). Before, the N = 2 forms served
# three rows as 2 + 1
# (packedStreamTileRows), prefetching as their N = 1 stream kernels do. In
# the decode-step harness (layer matmuls of one type, alternating with the
# one-group kernels, 150 steps each): two rows Q4_K 0.800 -> 0.923 of the
# probe, Q5_K 0.903 -> 0.919, Q3_K 0.651 -> 0.747, Q2_K 0.607 -> 0.777;
# three rows Q4_K +9 %, Q5_K +9 %, Q2_K +8 %, Q3_K -8 %. N = 4 tile
# streams lost to the one-group N = 4 kernels (Q4_K four rows 0.857 ->
# 0.734, six 0.580 -> 0.546), so there are none.
for t, rec, tile, out, sizes in (
        ('q4_K', q4k_record(False)[0], lambda N, pf: q4k(N, f"q4_Kx16N{N}", pf=pf), 12, (2, 3)),
        ('q5_K', q4k_record(True)[0], lambda N, pf: q4k(N, f"q5_Kx16N{N}", five=True, pf=pf), 12, (2, 3)),
        ('q3_K', Q3K_REC, lambda N, pf: q6k(N, f"q3_Kx16N{N}", three=True, pf=pf), 16, (2,)),
        ('q2_K', 1344, lambda N, pf: q2k(N, f"q2_Kx16N{N}", pf=pf), 12, (2, 3))):
    for N in sizes:
        ms += streams_tile_of(tile(N, kstream_ahead(rec)), KSTREAMS, N, out, f"{t}x16N{N}S{KSTREAMS}")

# Q6_K: multi-stream kernels for single rows and small batches: the N = 2
# tile streams for two rows and three, the N = 1 ones (two streams until
# round 61, four since; below) for one row. In the decode-step harness
# (every layer Q6_K, alternating with the one-group kernels, 64 GB/s): two rows 0.838 -> 0.936 of the probe,
# three 0.652 -> 0.696 (three as N = 1 streams only: 0.574). The N = 1
# kernel spreads both streams' prefetches over the whole loop: single rows
# read 1.061-1.065 of the one-group kernel's GB/s with the memory free and
# 1.005-1.016 in busier minutes (384 MiB of 8192×2048 matrices, one and two
# threads), and in llama-1b decode steps (output matrix, and Q4_K_M's Q6_K
# layers) took 0.977-0.991 of the step time in seven runs at 70-75 GB/s,
# 0.978-1.010 over eighteen at 57-72 (round 16). With each stream's
# prefetches in its own half of the loop, as before, 0.97-1.03. The N = 1
# streams prefetch 2816 bytes ahead, not one record (3392): on the 2-core
# Intel Xeon VM, over the llama-1b output matrix (128256x2048) in one
# process, alternating step by step with the one-record distance (60
# steps a run, median of the time ratios; round 48), 2816 bytes took
# 0.974-0.985 of the time in six runs, 2304 0.970-0.984, 2560 0.987-0.989,
# 3072 0.983-0.987, three streams 0.981-0.997, four 0.983-1.005. On Zen 5
# the distance was not measured this side of one record.
Q6K_STREAM_PREFETCH = 2816
# Since round 61 Q6_K's single rows take four streams interleaved four
# sub-blocks at a time (interleaved_streams_of; Q6K_PER_PART), laid out
# spread within the page (packRuns), each prefetching Q6K_STREAM_PREFETCH
# ahead. On the 2-core Intel Xeon VM, llama-1b decode alternating two
# steps with these and two with the two streams above (whole records of
# one stream, then of the other; plain layout) in one process: Q4_K_M
# file (Q6_K output, half of ffn_down and attn_v) 0.982-0.996 of the step
# time in six runs, Q4_0 file (the output matrix) 0.996-0.997. Parts of
# one sub-block 0.990-0.993, two 0.990, eight 1.003-1.005, sixteen (a
# whole record a stream) 1.024; 2304 bytes ahead 1.000-1.004, 3392
# 0.988-0.997, 4224 1.004-1.008.
#
# Since round 71 the parts are single sub-blocks, each loading its four
# activation words once for all four streams (hoist; four sub-blocks
# would need sixteen registers, and seven are free). On the 2-core Zen 5
# VM one thread over matrices in L2 went from 115 to 126 GB/s, and 16
# llama-1b-shaped layers of Q6_K, alternating step by step with the form
# before in one process, took 0.931-0.984 of the time in three runs (a
# null variant 0.994-0.999).
Q6K_HOISTED_PER_PART = 1
for near in (False, True):
    marks = []
    single = q6k(1, "q6_Kx16N1", pf=NEAR_PREFETCH['q6_K'] if near else Q6K_STREAM_PREFETCH, marks=marks,
                 per_mark=Q6K_HOISTED_PER_PART, once=True)
    k = interleaved_streams_of(single, marks, 16, f"q6_Kx16N1S{K4_STREAMS}{'Near' if near else ''}", Q6K_RENAMES, hoist=True,
                               line_major=near)
    ms += k if near else with_twin(k, 'q6_K')
ms += streams_tile_of(q6k(2, "q6_Kx16N2", pf=kstream_ahead(3360)), KSTREAMS, 2, 16, f"q6_Kx16N2S{KSTREAMS}")
ms += streams_tile_of(q6k(3, "q6_Kx16N3", pf=kstream_ahead(3360)), KSTREAMS, 3, 16, f"q6_Kx16N3S{KSTREAMS}")

# IQ4_XS: Q6_K's forms until round 61 (two streams for single rows and
# the N = 2 tile streams for two and three rows), one record ahead. In
# the llama-1b IQ4_XS decode the one-group N = 1 kernel read 0.65-0.67 of
# the probe (docs/performance.md); the stream forms are what the other
# K-quants gained most from.
#
# Since round 61 IQ4_XS's single rows take four streams interleaved
# sub-block by sub-block, as Q4_K's, each line prefetched once, laid out
# spread within the page: llama-1b IQ4_XS decode (`nuri synth --type
# IQ4_XS`) on the 2-core Intel Xeon VM, alternating two steps with these
# and two with the two streams above (a whole record of one stream, then
# of the other; plain layout) in one process, took 0.939-0.942 of the
# time.
marks = []
single = iq4xs(1, "iq4_XSx16N1", pf=kstream_ahead(IQ4XS_REC), marks=marks, once=True)
ms += with_twin(interleaved_streams_of(single, marks, 16, f"iq4_XSx16N1S{K4_STREAMS}", IQ4XS_RENAMES), 'iq4_XS')
for N in (2, 3):
    ms += streams_tile_of(iq4xs(N, f"iq4_XSx16N{N}", pf=kstream_ahead(IQ4XS_REC)), KSTREAMS, N, 16, f"iq4_XSx16N{N}S{KSTREAMS}")

# The float kernels keep four accumulators per output across the loop, so
# streams_of (which needs a body of temporaries) cannot make their
# multi-stream forms; fkern_streams writes them. Four streams prefetching
# 1 KiB ahead each, in the llama-1b decode sequence against the one-group
# kernels: F16 0.69-0.88 -> 1.06-1.14 of the probe, BF16 0.67 -> 1.17,
# F32 0.84 -> 1.07 (two streams, or 2-4 KiB ahead, measured lower).
FSTREAM_PREFETCH = 1024

def fkern_streams(S, name, kind, pf, N=1):
    """The S-stream float kernel for N activation rows (S·N <= 4): stream
    s's group at SI + s·wstride (R11, R12 = 3·wstride), row i's four chains
    in Z4(Ns+i)..+3, each stream's record prefetched pf bytes ahead. Per
    group and row, the operations and their order are fkern's for N."""
    cs = 64 if kind == 'f32' else 32
    rec = 4*cs
    idx = STREAM_IDX
    L = stream_prologue(name, yrow=N > 1) + ["\tLEAQ (R11)(R11*2), R12"]
    a = L.append
    if kind == 'bf16':
        bf16_prologue(a)
    a("")
    a("group:")
    for s in range(S*N):
        for c in range(4):
            a(f"\tVPXORD Z{4*s+c}, Z{4*s+c}, Z{4*s+c}")
    a("")
    a("loop:")
    loop = []
    for s in range(S):
        for o in range(0, rec, 64):
            loop.append(f"\tPREFETCHT0 {pf+o}(SI){idx[s]}")
        for c in range(4):
            w = f"Z{16+c}"
            float_weights(loop.append, kind, c, lambda off: f"{off}(SI){idx[s]}", w)
            for i in range(N):
                loop.append(f"\tVFMADD231PS.BCST {16*i+4*c}(R8), {w}, Z{4*(N*s+i)+c}")
    L.extend(spread_prefetches(loop))
    a(f"\tADDQ ${rec}, SI")
    a("\tADDQ R9, R8")
    a("\tDECQ CX")
    a("\tJNZ  loop")
    a("")
    for r in range(S*N):
        a(f"\tVADDPS Z{4*r+1}, Z{4*r}, Z{4*r}")
        a(f"\tVADDPS Z{4*r+3}, Z{4*r+2}, Z{4*r+2}")
        a(f"\tVADDPS Z{4*r+2}, Z{4*r}, Z{20+r}")
    if N == 1:
        stream_group_end(a, S, 20, scales=False)
    else:
        tile_group_end(a, S, N, lambda s, i: 20+N*s+i, scales=False)
    return "\n".join(L)

for kind in ('f16', 'bf16', 'f32'):
    ms += fkern_streams(STREAMS, f"{kind}x16N1S{STREAMS}", kind, FSTREAM_PREFETCH)
# Their two-row tile streams walk two of a call's four streams at a time
# (sixteen accumulators): packedTask.streamTile calls them once per pair.
# Decode-step harness, every layer of one type, alternating with the
# one-group kernels (50-60 GB/s), of the probe: two rows F16 0.732 ->
# 0.900, BF16 (widening) 0.700 -> 0.863, F32 0.862 -> 0.935; three rows
# (2 + 1) +13 %, +14 %, +5 %; four rows (2 + 2) F16 0.663 -> 0.594 and six
# 0.495 -> 0.469, so they serve two and three rows.
for kind in ('f16', 'bf16', 'f32'):
    ms += fkern_streams(2, f"{kind}x16N2S2", kind, FSTREAM_PREFETCH, N=2)
open(OUT,'w').write(ms.rstrip()+"\n")

# BF16 weights on CPUs with AVX512-BF16: VDPBF16PS multiplies a lane's two
# BF16 weights (row r, columns 2p and 2p+1: one dword of the pair layout)
# by a broadcast activation pair and adds both products to the lane,
# 32 multiply-adds an instruction against 16 for VFMADD231PS on widened
# weights. Activations are BF16 pairs (the tile layout with 2-byte
# elements: a block's 8 bytes are columns 0-3). As the Intel SDM specifies
# it (and the Zen 5 VM computes it, checked bit for bit on 320000 random
# lanes): lane += w[2p+1]·a[2p+1], rounded, then lane += w[2p]·a[2p],
# rounded, each product exact, inputs and results with denormals flushed
# to zero, whatever MXCSR says. Output (row r, act i): two chains by pair
# index mod 2 (columns 0-1 and 2-3 of each record), then chain0 + chain1;
# packedRefFloat reproduces it.
#
# The Go assembler has no AVX512-BF16 mnemonics, so vdpbf16ps encodes the
# instruction (EVEX.512.F3.0F38.W0 52 /r) as bytes; `objdump -d` of a test
# binary shows what each line is.
REGS = {"AX": 0, "CX": 1, "DX": 2, "BX": 3, "SP": 4, "BP": 5, "SI": 6, "DI": 7,
        "R8": 8, "R9": 9, "R10": 10, "R11": 11, "R12": 12, "R13": 13, "R14": 14, "R15": 15}

def vdpbf16ps(dst, src1, base, disp=0, index=None, scale=1, bcst=False):
    """VDPBF16PS zmm{dst} += pairs of zmm{src1} · m512 at base+index·scale+
    disp (bcst: one dword at base+disp broadcast, {1to16}), as a BYTE line
    with its Go-style reading in a comment."""
    b, x = REGS[base], (REGS[index] if index else None)
    p0 = ((1 - (dst >> 3 & 1)) << 7) | ((1 - ((x or 0) >> 3 & 1)) << 6) | \
         ((1 - (b >> 3 & 1)) << 5) | ((1 - (dst >> 4 & 1)) << 4) | 0b010  # map 0F38
    p1 = ((~src1 & 0xf) << 3) | (1 << 2) | 0b10  # W0, vvvv, pp = F3
    p2 = (0b10 << 5) | ((1 if bcst else 0) << 4) | ((1 - (src1 >> 4 & 1)) << 3)  # 512-bit
    n = 4 if bcst else 64  # disp8 is scaled by the memory operand's size
    if disp == 0 and b & 7 != 5:
        mod, d = 0, []
    elif disp % n == 0 and -128 <= disp // n <= 127:
        mod, d = 1, [(disp // n) & 0xff]
    else:
        mod, d = 2, list((disp & 0xffffffff).to_bytes(4, 'little'))
    code = [0x62, p0, p1, p2, 0x52]
    if x is not None or b & 7 == 4:
        ss = {1: 0, 2: 1, 4: 2, 8: 3}[scale]
        code += [(mod << 6) | ((dst & 7) << 3) | 4, (ss << 6) | (((x if x is not None else 4) & 7) << 3) | (b & 7)]
    else:
        code.append((mod << 6) | ((dst & 7) << 3) | (b & 7))
    code += d
    mem = f"{disp}({base})" + (f"({index}*{scale})" if index else "")
    return "\tBYTE " + "; BYTE ".join(f"$0x{v:02x}" for v in code) + \
        f" // VDPBF16PS{'.BCST' if bcst else ''} {mem}, Z{src1}, Z{dst}"

def bf16dot_kern(N, name):
    """The VDPBF16PS kernel for an N-row activation tile: per record, the
    two weight pairs in Z16/Z17, each row's activation pair broadcast from
    memory; row i's chains in Z2i (columns 0-1) and Z2i+1 (columns 2-3)."""
    L=[]; a=L.append
    prologue(a, name)
    for r in range(2*N):
        a(f"\tVPXORD Z{r}, Z{r}, Z{r}")
    a("")
    a("loop:")
    for p in range(2):
        a(f"\tVMOVDQU32 {64*p}(SI), Z{16+p}")
        for i in range(N):
            a(vdpbf16ps(2*i+p, 16+p, "R8", disp=8*i+4*p, bcst=True))
    a("\tADDQ $128, SI")
    a("\tADDQ R9, R8")
    a("\tDECQ CX")
    a("\tJNZ  loop")
    a("")
    for i in range(N):
        a(f"\tVADDPS Z{2*i+1}, Z{2*i}, Z{20+i}")
    epilogue(a, N, 20)
    return "\n".join(L)

# Stream s's record as (index register, scale) for vdpbf16ps: STREAM_IDX.
STREAM_INDEX = {0: (None, 1), 1: ("R11", 1), 2: ("R11", 2), 3: ("R12", 1)}

def bf16dot_streams(S, name, pf, N=1):
    """The S-stream VDPBF16PS kernel for N activation rows (N <= 2): row
    i's two activation pairs of a block broadcast once into Z24+2i and
    Z25+2i, each stream's weight pairs read from memory by the instruction;
    stream s's chains for row i in Z2(Ns+i) and Z2(Ns+i)+1, summed into
    Z20+s (N = 1) or Z16+2s+i (tile kernels, stored as streams_tile_of
    does). Per group and row, bf16dot_kern's operations for N in its
    order."""
    L = stream_prologue(name, yrow=N > 1) + ["\tLEAQ (R11)(R11*2), R12"]
    a = L.append
    a("")
    a("group:")
    for r in range(2*S*N):
        a(f"\tVPXORD Z{r}, Z{r}, Z{r}")
    a("")
    a("loop:")
    loop = [f"\tVPBROADCASTD {8*i+4*p}(R8), Z{24+2*i+p}" for i in range(N) for p in range(2)]
    for s in range(S):
        idx, sc = STREAM_INDEX[s]
        for o in range(0, 128, 64):
            loop.append(f"\tPREFETCHT0 {pf+o}(SI){STREAM_IDX[s]}")
        for p in range(2):
            for i in range(N):
                loop.append(vdpbf16ps(2*(N*s+i)+p, 24+2*i+p, "SI", disp=64*p, index=idx, scale=sc))
    L.extend(spread_prefetches(loop))
    a("\tADDQ $128, SI")
    a("\tADDQ R9, R8")
    a("\tDECQ CX")
    a("\tJNZ  loop")
    a("")
    first = 20 if N == 1 else 16
    for s in range(S):
        for i in range(N):
            a(f"\tVADDPS Z{2*(N*s+i)+1}, Z{2*(N*s+i)}, Z{first+N*s+i}")
    if N == 1:
        stream_group_end(a, S, first, scales=False)
    else:
        tile_group_end(a, S, N, lambda s, i: first+N*s+i, scales=False)
    return "\n".join(L)

# Two-row tile streams for BF16 on VDPBF16PS, which serve two to four rows
# (2, 2 + 1, 2 + 2). In the decode-step harness (every layer BF16,
# alternating with the one-group kernels, 52-57 GB/s): two rows 1.066 ->
# 1.262 of the probe, three 0.669 -> 0.861, four 0.804 -> 0.880. Five to
# seven rows still led overall (+5-12 %), but ffn_down's 8192-column groups
# (256 KiB each) no longer fit L2 for the later passes and fell behind
# (0.597 -> 0.566 at six), so they stop at four.

bd = open(OUT).read().rstrip()+"\n\n"
for N in (1,2,4,8):
    bd += bf16dot_kern(N, f"bf16dotx16N{N}") + "\n"
bd += bf16dot_streams(STREAMS, f"bf16dotx16N1S{STREAMS}", FSTREAM_PREFETCH) + "\n"
bd += bf16dot_streams(STREAMS, f"bf16dotx16N2S{STREAMS}", FSTREAM_PREFETCH, N=2)
open(OUT,'w').write(bd.rstrip()+"\n")

# The i-quants below 4 bits are transcoded at load (packIQ in
# packed_iq.go) into IQ4_XS's records with a header of their own: +0 the 16
# rows' fp16 d, +32 the type's code table (level+128: quant.IQCodeLevels),
# +48 the type's power-of-two factor as float32 (1/8, 1/4 or 1), scales at
# +64. Each element's codebook level and sign are a 4-bit code, the
# group's odd multiplier the int8 scale. Since the record carries its
# table and factor, one set of kernels serves every type: IQ4_XS's
# (iq_block_head in place of its d load and fixed table) for the types
# whose multipliers cover 32 elements (IQ2_XXS, IQ3_XXS, IQ3_S, IQ1_S),
# iq4x16 below for those whose multipliers cover 16 (IQ2_XS, IQ2_S, IQ1_M).
IQ_REC = 64 + 128 + 8*256
IQH_REC = 64 + 256 + 8*256

iq = open(OUT).read().rstrip()+"\n\n"
for N in (1,2,4,8):
    iq += iq4xs(N, f"iqGx16N{N}", iq=True) + "\n"
iq += streams_of(iq4xs(1, "iqGx16N1", pf=kstream_ahead(IQ_REC), iq=True), KSTREAMS, 16, f"iqGx16N1S{KSTREAMS}")
for N in (2, 3):
    iq += streams_tile_of(iq4xs(N, f"iqGx16N{N}", pf=kstream_ahead(IQ_REC), iq=True), KSTREAMS, N, 16, f"iqGx16N{N}S{KSTREAMS}")
open(OUT,'w').write(iq.rstrip()+"\n")

# iq4x16: a multiplier for each half of a 32-element group (records of
# 2368 bytes: the header, the sixteen half-group multipliers as int8, half
# h of the 16 rows at 64+16h, the codes of group s at 320+256s). The low
# nibbles of a group are its first half and the high nibbles its second,
# so each gets its own dot (started from its own correction, −128·Σa of 16
# elements), times its own multiplier. The second set of dots takes Z12..,
# which leaves no registers for an eight-row tile.

def iq4x16(N, name, pf=PREFETCH_K):
    assert N <= 4
    hdr = 64
    rec = hdr + 256 + 8*256
    L=[]; a=L.append
    prologue(a, name)
    a("\tMOVQ DX, R10")
    a("\tSHLQ $4, R10 // corrections: 16 per block and row")
    a("\tMOVL $0x0f0f0f0f, AX")
    a("\tVPBROADCASTD AX, Z31")
    # regs: block totals Z0+i, first-half dots Z8+i, second-half dots
    # Z12+i, outputs Z16+i, codes Z24 (low) Z25 (high), load Z26, the
    # halves' multipliers Z28 and Z27, table Z29, d_w Z30, mask Z31.
    for i in range(N):
        a(f"\tVPXORD Z{16+i}, Z{16+i}, Z{16+i}")
    a("")
    a("loop:")
    iq_block_head(a)
    for i in range(N):
        a(f"\tVPXORD Z{i}, Z{i}, Z{i}")
    for s in range(8):
        prefetch_part(a, rec, s, 8, pf)
        a(f"\tVPMOVSXBD {hdr+16*(2*s)}(SI), Z28")
        a(f"\tVPMOVSXBD {hdr+16*(2*s+1)}(SI), Z27")
        for i in range(N):
            a(f"\tVPBROADCASTD {4*(16*i+2*s)}(BX), Z{8+i}")
            a(f"\tVPBROADCASTD {4*(16*i+2*s+1)}(BX), Z{12+i}")
        for g in range(4):
            table_codes(a, hdr+256+256*s+64*g)
            for i in range(N):
                a(f"\tVPDPBUSD.BCST {256*i+32*s+4*g}(R8), Z24, Z{8+i}")
                a(f"\tVPDPBUSD.BCST {256*i+32*s+16+4*g}(R8), Z25, Z{12+i}")
        for i in range(N):
            a(f"\tVPMULLD Z28, Z{8+i}, Z{8+i}")
            a(f"\tVPMULLD Z27, Z{12+i}, Z{12+i}")
            a(f"\tVPADDD Z{8+i}, Z{i}, Z{i}")
            a(f"\tVPADDD Z{12+i}, Z{i}, Z{i}")
    scaled_block_end(a, N, lambda i: i, lambda i: 8+i, rec)
    return "\n".join(L)

iq = open(OUT).read().rstrip()+"\n\n"
for N in (1,2,4):
    iq += iq4x16(N, f"iqHx16N{N}") + "\n"
iq += streams_of(iq4x16(1, "iqHx16N1", pf=kstream_ahead(IQH_REC)), KSTREAMS, 16, f"iqHx16N1S{KSTREAMS}")
for N in (2, 3):
    iq += streams_tile_of(iq4x16(N, f"iqHx16N{N}", pf=kstream_ahead(IQH_REC)), KSTREAMS, N, 16, f"iqHx16N{N}S{KSTREAMS}")
open(OUT,'w').write(iq.rstrip()+"\n")

# AVX2 forms of the transcoded i-quants' kernels, for CPUs without AVX-512
# VNNI, on the same records (one activation row: the driver runs it for
# each row of a batch). 256-bit registers hold 8 of a group's 16 rows, so
# each part of the codes is two loads. VPMADDUBSW multiplies unsigned by
# signed bytes into saturating int16 pairs, so the table is turned back
# into the signed levels (the record's level+128 XOR 0x80) and the products
# are |level|·(a·sign(level)) (VPABSB, VPSIGNB): at most 2·62·127 a pair,
# short of saturation, and Q8_K's quants stay in ±127 (ggml's
# quantize_row_q8_K scales by −127/max), so VPSIGNB's negation cannot
# overflow. VPMADDWD by ones adds each row's 4 products; there is no zero
# point, so the corrections go unread. half: 16-element multipliers.
def iq_avx2(name, half=False):
    mults = 16 if half else 8
    hdr = 64
    codes = hdr + 16*mults
    rec = codes + 8*256
    L=[]; a=L.append
    prologue(a, name)
    a("\tMOVQ DX, R10")
    a(f"\tSHLQ ${4 if half else 3}, R10 // corrections (unread): {mults} per block")
    a("\tMOVL $0x0f0f0f0f, AX")
    a("\tMOVQ AX, X15")
    a("\tVPBROADCASTD X15, Y15")
    a("\tMOVL $0x00010001, AX")
    a("\tMOVQ AX, X13")
    a("\tVPBROADCASTD X13, Y13")
    # regs: block totals Y0 (rows 0-7) Y1 (8-15); dots Y2 Y3 (half: first
    # halves, Y10 Y11 the second); outputs Y4 Y5; acts Y6 Y7; Y8 Y9 Y12
    # temporaries; ones Y13, table Y14, mask Y15.
    a("\tVPXOR Y4, Y4, Y4")
    a("\tVPXOR Y5, Y5, Y5")
    a("")
    a("loop:")
    a("\tVBROADCASTI128 32(SI), Y14")
    a("\tMOVL $0x80808080, AX")
    a("\tMOVQ AX, X12")
    a("\tVPBROADCASTD X12, Y12")
    a("\tVPXOR Y12, Y14, Y14")
    a("\tVPXOR Y0, Y0, Y0")
    a("\tVPXOR Y1, Y1, Y1")
    for s in range(8):
        prefetch_part(a, rec, s, 8, PREFETCH_K)
        dots = [(2, 3), (10, 11)] if half else [(2, 3), (2, 3)]
        zero = {r for d in dots for r in d}
        for r in sorted(zero):
            a(f"\tVPXOR Y{r}, Y{r}, Y{r}")
        for g in range(4):
            a(f"\tVPBROADCASTD {32*s+4*g}(R8), Y6")
            a(f"\tVPBROADCASTD {32*s+16+4*g}(R8), Y7")
            for h in range(2):
                a(f"\tVMOVDQU {codes+256*s+64*g+32*h}(SI), Y8")
                a("\tVPSRLW $4, Y8, Y9")
                a("\tVPAND Y15, Y8, Y8")
                a("\tVPAND Y15, Y9, Y9")
                a("\tVPSHUFB Y8, Y14, Y8")
                a("\tVPSHUFB Y9, Y14, Y9")
                for nib, act, dst in ((8, 6, dots[0][h]), (9, 7, dots[1][h])):
                    a(f"\tVPSIGNB Y{nib}, Y{act}, Y12")
                    a(f"\tVPABSB Y{nib}, Y{nib}")
                    a(f"\tVPMADDUBSW Y12, Y{nib}, Y{nib}")
                    a(f"\tVPMADDWD Y13, Y{nib}, Y{nib}")
                    a(f"\tVPADDD Y{nib}, Y{dst}, Y{dst}")
        groups = [(2*s, dots[0]), (2*s+1, dots[1])] if half else [(s, dots[0])]
        for m, (lo, hi) in groups:
            a(f"\tVPMOVSXBD {hdr+16*m}(SI), Y8")
            a(f"\tVPMOVSXBD {hdr+16*m+8}(SI), Y9")
            a(f"\tVPMULLD Y8, Y{lo}, Y{lo}")
            a(f"\tVPMULLD Y9, Y{hi}, Y{hi}")
            a(f"\tVPADDD Y{lo}, Y0, Y0")
            a(f"\tVPADDD Y{hi}, Y1, Y1")
    # d_w·d_a as the AVX-512 kernels form it: the fp16 d widened, times
    # the factor (exact), times the activation's scale.
    a("\tVCVTDQ2PS Y0, Y0")
    a("\tVCVTDQ2PS Y1, Y1")
    a("\tVCVTPH2PS (SI), Y8")
    a("\tVCVTPH2PS 16(SI), Y9")
    a("\tVBROADCASTSS 48(SI), Y12")
    a("\tVMULPS Y12, Y8, Y8")
    a("\tVMULPS Y12, Y9, Y9")
    a("\tVBROADCASTSS (DI), Y6")
    a("\tVMULPS Y6, Y8, Y8")
    a("\tVMULPS Y6, Y9, Y9")
    a("\tVFMADD231PS Y8, Y0, Y4")
    a("\tVFMADD231PS Y9, Y1, Y5")
    a(f"\tADDQ ${rec}, SI")
    a("\tADDQ R9, R8")
    a("\tADDQ DX, DI")
    a("\tADDQ R10, BX")
    a("\tDECQ CX")
    a("\tJNZ  loop")
    a("")
    a("\tMOVQ y+56(FP), SI")
    a("\tVMOVUPS Y4, (SI)")
    a("\tVMOVUPS Y5, 32(SI)")
    a("\tVZEROUPPER")
    a("\tRET")
    a("")
    return "\n".join(L)

iq = open(OUT).read().rstrip()+"\n\n"
iq += iq_avx2("iqGx16AVX2") + "\n"
iq += iq_avx2("iqHx16AVX2", half=True) + "\n"
open(OUT,'w').write(iq.rstrip()+"\n")
