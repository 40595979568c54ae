package npu

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nuri-ai/nuri/backends"
)

// Profile is the simulated chip: its memory and its peak rates. Ops are
// counted as in vendor data sheets, a multiply-add being two ops.
type Profile struct {
	Name       string // "rngd": what --device npu:NAME takes
	Class      string // "RNGD-class"
	Memory     uint64 // bytes of device memory
	MemoryKind string
	Bandwidth  float64 // device memory bytes/s
	Int8OPS    float64 // int8 tensor ops/s
	FP8OPS     float64 // FP8 tensor ops/s (0: none)
	FloatOPS   float64 // BF16/FP16 ops/s, charged to the float ops
	FloatName  string  // "BF16" or "FP16"
	// HostBandwidth is the host link (PCIe Gen5 x16: 64 GB/s each way),
	// charged for tensors that live in host memory and for Read/Write.
	HostBandwidth float64
	Buckets       backends.Buckets
}

// defaultBuckets are the compiled shapes: decode batches of 1..16 and
// prefill chunks padded to 64 tokens.
func defaultBuckets() backends.Buckets {
	return backends.Buckets{BatchSizes: []int{1, 2, 4, 8, 16}, TokenMultiple: 64}
}

// Profiles returns the simulated chips, the default (npu:0) first. The
// figures are the public data-sheet numbers of FuriosaAI's RNGD and
// Rebellions' ATOM class of chips.
func Profiles() []Profile {
	return []Profile{
		{Name: "rngd", Class: "RNGD-class", Memory: 48 << 30, MemoryKind: "HBM3", Bandwidth: 1.5e12,
			Int8OPS: 512e12, FP8OPS: 512e12, FloatOPS: 256e12, FloatName: "BF16", HostBandwidth: 64e9,
			Buckets: defaultBuckets()},
		{Name: "atom", Class: "ATOM-class", Memory: 16 << 30, MemoryKind: "GDDR6", Bandwidth: 256e9,
			Int8OPS: 128e12, FloatOPS: 32e12, FloatName: "FP16", HostBandwidth: 64e9,
			Buckets: defaultBuckets()},
	}
}

// LookupProfile returns the profile called name.
func LookupProfile(name string) (Profile, error) {
	var names []string
	for _, p := range Profiles() {
		if p.Name == strings.ToLower(name) {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("npu profile %q (known: %s): %w", name, strings.Join(names, ", "), backends.ErrUnknownDevice)
}

// ParseConfig reads the part of a device name after "npu:": "" or "N"
// (card N of the default profile), "PROFILE" or "PROFILE:N".
func ParseConfig(cfg string) (Profile, int, error) {
	cfg = strings.TrimSpace(cfg)
	if cfg == "" {
		return Profiles()[0], 0, nil
	}
	name, idx, hasIdx := strings.Cut(cfg, ":")
	if n, err := strconv.Atoi(name); err == nil && !hasIdx {
		if n < 0 {
			return Profile{}, 0, fmt.Errorf("npu card %d: %w", n, backends.ErrUnknownDevice)
		}
		return Profiles()[0], n, nil
	}
	p, err := LookupProfile(name)
	if err != nil {
		return Profile{}, 0, err
	}
	if !hasIdx {
		return p, 0, nil
	}
	n, err := strconv.Atoi(idx)
	if err != nil || n < 0 {
		return Profile{}, 0, fmt.Errorf("npu card %q: %w", idx, backends.ErrUnknownDevice)
	}
	return p, n, nil
}

// String describes the chip in one line.
func (p Profile) String() string {
	s := fmt.Sprintf("%s: %s %s at %s, %s int8", p.Class, gib(p.Memory), p.MemoryKind, rate(p.Bandwidth, "B/s"), rate(p.Int8OPS, "OPS"))
	if p.FP8OPS > 0 {
		s += ", " + rate(p.FP8OPS, "OPS") + " FP8"
	}
	return s + fmt.Sprintf(", %s %s", rate(p.FloatOPS, "FLOPS"), p.FloatName)
}

// gib prints a byte count in GiB, or MiB/KiB when smaller.
func gib(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
}

// rate prints a per-second figure with an SI prefix: "1.5 TB/s".
func rate(v float64, unit string) string {
	for _, p := range []struct {
		f float64
		s string
	}{{1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}} {
		if v >= p.f {
			return strconv.FormatFloat(v/p.f, 'f', -1, 64) + " " + p.s + unit
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + " " + unit
}
