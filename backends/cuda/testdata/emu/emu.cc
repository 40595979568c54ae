// emu.cc: a CPU emulator of the part of the CUDA driver API (and of NVRTC)
// that Nuri's cuda backend calls, built as a shared library by
// emulator_test.go so that the backend — its Go launch code and the very
// CUDA C of kernels/*.cu — runs the conformance kit on a machine without a
// GPU. Each launch runs the blocks of the grid one after another, each
// block's threads as fibers switched cooperatively, with __syncthreads as a
// block barrier and warp shuffles through a per-warp barrier: the kernels'
// cooperation is exercised, not just their arithmetic. Compiled with -ffp-contract=off,
// as the backend compiles with --fmad=false.
//
// The kernel source is included as kernels_gen.cu (written by the test):
// the embedded .cu files with `extern __shared__` replaced by the dynamic
// shared buffer below.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

using std::max;
using std::min;

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
static dim3 threadIdx, blockIdx, blockDim, gridDim;

// The emulated threads of a block are fibers on one OS thread, switched
// cooperatively: a barrier wait yields until every live thread of the
// barrier has arrived; a thread that returns drops out of its barriers.
struct Barrier {
    int expected = 0, arrived = 0;
    unsigned gen = 0;
};
struct Fiber {
    void* sp = nullptr; // saved stack pointer while switched out
    unsigned tid = 0;
    bool done = false;
};
static void* g_schedSP;
static std::vector<Fiber> g_fibers;
static std::vector<std::vector<char>> g_stacks;
static Fiber* g_cur;
static Barrier g_block;
static std::vector<Barrier> g_warpBar;
static std::vector<std::array<unsigned char[8], 32>> g_slots;
static std::vector<float> g_smem;

// emu_switch saves the callee-saved registers on the current stack, stores
// the stack pointer in *save and continues on the stack next (x86-64 SysV).
extern "C" void emu_switch(void** save, void* next);
asm(R"(
.text
.globl emu_switch
.type emu_switch, @function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
)");

static void yield() { emu_switch(&g_cur->sp, g_schedSP); }

static void wait(Barrier& b) {
    unsigned g = b.gen;
    if (++b.arrived >= b.expected) {
        b.arrived = 0;
        b.gen++;
        return;
    }
    while (b.gen == g) yield();
}

static void drop(Barrier& b) {
    b.expected--;
    if (b.arrived > 0 && b.arrived >= b.expected) {
        b.arrived = 0;
        b.gen++;
    }
}

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static

static inline void __syncthreads() { wait(g_block); }

template <typename T>
static inline T __shfl_xor_sync(unsigned, T v, int o) {
    static_assert(sizeof(T) <= 8, "shuffle of a wide type");
    unsigned w = threadIdx.x / 32, lane = threadIdx.x % 32;
    std::memcpy(g_slots[w][lane], &v, sizeof(T));
    wait(g_warpBar[w]);
    T r;
    std::memcpy(&r, g_slots[w][lane ^ o], sizeof(T));
    wait(g_warpBar[w]);
    return r;
}

static inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}
static inline int __float_as_int(float f) {
    int i;
    std::memcpy(&i, &f, 4);
    return i;
}
static inline int __float2int_rn(float f) { return (int)std::nearbyint(f); }
static inline float __fsqrt_rn(float f) { return std::sqrt(f); }

#include "kernels_gen.cu"

// ---- kernel table ----

template <typename... A, size_t... I>
static void call(void (*f)(A...), void** p, std::index_sequence<I...>) {
    f(*static_cast<std::remove_cv_t<A>*>(p[I])...);
}
template <typename... A>
static void call(void (*f)(A...), void** p) {
    call(f, p, std::index_sequence_for<A...>{});
}

struct Kernel {
    const char* name;
    void (*run)(void**);
    bool coop; // uses barriers or shuffles: needs fibers
};

#define K(n) {#n, [](void** p) { call(n, p); }, true}
#define P(n) {#n, [](void** p) { call(n, p); }, false}
static const Kernel kTable[] = {
    K(nuri_quantize_q8_0), K(nuri_quantize_q8_1), K(nuri_quantize_q8_k), P(nuri_convert_f16), P(nuri_convert_bf16),
    K(nuri_mul_mat_f32), K(nuri_mul_mat_f16), K(nuri_mul_mat_bf16), K(nuri_mul_mat_q4_0), K(nuri_mul_mat_q4_1),
    K(nuri_mul_mat_q5_0), K(nuri_mul_mat_q5_1), K(nuri_mul_mat_q8_0), K(nuri_mul_mat_q2_k), K(nuri_mul_mat_q3_k), K(nuri_mul_mat_q4_k), K(nuri_mul_mat_q5_k),
    K(nuri_mul_mat_q6_k), K(nuri_mul_mat_iq4_nl), K(nuri_mul_mat_iq4_xs),
    K(nuri_mul_mat_iq2_xxs), K(nuri_mul_mat_iq2_xs), K(nuri_mul_mat_iq2_s), K(nuri_mul_mat_iq3_xxs), K(nuri_mul_mat_iq3_s),
    K(nuri_mul_mat_iq1_s), K(nuri_mul_mat_iq1_m), P(nuri_get_rows_f32), P(nuri_get_rows_f16), P(nuri_get_rows_bf16), P(nuri_get_rows_q4_0),
    P(nuri_get_rows_q4_1), P(nuri_get_rows_q5_0), P(nuri_get_rows_q5_1), P(nuri_get_rows_q8_0), P(nuri_get_rows_q2_k), P(nuri_get_rows_q3_k), P(nuri_get_rows_q4_k),
    P(nuri_get_rows_q5_k), P(nuri_get_rows_q6_k), P(nuri_get_rows_iq4_nl), P(nuri_get_rows_iq4_xs),
    P(nuri_get_rows_iq2_xxs), P(nuri_get_rows_iq2_xs), P(nuri_get_rows_iq2_s), P(nuri_get_rows_iq3_xxs), P(nuri_get_rows_iq3_s),
    P(nuri_get_rows_iq1_s), P(nuri_get_rows_iq1_m), K(nuri_rms_norm), P(nuri_add), P(nuri_scale), P(nuri_scale_rows), P(nuri_silu_mul), P(nuri_gelu_mul), K(nuri_layer_norm), P(nuri_gelu),
    P(nuri_rope), P(nuri_store_kv_f32), P(nuri_store_kv_f16), K(nuri_store_kv_q8_0), K(nuri_attention_f32),
    K(nuri_attention_f16), K(nuri_attention_q8_0), K(nuri_attention_f32_f16), K(nuri_attention_f32_q8_0),
    K(nuri_attention_f16_f32), K(nuri_attention_f16_q8_0), K(nuri_attention_q8_0_f32), K(nuri_attention_q8_0_f16),
    P(nuri_read_probe),
};

static const Kernel* g_kernel;
static void** g_params;

// fiberMain runs one emulated thread to its end, then leaves its barriers
// and switches back to the scheduler for good.
static void fiberMain() {
    g_kernel->run(g_params);
    g_cur->done = true;
    drop(g_block);
    drop(g_warpBar[g_cur->tid / 32]);
    void* dead;
    emu_switch(&dead, g_schedSP);
    std::abort(); // never resumed
}

// fiberStack prepares stack t so that switching to it enters fiberMain as
// if called: six zero registers, then fiberMain as the return address,
// with the stack 16-byte aligned at the call.
static void* fiberStack(unsigned t) {
    char* top = g_stacks[t].data() + g_stacks[t].size();
    uintptr_t* sp = (uintptr_t*)((uintptr_t)top & ~(uintptr_t)15);
    *--sp = 0;                       // fake return address of fiberMain
    *--sp = (uintptr_t)&fiberMain;   // popped by emu_switch's ret
    for (int i = 0; i < 6; i++) *--sp = 0;
    return sp;
}

static void launch(const Kernel* k, dim3 grid, dim3 block, unsigned shmem, void** params) {
    blockDim = block;
    gridDim = grid;
    g_kernel = k;
    g_params = params;
    g_smem.assign(shmem / 4 + 1, 0.0f);
    unsigned nt = block.x * block.y * block.z, nw = (nt + 31) / 32;
    while (g_stacks.size() < nt) g_stacks.emplace_back(64 << 10);
    g_fibers.assign(nt, Fiber{});
    g_warpBar.assign(nw, Barrier{});
    g_slots.resize(nw);
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                blockIdx = dim3{x, y, z};
                if (!k->coop) { // no barriers, no shuffles: threads one by one
                    for (unsigned t = 0; t < nt; t++) {
                        threadIdx = dim3{t, 0, 0};
                        k->run(params);
                    }
                    continue;
                }
                g_block = Barrier{(int)nt, 0, 0};
                for (unsigned w = 0; w < nw; w++) g_warpBar[w] = Barrier{(int)min(32u, nt - 32 * w), 0, 0};
                for (unsigned t = 0; t < nt; t++) g_fibers[t] = Fiber{fiberStack(t), t, false};
                for (unsigned live = nt; live > 0;) {
                    live = 0;
                    for (Fiber& f : g_fibers) {
                        if (f.done) continue;
                        g_cur = &f;
                        threadIdx = dim3{f.tid, 0, 0};
                        emu_switch(&g_schedSP, f.sp);
                        if (!f.done) live++;
                    }
                }
            }
}

// ---- driver API ----

// Only the API is exported (built with -fvisibility=hidden): two copies of
// the emulator loaded in one process must not bind each other's kernels.
#pragma GCC visibility push(default)
extern "C" {
typedef int CUresult;

CUresult cuInit(unsigned) { return 0; }
CUresult cuDriverGetVersion(int* v) { *v = 12000; return 0; }
CUresult cuDeviceGetCount(int* n) { *n = 1; return 0; }
CUresult cuDeviceGet(int* d, int ord) { *d = ord; return ord == 0 ? 0 : 101; }
CUresult cuDeviceGetName(char* s, int n, int) {
    std::strncpy(s, "CPU emulator", n);
    return 0;
}
CUresult cuDeviceGetAttribute(int* v, int attr, int) {
    *v = attr == 75 ? 9 : attr == 76 ? 0 : attr == 16 ? 4 : 0;
    return 0;
}
CUresult cuDeviceTotalMem_v2(size_t* b, int) { *b = (size_t)1 << 30; return 0; }
CUresult cuDeviceGetPCIBusId(char* s, int n, int) {
    std::strncpy(s, "0000:00:00.0", n);
    return 0;
}
CUresult cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = (void*)1; return 0; }
CUresult cuDevicePrimaryCtxRelease_v2(int) { return 0; }
CUresult cuCtxSetCurrent(void*) { return 0; }
CUresult cuCtxSynchronize() { return 0; }
CUresult cuMemGetInfo_v2(size_t* f, size_t* t) {
    *f = *t = (size_t)1 << 30;
    return 0;
}
CUresult cuMemAlloc_v2(uint64_t* p, size_t n) {
    void* m = std::aligned_alloc(256, (n + 255) / 256 * 256);
    if (!m) return 2; // CUDA_ERROR_OUT_OF_MEMORY
    *p = (uint64_t)m;
    return 0;
}
CUresult cuMemFree_v2(uint64_t p) { std::free((void*)p); return 0; }
CUresult cuMemsetD8Async(uint64_t p, unsigned char v, size_t n, void*) {
    std::memset((void*)p, v, n);
    return 0;
}
CUresult cuMemcpyHtoDAsync_v2(uint64_t d, const void* s, size_t n, void*) {
    std::memcpy((void*)d, s, n);
    return 0;
}
CUresult cuMemcpyDtoHAsync_v2(void* d, uint64_t s, size_t n, void*) {
    std::memcpy(d, (const void*)s, n);
    return 0;
}
CUresult cuStreamCreate(void** s, unsigned) { *s = (void*)1; return 0; }
CUresult cuStreamDestroy_v2(void*) { return 0; }
CUresult cuStreamSynchronize(void*) { return 0; }
CUresult cuModuleLoadData(void** m, const void*) { *m = (void*)1; return 0; }
CUresult cuModuleUnload(void*) { return 0; }
CUresult cuModuleGetFunction(const Kernel** f, void*, const char* name) {
    for (const Kernel& k : kTable) {
        if (std::strcmp(k.name, name) == 0) {
            *f = &k;
            return 0;
        }
    }
    return 500; // CUDA_ERROR_NOT_FOUND
}
CUresult cuFuncSetAttribute(void*, int, int) { return 0; }
CUresult cuLaunchKernel(const Kernel* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shmem, void*, void** params, void**) {
    if (bx * by * bz == 0 || bx * by * bz > 1024 || gy > 65535 || gz > 65535) return 1; // CUDA_ERROR_INVALID_VALUE
    launch(f, dim3{gx, gy, gz}, dim3{bx, by, bz}, shmem, params);
    return 0;
}
CUresult cuGetErrorString(CUresult, const char** s) {
    *s = "emulated error";
    return 0;
}

// ---- NVRTC: compilation is a no-op (the kernels above are the program) ----

int nvrtcVersion(int* a, int* b) { *a = 12; *b = 0; return 0; }
int nvrtcGetNumSupportedArchs(int* n) { *n = 1; return 0; }
int nvrtcGetSupportedArchs(int* a) { a[0] = 90; return 0; }
int nvrtcCreateProgram(void** p, const char*, const char*, int, const char* const*, const char* const*) {
    *p = (void*)1;
    return 0;
}
int nvrtcCompileProgram(void*, int, const char* const*) { return 0; }
int nvrtcGetProgramLogSize(void*, size_t* n) { *n = 1; return 0; }
int nvrtcGetProgramLog(void*, char* s) { s[0] = 0; return 0; }
int nvrtcGetCUBINSize(void*, size_t* n) { *n = 4; return 0; }
int nvrtcGetCUBIN(void*, char* s) { std::memcpy(s, "emu", 4); return 0; }
int nvrtcGetPTXSize(void*, size_t* n) { *n = 4; return 0; }
int nvrtcGetPTX(void*, char* s) { std::memcpy(s, "emu", 4); return 0; }
int nvrtcDestroyProgram(void**) { return 0; }
const char* nvrtcGetErrorString(int) { return "emulated NVRTC error"; }
}
#pragma GCC visibility pop
