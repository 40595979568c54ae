// Package cuda is the NVIDIA GPU backend. It needs neither the CUDA
// toolkit nor cgo to build: the driver (libcuda.so.1) and the runtime
// compiler NVRTC (libnvrtc.so.*) are loaded at run time with purego, and
// the kernels are CUDA C embedded in the binary (kernels/*.cu), compiled by
// NVRTC for the GPU's compute capability at start-up and cached on disk
// (os.UserCacheDir()/nuri/cuda, keyed by a hash of source, options and
// compiler version, plus the architecture).
//
// The kernels reproduce the CPU reference's numerics: activations are
// quantized to the weight type's vec-dot type with the same quantizers
// (Q8_0/Q8_1 with 127/amax and round-half-even, Q8_K's reference
// quantizer, fp16/bf16 round-to-nearest-even), block products are exact
// integer sums scaled in the same order, RMSNorm sums squares in double,
// RoPE iterates its angles in float32, and attention over the paged KV
// cache follows ggml's non-flash path (scores one thread each, double
// softmax sum, p·v summed in double in position order). The program is
// compiled with --fmad=false. Only summation order across blocks differs,
// which the conformance kit's ExactLimits bound.
//
// Every GGUF weight type Nuri quantizes has a matmul and get_rows kernel:
// the float types, Q4_0 … Q8_0, Q2_K … Q6_K and all the i-quants. Others
// are not supported (Supports says so): wrapped in backends.WithFallback,
// their ops run on the CPU.
//
// Telemetry (memory, utilization, temperature, power, clocks) comes from
// NVML through github.com/NVIDIA/go-nvml, which needs cgo; a build with
// CGO_ENABLED=0 has the backend without telemetry, and says so.
//
// On a machine without a driver or GPU, Open fails with an error wrapping
// backends.ErrUnavailable that gives the reason. The tests run the backend
// anyway against a CPU emulator of the driver API (testdata/emu, built with
// g++), which executes the kernels' CUDA C with their barriers and warp
// shuffles.
package cuda
