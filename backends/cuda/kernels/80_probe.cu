// Memory read probe for the bandwidth roofline (Device.MeasureReadBandwidth).

struct alignas(16) u32x4 {
    u32 x, y, z, w;
};

// read_probe reads every 16-byte word of p once (grid-stride, four
// independent loads in flight per thread) and folds them with xor. The
// fold is written only when it equals magic, which the caller makes
// impossible for its data, so no store competes with the reads and the
// compiler cannot drop the loads.
extern "C" __global__ void nuri_read_probe(const u32x4* p, u64 words, u32* out, u32 magic) {
    u64 stride = (u64)gridDim.x * blockDim.x;
    u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    u32 acc = 0;
    for (; i + 3 * stride < words; i += 4 * stride) {
        u32x4 a = p[i], b = p[i + stride], c = p[i + 2 * stride], d = p[i + 3 * stride];
        acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
    }
    for (; i < words; i += stride) {
        u32x4 a = p[i];
        acc ^= a.x ^ a.y ^ a.z ^ a.w;
    }
    if (acc == magic) *out = acc;
}
