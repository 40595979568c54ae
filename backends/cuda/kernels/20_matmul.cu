// Matrix multiplication: y[i][r] = dot(W row r, A row i), with A already
// converted to the weight type's vec-dot type. Each block product follows
// quant.VecDot: an exact integer sum inside the block, then the scales
// applied in the reference's order; the float sum over a row's blocks is
// the only reordering against the CPU (see mul_mat_q). F32/F16/BF16
// accumulate in double, like the reference.

#define MM_ROWS 4 // weight rows (warps) per thread block
#define MM_NX 4   // activation rows per warp

// Block types split each block's integer sums over Dot::parts lanes: a
// warp works on WARP/parts blocks at a time, its lanes reading adjacent
// bytes (coalesced), and the parts are added exactly (integers) before
// Dot::finish applies the scales as quant.VecDot does. part(x, y, p, s0,
// s1) adds part p's share of the block's integer sums (s1: the K-quants'
// min term) to *s0 and *s1.

struct DotQ4_0 {
    static const int wb = 18, ab = 34, parts = 4;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int*) {
        int s = 0;
        for (int j = 4 * p; j < 4 * p + 4; j++) {
            int q = x[2 + j];
            s += ((q & 0xf) - 8) * (int)(i8)y[2 + j];
            s += ((q >> 4) - 8) * (int)(i8)y[2 + j + QK / 2];
        }
        *s0 += s;
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int) { return ((float)s0 * ldh(x)) * ldh(y); }
};

struct DotQ4_1 {
    static const int wb = 20, ab = 36, parts = 4;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int*) {
        int s = 0;
        for (int j = 4 * p; j < 4 * p + 4; j++) {
            int q = x[4 + j];
            s += (q & 0xf) * (int)(i8)y[4 + j];
            s += (q >> 4) * (int)(i8)y[4 + j + QK / 2];
        }
        *s0 += s;
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int) {
        return ((ldh(x) * ldh(y)) * (float)s0) + (ldh(x + 2) * ldh(y + 2));
    }
};

struct DotQ5_0 {
    static const int wb = 22, ab = 34, parts = 4;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int*) {
        u32 qh = ld32(x + 2);
        int s = 0;
        for (int j = 4 * p; j < 4 * p + 4; j++) {
            int q = x[6 + j];
            int x0 = ((q & 0xf) | (((qh >> j) & 1) << 4)) - 16;
            int x1 = ((q >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            s += x0 * (int)(i8)y[2 + j] + x1 * (int)(i8)y[2 + j + QK / 2];
        }
        *s0 += s;
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int) { return (ldh(x) * ldh(y)) * (float)s0; }
};

struct DotQ5_1 {
    static const int wb = 24, ab = 36, parts = 4;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int*) {
        u32 qh = ld32(x + 4);
        int s = 0;
        for (int j = 4 * p; j < 4 * p + 4; j++) {
            int q = x[8 + j];
            int x0 = (q & 0xf) | (((qh >> j) & 1) << 4);
            int x1 = (q >> 4) | (((qh >> (j + 16)) & 1) << 4);
            s += x0 * (int)(i8)y[4 + j] + x1 * (int)(i8)y[4 + j + QK / 2];
        }
        *s0 += s;
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int) {
        return ((ldh(x) * ldh(y)) * (float)s0) + (ldh(x + 2) * ldh(y + 2));
    }
};

struct DotQ8_0 {
    static const int wb = 34, ab = 34, parts = 4;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int*) {
        int s = 0;
        for (int j = 8 * p; j < 8 * p + 8; j++) s += (int)(i8)x[2 + j] * (int)(i8)y[2 + j];
        *s0 += s;
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int) { return (float)s0 * (ldh(x) * ldh(y)); }
};

// IQ4_NL: Q4_0's layout, each nibble a level (quant.dotIQ4_NL).
struct DotIQ4_NL {
    static const int wb = 18, ab = 34, parts = 4;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int*) {
        int s = 0;
        for (int j = 4 * p; j < 4 * p + 4; j++) {
            int q = x[2 + j];
            s += iq4_level(q & 0xf) * (int)(i8)y[2 + j];
            s += iq4_level(q >> 4) * (int)(i8)y[2 + j + QK / 2];
        }
        *s0 += s;
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int) { return (ldh(x) * ldh(y)) * (float)s0; }
};

// scale_min_k4 is get_scale_min_k4: the 6-bit scale and min of sub-block j.
__device__ __forceinline__ void scale_min_k4(int j, const u8* q, int* sc, int* m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

__device__ __forceinline__ int q8k_bsum(const u8* y, int g) { return (int)(i16)ld16(y + 260 + 2 * g); }

// Q4_K and Q5_K share the scale/min structure; v(e) is element e's value.
// Part p (of 32) takes elements 8(p%4)..+8 of sub-block p/4; the first
// part of each sub-block adds its min term.
template <typename V>
__device__ __forceinline__ void part_k4k5(const u8* x, const u8* y, int p, int* s0, int* s1, V v) {
    int j = p / 4, l0 = 8 * (p % 4);
    const u8* q8 = y + 4;
    int s, m;
    scale_min_k4(j, x + 4, &s, &m);
    int part = 0;
    for (int l = l0; l < l0 + 8; l++) part += (int)(i8)q8[32 * j + l] * v(32 * j + l);
    *s0 += s * part;
    if (l0 == 0) *s1 += m * (q8k_bsum(y, 2 * j) + q8k_bsum(y, 2 * j + 1));
}

__device__ __forceinline__ float finish_k4k5(const u8* x, const u8* y, int isum, int mins) {
    float dy = ldf32(y);
    float d = ldh(x) * dy;
    float dmin = ldh(x + 2) * dy;
    return (d * (float)isum) - (dmin * (float)mins);
}

struct Q4KVal {
    const u8* qs;
    __device__ int operator()(int e) const {
        int b = qs[32 * (e / 64) + e % 32];
        return e % 64 < 32 ? (b & 0xf) : (b >> 4);
    }
};

struct Q5KVal {
    const u8* qs;
    const u8* qh;
    __device__ int operator()(int e) const {
        int b = qs[32 * (e / 64) + e % 32];
        int v = e % 64 < 32 ? (b & 0xf) : (b >> 4);
        if ((qh[e % 32] >> (e / 32)) & 1) v += 16;
        return v;
    }
};

struct DotQ4_K {
    static const int wb = 144, ab = 292, parts = WARP;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int* s1) {
        Q4KVal v = {x + 16};
        part_k4k5(x, y, p, s0, s1, v);
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int s1) { return finish_k4k5(x, y, s0, s1); }
};

struct DotQ5_K {
    static const int wb = 176, ab = 292, parts = WARP;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int* s1) {
        Q5KVal v = {x + 48, x + 16};
        part_k4k5(x, y, p, s0, s1, v);
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int s1) { return finish_k4k5(x, y, s0, s1); }
};

// Q6_K: part p takes positions l = 2(p%16), 2(p%16)+1 of half p/16, each
// position four elements 32 apart.
struct DotQ6_K {
    static const int wb = 210, ab = 292, parts = WARP;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int*) {
        int half = p / 16;
        const u8* q8 = y + 4 + 128 * half;
        const u8* ql = x + 64 * half;
        const u8* qh = x + 128 + 32 * half;
        const i8* sc = (const i8*)(x + 192 + 8 * half);
        int isum = 0;
        for (int l = 2 * (p % 16); l < 2 * (p % 16) + 2; l++) {
            int is = l / 16, q[4];
            q6k_quad(ql, qh, l, q);
            isum += sc[is] * q[0] * (int)(i8)q8[l];
            isum += sc[is + 2] * q[1] * (int)(i8)q8[l + 32];
            isum += sc[is + 4] * q[2] * (int)(i8)q8[l + 64];
            isum += sc[is + 6] * q[3] * (int)(i8)q8[l + 96];
        }
        *s0 += isum;
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int) { return (ldh(x + 208) * ldf32(y)) * (float)s0; }
};

// Q2_K, 84 bytes: 16 scale bytes (low nibble the scale, high the min) of
// 16-element groups, 64 bytes of 2-bit quants (group g's element l at
// bits 2((g/2)%4) of qs[32(g/8) + 16(g%2) + l]), d, dmin. Part p takes
// elements 8(p%2)..+8 of group p/2; the first part of a group adds its
// min term (quant.dotQ2_K).
struct DotQ2_K {
    static const int wb = 84, ab = 292, parts = WARP;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int* s1) {
        int g = p / 2, l0 = 8 * (p % 2);
        const u8* q = x + 16 + 32 * (g / 8) + 16 * (g % 2);
        const u8* q8 = y + 4 + 16 * g;
        int shift = 2 * ((g / 2) % 4), s = 0;
        for (int l = l0; l < l0 + 8; l++) s += (int)(i8)q8[l] * ((q[l] >> shift) & 3);
        *s0 += (x[g] & 0xf) * s;
        if (l0 == 0) *s1 += q8k_bsum(y, g) * (x[g] >> 4);
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int s1) {
        float dy = ldf32(y);
        return ((dy * ldh(x + 80)) * (float)s0) - ((dy * ldh(x + 82)) * (float)s1);
    }
};

// q3k_scale is Q3_K group j's signed 6-bit scale (quant.q3KScale): the
// low four bits in a nibble of bytes 96..103, the high two in bytes
// 104..107.
__device__ __forceinline__ int q3k_scale(const u8* sc, int j) {
    int lo = j < 8 ? sc[j] & 0xf : sc[j - 8] >> 4;
    int hi = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

// Q3_K, 110 bytes: the high-bit mask (32), 2-bit quants (64), 12 bytes of
// 6-bit scales, d. Group g of 16 is half g/8, shift 2((g/2)%4), sub-block
// g%2; an element is its two bits minus 4 where its mask bit is clear.
// Part p takes elements 8(p%2)..+8 of group p/2 (quant.dotQ3_K).
struct DotQ3_K {
    static const int wb = 110, ab = 292, parts = WARP;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int*) {
        int g = p / 2, l0 = 8 * (p % 2);
        int half = g / 8, k = (g / 2) % 4, sub = g % 2;
        const u8* q = x + 32 + 32 * half + 16 * sub;
        const u8* hm = x + 16 * sub;
        const u8* q8 = y + 4 + 16 * g;
        int m = 1 << (4 * half + k), s = 0;
        for (int l = l0; l < l0 + 8; l++) {
            int v = (q[l] >> (2 * k)) & 3;
            if (!(hm[l] & m)) v -= 4;
            s += (int)(i8)q8[l] * v;
        }
        *s0 += q3k_scale(x + 96, g) * s;
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int) { return (ldh(x + 108) * ldf32(y)) * (float)s0; }
};

// IQ4_XS: part p takes elements 8(p%4)..+8 of 32-element group p/4 and
// adds them times the group's scale: the block's sum Σ sc_g·Σ level·a is
// an exact integer (|·| < 2^28), scaled once by d·d_a. The CPU reference
// (quant.dotIQ4_XS, ggml's generic order) scales each group in float, so
// the two differ by float rounding only.
struct DotIQ4_XS {
    static const int wb = 136, ab = 292, parts = WARP;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int*) {
        int g = p / 4, l0 = 8 * (p % 4);
        const u8* qs = x + 8 + 16 * g;
        const u8* q8 = y + 4 + 32 * g;
        int s = 0;
        for (int l = l0; l < l0 + 8; l++) {
            int c = l < 16 ? (qs[l] & 0xf) : (qs[l - 16] >> 4);
            s += iq4_level(c) * (int)(i8)q8[l];
        }
        *s0 += iq4xs_scale(x, g) * s;
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int) { return (ldh(x) * ldf32(y)) * (float)s0; }
};

// mul_mat_q: the block types. grid (ceil(rows/MM_ROWS), ceil(nx/MM_NX)),
// MM_ROWS warps per block; a warp owns one weight row and up to MM_NX
// activation rows. Its lanes form WARP/parts groups; group g takes blocks
// g, g+G, ... and its parts' integer sums are added across the group with
// shuffles (every lane runs every shuffle: the loop bounds are the
// warp's). The group's first lane accumulates the finished blocks; the
// groups' sums are reduced across the warp at the end. With parts = WARP
// (K-quants) one lane sums the blocks left to right, as the CPU does.
template <typename Dot>
__device__ void mul_mat_q(const u8* w, const u8* a, float* y, int rows, int nb, int nx, int w_row, int a_row) {
    const int P = Dot::parts, G = WARP / P;
    int warp = threadIdx.x / WARP, lane = threadIdx.x % WARP;
    int r = blockIdx.x * MM_ROWS + warp;
    int i0 = blockIdx.y * MM_NX;
    if (r >= rows) return; // the whole warp
    int g = lane / P, p = lane % P;
    int n = min(MM_NX, nx - i0);
    const u8* wr = w + (size_t)r * w_row;
    float acc[MM_NX];
    for (int j = 0; j < MM_NX; j++) acc[j] = 0.0f;
    for (int b0 = 0; b0 < nb; b0 += G) {
        int b = b0 + g;
        const u8* x = wr + (size_t)b * Dot::wb;
        for (int j = 0; j < n; j++) {
            const u8* ya = a + (size_t)(i0 + j) * a_row + (size_t)b * Dot::ab;
            int s0 = 0, s1 = 0;
            if (b < nb) Dot::part(x, ya, p, &s0, &s1);
            for (int o = P / 2; o > 0; o >>= 1) {
                s0 += __shfl_xor_sync(0xffffffffu, s0, o);
                s1 += __shfl_xor_sync(0xffffffffu, s1, o);
            }
            if (p == 0 && b < nb) acc[j] += Dot::finish(x, ya, s0, s1);
        }
    }
    for (int j = 0; j < n; j++) {
        float s = warp_sum_f(acc[j]);
        if (lane == 0) y[(size_t)(i0 + j) * rows + r] = s;
    }
}

// Float weights: one "block" is one element; products rounded to float32
// (exact for F16/BF16) and summed in double, as quant.VecDot.
struct DotF32 {
    typedef double acc_t;
    static const int wb = 4, ab = 4;
    __device__ static double block(const u8* w, const u8* a, int b) {
        return (double)(((const float*)w)[b] * ((const float*)a)[b]);
    }
};

struct DotF16 {
    typedef double acc_t;
    static const int wb = 2, ab = 2;
    __device__ static double block(const u8* w, const u8* a, int b) {
        return (double)(h2f(((const u16*)w)[b]) * h2f(((const u16*)a)[b]));
    }
};

struct DotBF16 {
    typedef double acc_t;
    static const int wb = 2, ab = 2;
    __device__ static double block(const u8* w, const u8* a, int b) {
        return (double)(bf2f(((const u16*)w)[b]) * bf2f(((const u16*)a)[b]));
    }
};

__device__ __forceinline__ float warp_sum(float v) { return warp_sum_f(v); }
__device__ __forceinline__ double warp_sum(double v) { return warp_sum_d(v); }

// mul_mat: grid (ceil(rows/MM_ROWS), ceil(nx/MM_NX)), MM_ROWS warps per
// block. nb is the number of blocks per row; w_row and a_row the row
// strides in bytes.
template <typename Dot>
__device__ void mul_mat(const u8* w, const u8* a, float* y, int rows, int nb, int nx, int w_row, int a_row) {
    int warp = threadIdx.x / WARP, lane = threadIdx.x % WARP;
    int r = blockIdx.x * MM_ROWS + warp;
    int i0 = blockIdx.y * MM_NX;
    if (r >= rows) return; // the whole warp
    const u8* wr = w + (size_t)r * w_row;
    typename Dot::acc_t acc[MM_NX];
    for (int j = 0; j < MM_NX; j++) acc[j] = 0;
    for (int b = lane; b < nb; b += WARP) {
        for (int j = 0; j < MM_NX; j++) {
            if (i0 + j < nx) acc[j] += Dot::block(wr, a + (size_t)(i0 + j) * a_row, b);
        }
    }
    for (int j = 0; j < MM_NX; j++) {
        typename Dot::acc_t s = warp_sum(acc[j]);
        if (lane == 0 && i0 + j < nx) y[(size_t)(i0 + j) * rows + r] = (float)s;
    }
}

#define MUL_MAT_ARGS const u8 *w, const u8 *a, float *y, int rows, int nb, int nx, int w_row, int a_row
extern "C" __global__ void nuri_mul_mat_f32(MUL_MAT_ARGS) { mul_mat<DotF32>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_f16(MUL_MAT_ARGS) { mul_mat<DotF16>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_bf16(MUL_MAT_ARGS) { mul_mat<DotBF16>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q4_0(MUL_MAT_ARGS) { mul_mat_q<DotQ4_0>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q4_1(MUL_MAT_ARGS) { mul_mat_q<DotQ4_1>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q5_0(MUL_MAT_ARGS) { mul_mat_q<DotQ5_0>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q5_1(MUL_MAT_ARGS) { mul_mat_q<DotQ5_1>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q8_0(MUL_MAT_ARGS) { mul_mat_q<DotQ8_0>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q2_k(MUL_MAT_ARGS) { mul_mat_q<DotQ2_K>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q3_k(MUL_MAT_ARGS) { mul_mat_q<DotQ3_K>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q4_k(MUL_MAT_ARGS) { mul_mat_q<DotQ4_K>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q5_k(MUL_MAT_ARGS) { mul_mat_q<DotQ5_K>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q6_k(MUL_MAT_ARGS) { mul_mat_q<DotQ6_K>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_iq4_nl(MUL_MAT_ARGS) { mul_mat_q<DotIQ4_NL>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_iq4_xs(MUL_MAT_ARGS) { mul_mat_q<DotIQ4_XS>(w, a, y, rows, nb, nx, w_row, a_row); }
