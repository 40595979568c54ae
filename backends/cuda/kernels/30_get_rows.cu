// get_rows: dst row i = dequantized src row ids[i] (quant.Dequantize).
// grid (n_ids, ceil(nb/blockDim)); one thread dequantizes one block.

struct DeqF32 {
    static const int bs = 1, bb = 4;
    __device__ static void block(const u8* x, float* y) { *y = ldf32(x); }
};

struct DeqF16 {
    static const int bs = 1, bb = 2;
    __device__ static void block(const u8* x, float* y) { *y = ldh(x); }
};

struct DeqBF16 {
    static const int bs = 1, bb = 2;
    __device__ static void block(const u8* x, float* y) { *y = bf2f(ld16(x)); }
};

struct DeqQ4_0 {
    static const int bs = QK, bb = 18;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x);
        for (int j = 0; j < QK / 2; j++) {
            int b = x[2 + j];
            y[j] = (float)((b & 0xf) - 8) * d;
            y[j + QK / 2] = (float)((b >> 4) - 8) * d;
        }
    }
};

struct DeqQ4_1 {
    static const int bs = QK, bb = 20;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x), m = ldh(x + 2);
        for (int j = 0; j < QK / 2; j++) {
            int b = x[4 + j];
            y[j] = ((float)(b & 0xf) * d) + m;
            y[j + QK / 2] = ((float)(b >> 4) * d) + m;
        }
    }
};

struct DeqQ5_0 {
    static const int bs = QK, bb = 22;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x);
        u32 qh = ld32(x + 2);
        for (int j = 0; j < QK / 2; j++) {
            int b = x[6 + j];
            int h0 = ((qh >> j) & 1) << 4, h1 = ((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)(((b & 0xf) | h0) - 16) * d;
            y[j + QK / 2] = (float)(((b >> 4) | h1) - 16) * d;
        }
    }
};

struct DeqQ5_1 {
    static const int bs = QK, bb = 24;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x), m = ldh(x + 2);
        u32 qh = ld32(x + 4);
        for (int j = 0; j < QK / 2; j++) {
            int b = x[8 + j];
            int h0 = ((qh >> j) & 1) << 4, h1 = ((qh >> (j + 16)) & 1) << 4;
            y[j] = ((float)((b & 0xf) | h0) * d) + m;
            y[j + QK / 2] = ((float)((b >> 4) | h1) * d) + m;
        }
    }
};

struct DeqQ8_0 {
    static const int bs = QK, bb = 34;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x);
        for (int j = 0; j < QK; j++) y[j] = (float)(i8)x[2 + j] * d;
    }
};

struct DeqQ4_K {
    static const int bs = QK_K, bb = 144;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x), dmin = ldh(x + 2);
        const u8* sc = x + 4;
        for (int c = 0; c < 4; c++) {
            const u8* q = x + 16 + 32 * c;
            int s1, m1, s2, m2;
            scale_min_k4(2 * c, sc, &s1, &m1);
            scale_min_k4(2 * c + 1, sc, &s2, &m2);
            float d1 = d * (float)s1, mn1 = dmin * (float)m1;
            float d2 = d * (float)s2, mn2 = dmin * (float)m2;
            for (int l = 0; l < 32; l++) {
                y[64 * c + l] = (d1 * (float)(q[l] & 0xf)) - mn1;
                y[64 * c + l + 32] = (d2 * (float)(q[l] >> 4)) - mn2;
            }
        }
    }
};

struct DeqQ5_K {
    static const int bs = QK_K, bb = 176;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x), dmin = ldh(x + 2);
        const u8* sc = x + 4;
        const u8* qh = x + 16;
        for (int c = 0; c < 4; c++) {
            const u8* ql = x + 48 + 32 * c;
            int s1, m1, s2, m2;
            scale_min_k4(2 * c, sc, &s1, &m1);
            scale_min_k4(2 * c + 1, sc, &s2, &m2);
            float d1 = d * (float)s1, mn1 = dmin * (float)m1;
            float d2 = d * (float)s2, mn2 = dmin * (float)m2;
            int u1 = 1 << (2 * c), u2 = 2 << (2 * c);
            for (int l = 0; l < 32; l++) {
                int v1 = (ql[l] & 0xf) + ((qh[l] & u1) ? 16 : 0);
                int v2 = (ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0);
                y[64 * c + l] = (d1 * (float)v1) - mn1;
                y[64 * c + l + 32] = (d2 * (float)v2) - mn2;
            }
        }
    }
};

struct DeqQ6_K {
    static const int bs = QK_K, bb = 210;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x + 208);
        for (int half = 0; half < 2; half++) {
            const u8* ql = x + 64 * half;
            const u8* qh = x + 128 + 32 * half;
            const i8* sc = (const i8*)(x + 192 + 8 * half);
            float* out = y + 128 * half;
            for (int l = 0; l < 32; l++) {
                int is = l / 16, q[4];
                q6k_quad(ql, qh, l, q);
                out[l] = (d * (float)sc[is]) * (float)q[0];
                out[l + 32] = (d * (float)sc[is + 2]) * (float)q[1];
                out[l + 64] = (d * (float)sc[is + 4]) * (float)q[2];
                out[l + 96] = (d * (float)sc[is + 6]) * (float)q[3];
            }
        }
    }
};

struct DeqIQ4_NL {
    static const int bs = QK, bb = 18;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x);
        for (int j = 0; j < QK / 2; j++) {
            int b = x[2 + j];
            y[j] = d * (float)iq4_level(b & 0xf);
            y[j + QK / 2] = d * (float)iq4_level(b >> 4);
        }
    }
};

// Q2_K and Q3_K in ggml's order (quant.dequantizeQ2_KBlock, _Q3_K): per
// half, four shifts, two 16-element groups each.
struct DeqQ2_K {
    static const int bs = QK_K, bb = 84;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x + 80), dmin = ldh(x + 82);
        int is = 0;
        for (int half = 0; half < 2; half++) {
            const u8* q = x + 16 + 32 * half;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int g = 0; g < 2; g++) {
                    int sc = x[is++];
                    float dl = d * (float)(sc & 0xf), ml = dmin * (float)(sc >> 4);
                    float* out = y + 128 * half + 16 * shift + 16 * g;
                    for (int l = 0; l < 16; l++) out[l] = (dl * (float)((q[16 * g + l] >> shift) & 3)) - ml;
                }
            }
        }
    }
};

struct DeqQ3_K {
    static const int bs = QK_K, bb = 110;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x + 108);
        int is = 0;
        for (int half = 0; half < 2; half++) {
            const u8* q = x + 32 + 32 * half;
            for (int k = 0; k < 4; k++) {
                int m = 1 << (4 * half + k);
                for (int g = 0; g < 2; g++) {
                    float dl = d * (float)q3k_scale(x + 96, is++);
                    float* out = y + 128 * half + 32 * k + 16 * g;
                    for (int l = 0; l < 16; l++) {
                        int v = (q[16 * g + l] >> (2 * k)) & 3;
                        if (!(x[16 * g + l] & m)) v -= 4;
                        out[l] = dl * (float)v;
                    }
                }
            }
        }
    }
};

struct DeqIQ4_XS {
    static const int bs = QK_K, bb = 136;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x);
        for (int g = 0; g < QK_K / 32; g++) {
            float dl = d * (float)iq4xs_scale(x, g);
            const u8* qs = x + 8 + 16 * g;
            for (int j = 0; j < 16; j++) {
                y[32 * g + j] = dl * (float)iq4_level(qs[j] & 0xf);
                y[32 * g + j + 16] = dl * (float)iq4_level(qs[j] >> 4);
            }
        }
    }
};

template <typename Deq>
__device__ void get_rows(const u8* src, const int* ids, float* dst, int nb, int row_bytes) {
    int i = blockIdx.x;
    int b = blockIdx.y * blockDim.x + threadIdx.x;
    if (b >= nb) return;
    const u8* x = src + (size_t)ids[i] * row_bytes + (size_t)b * Deq::bb;
    Deq::block(x, dst + (size_t)i * nb * Deq::bs + (size_t)b * Deq::bs);
}

#define GET_ROWS_ARGS const u8 *src, const int *ids, float *dst, int nb, int row_bytes
extern "C" __global__ void nuri_get_rows_f32(GET_ROWS_ARGS) { get_rows<DeqF32>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_f16(GET_ROWS_ARGS) { get_rows<DeqF16>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_bf16(GET_ROWS_ARGS) { get_rows<DeqBF16>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_q4_0(GET_ROWS_ARGS) { get_rows<DeqQ4_0>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_q4_1(GET_ROWS_ARGS) { get_rows<DeqQ4_1>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_q5_0(GET_ROWS_ARGS) { get_rows<DeqQ5_0>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_q5_1(GET_ROWS_ARGS) { get_rows<DeqQ5_1>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_q8_0(GET_ROWS_ARGS) { get_rows<DeqQ8_0>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_q2_k(GET_ROWS_ARGS) { get_rows<DeqQ2_K>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_q3_k(GET_ROWS_ARGS) { get_rows<DeqQ3_K>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_q4_k(GET_ROWS_ARGS) { get_rows<DeqQ4_K>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_q5_k(GET_ROWS_ARGS) { get_rows<DeqQ5_K>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_q6_k(GET_ROWS_ARGS) { get_rows<DeqQ6_K>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_iq4_nl(GET_ROWS_ARGS) { get_rows<DeqIQ4_NL>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_iq4_xs(GET_ROWS_ARGS) { get_rows<DeqIQ4_XS>(src, ids, dst, nb, row_bytes); }
