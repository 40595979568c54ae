// Package kernels holds Nuri's CPU compute kernels: a persistent worker Pool
// and MatMul, the quantized matrix multiplication every linear layer runs.
//
// # MatMul
//
// MatMul follows ggml's CPU mul_mat: each activation row is converted once
// to quant.VecDotType(w) exactly as llama.cpp's x86 backend does
// (quant.QuantizeActivations), then every output is a sum of per-block dot
// products in block order. Two implementations exist:
//
//   - the reference path, built from quant.QuantizeActivations and
//     quant.VecDot per output, available on every architecture and for every
//     type (KernelsGeneric, which cmd/nuri sets for
//     NURI_KERNELS=generic);
//   - Go-assembly kernels chosen once at start-up from golang.org/x/sys/cpu
//     (amd64, AVX2+FMA+F16C floor):
//     Q4_0, Q8_0: AVX-512 VNNI (VPDPBUSD, two blocks per zmm), else
//     AVX2 (+VNNI in its 256-bit form);
//     Q4_K, Q6_K: AVX-512BW, else AVX2;
//     Q4_1, Q5_0, Q5_1 (Q8_1 activations for the _1 types), Q2_K, Q3_K,
//     Q5_K, IQ4_NL: AVX2; IQ4_XS: AVX-512BW+VNNI, else AVX2;
//     F32, F16, BF16: AVX2+FMA+F16C.
//     With AVX-VNNI (Alder Lake and later Intel cores, which lack
//     AVX-512), the AVX2 kernels of Q4_0, Q8_0, Q5_0, Q4_1, Q5_1 and
//     IQ4_NL take its VEX VPDPBUSD, and those of Q4_K, Q5_K and Q6_K its
//     VPDPWSSD, with the same bits.
//     On CPUs with AVX-512 VNNI the CPU backend packs the weights of every
//     one of these types for MatMulPacked (below) instead.
//   - on arm64, NEON kernels (the *_arm64.s files): F32, F16 and BF16 on
//     every arm64 CPU, and with the dot-product extension (SDOT; Apple M1
//     and later, Neoverse N1 / Graviton2 and later) Q4_0, Q4_1, Q5_0,
//     Q5_1, Q8_0, Q2_K-Q6_K, IQ4_NL, IQ4_XS and the i-quants below 4 bits
//     (iq_arm64.go: a row decoded into int8 levels a chunk of blocks at a
//     time with 64-bit table lookups, then SDOT). In the quantized ones each
//     block's integer dot is exact and its float steps are the
//     reference's, in its order and each rounded (quant fuses no
//     multiply-add on any architecture), so they give quant.VecDot's
//     bits (TestEveryKernelVariant requires it), which are the reference
//     path's bits on amd64 too; the float ones sum in eight lanes,
//     within the float weights' bound given below. make test runs them
//     under qemu-user on other hosts (make test-arm64).
//   - On amd64 the i-quants below 4 bits (IQ2_XXS … IQ1_M) have no row
//     kernels: they are transcoded at load into packed records
//     (packed_iq.go), which have AVX-512 VNNI kernels and AVX2 ones (one
//     activation row at a time).
//
// Pool.SetKernelSet narrows the choice so one machine can test the others'
// paths: KernelsAVX2 (NURI_KERNELS=avx2) runs only the AVX2 kernels, packs
// only the transcoded i-quants (for their AVX2 kernels) and takes the
// pure-Go vector loops, as a CPU without AVX-512 does; KernelsGeneric is
// the reference path.
//
// Most single-row stream kernels have a paced twin (gen_packed.py, paced):
// the same instructions with NOPs after each prefetch of the main loop, so
// the same bits, issued more slowly, which over cold memory reads more on
// some machines and less on others. A Pool's pacer (pacer.go) times both
// forms on the model's own calls, per kind of call, and runs the faster;
// Pool.SetPacing (NURI_PACING=off or on in the commands) fixes one.
// Q4_0's, Q8_0's, Q3_K's, Q4_K's, Q5_K's and Q6_K's plain forms have a
// near twin too, prefetching nearer, for cores whose memory is fast a
// core; the pacer times it against the far-prefetching plain form and the
// paced twin, starting from near on AMD CPUs and far on the others
// (Pool.SetPrefetch; NURI_PREFETCH=near or far fixes the distance).
//
// The assembly activation quantizers (Q8_0, Q8_K, and Q8_1 from Q8_0's
// quants; the F16 rounding; on arm64 the BF16 one too; AVX2 on amd64, NEON
// on arm64) are bit-identical to quant.QuantizeActivations for finite
// inputs. Integer block sums are exact in both paths, so
// the fast kernels differ from the reference only in float rounding: the
// per-block float terms are accumulated in 8 or 16 lanes and the lanes added
// at the end, where the reference sums block by block. Tests bound the
// difference by 2e-6·Σ|w·a| (float weights: (2·cols/8+32)·2⁻²⁴·Σ|w·a|), and
// both paths meet llama.cpp's outputs within rel-RMS 1e-5.
//
// Batch invariance: an output's arithmetic depends only on its weight row
// and activation row, never on how many rows are batched with it, where it
// sits in the batch, or how the work is split over threads. Results are
// bit-identical whether a row is decoded alone or inside a batch.
//
// Batches are register-blocked: one pass over a weight block serves up to 4
// (Q4_0, Q8_0, float) or 8 (K-quants) activation rows, so prefill and
// batched decode are compute-bound while single-row decode (GEMV) is bound
// by memory bandwidth; MeasureReadBandwidth gives the roofline to compare
// with. The AVX2 K-quant and IQ4_XS kernels unpack a super-block's codes
// into registers once for all the rows of a tile, with the scales and each
// row's accumulator in the stack frame; a call with one activation row
// (decode on a CPU without AVX-512) takes a one-row form (fastKernel.one)
// that keeps its accumulator in a register too, with the same integer
// lanes and float operations, so the same bits. Q4_0's, IQ4_NL's and
// Q5_0's one-row calls go four weight rows at a time (fastKernel.oneRows):
// four FMA chains side by side instead of one, each with the one-row
// kernel's bits.
// Long rows (ffn_down's 8192 columns) would push a batch tile's activations
// out of L1, so the 512-bit Q4_0/Q8_0 kernels then run each group of weight
// rows in column chunks, saving the accumulator lanes between chunks; the
// lanes see the same additions in the same order, so results are
// bit-identical to the unsplit kernel.
//
// # Packed weights: MatMulPacked
//
// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K and Q6_K matrices
// (and F16, BF16, F32 ones with a multiple of 4 columns) can be repacked
// once (PackWeights; the CPU backend does it at load when PackableShape,
// then lets the file pages go) into groups of 16 rows where one 512-bit
// register holds the same 4-element group of all 16 rows (float weights:
// one column of 16 rows, widened once for a tile of activation rows). A VPDPBUSD against the 4 matching
// activation quants, broadcast, advances 16 outputs at once, and each lane
// ends a block holding one output's whole block dot, so the float work is
// done once per 16 outputs and block and one weight load serves a tile of up
// to 8 activation rows. That makes GEMV memory-bound (the K-quant kernels
// also prefetch 16 KiB ahead) and GEMM 2-3× faster than the row kernels.
// Single-row calls walk several row groups that lie a fraction of a chunk
// apart in lockstep (multi-stream kernels, gen_packed.py: four for Q8_0,
// Q5_0, Q4_1 and Q5_1, two records a pass, and for the float types; two
// for Q4_0, eight records a pass, and for Q2_K-Q6_K, Q4_K's and Q5_K's
// interleaved sub-block by sub-block);
// so do small batches (batched decode: 2-7 rows for the Q4_0 family, 2-3
// for the K-quants, Q6_K and the float types, 2 for Q3_K, 2-4 for BF16
// on VDPBF16PS; packedSet), in sub-tiles of 4, 2 and 1 rows;
// each stream prefetching a little ahead of itself: one core keeps more
// cache misses in flight over several streams than over one while the
// kernel computes. A call walks several consecutive groups of each
// stream, and the threads hand out a chunk's groups in shrinking runs, so
// the one that runs out of chunks finishes the other's (streamPiece). A
// llama-1b decode step's layer matmuls stream at about the read probe's
// rate (BenchmarkDecodeStreams; docs/performance.md).
// BF16 weights on a CPU with AVX512-BF16 take VDPBF16PS kernels instead
// (packedBF16Dot): a record keeps each row's column pairs side by side, the
// activations are BF16 pairs, and each lane adds a row's odd-column
// product, then its even one, rounding each sum and flushing denormals as
// the instruction does; packedRefBF16Dot reproduces it bit for bit. Other
// CPUs widen the same records to float32 (VFMADD231PS).
// Each output is Σ over blocks, in order, of fma(float32(integer dot),
// d_w·d_a, acc) (K-quants: their integer sub-block sums, scaled, first), the
// same whatever the batch or thread split; a pure-Go reference (packedRef)
// reproduces it bit for bit. gen_packed.py generates the assembly.
//
// # Vector loops
//
// VecOps holds the element-wise loops of attention, the norms and the FFN:
// q·K rows and probability-weighted V sums over fp16, f32 and Q8_0 KV
// caches, fp16 rounding, a Cephes-style exp (≤ 1 ulp), SiLU·up, RMSNorm's
// sum of squares and scaling, and adds, in AVX-512 and in AVX2 (each
// 16-lane accumulator of the reference a pair of YMM registers), with Go
// references that perform the same float32 operations (fused multiply-adds
// emulated exactly by fma32), so all three give identical bits. The
// multi-head attention loops read each K and V row once for two or four
// heads on AVX-512 (FourHeads, PairF16Heads), and on AVX2 the fp16 ones for
// two (both) or four (scores) heads of 64 or 128 elements. On arm64 the
// q·K and V loops over fp16 and f32 caches (vec_arm64.s: FMLA is fma32,
// the reference's four 16-lane accumulators are sixteen registers, one
// head at a time) and over Q8_0 ones (vecq8_arm64.s: SDOT for the score's
// integer lanes), the exponential and SiLU·up (vexp_arm64.s), and the
// softmax and norm passes and the fp16 conversions (vecnorm_arm64.s:
// FMAXNM passes over NaNs as the reference's v > m does, the float64 sums
// keep its sixteen lanes) run on NEON with the same bits; GELU there looks
// its table up in Go after the NEON fp16 conversion, and the multi-head
// forms run one head at a time.
//
// # Pool
//
// Pool is a fixed set of goroutines living until Close. Work is split by
// output rows into chunks claimed from an atomic counter; nothing is
// allocated or spawned per call, and MatMul reuses the Pool's scratch
// buffers. A nil Pool runs everything on the caller. Run takes a closure,
// which escapes to the heap (an object per call); RunTask takes a Task, and
// a pointer to a value the caller keeps (the CPU stream's attention and
// row-wise ops) costs nothing, so a whole decode step allocates nothing
// (model's TestDecodeStepAllocs).
// While the caller prepares a single-row MatMulPacked call's input alone,
// the helpers read ahead the weights of the chunks reserved for them
// (aside work, packedWarm), so the memory does not sit idle through a
// call's serial part. A thread that runs out of chunks, in any job, reads
// ahead the head of its chunk in the single-row call expected next (tail
// work, tailWarm): each such call learns the one that came after it last
// time, which in a decode step is the same call every step.
package kernels
