// rope: rotates x in place, as ggml_rope_ext on the CPU. One thread per
// (token, head, pair). The angle of pair k is pos·theta_scale^k iterated
// in float32 (k roundings), exactly as the reference builds its table, so
// the low bits agree. theta_scale, the YaRN ramp bounds corr0/corr1 and the
// YaRN magnitude factor yarn_m are computed on the host in the reference's
// precision. x is [n_tokens·n_head][head_dim].
extern "C" __global__ void nuri_rope(float* x, const int* pos, const float* freqs, int n_tokens, int n_head,
                                     int head_dim, int n_dims, int neox, float theta_scale, float freq_scale,
                                     float ext_factor, float attn_factor, float corr0, float corr1, float yarn_m) {
    int pairs = n_dims / 2;
    long long id = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (id >= (long long)n_tokens * n_head * pairs) return;
    int k = (int)(id % pairs);
    int h = (int)((id / pairs) % n_head);
    int t = (int)(id / ((long long)pairs * n_head));
    float theta = (float)pos[t];
    for (int j = 0; j < k; j++) theta = theta * theta_scale;
    float ff = freqs ? freqs[k] : 1.0f;
    float extrap = theta / ff;
    float interp = freq_scale * extrap;
    float th = interp;
    float mscale = attn_factor;
    if (ext_factor != 0.0f) {
        float y = ((float)k - corr0) / fmaxf(0.001f, corr1 - corr0);
        float ramp = (1.0f - fminf(1.0f, fmaxf(0.0f, y))) * ext_factor;
        th = (interp * (1.0f - ramp)) + (extrap * ramp);
        mscale = mscale * yarn_m;
    }
    float c = (float)cos((double)th) * mscale;
    float s = (float)sin((double)th) * mscale;
    float* xr = x + ((size_t)t * n_head + h) * head_dim;
    int a = 2 * k, b = 2 * k + 1;
    if (neox) {
        a = k;
        b = k + pairs;
    }
    float x0 = xr[a], x1 = xr[b];
    xr[a] = (x0 * c) - (x1 * s);
    xr[b] = (x0 * s) + (x1 * c);
}
