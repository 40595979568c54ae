// Package npu simulates a domestic inference NPU faithfully enough to
// develop and test against: the numbers it computes are the numbers an
// int8 NPU computes, and the time it reports is the time the modelled chip
// would take.
//
//   - Profiles: an RNGD-class chip (48 GiB HBM3 at 1.5 TB/s, 512 TOPS
//     int8/FP8, 256 TFLOPS BF16) and an ATOM-class chip (16 GiB GDDR6 at
//     256 GB/s, 128 TOPS int8, 32 TFLOPS FP16), both on a PCIe Gen5 x16
//     host link.
//   - Weights: requantized at upload to int8, per output channel (one
//     symmetric scale per row), from whatever format the file holds; the
//     error each tensor took is logged and kept (QuantReport).
//   - MatMul: activations quantized per row to symmetric int8 on the fly,
//     int8 × int8 products summed exactly in int32, then scaled by the two
//     scales in float32 — what the chip's tensor units and output stage do.
//   - Other ops (get_rows, RMSNorm, RoPE, SiLU, add, scale, paged-KV store
//     and attention) run in float, as on the chip's vector units; their
//     arithmetic is the CPU reference's.
//   - Memory: a fixed capacity; an allocation or upload that does not fit
//     fails with backends.ErrOutOfMemory and a message that says what is
//     using the memory.
//   - Static shapes: the chip runs compiled shape buckets (batch 1, 2, 4,
//     8, 16; larger token counts padded to multiples of 64), reported
//     through backends.ShapeBucketer and charged in the time model, so
//     a scheduler that fills buckets gets a faster simulated chip.
//   - Time: every op is charged max(ops ÷ peak, bytes ÷ bandwidth) (a
//     roofline), with bytes of tensors left in host memory charged at the
//     host link's bandwidth; SimTime reports the sum (backends.Simulated).
//
// Block-quantized (Q8_0) KV caches are not supported, so that the CPU
// fallback path of backends.Fallback is exercised by a real device.
package npu
