package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/sys/cpu"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/conformance"
	nuricpu "github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/backends/cuda"
	"github.com/nuri-ai/nuri/backends/npu"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

func init() {
	register(command{name: "devices", summary: "list compute devices (cpu, cuda, npu); --conformance runs the backend test kit", run: runDevices})
}

// deviceOptions is what opening a device takes from the command line.
type deviceOptions struct {
	threads   int
	log       *zap.Logger
	nvrtc     string // NVRTC library path ("" = search)
	cudaCache string // kernel cache folder ("" = default, "off")
	kernels   kernels.KernelSet
	pacing    kernels.Pacing
	prefetch  kernels.Prefetch
}

// newCPU is the CPU device with the options' threads and kernel set.
func (o deviceOptions) newCPU() *nuricpu.Device {
	d := nuricpu.New(o.threads)
	d.SetKernelSet(o.kernels)
	d.SetPacing(o.pacing)
	d.SetPrefetch(o.prefetch)
	return d
}

func (o deviceOptions) cudaOptions() cuda.Options {
	return cuda.Options{NVRTCPath: o.nvrtc, CacheDir: o.cudaCache, Logger: o.log}
}

// newDeviceRegistry registers the backends this binary has: cpu, cuda
// and the simulated npu.
func newDeviceRegistry(o deviceOptions) (*backends.Registry, error) {
	return backends.NewRegistry(
		backends.Backend{Name: "cpu", Open: func(cfg string) (backends.Device, error) {
			if cfg != "" {
				return nil, fmt.Errorf("cpu takes no index (got cpu:%s): %w", cfg, backends.ErrUnknownDevice)
			}
			return o.newCPU(), nil
		}, List: func() []backends.Availability {
			return []backends.Availability{{Name: "cpu", Available: true, Details: cpuDetails(o.threads)}}
		}},
		backends.Backend{Name: "cuda", Open: func(cfg string) (backends.Device, error) {
			return cuda.Open(cfg, o.cudaOptions())
		}, List: func() []backends.Availability { return cuda.List(o.cudaOptions()) }},
		backends.Backend{Name: "npu", Open: func(cfg string) (backends.Device, error) {
			return npu.Open(cfg, npu.Options{Threads: o.threads, Logger: o.log})
		}, List: npu.List},
	)
}

// openDevice opens the device called name ("cpu", "cuda:0", "npu:0",
// "npu:rngd"...) for a model: any device but the CPU is wrapped so that
// the ops it does not support run on the CPU (backends.WithFallback). The
// model does not own a device passed to it: the caller closes it after the
// model.
func openDevice(name string, o deviceOptions) (backends.Device, error) {
	if o.log == nil {
		o.log = zap.NewNop()
	}
	reg, err := newDeviceRegistry(o)
	if err != nil {
		return nil, err
	}
	d, err := reg.Open(name)
	if err != nil {
		return nil, err
	}
	if _, isCPU := d.(*nuricpu.Device); isCPU {
		return d, nil
	}
	return backends.WithFallback(d, o.newCPU(), o.log), nil
}

// cpuDetails describes the host CPU: model, threads, ISA features and the
// matmul kernels chosen for the common weight types.
func cpuDetails(threads int) []string {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	out := []string{fmt.Sprintf("%s, %d logical CPUs, %d threads", cpuModel(), runtime.NumCPU(), threads)}
	var isa []string
	add := func(ok bool, name string) {
		if ok {
			isa = append(isa, name)
		}
	}
	switch runtime.GOARCH {
	case "amd64":
		x := cpu.X86
		add(x.HasSSE42, "sse4.2")
		add(x.HasAVX, "avx")
		add(x.HasAVX2, "avx2")
		add(x.HasFMA, "fma")
		add(x.HasF16C, "f16c")
		add(x.HasAVXVNNI, "avx-vnni")
		add(x.HasAVX512F, "avx512f")
		add(x.HasAVX512BW, "avx512bw")
		add(x.HasAVX512VL, "avx512vl")
		add(x.HasAVX512VNNI, "avx512vnni")
		add(x.HasAVX512BF16, "avx512bf16")
		add(x.HasAMXInt8, "amx-int8")
	case "arm64":
		a := cpu.ARM64
		add(a.HasASIMD, "neon")
		add(a.HasASIMDDP, "dotprod")
		add(a.HasI8MM, "i8mm")
		add(a.HasSVE, "sve")
		add(a.HasSVE2, "sve2")
	}
	if len(isa) == 0 {
		isa = []string{"none detected"}
	}
	out = append(out, "ISA: "+strings.Join(isa, " "))
	p := kernels.NewPool(1)
	defer p.Close()
	var ks []string
	for _, t := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K, quant.F16} {
		ks = append(ks, fmt.Sprintf("%v %s", t, p.WeightKernelName(t)))
	}
	return append(out, "matmul kernels: "+strings.Join(ks, ", "))
}

// cpuModel reads the model name from /proc/cpuinfo (Linux), else GOARCH.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}

func runDevices(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri devices [--conformance [--details]] [--device D] [flags]")
		fs.PrintDefaults()
	}
	conf := fs.Bool("conformance", false, "run the backend conformance kit on each available device and print the support/pass matrix")
	only := fs.String("device", "", "only this device (e.g. cpu, cuda:0, npu:atom)")
	details := fs.Bool("details", false, "with --conformance: also print the worst error and limit per op and type")
	threads := fs.Int("threads", kernels.DefaultThreads(), "CPU threads, by default one per physical core this process may use")
	nvrtc := fs.String("nvrtc", os.Getenv("NURI_NVRTC"), "NVRTC library to load (default: search; env NURI_NVRTC)")
	cache := fs.String("cuda-cache", os.Getenv("NURI_CUDA_CACHE"), "CUDA kernel cache folder (default: the user cache; \"off\"; env NURI_CUDA_CACHE)")
	level := fs.String("log-level", "warn", "log level on stderr: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return flagsError(err)
	}
	if fs.NArg() > 0 || *threads <= 0 {
		return usageError(fs, stderr, "no arguments expected, --threads must be positive")
	}
	log, err := stderrLogger(*level, stderr)
	if err != nil {
		return err
	}
	o := deviceOptions{threads: *threads, log: log, nvrtc: *nvrtc, cudaCache: *cache}
	reg, err := newDeviceRegistry(o)
	if err != nil {
		return err
	}
	var names []string
	for _, a := range reg.List() {
		if *only != "" && !sameDevice(a.Name, *only) {
			continue
		}
		writeAvailability(stdout, a)
		if a.Available {
			names = append(names, a.Name)
		}
	}
	if *only != "" && len(names) == 0 {
		names = []string{*only} // e.g. npu:atom:1, not listed by name
	}
	if !*conf {
		return nil
	}
	var failed []string
	for _, n := range names {
		ok, err := deviceConformance(stdout, reg, n, *details)
		if err != nil {
			return err
		}
		if !ok {
			failed = append(failed, n)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("conformance failed on %s", strings.Join(failed, ", "))
	}
	return nil
}

// sameDevice matches a listed name with the one asked for ("npu:0" is the
// default profile's card).
func sameDevice(listed, asked string) bool {
	if listed == asked {
		return true
	}
	kind, _, _ := strings.Cut(asked, ":")
	return listed == kind
}

func writeAvailability(w io.Writer, a backends.Availability) {
	state := "available"
	if !a.Available {
		state = "unavailable: " + a.Reason
	}
	fmt.Fprintf(w, "%-10s %s\n", a.Name, state)
	for _, d := range a.Details {
		fmt.Fprintf(w, "%-10s   %s\n", "", d)
	}
}

// deviceConformance runs the kit on one device and prints its matrix.
func deviceConformance(w io.Writer, reg *backends.Registry, name string, details bool) (bool, error) {
	dev, err := reg.Open(name)
	if err != nil {
		if errors.Is(err, backends.ErrUnavailable) {
			fmt.Fprintf(w, "\n%s: skipped, %v\n", name, err)
			return true, nil
		}
		return false, err
	}
	defer dev.Close()
	rs, err := conformance.Matrix(dev)
	if err != nil {
		return false, err
	}
	fmt.Fprintln(w)
	if err := conformance.WriteMatrix(w, dev.Name(), rs); err != nil {
		return false, err
	}
	if details {
		fmt.Fprintln(w)
		if err := conformance.WriteDetails(w, rs); err != nil {
			return false, err
		}
	}
	for _, r := range rs {
		if r.Status == conformance.Fail {
			return false, nil
		}
	}
	return true, nil
}
