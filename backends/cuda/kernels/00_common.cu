// Nuri CUDA kernels: shared definitions.
//
// The .cu files of this folder are concatenated in name order into one
// translation unit and compiled by NVRTC at start-up. No headers are
// included (NVRTC may run without the CUDA toolkit's include folder), so
// the integer types and the fp16/bf16 conversions are defined here,
// bit-compatible with Nuri's quant package (and so with ggml's x86 CPU
// backend). The program is compiled with --fmad=false: a*b+c is two
// roundings, as in the Go reference.

typedef unsigned char u8;
typedef signed char i8;
typedef unsigned short u16;
typedef short i16;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;

#define QK 32    // elements per block of Q4_0 .. Q8_1
#define QK_K 256 // elements per K-quant super-block
#define WARP 32

// fp16 → fp32, exact (quant.FP16ToFP32).
__device__ __forceinline__ float h2f(u16 h) {
    u32 sign = (u32)(h & 0x8000) << 16;
    u32 e = (h >> 10) & 0x1f;
    u32 m = h & 0x3ff;
    if (e == 0x1f) return __int_as_float((int)(sign | 0x7f800000u | (m << 13)));
    if (e != 0) return __int_as_float((int)(sign | ((e + 127 - 15) << 23) | (m << 13)));
    if (m == 0) return __int_as_float((int)sign);
    float v = (float)m * (1.0f / 16777216.0f);
    return sign ? -v : v;
}

// fp32 → fp16, round to nearest even, subnormals kept (quant.FP32ToFP16).
__device__ __forceinline__ u16 f2h(float f) {
    u32 b = (u32)__float_as_int(f);
    u16 sign = (u16)((b >> 16) & 0x8000);
    int e = (int)((b >> 23) & 0xff);
    u32 mant = b & 0x7fffff;
    if (e == 0xff) {
        if (mant != 0) return (u16)(sign | 0x7e00 | (mant >> 13));
        return (u16)(sign | 0x7c00);
    }
    int he = e - 127 + 15;
    if (he >= 0x1f) return (u16)(sign | 0x7c00);
    if (he <= 0) {
        if (he < -10) return sign;
        u32 m = mant | 0x800000;
        u32 shift = (u32)(14 - he);
        u32 q = m >> shift;
        u32 rem = m & ((1u << shift) - 1);
        u32 half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (u16)(sign | q);
    }
    u32 q = ((u32)he << 10) | (mant >> 13);
    u32 rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;
    return (u16)(sign | q);
}

// bf16 ↔ fp32 (quant.BF16ToFP32, quant.FP32ToBF16).
__device__ __forceinline__ float bf2f(u16 h) { return __int_as_float((int)((u32)h << 16)); }

__device__ __forceinline__ u16 f2bf(float f) {
    u32 u = (u32)__float_as_int(f);
    if ((u & 0x7fffffff) > 0x7f800000) return (u16)((u >> 16) | 64);
    return (u16)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

// Unaligned little-endian loads and stores (block layouts are packed).
__device__ __forceinline__ u16 ld16(const u8* p) { return (u16)(p[0] | (p[1] << 8)); }
__device__ __forceinline__ u32 ld32(const u8* p) {
    return (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) | ((u32)p[3] << 24);
}
__device__ __forceinline__ float ldf32(const u8* p) { return __int_as_float((int)ld32(p)); }
__device__ __forceinline__ float ldh(const u8* p) { return h2f(ld16(p)); }
__device__ __forceinline__ void st16(u8* p, u16 v) { p[0] = (u8)v; p[1] = (u8)(v >> 8); }
__device__ __forceinline__ void st32(u8* p, u32 v) {
    p[0] = (u8)v; p[1] = (u8)(v >> 8); p[2] = (u8)(v >> 16); p[3] = (u8)(v >> 24);
}

// q6k_quad decodes the four Q6_K values at position l of a half block
// (elements l, l+32, l+64, l+96 of the half): low nibbles from ql, two
// high bits each from qh, minus 32.
__device__ __forceinline__ void q6k_quad(const u8* ql, const u8* qh, int l, int q[4]) {
    int h = qh[l];
    q[0] = (int)((ql[l] & 0xf) | ((h & 3) << 4)) - 32;
    q[1] = (int)((ql[l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
    q[2] = (int)((ql[l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
    q[3] = (int)((ql[l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
}

// iq4_level is ggml's kvalues_iq4nl[c] (quant.IQ4Levels), the level an
// IQ4_NL or IQ4_XS code stands for: the 16 int8 levels packed into two
// 64-bit constants (no __constant__ table: NVRTC and the emulator both
// take this as it is).
__device__ __forceinline__ int iq4_level(int c) {
    u64 t = c < 8 ? 0xf6eaddcfbfad9881ull : 0x7159453526190d01ull;
    return (int)(i8)(u8)(t >> (8 * (c & 7)));
}

// iq4xs_scale is IQ4_XS group g's signed scale ls − 32: the low four bits
// in nibble g%2 of scales_l[g/2] (byte 4), the high two at bits 2g of
// scales_h (bytes 2-3).
__device__ __forceinline__ int iq4xs_scale(const u8* x, int g) {
    int lo = (x[4 + g / 2] >> (4 * (g % 2))) & 0xf;
    int hi = (ld16(x + 2) >> (2 * g)) & 3;
    return (lo | (hi << 4)) - 32;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = WARP / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ int warp_sum_i(int v) {
    for (int o = WARP / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = WARP / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_sum_f(float v) {
    for (int o = WARP / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Block-wide reductions for blocks of up to 1024 threads; every thread
// gets the result. scratch holds 32 values.
__device__ double block_sum_d(double v, double* scratch) {
    int lane = threadIdx.x % WARP, w = threadIdx.x / WARP, nw = (blockDim.x + WARP - 1) / WARP;
    v = warp_sum_d(v);
    __syncthreads();
    if (lane == 0) scratch[w] = v;
    __syncthreads();
    v = lane < nw ? scratch[lane] : 0.0;
    v = warp_sum_d(v);
    return v;
}

__device__ float block_max_f(float v, float* scratch) {
    int lane = threadIdx.x % WARP, w = threadIdx.x / WARP, nw = (blockDim.x + WARP - 1) / WARP;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[w] = v;
    __syncthreads();
    v = lane < nw ? scratch[lane] : -__int_as_float(0x7f800000);
    v = warp_max(v);
    return v;
}

// Round half to even to int (nearbyint under the default rounding mode),
// as _mm256_round_ps(_MM_ROUND_NEAREST) and ggml's nearest_int.
__device__ __forceinline__ int rne(float v) { return __float2int_rn(v); }
