package cuda

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/quant"
)

// Options configures the CUDA backend. Library code reads no environment:
// the command fills these from flags.
type Options struct {
	DriverPath string // "" = libcuda.so.1
	NVRTCPath  string // "" = search libnvrtc.so.13, .12, .11.2, .so
	// CacheDir holds compiled kernel images ("" = os.UserCacheDir()/nuri/cuda;
	// "off" = compile at every start).
	CacheDir string
	Logger   *zap.Logger
}

func (o Options) cacheDir() string {
	switch o.CacheDir {
	case "":
		return defaultCacheDir()
	case "off":
		return ""
	}
	return o.CacheDir
}

// Device is one CUDA GPU.
type Device struct {
	name     string
	ord      int32
	drv      *driver
	ctx      uintptr
	mod      uintptr
	fns      map[string]uintptr
	gpu      string
	major    int
	minor    int
	sms      int
	total    uint64
	target   string // "sm_90 cubin" or "compute_89 ptx"
	compiler string
	cached   string // where the image came from
	log      *zap.Logger
	tele     *telemetry
	teleOff  string
	prof     backends.OpTimes

	mu     sync.Mutex
	closed bool
}

var (
	_ backends.Device      = (*Device)(nil)
	_ backends.Telemetry   = (*Device)(nil)
	_ backends.BufferFreer = (*Device)(nil)
	_ backends.Describer   = (*Device)(nil)
	_ backends.OpProfiler  = (*Device)(nil)
)

// ProfileOps implements backends.OpProfiler: while on, every op of the
// device's streams is timed to the end of its kernels (see Stream.doNamed).
func (d *Device) ProfileOps(on bool) { d.prof.ProfileOps(on) }

// OpProfile implements backends.OpProfiler.
func (d *Device) OpProfile() []backends.OpTime { return d.prof.OpProfile() }

// unavailable wraps a reason as backends.ErrUnavailable.
func unavailable(format string, a ...any) error {
	return fmt.Errorf("cuda: %s: %w", fmt.Sprintf(format, a...), backends.ErrUnavailable)
}

// Open opens the GPU named by the part of a device name after "cuda:"
// ("" or "N").
func Open(cfg string, opts Options) (*Device, error) {
	n := 0
	if cfg != "" {
		v, err := strconv.Atoi(cfg)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("cuda device %q: want cuda:N: %w", cfg, backends.ErrUnknownDevice)
		}
		n = v
	}
	return New(n, opts)
}

// New opens GPU ordinal, compiling (or loading from the cache) the kernels
// for its compute capability.
func New(ordinal int, opts Options) (*Device, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	drv, err := loadDriver(opts.DriverPath)
	if err != nil {
		return nil, unavailable("%v", err)
	}
	if err := drv.check("cuInit", drv.cuInit(0)); err != nil {
		return nil, unavailable("%v", err)
	}
	var count int32
	if err := drv.check("cuDeviceGetCount", drv.cuDeviceGetCount(&count)); err != nil {
		return nil, unavailable("%v", err)
	}
	if ordinal < 0 || int32(ordinal) >= count {
		return nil, unavailable("cuda:%d requested, %d GPU(s) present", ordinal, count)
	}
	d := &Device{name: fmt.Sprintf("cuda:%d", ordinal), drv: drv, log: log, fns: map[string]uintptr{}}
	if err := d.probe(int32(ordinal)); err != nil {
		return nil, unavailable("%v", err)
	}
	if err := d.drv.check("cuDevicePrimaryCtxRetain", d.drv.cuDevicePrimaryCtxRetain(&d.ctx, d.ord)); err != nil {
		return nil, unavailable("%v", err)
	}
	if err := d.loadKernels(opts); err != nil {
		return nil, errors.Join(err, d.Close())
	}
	d.tele, d.teleOff = openTelemetry(d.pciBusID())
	log.Info("cuda device opened", zap.String("device", d.name), zap.String("gpu", d.gpu),
		zap.String("compute", fmt.Sprintf("%d.%d", d.major, d.minor)), zap.String("kernels", d.target+" ("+d.cached+")"))
	return d, nil
}

// probe reads the device's name, compute capability and memory.
func (d *Device) probe(ordinal int32) error {
	if err := d.drv.check("cuDeviceGet", d.drv.cuDeviceGet(&d.ord, ordinal)); err != nil {
		return err
	}
	name := make([]byte, 256)
	if err := d.drv.check("cuDeviceGetName", d.drv.cuDeviceGetName(&name[0], int32(len(name)), d.ord)); err != nil {
		return err
	}
	d.gpu = strings.TrimRight(string(name), "\x00")
	if i := strings.IndexByte(d.gpu, 0); i >= 0 {
		d.gpu = d.gpu[:i]
	}
	var v int32
	for _, a := range []struct {
		attr int32
		dst  *int
	}{{attrComputeMajor, &d.major}, {attrComputeMinor, &d.minor}, {attrMultiprocessorCount, &d.sms}} {
		if err := d.drv.check("cuDeviceGetAttribute", d.drv.cuDeviceGetAttribute(&v, a.attr, d.ord)); err != nil {
			return err
		}
		*a.dst = int(v)
	}
	return d.drv.check("cuDeviceTotalMem", d.drv.cuDeviceTotalMem(&d.total, d.ord))
}

func (d *Device) pciBusID() string {
	b := make([]byte, 64)
	if d.drv.cuDeviceGetPCIBusId(&b[0], int32(len(b)), d.ord) != 0 {
		return ""
	}
	s := string(b)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return s
}

// loadKernels compiles the embedded kernels for this device (or loads
// them from the cache) and resolves every entry point.
func (d *Device) loadKernels(opts Options) error {
	rtc, err := loadNVRTC(opts.NVRTCPath)
	if err != nil {
		return unavailable("%v", err)
	}
	arch, cubin, ok := target(d.major, d.minor, rtc.archs())
	if !ok {
		return unavailable("NVRTC %s cannot target compute capability %d.%d", rtc.version(), d.major, d.minor)
	}
	d.compiler = "NVRTC " + rtc.version()
	d.target = arch + map[bool]string{true: " cubin", false: " ptx"}[cubin]
	src, err := kernelSource()
	if err != nil {
		return err
	}
	o := nvrtcOptions(arch)
	key := cacheKey(src, o, d.compiler, arch)
	dir := opts.cacheDir()
	img := loadCached(dir, key, cubin)
	d.cached = "cache " + dir
	if img == nil {
		var log string
		img, log, err = rtc.compile(src, "nuri_kernels.cu", o, cubin)
		if err != nil {
			return fmt.Errorf("cuda: compile kernels: %w", err)
		}
		if log != "" {
			d.log.Debug("NVRTC log", zap.String("log", log))
		}
		d.cached = "compiled"
		if err := storeCached(dir, key, cubin, img); err != nil {
			d.log.Warn("kernel cache not written", zap.Error(err))
		}
	}
	return d.do(func() error {
		if err := d.drv.check("cuModuleLoadData", d.drv.cuModuleLoadData(&d.mod, unsafePtr(img))); err != nil {
			return err
		}
		runtime.KeepAlive(img)
		for _, n := range kernelNames() {
			var fn uintptr
			if err := d.drv.check("cuModuleGetFunction "+n, d.drv.cuModuleGetFunction(&fn, d.mod, n)); err != nil {
				return err
			}
			d.fns[n] = fn
		}
		return nil
	})
}

// do runs f with the device's context current on a locked OS thread:
// driver calls act on the calling thread's context, and goroutines move
// between threads.
func (d *Device) do(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return fmt.Errorf("%s: device closed", d.name)
	}
	if err := d.drv.check("cuCtxSetCurrent", d.drv.cuCtxSetCurrent(d.ctx)); err != nil {
		return err
	}
	return f()
}

// Name implements backends.Device.
func (d *Device) Name() string { return d.name }

// Memory implements backends.Device.
func (d *Device) Memory() (free, total uint64) {
	if err := d.do(func() error { return d.drv.check("cuMemGetInfo", d.drv.cuMemGetInfo(&free, &total)) }); err != nil {
		return 0, d.total
	}
	return free, total
}

// matmulType reports the weight types with a CUDA matmul and get_rows.
func matmulType(t quant.Type) bool {
	switch t {
	case quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0,
		quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.IQ4_NL, quant.IQ4_XS,
		quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M:
		return true
	}
	return false
}

func kvType(t quant.Type) bool { return t == quant.F32 || t == quant.F16 || t == quant.Q8_0 }

// VInKCache implements backends.VInKCache: the attention kernel reads V
// rows with any stride, so a latent cache passes K with K's row bytes.
func (d *Device) VInKCache() bool { return true }

// MixesKVTypes implements backends.KVTypeMixer: a cache's K and V may be
// any two of its types (f32, f16, q8_0), each read by its own type's code
// in one attention kernel a pair.
func (d *Device) MixesKVTypes() bool { return true }

// SoftCapsAttention implements backends.AttnSoftCapper.
func (d *Device) SoftCapsAttention() bool { return true }

// StartsAttentionRows implements backends.AttnRowStarter.
func (d *Device) StartsAttentionRows() bool { return true }

// Supports implements backends.Device.
func (d *Device) Supports(op backends.Op, t quant.Type) bool {
	switch op {
	case backends.OpMatMul, backends.OpGetRows:
		return matmulType(t)
	case backends.OpStoreKV, backends.OpAttention:
		return kvType(t)
	}
	return op.OnActivations() && t == quant.F32
}

// Describe implements backends.Describer.
func (d *Device) Describe() []string {
	out := []string{
		fmt.Sprintf("%s, compute capability %d.%d, %d SMs, %.1f GiB", d.gpu, d.major, d.minor, d.sms, float64(d.total)/(1<<30)),
		fmt.Sprintf("kernels %s by %s (%s)", d.target, d.compiler, d.cached),
	}
	if d.tele == nil {
		out = append(out, d.teleOff)
	}
	return out
}

// Stats implements backends.Telemetry.
func (d *Device) Stats() backends.DeviceStats {
	if d.tele == nil {
		return backends.DeviceStats{Missing: []string{d.teleOff}}
	}
	return d.tele.stats()
}

// Close implements backends.Device.
func (d *Device) Close() error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return nil
	}
	var err error
	if d.mod != 0 {
		err = d.do(func() error { return d.drv.check("cuModuleUnload", d.drv.cuModuleUnload(d.mod)) })
		d.mod = 0
	}
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	if d.ctx != 0 {
		err = errors.Join(err, d.drv.check("cuDevicePrimaryCtxRelease", d.drv.cuDevicePrimaryCtxRelease(d.ord)))
	}
	if d.tele != nil {
		d.tele.close()
	}
	return err
}

// List reports the GPUs of this machine, or why there are none usable.
func List(opts Options) []backends.Availability {
	drv, err := loadDriver(opts.DriverPath)
	if err == nil {
		err = drv.check("cuInit", drv.cuInit(0))
	}
	var count int32
	if err == nil {
		err = drv.check("cuDeviceGetCount", drv.cuDeviceGetCount(&count))
	}
	if err == nil && count == 0 {
		err = errors.New("no CUDA GPU present")
	}
	if err != nil {
		return []backends.Availability{{Name: "cuda", Reason: err.Error()}}
	}
	rtcReason := ""
	if _, err := loadNVRTC(opts.NVRTCPath); err != nil {
		rtcReason = err.Error()
	}
	var out []backends.Availability
	for i := int32(0); i < count; i++ {
		d := &Device{drv: drv}
		a := backends.Availability{Name: fmt.Sprintf("cuda:%d", i), Available: rtcReason == "", Reason: rtcReason}
		if err := d.probe(i); err != nil {
			a.Available, a.Reason = false, err.Error()
		} else {
			a.Details = append(a.Details, fmt.Sprintf("%s, compute capability %d.%d, %d SMs, %.1f GiB",
				d.gpu, d.major, d.minor, d.sms, float64(d.total)/(1<<30)))
			if t, why := openTelemetry(d.pciBusID()); t != nil {
				s := t.stats()
				a.Details = append(a.Details, formatStats(s))
				t.close()
			} else {
				a.Details = append(a.Details, why)
			}
		}
		out = append(out, a)
	}
	return out
}

// formatStats prints a telemetry reading on one line.
func formatStats(s backends.DeviceStats) string {
	return fmt.Sprintf("memory %.1f/%.1f GiB, utilization %.0f%%, %.0f °C, %.0f/%.0f W, SM %d MHz, memory %d MHz",
		float64(s.MemoryUsed)/(1<<30), float64(s.MemoryTotal)/(1<<30), s.Utilization, s.TemperatureC,
		s.PowerW, s.PowerLimitW, s.SMClockMHz, s.MemClockMHz)
}
