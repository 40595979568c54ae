package kernels

// Prefetch says how far ahead of their reading the single-row stream
// kernels of Q4_0, Q8_0, Q3_K, Q4_K, Q5_K and Q6_K ask for their weights,
// where they run plain (the paced twins, Pacing, keep the far distances).
// The best distance depends on how fast a core's memory is: on the 2-core
// Intel Xeon VM of the machine kind a core reads 16-20 GB/s and
// the far distances kept more misses in flight, while on a 2-core Zen 5
// VM, whose cores read 35-42 GB/s each, the near ones made llama-1b decode
// steps 3-11 % faster (gen_packed.py, NEAR_PREFETCH). Neither CPU kind
// nor vendor settles it for a machine not yet measured, so by default the
// pool times both on the model's own calls, as it does the paced twins
// (pacer). The outputs are the same bits either way.
type Prefetch uint8

const (
	// PrefetchAuto measures both distances during single-row calls and
	// runs the faster, per kind of call (pacer). Calls start on the near
	// distances on AMD CPUs and on the far ones on the others, and calls
	// that are not measured keep that start.
	PrefetchAuto Prefetch = iota
	// PrefetchNear takes the near distances.
	PrefetchNear
	// PrefetchFar takes the far distances.
	PrefetchFar
)

var prefetchNames = enumNames{PrefetchAuto: "auto", PrefetchNear: "near", PrefetchFar: "far"}

// ParsePrefetch reads a prefetch mode's name: "" or "auto", "near", "far".
func ParsePrefetch(s string) (Prefetch, error) {
	v, err := prefetchNames.parse("prefetch", s)
	return Prefetch(v), err
}

func (m Prefetch) String() string { return prefetchNames.name("Prefetch", uint8(m)) }

// MarshalText writes the mode's name.
func (m Prefetch) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads a name ParsePrefetch accepts.
func (m *Prefetch) UnmarshalText(b []byte) error {
	v, err := ParsePrefetch(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// near reports whether the mode takes, or under PrefetchAuto starts on,
// the near distances on this CPU.
func (m Prefetch) near() bool {
	if m == PrefetchAuto {
		return nearPrefetchCPU
	}
	return m == PrefetchNear
}

// thisCPUVendor is this CPU's vendor string (cpuVendor), read once: CPUID may
// trap to the hypervisor in a VM.
var thisCPUVendor = cpuVendor()

// nearPrefetchCPU: PrefetchAuto's start on this CPU, by its vendor.
var nearPrefetchCPU = thisCPUVendor == "AuthenticAMD"

// SetPrefetch chooses the prefetch distances of this Pool's single-row
// stream kernels (PrefetchAuto by default). Changing it forgets what the
// pool has measured.
func (p *Pool) SetPrefetch(m Prefetch) {
	p.mu.Lock()
	p.pk.pacer = pacer{mode: p.pk.pacer.mode, prefetch: m}
	p.mu.Unlock()
}

// Prefetch reports this Pool's prefetch mode as set, and the distances
// its single-row calls start on (under PrefetchAuto, until the pool has
// measured; PacingReport says what it then chose) or keep: PrefetchNear
// or PrefetchFar. A nil Pool reports the default.
func (p *Pool) Prefetch() (mode, start Prefetch) {
	mode = PrefetchAuto
	if p != nil {
		p.mu.Lock()
		mode = p.pk.pacer.prefetch
		p.mu.Unlock()
	}
	if mode.near() {
		return mode, PrefetchNear
	}
	return mode, PrefetchFar
}

// CPUVendor is the CPU's vendor string ("GenuineIntel", "AuthenticAMD",
// ...; "" on architectures without one), which PrefetchAuto's start goes
// by.
func CPUVendor() string { return thisCPUVendor }
