// Activation conversion, exactly as quant.QuantizeActivations (ggml's x86
// CPU backend): a matmul first converts its F32 activations to the weight
// type's vec-dot type with these kernels.

// Q8_0 / Q8_1: one warp per 32-element block, lane j owns element j.
// d = amax/127 (stored as fp16), multiplier 127/amax, round half to even,
// saturate to int8; Q8_1 adds s = fp16(d · Σq) over the unsaturated q.
// x is rows of `cols` floats; y rows of (cols/32) blocks of bb bytes.
__device__ void quantize_q8(const float* x, u8* y, int n_blocks, int bb, int sum) {
    int lane = threadIdx.x % WARP;
    int blk = (blockIdx.x * blockDim.x + threadIdx.x) / WARP;
    if (blk >= n_blocks) return; // whole warps exit together
    float v = x[(size_t)blk * QK + lane];
    float amax = warp_max(fabsf(v));
    float d = amax / 127.0f;
    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int q = rne(v * id);
    int total = warp_sum_i(q);
    q = max(-128, min(127, q));
    u8* b = y + (size_t)blk * bb;
    int qs = sum ? 4 : 2;
    b[qs + lane] = (u8)(i8)q;
    if (lane == 0) {
        st16(b, f2h(d));
        if (sum) st16(b + 2, f2h(d * (float)total));
    }
}

extern "C" __global__ void nuri_quantize_q8_0(const float* x, u8* y, int n_blocks) {
    quantize_q8(x, y, n_blocks, 34, 0);
}

extern "C" __global__ void nuri_quantize_q8_1(const float* x, u8* y, int n_blocks) {
    quantize_q8(x, y, n_blocks, 36, 1);
}

// Q8_K (quantize_row_q8_K_ref): one warp per 256-element super-block. The
// scale comes from the element of largest magnitude (the first one on
// ties), iscale = -127/max, q = min(127, nearest_int(iscale·x)),
// d = 1/iscale, plus the sums of each 16 quants. Layout: d f32, qs[256],
// bsums int16[16] (292 bytes).
extern "C" __global__ void nuri_quantize_q8_k(const float* x, u8* y, int n_blocks) {
    int lane = threadIdx.x % WARP;
    int blk = (blockIdx.x * blockDim.x + threadIdx.x) / WARP;
    if (blk >= n_blocks) return;
    const float* xb = x + (size_t)blk * QK_K;
    u8* b = y + (size_t)blk * 292;
    // Lane l owns elements 8l .. 8l+7 (so bsum group g = lanes 2g, 2g+1).
    float amax = 0.0f, maxv = 0.0f;
    int idx = 0x7fffffff;
    for (int k = 0; k < 8; k++) {
        int e = 8 * lane + k;
        float a = fabsf(xb[e]);
        if (a > amax) { amax = a; maxv = xb[e]; idx = e; }
    }
    for (int o = WARP / 2; o > 0; o >>= 1) {
        float oa = __shfl_xor_sync(0xffffffffu, amax, o);
        float ov = __shfl_xor_sync(0xffffffffu, maxv, o);
        int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        if (oa > amax || (oa == amax && oi < idx)) { amax = oa; maxv = ov; idx = oi; }
    }
    if (amax == 0.0f) {
        for (int k = lane; k < 292; k += WARP) b[k] = 0;
        return;
    }
    float iscale = -127.0f / maxv;
    int s = 0;
    for (int k = 0; k < 8; k++) {
        int e = 8 * lane + k;
        int q = min(127, rne(iscale * xb[e]));
        b[4 + e] = (u8)(i8)q;
        s += q;
    }
    int pair = s + __shfl_xor_sync(0xffffffffu, s, 1);
    if (lane % 2 == 0) st16(b + 260 + 2 * (lane / 2), (u16)(i16)pair);
    if (lane == 0) st32(b, (u32)__float_as_int(1.0f / iscale));
}

// F16 / BF16 activations: round to nearest even.
extern "C" __global__ void nuri_convert_f16(const float* x, u16* y, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] = f2h(x[i]);
}

extern "C" __global__ void nuri_convert_bf16(const float* x, u16* y, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] = f2bf(x[i]);
}
