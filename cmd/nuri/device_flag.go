package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
)

// deviceFlags are the flags that choose where a model runs (run, serve).
type deviceFlags struct {
	name      string // cpu, cuda:N, npu:N, npu:rngd, npu:atom...
	nvrtc     string
	cudaCache string
	kernels   string // the CPU's kernel set: best, avx2, generic
	// preferGPU: llama-server's --n-gpu-layers asked for the GPU and no
	// device was named, so cuda:0 runs the model where it opens, else the
	// CPU.
	preferGPU bool
	gpuLayers *int // --n-gpu-layers when given (-1: auto or all)
	mainGPU   int  // llama-server's --main-gpu: the GPU preferGPU means
}

// kernelSet is --kernels parsed; run and serve check it with their other
// flags, so a bad value fails before the model loads.
func (d deviceFlags) kernelSet() (kernels.KernelSet, error) {
	k, err := kernels.ParseKernelSet(d.kernels)
	if err != nil {
		return k, fmt.Errorf("--kernels: %w", err)
	}
	return k, nil
}

// envKernelSet reads NURI_KERNELS, the CPU kernel set the commands without
// a --kernels flag take: best (unset), avx2 or generic.
func envKernelSet() (kernels.KernelSet, error) {
	k, err := kernels.ParseKernelSet(os.Getenv("NURI_KERNELS"))
	if err != nil {
		return k, fmt.Errorf("NURI_KERNELS: %w", err)
	}
	return k, nil
}

// envPacing reads NURI_PACING, how the CPU's single-row matmuls pick
// between the plain and the paced stream kernels: auto (unset; measured
// as the model runs), off or on.
func envPacing() (kernels.Pacing, error) {
	m, err := kernels.ParsePacing(os.Getenv("NURI_PACING"))
	if err != nil {
		return m, fmt.Errorf("NURI_PACING: %w", err)
	}
	return m, nil
}

// envPrefetch reads NURI_PREFETCH, the prefetch distances of the CPU's
// single-row stream kernels: auto (unset; measured while the model runs,
// starting from the CPU vendor's), near or far.
func envPrefetch() (kernels.Prefetch, error) {
	m, err := kernels.ParsePrefetch(os.Getenv("NURI_PREFETCH"))
	if err != nil {
		return m, fmt.Errorf("NURI_PREFETCH: %w", err)
	}
	return m, nil
}

// addDeviceFlags registers --device, --nvrtc and --cuda-cache. Their
// defaults come from NURI_DEVICE, NURI_NVRTC and NURI_CUDA_CACHE, the keys
// serve's environment fallback uses for the same flags.
func addDeviceFlags(fs *flag.FlagSet, d *deviceFlags) {
	def := os.Getenv("NURI_DEVICE")
	if def == "" {
		def = "cpu"
	}
	fs.StringVar(&d.name, "device", def, "device to run on: cpu, cuda:N, npu:N, npu:rngd, npu:atom (env NURI_DEVICE; `nuri devices` lists them)")
	fs.StringVar(&d.nvrtc, "nvrtc", os.Getenv("NURI_NVRTC"), "NVRTC library to load for cuda (default: search; env NURI_NVRTC)")
	fs.StringVar(&d.cudaCache, "cuda-cache", os.Getenv("NURI_CUDA_CACHE"), "CUDA kernel cache folder (default: the user cache; \"off\"; env NURI_CUDA_CACHE)")
	fs.StringVar(&d.kernels, "kernels", os.Getenv("NURI_KERNELS"), "CPU kernels: best, avx2 (no AVX-512) or generic (pure Go) (default best; env NURI_KERNELS)")
}

// addLoRAFlags registers --lora FILE and --lora-scaled FILE:SCALE
// (llama.cpp's --lora and --lora-scaled, whose two arguments are one
// here), both repeatable, collecting the adapters in dst.
func addLoRAFlags(fs *flag.FlagSet, dst *[]model.LoRA) {
	fs.Func("lora", "LoRA adapter GGUF (llama.cpp's format) applied to the model at run time; repeatable", func(s string) error {
		*dst = append(*dst, model.LoRA{Path: s, Scale: 1})
		return nil
	})
	fs.Func("lora-scaled", "LoRA adapter with a strength, FILE:SCALE (1: as trained); repeatable", func(s string) error {
		i := strings.LastIndexByte(s, ':')
		if i <= 0 {
			return fmt.Errorf("want FILE:SCALE, got %q", s)
		}
		v, err := strconv.ParseFloat(s[i+1:], 32)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("scale %q of %s: want a number", s[i+1:], s[:i])
		}
		*dst = append(*dst, model.LoRA{Path: s[:i], Scale: float32(v)})
		return nil
	})
}

// loadOnDevice opens the device named in d and loads the model at path on
// it, with the LoRA adapters lora. The returned func closes the model and then the device (the model
// does not own a device it is given). An unavailable device (cuda without
// a driver) fails here with the backend's reason.
func loadOnDevice(path string, d deviceFlags, threads, nCtx int, lora []model.LoRA, log *zap.Logger) (model.Model, backends.Device, func() error, error) {
	ks, err := d.kernelSet()
	if err != nil {
		return nil, nil, nil, err
	}
	pacing, err := envPacing()
	if err != nil {
		return nil, nil, nil, err
	}
	prefetch, err := envPrefetch()
	if err != nil {
		return nil, nil, nil, err
	}
	opts := deviceOptions{threads: threads, log: log, nvrtc: d.nvrtc, cudaCache: d.cudaCache, kernels: ks, pacing: pacing, prefetch: prefetch}
	dev, err := d.open(opts, log)
	if err != nil {
		return nil, nil, nil, err // the registry names the device and the reason
	}
	m, err := model.Load(path, model.LoadOptions{Device: dev, Threads: threads, NCtx: nCtx, Logger: log, LoRA: lora})
	if err != nil {
		return nil, nil, nil, errors.Join(fmt.Errorf("on device %s: %w", dev.Name(), err), closeDevice(dev))
	}
	if n := d.gpuLayers; n != nil && *n > 0 && *n < m.Config().NLayer && dev.Name() != "cpu" {
		log.Warn("--n-gpu-layers: Nuri does not split a model between devices; every layer runs on the one device",
			zap.Int("n_gpu_layers", *n), zap.Int("layers", m.Config().NLayer), zap.String("device", dev.Name()))
	}
	closeAll := func() error {
		return errors.Join(m.Close(), closeDevice(dev))
	}
	return m, dev, closeAll, nil
}

// open opens the device d names; where llama-server's --n-gpu-layers asked
// for the GPU without naming a device, cuda:N (--main-gpu, 0 by default), or the CPU with a warning
// where no GPU opens (as llama-server carries on without one).
func (d deviceFlags) open(opts deviceOptions, log *zap.Logger) (backends.Device, error) {
	if !d.preferGPU {
		if n := d.gpuLayers; n != nil && (*n == 0) != (d.name == "cpu") {
			log.Warn("--n-gpu-layers and --device disagree; the device named runs the model", zap.Int("n_gpu_layers", *n), zap.String("device", d.name))
		}
		return openDevice(d.name, opts)
	}
	gpu := fmt.Sprintf("cuda:%d", d.mainGPU)
	dev, err := openDevice(gpu, opts)
	if err == nil {
		log.Info("--n-gpu-layers: running on " + gpu + " (no --device was named)")
		return dev, nil
	}
	log.Warn("--n-gpu-layers: no usable GPU, running on the CPU", zap.Error(err))
	return openDevice("cpu", opts)
}

func closeDevice(dev backends.Device) error {
	if err := dev.Close(); err != nil {
		return fmt.Errorf("close device %s: %w", dev.Name(), err)
	}
	return nil
}

// printSimTime reports a simulator's device time (backends.Simulated) for
// the n tokens a run fed to the model, next to the wall-clock figures.
func printSimTime(w io.Writer, dev backends.Device, n int) {
	sim, ok := backends.As[backends.Simulated](dev)
	if !ok {
		return
	}
	d := sim.SimTime()
	rate := 0.0
	if d > 0 {
		rate = float64(n) / d.Seconds()
	}
	fmt.Fprintf(w, "simulated:  %10.2f ms / %5d tokens (%8.2f t/s on %s)\n", float64(d)/float64(time.Millisecond), n, rate, dev.Name())
}
