// Quantized matrix multiplication: y[i][r] = dot(W row r, A row i), with A
// already converted to the weight type's vec-dot type. Each block product
// follows quant.VecDot: an exact integer sum inside the block, then the
// scales applied in the reference's order. A warp owns one weight row and
// MM_NX activation rows; its lanes take blocks round-robin and the partial
// sums are reduced across the warp (the only reordering against the CPU,
// which sums blocks left to right). F32/F16/BF16 accumulate in double, like
// the reference.

#define MM_ROWS 4 // weight rows (warps) per thread block
#define MM_NX 4   // activation rows per warp

struct DotQ4_0 {
    typedef float acc_t;
    static const int wb = 18, ab = 34;
    __device__ static float block(const u8* w, const u8* a, int b) {
        const u8* x = w + b * wb;
        const u8* y = a + b * ab;
        int sumi = 0;
        for (int j = 0; j < QK / 2; j++) {
            int q = x[2 + j];
            sumi += ((q & 0xf) - 8) * (int)(i8)y[2 + j];
            sumi += ((q >> 4) - 8) * (int)(i8)y[2 + j + QK / 2];
        }
        return ((float)sumi * ldh(x)) * ldh(y);
    }
};

struct DotQ4_1 {
    typedef float acc_t;
    static const int wb = 20, ab = 36;
    __device__ static float block(const u8* w, const u8* a, int b) {
        const u8* x = w + b * wb;
        const u8* y = a + b * ab;
        int sumi = 0;
        for (int j = 0; j < QK / 2; j++) {
            int q = x[4 + j];
            sumi += (q & 0xf) * (int)(i8)y[4 + j];
            sumi += (q >> 4) * (int)(i8)y[4 + j + QK / 2];
        }
        return ((ldh(x) * ldh(y)) * (float)sumi) + (ldh(x + 2) * ldh(y + 2));
    }
};

struct DotQ5_0 {
    typedef float acc_t;
    static const int wb = 22, ab = 34;
    __device__ static float block(const u8* w, const u8* a, int b) {
        const u8* x = w + b * wb;
        const u8* y = a + b * ab;
        u32 qh = ld32(x + 2);
        int sumi = 0;
        for (int j = 0; j < QK / 2; j++) {
            int q = x[6 + j];
            int x0 = ((q & 0xf) | (((qh >> j) & 1) << 4)) - 16;
            int x1 = ((q >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            sumi += x0 * (int)(i8)y[2 + j] + x1 * (int)(i8)y[2 + j + QK / 2];
        }
        return (ldh(x) * ldh(y)) * (float)sumi;
    }
};

struct DotQ5_1 {
    typedef float acc_t;
    static const int wb = 24, ab = 36;
    __device__ static float block(const u8* w, const u8* a, int b) {
        const u8* x = w + b * wb;
        const u8* y = a + b * ab;
        u32 qh = ld32(x + 4);
        int sumi = 0;
        for (int j = 0; j < QK / 2; j++) {
            int q = x[8 + j];
            int x0 = (q & 0xf) | (((qh >> j) & 1) << 4);
            int x1 = (q >> 4) | (((qh >> (j + 16)) & 1) << 4);
            sumi += x0 * (int)(i8)y[4 + j] + x1 * (int)(i8)y[4 + j + QK / 2];
        }
        return ((ldh(x) * ldh(y)) * (float)sumi) + (ldh(x + 2) * ldh(y + 2));
    }
};

struct DotQ8_0 {
    typedef float acc_t;
    static const int wb = 34, ab = 34;
    __device__ static float block(const u8* w, const u8* a, int b) {
        const u8* x = w + b * wb;
        const u8* y = a + b * ab;
        int sumi = 0;
        for (int j = 0; j < QK; j++) sumi += (int)(i8)x[2 + j] * (int)(i8)y[2 + j];
        return (float)sumi * (ldh(x) * ldh(y));
    }
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
template <typename V>
__device__ __forceinline__ float dot_k4k5(const u8* x, const u8* y, V v) {
    const u8* sc = x + 4;
    const u8* q8 = y + 4;
    int isum = 0, mins = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        int s, m;
        scale_min_k4(j, sc, &s, &m);
        int part = 0;
        for (int l = 0; l < 32; l++) part += (int)(i8)q8[32 * j + l] * v(32 * j + l);
        isum += s * part;
        mins += m * (q8k_bsum(y, 2 * j) + q8k_bsum(y, 2 * j + 1));
    }
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
    typedef float acc_t;
    static const int wb = 144, ab = 292;
    __device__ static float block(const u8* w, const u8* a, int b) {
        const u8* x = w + b * wb;
        Q4KVal v = {x + 16};
        return dot_k4k5(x, a + b * ab, v);
    }
};

struct DotQ5_K {
    typedef float acc_t;
    static const int wb = 176, ab = 292;
    __device__ static float block(const u8* w, const u8* a, int b) {
        const u8* x = w + b * wb;
        Q5KVal v = {x + 48, x + 16};
        return dot_k4k5(x, a + b * ab, v);
    }
};

struct DotQ6_K {
    typedef float acc_t;
    static const int wb = 210, ab = 292;
    __device__ static float block(const u8* w, const u8* a, int b) {
        const u8* x = w + b * wb;
        const u8* y = a + b * ab;
        const u8* q8 = y + 4;
        int isum = 0;
        for (int half = 0; half < 2; half++) {
            const u8* ql = x + 64 * half;
            const u8* qh = x + 128 + 32 * half;
            const i8* sc = (const i8*)(x + 192 + 8 * half);
            int base = 128 * half;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int h = qh[l];
                int q1 = (int)((ql[l] & 0xf) | ((h & 3) << 4)) - 32;
                int q2 = (int)((ql[l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
                int q3 = (int)((ql[l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
                int q4 = (int)((ql[l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
                isum += sc[is] * q1 * (int)(i8)q8[base + l];
                isum += sc[is + 2] * q2 * (int)(i8)q8[base + l + 32];
                isum += sc[is + 4] * q3 * (int)(i8)q8[base + l + 64];
                isum += sc[is + 6] * q4 * (int)(i8)q8[base + l + 96];
            }
        }
        return (ldh(x + 208) * ldf32(y)) * (float)isum;
    }
};

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
extern "C" __global__ void nuri_mul_mat_q4_0(MUL_MAT_ARGS) { mul_mat<DotQ4_0>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q4_1(MUL_MAT_ARGS) { mul_mat<DotQ4_1>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q5_0(MUL_MAT_ARGS) { mul_mat<DotQ5_0>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q5_1(MUL_MAT_ARGS) { mul_mat<DotQ5_1>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q8_0(MUL_MAT_ARGS) { mul_mat<DotQ8_0>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q4_k(MUL_MAT_ARGS) { mul_mat<DotQ4_K>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q5_k(MUL_MAT_ARGS) { mul_mat<DotQ5_K>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_q6_k(MUL_MAT_ARGS) { mul_mat<DotQ6_K>(w, a, y, rows, nb, nx, w_row, a_row); }
