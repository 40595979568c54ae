// attention over the paged KV cache, following the reference (ggml's
// non-flash path): q is converted to the cache's vec-dot type, each score
// is a dot product computed by one thread left to right (as the CPU does),
// times the scale; the softmax takes exp in double rounded to float and a
// double sum; probabilities are rounded to fp16 for an F16 cache; each
// output element accumulates p·v in double: each warp takes every nw-th
// position (its lanes adjacent elements of each V row, read together) and
// the warps' sums are added in warp order, a reordering of the CPU's sum
// that double precision makes invisible after the final rounding to float
// in all but rare ties. K and V may be of different types: the scores
// follow K's (q converted to its vec-dot type), the sums V's (probabilities
// rounded to fp16 for an F16 V).
//
// grid (n_head, n_tokens), any multiple of 32 threads up to 1024. Dynamic shared
// memory: hd_k floats (+ hd_k/32 floats for a Q8_0 K). scores is global scratch
// of n_tokens·n_head·max_ctx floats. Position p of token t is in slot
// tables[toff[t] + p/block_size]·block_size + p%block_size; the host has
// checked every table entry and position.

enum { KV_F32 = 0, KV_F16 = 1, KV_Q8_0 = 2 };

template <int KV>
__device__ __forceinline__ float kv_elem(const u8* row, int d) {
    if (KV == KV_F32) return ((const float*)row)[d];
    if (KV == KV_F16) return h2f(((const u16*)row)[d]);
    const u8* b = row + (d / QK) * 34;
    return (float)(i8)b[2 + d % QK] * ldh(b);
}

template <int KV>
__device__ float score_dot(const u8* k, const float* sq, const float* sd, int hd) {
    if (KV == KV_Q8_0) {
        float sumf = 0.0f;
        for (int b = 0; b < hd / QK; b++) {
            const u8* x = k + b * 34;
            int sumi = 0;
            for (int j = 0; j < QK; j++) sumi += (int)(i8)x[2 + j] * (int)sq[b * QK + j];
            sumf += (float)sumi * (ldh(x) * sd[b]);
        }
        return sumf;
    }
    double sum = 0.0;
    for (int d = 0; d < hd; d++) sum += (double)(kv_elem<KV>(k, d) * sq[d]);
    return (float)sum;
}

template <int KK, int KV>
__device__ void attention(const float* q, const u8* kc, const u8* vc, float* y, const int* pos, const int* toff,
                          const int* tables, float* scores, int n_head, int n_head_kv, int hd_k, int hd_v,
                          int block_size, int window, float scale, int max_ctx, int k_row, int v_row,
                          float soft_cap, const int* row_lo, int has_lo) {
    extern __shared__ float smem[];
    __shared__ double dscratch[32];
    __shared__ float fscratch[32];
    float* sq = smem;         // q converted: values (F32/F16) or int8 quants (Q8_0)
    float* sd = smem + hd_k;  // Q8_0 block scales (fp16-rounded)
    int h = blockIdx.x, t = blockIdx.y;
    int p = pos[t];
    int lo = window > 0 ? max(0, p - window + 1) : 0;
    if (has_lo) lo = max(lo, row_lo[t]); // a symmetric window's first key
    int kvh = h / (n_head / n_head_kv);
    const int* table = tables + toff[t];
    const float* qh = q + ((size_t)t * n_head + h) * hd_k;
    if (KK == KV_Q8_0) {
        int lane = threadIdx.x % WARP;
        for (int b = threadIdx.x / WARP; b < hd_k / QK; b += blockDim.x / WARP) {
            float v = qh[b * QK + lane];
            float amax = warp_max(fabsf(v));
            float id = amax != 0.0f ? 127.0f / amax : 0.0f;
            sq[b * QK + lane] = (float)max(-128, min(127, rne(v * id)));
            if (lane == 0) sd[b] = h2f(f2h(amax / 127.0f));
        }
    } else {
        for (int d = threadIdx.x; d < hd_k; d += blockDim.x) sq[d] = KK == KV_F16 ? h2f(f2h(qh[d])) : qh[d];
    }
    __syncthreads();
    float* sc = scores + ((size_t)t * n_head + h) * max_ctx;
    float mx = -__int_as_float(0x7f800000);
    for (int j = lo + threadIdx.x; j <= p; j += blockDim.x) {
        int slot = table[j / block_size] * block_size + j % block_size;
        const u8* k = kc + ((size_t)slot * n_head_kv + kvh) * k_row;
        float v = score_dot<KK>(k, sq, sd, hd_k) * scale;
        if (soft_cap > 0.0f) v = soft_cap * tanhf(v * (1.0f / soft_cap)); // Gemma 2, as the CPU
        sc[j - lo] = v;
        mx = fmaxf(mx, v);
    }
    mx = block_max_f(mx, fscratch);
    double sum = 0.0;
    for (int j = lo + threadIdx.x; j <= p; j += blockDim.x) {
        float e = (float)exp((double)(sc[j - lo] - mx));
        sc[j - lo] = e;
        sum += (double)e;
    }
    sum = block_sum_d(sum, dscratch); // its barrier also publishes sc
    float inv = (float)(1.0 / sum);
    __shared__ double part[32][WARP]; // one row per warp
    int lane = threadIdx.x % WARP, wid = threadIdx.x / WARP, nw = blockDim.x / WARP;
    for (int d0 = 0; d0 < hd_v; d0 += WARP) {
        int d = d0 + lane;
        double acc = 0.0;
        if (d < hd_v) {
            for (int j = lo + wid; j <= p; j += nw) {
                float pr = sc[j - lo] * inv;
                if (KV == KV_F16) pr = h2f(f2h(pr));
                int slot = table[j / block_size] * block_size + j % block_size;
                const u8* v = vc + ((size_t)slot * n_head_kv + kvh) * v_row;
                acc += (double)pr * (double)kv_elem<KV>(v, d);
            }
        }
        part[wid][lane] = acc;
        __syncthreads();
        if (wid == 0 && d < hd_v) {
            double s = 0.0;
            for (int w = 0; w < nw; w++) s += part[w][lane];
            y[((size_t)t * n_head + h) * hd_v + d] = (float)s;
        }
        __syncthreads();
    }
}

#define ATTN_ARGS                                                                                              \
    const float *q, const u8 *kc, const u8 *vc, float *y, const int *pos, const int *toff, const int *tables, \
        float *scores, int n_head, int n_head_kv, int hd_k, int hd_v, int block_size, int window, float scale, \
        int max_ctx, int k_row, int v_row, float soft_cap, const int *row_lo, int has_lo
#define ATTN_CALL                                                                                               \
    q, kc, vc, y, pos, toff, tables, scores, n_head, n_head_kv, hd_k, hd_v, block_size, window, scale, max_ctx, k_row, \
        v_row, soft_cap, row_lo, has_lo

extern "C" __global__ void nuri_attention_f32(ATTN_ARGS) { attention<KV_F32, KV_F32>(ATTN_CALL); }
extern "C" __global__ void nuri_attention_f16(ATTN_ARGS) { attention<KV_F16, KV_F16>(ATTN_CALL); }
extern "C" __global__ void nuri_attention_q8_0(ATTN_ARGS) { attention<KV_Q8_0, KV_Q8_0>(ATTN_CALL); }
// K and V apart (llama.cpp's -ctk/-ctv): nuri_attention_K_V.
extern "C" __global__ void nuri_attention_f32_f16(ATTN_ARGS) { attention<KV_F32, KV_F16>(ATTN_CALL); }
extern "C" __global__ void nuri_attention_f32_q8_0(ATTN_ARGS) { attention<KV_F32, KV_Q8_0>(ATTN_CALL); }
extern "C" __global__ void nuri_attention_f16_f32(ATTN_ARGS) { attention<KV_F16, KV_F32>(ATTN_CALL); }
extern "C" __global__ void nuri_attention_f16_q8_0(ATTN_ARGS) { attention<KV_F16, KV_Q8_0>(ATTN_CALL); }
extern "C" __global__ void nuri_attention_q8_0_f32(ATTN_ARGS) { attention<KV_Q8_0, KV_F32>(ATTN_CALL); }
extern "C" __global__ void nuri_attention_q8_0_f16(ATTN_ARGS) { attention<KV_Q8_0, KV_F16>(ATTN_CALL); }
