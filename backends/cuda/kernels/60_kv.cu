// store_kv: token i's row of `width` floats goes to cache slot slots[i]
// (slot_bytes bytes per slot), converted to the cache type as ggml_cpy
// does: F32 copied, F16 rounded to nearest even, Q8_0 with the activation
// quantizer.

extern "C" __global__ void nuri_store_kv_f32(const float* src, u8* cache, const int* slots, int n, int width) {
    int i = blockIdx.y;
    float* dst = (float*)(cache + (size_t)slots[i] * width * 4);
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < width; j += gridDim.x * blockDim.x)
        dst[j] = src[(size_t)i * width + j];
}

extern "C" __global__ void nuri_store_kv_f16(const float* src, u8* cache, const int* slots, int n, int width) {
    int i = blockIdx.y;
    u16* dst = (u16*)(cache + (size_t)slots[i] * width * 2);
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < width; j += gridDim.x * blockDim.x)
        dst[j] = f2h(src[(size_t)i * width + j]);
}

// Q8_0: grid.y tokens, one warp per 32-element block of the token's row.
extern "C" __global__ void nuri_store_kv_q8_0(const float* src, u8* cache, const int* slots, int n, int width) {
    int i = blockIdx.y;
    int nb = width / QK;
    int blk = (blockIdx.x * blockDim.x + threadIdx.x) / WARP;
    if (blk >= nb) return;
    int lane = threadIdx.x % WARP;
    float v = src[(size_t)i * width + (size_t)blk * QK + lane];
    float amax = warp_max(fabsf(v));
    float d = amax / 127.0f;
    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int q = max(-128, min(127, rne(v * id)));
    u8* b = cache + (size_t)slots[i] * nb * 34 + (size_t)blk * 34;
    b[2 + lane] = (u8)(i8)q;
    if (lane == 0) st16(b, f2h(d));
}
