package npu

import (
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// Options configures a simulated device.
type Options struct {
	// Threads runs the simulation's arithmetic (0: one per CPU). It sets
	// how long the simulation takes, never the simulated time.
	Threads int
	// Capacity overrides the profile's memory size in bytes (0: the
	// profile's), e.g. to test what does not fit.
	Capacity uint64
	Logger   *zap.Logger
}

// Device is one simulated NPU card.
type Device struct {
	name     string
	prof     Profile
	capacity uint64
	log      *zap.Logger
	host     *cpu.Device   // the float ops' arithmetic
	pool     *kernels.Pool // int8 GEMM workers
	clock    *clock

	mu    sync.Mutex
	used  [3]uint64 // bytes by usage
	quant quantLog
}

var (
	_ backends.Device        = (*Device)(nil)
	_ backends.ShapeBucketer = (*Device)(nil)
	_ backends.Simulated     = (*Device)(nil)
	_ backends.Requantizer   = (*Device)(nil)
	_ backends.BufferFreer   = (*Device)(nil)
	_ backends.HostMapped    = (*Device)(nil)
	_ backends.Describer     = (*Device)(nil)
)

// New returns card index of profile p, named "npu:<index>" for the
// default profile and "npu:<profile>:<index>" otherwise.
func New(p Profile, index int, opts Options) (*Device, error) {
	if index < 0 {
		return nil, fmt.Errorf("npu card %d: %w", index, backends.ErrUnknownDevice)
	}
	if p.Memory == 0 || p.Bandwidth <= 0 || p.Int8OPS <= 0 || p.FloatOPS <= 0 || p.HostBandwidth <= 0 {
		return nil, fmt.Errorf("npu profile %q: memory, bandwidths and peak rates must be positive", p.Name)
	}
	name := fmt.Sprintf("npu:%d", index)
	if p.Name != Profiles()[0].Name {
		name = fmt.Sprintf("npu:%s:%d", p.Name, index)
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	capacity := p.Memory
	if opts.Capacity > 0 {
		capacity = opts.Capacity
	}
	return &Device{name: name, prof: p, capacity: capacity, log: log.With(zap.String("device", name)),
		host: cpu.New(opts.Threads), pool: kernels.NewPool(opts.Threads), clock: newClock()}, nil
}

// Open opens the device named by the part of a device name after "npu:"
// (see ParseConfig).
func Open(cfg string, opts Options) (*Device, error) {
	p, idx, err := ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	return New(p, idx, opts)
}

// List describes the simulated profiles for a device listing.
func List() []backends.Availability {
	var out []backends.Availability
	for i, p := range Profiles() {
		det := []string{"simulated " + p.String(), "shape buckets " + p.Buckets.String()}
		if i == 0 {
			det = append(det, "the default profile: npu:0, npu:1, ... are cards of it")
		}
		out = append(out, backends.Availability{Name: "npu:" + p.Name, Available: true, Details: det})
	}
	return out
}

// Name implements backends.Device.
func (d *Device) Name() string { return d.name }

// Profile returns the simulated chip.
func (d *Device) Profile() Profile { return d.prof }

// Buckets implements backends.ShapeBucketer.
func (d *Device) Buckets() backends.Buckets { return d.prof.Buckets }

// SimTime implements backends.Simulated.
func (d *Device) SimTime() time.Duration { return d.clock.snapshot().Time }

// SimStats returns the simulated time and the work behind it.
func (d *Device) SimStats() SimStats { return d.clock.snapshot() }

// ResetSim zeroes the simulated clock (between benchmark phases).
func (d *Device) ResetSim() { d.clock.reset() }

// Describe implements backends.Describer.
func (d *Device) Describe() []string {
	return []string{
		"simulated " + d.prof.String(),
		"weights int8 per output channel (symmetric), activations int8 per row, int32 accumulation",
		"shape buckets " + d.prof.Buckets.String(),
	}
}

// kvType reports the KV cache formats the chip's DMA engines handle.
func kvType(t quant.Type) bool { return t == quant.F16 || t == quant.F32 }

// uploadable reports whether weights of type t can be requantized: every
// format the quant package decodes, plus the chip's own int8.
func uploadable(t quant.Type) bool { return t == quant.I8 || quant.CanDequantize(t) }

// VInKCache implements backends.VInKCache: the cost model charges a
// latent cache's rows once and the host stream reads V through K.
func (d *Device) VInKCache() bool { return true }

// MixesKVTypes implements backends.KVTypeMixer: K and V may be F16 and
// F32 apart; the cost model charges each side's own row bytes and the host
// stream reads each with its type's loops.
func (d *Device) MixesKVTypes() bool { return true }

// SoftCapsAttention implements backends.AttnSoftCapper.
func (d *Device) SoftCapsAttention() bool { return true }

// StartsAttentionRows implements backends.AttnRowStarter (its attention
// runs on the host stream).
func (d *Device) StartsAttentionRows() bool { return true }

// Supports implements backends.Device.
func (d *Device) Supports(op backends.Op, t quant.Type) bool {
	switch op {
	case backends.OpMatMul, backends.OpGetRows:
		return uploadable(t)
	case backends.OpStoreKV, backends.OpAttention:
		return kvType(t)
	}
	return op.OnActivations() && t == quant.F32
}

// NewStream implements backends.Device.
func (d *Device) NewStream() (backends.Stream, error) {
	hs, err := d.host.NewStream()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.name, err)
	}
	return &Stream{dev: d, host: hs}, nil
}

// Close implements backends.Device.
func (d *Device) Close() error {
	d.pool.Close()
	return d.host.Close()
}
