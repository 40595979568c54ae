// Row-wise and element-wise float ops, with the reference's roundings.

// rms_norm: one block per row. Squares are rounded to float32 and summed
// in double; mean rounded to float32; scale = 1/sqrtf(mean + eps)
// (correctly rounded); y = (x·scale)·w with two roundings. x may be y.
extern "C" __global__ void nuri_rms_norm(const float* x, const float* w, float* y, int cols, float eps) {
    __shared__ double scratch[32];
    const float* xr = x + (size_t)blockIdx.x * cols;
    float* yr = y + (size_t)blockIdx.x * cols;
    double sum = 0.0;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float v = xr[i];
        sum += (double)(v * v);
    }
    sum = block_sum_d(sum, scratch);
    float mean = (float)(sum / (double)cols);
    float scale = 1.0f / __fsqrt_rn(mean + eps);
    for (int i = threadIdx.x; i < cols; i += blockDim.x) yr[i] = (xr[i] * scale) * w[i];
}

// layer_norm: ggml_norm, then the weight and (has_b) the bias, as the CPU:
// the mean and the variance summed in double and rounded to float,
// y = ((x-mean)*scale)*w + b in float.
extern "C" __global__ void nuri_layer_norm(const float* x, const float* w, const float* b, float* y, int cols, float eps, int has_b) {
    __shared__ double scratch[32];
    const float* xr = x + (size_t)blockIdx.x * cols;
    float* yr = y + (size_t)blockIdx.x * cols;
    double sum = 0.0;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) sum += (double)xr[i];
    sum = block_sum_d(sum, scratch);
    float mean = (float)(sum / (double)cols);
    double sq = 0.0; // block_sum_d waits for the last sum's readers before reusing scratch
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float d = xr[i] - mean;
        sq += (double)(d * d);
    }
    sq = block_sum_d(sq, scratch);
    float scale = 1.0f / __fsqrt_rn((float)(sq / (double)cols) + eps);
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float v = ((xr[i] - mean) * scale) * w[i];
        yr[i] = has_b ? v + b[i] : v;
    }
}

// gelu: y = gelu(x) through the CPU's fp16 table (gelu_mul without up).
extern "C" __global__ void nuri_gelu(const float* x, float* y, const float* tab, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        float v = x[i];
        y[i] = v <= -10.0f ? 0.0f : (v >= 10.0f ? v : tab[f2h(v)]);
    }
}

// add: y = a + b; b has one row (broadcast) or as many as a.
extern "C" __global__ void nuri_add(const float* a, const float* b, float* y, int n, int cols, int b_rows) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        float bv = b_rows == 1 ? b[i % cols] : b[i];
        y[i] = a[i] + bv;
    }
}

extern "C" __global__ void nuri_scale(const float* x, float* y, int n, float s) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] = x[i] * s;
}

// scale_rows: row r of x times s[r] (per-request LoRA adapters).
extern "C" __global__ void nuri_scale_rows(const float* x, float* y, const float* s, int cols, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] = x[i] * s[i / cols];
}

// gelu_mul: y = gelu(g)·u, gelu read from the CPU's table of its tanh form
// at g rounded to fp16 (tab: 65536 floats by fp16 bits), 0 for g ≤ -10 and
// g for g ≥ 10, as ggml's CPU geglu.
extern "C" __global__ void nuri_gelu_mul(const float* g, const float* u, float* y, const float* tab, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        float gv = g[i];
        float a = gv <= -10.0f ? 0.0f : (gv >= 10.0f ? gv : tab[f2h(gv)]);
        y[i] = a * u[i];
    }
}

// silu_mul: y = g/(1+e^-g)·u with e^-g computed in double and rounded.
extern "C" __global__ void nuri_silu_mul(const float* g, const float* u, float* y, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        float gv = g[i];
        float e = (float)exp(-(double)gv);
        y[i] = (gv / (1.0f + e)) * u[i];
    }
}
