// The i-quants below 4 bits (quant/iquants.go has their layouts): matmul
// against Q8_K activations and get_rows. Their codebooks are the arrays
// nuri_grid_* that kernels.go writes into the program from quant.IQGrid
// (8 levels a u64 entry for IQ2 and IQ1, 4 a u32 entry for IQ3).
//
// Every element is level·mult·d·factor with a small signed integer level
// (quant.IQDecode), so a lane's part is an exact integer: part p of a
// super-block takes elements 8p..8p+7 (one IQ2/IQ1 codebook entry, two
// IQ3 ones) and adds Σ level·q8 times its multiplier. finish takes ggml's
// float step a super-block (quant.VecDot's), so with parts = WARP (lane 0
// sums the blocks left to right) the result is the CPU's, bit for bit;
// the constant factor (⅛, ¼) is a power of two, exact at any point.

// iq_signs: the eight sign bits of seven stored ones (quant.IQSigns): the
// eighth makes the count of ones even.
__device__ __forceinline__ u32 iq_signs(u32 s) {
    s &= 127;
    u32 p = s ^ (s >> 4);
    p ^= p >> 2;
    p ^= p >> 1;
    return s | ((p & 1) << 7);
}

// iq_level: byte j of a codebook entry, unsigned (IQ2, IQ3) or signed (IQ1).
__device__ __forceinline__ int iq_level(u64 e, int j) { return (int)(u8)(e >> (8 * j)); }
__device__ __forceinline__ int iq1_level(u64 e, int j) { return (int)(i8)(u8)(e >> (8 * j)); }

// iq_octet_dot: Σ ±level·q8 over eight elements, sign j from bit j of sg.
__device__ __forceinline__ int iq_octet_dot(u64 e, u32 sg, const u8* q8) {
    int s = 0;
    for (int j = 0; j < 8; j++) {
        int v = iq_level(e, j);
        s += ((sg >> j) & 1 ? -v : v) * (int)(i8)q8[j];
    }
    return s;
}

// iq3_pair joins two 4-element IQ3 entries into one 8-element entry.
__device__ __forceinline__ u64 iq3_pair(const u32* grid, int i1, int i2) { return (u64)grid[i1] | ((u64)grid[i2] << 32); }

// iq_deq_octet writes db·(±level) for eight elements (ggml's db·grid·sign).
__device__ __forceinline__ void iq_deq_octet(u64 e, u32 sg, float db, float* y) {
    for (int j = 0; j < 8; j++) {
        int v = iq_level(e, j);
        y[j] = db * (float)((sg >> j) & 1 ? -v : v);
    }
}

// The codebook types' octets: get reads octet k's entry, its eight sign
// bits and the 4-bit ls of its multiplier; mult is that multiplier, an odd
// integer; factor the type's constant; db the dequantization scale in
// ggml's float order (quant's dequantizers).
struct IQ2Scale {
    __device__ static int mult(int ls) { return 2 * ls + 1; }
    __device__ static float factor() { return 0.125f; }
    __device__ static float db(float d, int ls) { return (d * (0.5f + (float)ls)) * 0.25f; }
};

// IQ2_XXS, 66 bytes: group g of 32 at 2+8g: four index bytes, then a u32
// of four 7-bit sign sets and ls in its top nibble.
struct OctetIQ2_XXS : IQ2Scale {
    __device__ static void get(const u8* x, int k, u64* e, u32* sg, int* ls) {
        const u8* q = x + 2 + 8 * (k / 4);
        u32 aux = ld32(q + 4);
        *e = nuri_grid_iq2_xxs[q[k % 4]];
        *sg = iq_signs(aux >> (7 * (k % 4)));
        *ls = (int)(aux >> 28);
    }
};

// IQ2_XS and IQ2_S keep a 4-bit ls for each 16 elements, two a byte.
__device__ __forceinline__ int iq2_scale(const u8* sc, int k) { return (sc[k / 4] >> (4 * ((k / 2) % 2))) & 0xf; }

// IQ2_XS, 74 bytes: a u16 an octet at 2+2k (9-bit index, 7 sign bits),
// the scales at 66.
struct OctetIQ2_XS : IQ2Scale {
    __device__ static void get(const u8* x, int k, u64* e, u32* sg, int* ls) {
        u32 q = ld16(x + 2 + 2 * k);
        *e = nuri_grid_iq2_xs[q & 511];
        *sg = iq_signs(q >> 9);
        *ls = iq2_scale(x + 66, k);
    }
};

// IQ2_S, 82 bytes: low index bytes at 2, sign bytes at 34, two high index
// bits an octet at 66, the scales at 74.
struct OctetIQ2_S : IQ2Scale {
    __device__ static void get(const u8* x, int k, u64* e, u32* sg, int* ls) {
        int idx = x[2 + k] | ((x[66 + k / 4] << (8 - 2 * (k % 4))) & 0x300);
        *e = nuri_grid_iq2_s[idx];
        *sg = x[34 + k];
        *ls = iq2_scale(x + 74, k);
    }
};

// IQ3_XXS, 98 bytes: 64 index bytes at 2, then a u32 a group of 32 at 66
// (four 7-bit sign sets, ls in the top nibble).
struct OctetIQ3_XXS {
    __device__ static void get(const u8* x, int k, u64* e, u32* sg, int* ls) {
        int g = k / 4, l = k % 4;
        u32 aux = ld32(x + 66 + 4 * g);
        *e = iq3_pair(nuri_grid_iq3_xxs, x[2 + 8 * g + 2 * l], x[2 + 8 * g + 2 * l + 1]);
        *sg = iq_signs(aux >> (7 * l));
        *ls = (int)(aux >> 28);
    }
    __device__ static int mult(int ls) { return 2 * ls + 1; }
    __device__ static float factor() { return 0.25f; }
    __device__ static float db(float d, int ls) { return (d * (0.5f + (float)ls)) * 0.5f; }
};

// IQ3_S, 110 bytes: 64 low index bytes at 2, one high bit an entry at 66,
// 32 sign bytes at 74, 4-bit ls a group of 32 at 106 (multiplier 1+2ls).
struct OctetIQ3_S {
    __device__ static void get(const u8* x, int k, u64* e, u32* sg, int* ls) {
        int g = k / 4, l = k % 4, qh = x[66 + g];
        int i1 = x[2 + 2 * k] | ((qh << (8 - 2 * l)) & 256);
        int i2 = x[2 + 2 * k + 1] | ((qh << (7 - 2 * l)) & 256);
        *e = iq3_pair(nuri_grid_iq3_s, i1, i2);
        *sg = x[74 + k];
        *ls = (x[106 + g / 2] >> (4 * (g % 2))) & 0xf;
    }
    __device__ static int mult(int ls) { return 1 + 2 * ls; }
    __device__ static float factor() { return 1.0f; }
    __device__ static float db(float d, int ls) { return d * (float)(1 + 2 * ls); }
};

template <int WB, typename O>
struct DotIQ {
    static const int wb = WB, ab = 292, parts = WARP;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int*) {
        u64 e;
        u32 sg;
        int ls;
        O::get(x, p, &e, &sg, &ls);
        *s0 += O::mult(ls) * iq_octet_dot(e, sg, y + 4 + 8 * p);
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int) {
        return ((ldh(x) * ldf32(y)) * (float)s0) * O::factor();
    }
};

template <int WB, typename O>
struct DeqIQ {
    static const int bs = QK_K, bb = WB;
    __device__ static void block(const u8* x, float* y) {
        float d = ldh(x);
        for (int k = 0; k < 32; k++) {
            u64 e;
            u32 sg;
            int ls;
            O::get(x, k, &e, &sg, &ls);
            iq_deq_octet(e, sg, O::db(d, ls), y + 8 * k);
        }
    }
};

typedef DotIQ<66, OctetIQ2_XXS> DotIQ2_XXS;
typedef DotIQ<74, OctetIQ2_XS> DotIQ2_XS;
typedef DotIQ<82, OctetIQ2_S> DotIQ2_S;
typedef DotIQ<98, OctetIQ3_XXS> DotIQ3_XXS;
typedef DotIQ<110, OctetIQ3_S> DotIQ3_S;
typedef DeqIQ<66, OctetIQ2_XXS> DeqIQ2_XXS;
typedef DeqIQ<74, OctetIQ2_XS> DeqIQ2_XS;
typedef DeqIQ<82, OctetIQ2_S> DeqIQ2_S;
typedef DeqIQ<98, OctetIQ3_XXS> DeqIQ3_XXS;
typedef DeqIQ<110, OctetIQ3_S> DeqIQ3_S;

// The IQ1 types: levels −1, 0, +1 shifted by ±⅛ (the shift's sign a group
// of 32 in IQ1_S, of 8 in IQ1_M), so a part keeps two sums: Σ level·q8 and
// Σ ±q8 (ggml's sumi and sumi1), each times the multiplier.
#define IQ1_DELTA 0.125f

__device__ __forceinline__ int iq1_octet_dot(u64 e, const u8* q8, int* sum) {
    int s = 0, a = 0;
    for (int j = 0; j < 8; j++) {
        s += iq1_level(e, j) * (int)(i8)q8[j];
        a += (int)(i8)q8[j];
    }
    *sum = a;
    return s;
}

// DeqIQ1 dequantizes either IQ1 type: O::d is the block's fp16 d, O::get
// octet k's codebook entry, multiplier and shift sign.
template <int WB, typename O>
struct DeqIQ1 {
    static const int bs = QK_K, bb = WB;
    __device__ static void block(const u8* x, float* y) {
        float d = O::d(x);
        for (int k = 0; k < 32; k++) {
            u64 e;
            int ls, neg;
            O::get(x, k, &e, &ls, &neg);
            float dl = d * (float)ls, delta = neg ? -IQ1_DELTA : IQ1_DELTA;
            for (int j = 0; j < 8; j++) y[8 * k + j] = dl * ((float)iq1_level(e, j) + delta);
        }
    }
};

// IQ1_S, 50 bytes: low index bytes at 2, a u16 a group of 32 at 34 (four
// 3-bit high index parts, the 3-bit ls at bit 12, the shift's sign at 15).
struct OctetIQ1_S {
    __device__ static float d(const u8* x) { return ldh(x); }
    __device__ static void get(const u8* x, int k, u64* e, int* ls, int* neg) {
        u32 qh = ld16(x + 34 + 2 * (k / 4));
        *e = nuri_grid_iq1_s[x[2 + k] | (((qh >> (3 * (k % 4))) & 7) << 8)];
        *ls = 2 * (int)((qh >> 12) & 7) + 1;
        *neg = (qh & 0x8000) != 0;
    }
};

struct DotIQ1_S {
    static const int wb = 50, ab = 292, parts = WARP;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int* s1) {
        u64 e;
        int ls, neg, sum;
        OctetIQ1_S::get(x, p, &e, &ls, &neg);
        *s0 += ls * iq1_octet_dot(e, y + 4 + 8 * p, &sum);
        // ggml takes the group's activation sum from the Q8_K block sums.
        if (p % 4 == 0) {
            int g = p / 4;
            *s1 += ls * (neg ? -1 : 1) * (q8k_bsum(y, 2 * g) + q8k_bsum(y, 2 * g + 1));
        }
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int s1) {
        return (OctetIQ1_S::d(x) * ldf32(y)) * ((float)s0 + (IQ1_DELTA * (float)s1));
    }
};

typedef DeqIQ1<50, OctetIQ1_S> DeqIQ1_S;

// IQ1_M, 56 bytes: low index bytes at 0, a byte two octets at 32 (3-bit
// high index parts at bits 0 and 4, the shifts' signs at 3 and 7), four
// u16 at 48 holding 3-bit ls a 16 elements and, in their top nibbles, the
// fp16 d.
struct OctetIQ1_M {
    __device__ static float d(const u8* x) {
        return h2f((u16)((ld16(x + 48) >> 12) | ((ld16(x + 50) >> 8) & 0x00f0) | ((ld16(x + 52) >> 4) & 0x0f00) |
                         (ld16(x + 54) & 0xf000)));
    }
    __device__ static void get(const u8* x, int k, u64* e, int* ls, int* neg) {
        int qh = x[32 + k / 2];
        int hi = k % 2 == 0 ? (qh << 8) & 0x700 : (qh << 4) & 0x700;
        *e = nuri_grid_iq1_s[x[k] | hi];
        *neg = (k % 2 == 0 ? qh & 0x08 : qh & 0x80) != 0;
        int h = k / 2, ib = h / 2;
        *ls = 2 * (int)((ld16(x + 48 + 2 * (ib / 2)) >> (6 * (ib % 2) + 3 * (h % 2))) & 7) + 1;
    }
};

struct DotIQ1_M {
    static const int wb = 56, ab = 292, parts = WARP;
    __device__ static void part(const u8* x, const u8* y, int p, int* s0, int* s1) {
        u64 e;
        int ls, neg, sum;
        OctetIQ1_M::get(x, p, &e, &ls, &neg);
        *s0 += ls * iq1_octet_dot(e, y + 4 + 8 * p, &sum);
        *s1 += ls * (neg ? -sum : sum);
    }
    __device__ static float finish(const u8* x, const u8* y, int s0, int s1) {
        return (OctetIQ1_M::d(x) * ldf32(y)) * ((float)s0 + (IQ1_DELTA * (float)s1));
    }
};

typedef DeqIQ1<56, OctetIQ1_M> DeqIQ1_M;

extern "C" __global__ void nuri_mul_mat_iq2_xxs(MUL_MAT_ARGS) { mul_mat_q<DotIQ2_XXS>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_iq2_xs(MUL_MAT_ARGS) { mul_mat_q<DotIQ2_XS>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_iq2_s(MUL_MAT_ARGS) { mul_mat_q<DotIQ2_S>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_iq3_xxs(MUL_MAT_ARGS) { mul_mat_q<DotIQ3_XXS>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_iq3_s(MUL_MAT_ARGS) { mul_mat_q<DotIQ3_S>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_iq1_s(MUL_MAT_ARGS) { mul_mat_q<DotIQ1_S>(w, a, y, rows, nb, nx, w_row, a_row); }
extern "C" __global__ void nuri_mul_mat_iq1_m(MUL_MAT_ARGS) { mul_mat_q<DotIQ1_M>(w, a, y, rows, nb, nx, w_row, a_row); }

extern "C" __global__ void nuri_get_rows_iq2_xxs(GET_ROWS_ARGS) { get_rows<DeqIQ2_XXS>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_iq2_xs(GET_ROWS_ARGS) { get_rows<DeqIQ2_XS>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_iq2_s(GET_ROWS_ARGS) { get_rows<DeqIQ2_S>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_iq3_xxs(GET_ROWS_ARGS) { get_rows<DeqIQ3_XXS>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_iq3_s(GET_ROWS_ARGS) { get_rows<DeqIQ3_S>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_iq1_s(GET_ROWS_ARGS) { get_rows<DeqIQ1_S>(src, ids, dst, nb, row_bytes); }
extern "C" __global__ void nuri_get_rows_iq1_m(GET_ROWS_ARGS) { get_rows<DeqIQ1_M>(src, ids, dst, nb, row_bytes); }
