package kernels

// Prefetch says how far ahead of their reading the single-row stream
// kernels of Q4_0, Q8_0, Q4_K and Q6_K ask for their weights, where they
// run plain (the paced twins, Pacing, keep the far distances). The best
// distance depends on how fast a core's memory is: on the 2-core Intel
// Xeon VM of the machine kind a core reads 16-20 GB/s and the far
// distances kept more misses in flight, while on a 2-core Zen 5 VM, whose
// cores read 35-42 GB/s each, the near ones made llama-1b decode steps
// 3-11 % faster (gen_packed.py, NEAR_PREFETCH). The outputs are the same
// bits either way.
type Prefetch uint8

const (
	// PrefetchAuto takes the near distances on AMD CPUs and the far ones
	// on the others.
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

// near reports whether the mode takes the near distances on this CPU.
func (m Prefetch) near() bool {
	if m == PrefetchAuto {
		return nearPrefetchCPU
	}
	return m == PrefetchNear
}

// thisCPUVendor is this CPU's vendor string (cpuVendor), read once: CPUID may
// trap to the hypervisor in a VM.
var thisCPUVendor = cpuVendor()

// nearPrefetchCPU: PrefetchAuto's choice on this CPU, by its vendor.
var nearPrefetchCPU = thisCPUVendor == "AuthenticAMD"

// SetPrefetch chooses the prefetch distances of this Pool's single-row
// stream kernels (PrefetchAuto by default).
func (p *Pool) SetPrefetch(m Prefetch) {
	p.mu.Lock()
	p.pk.prefetch = m
	p.mu.Unlock()
}

// Prefetch reports the distances this Pool's single-row calls take,
// PrefetchNear or PrefetchFar, and whether they were chosen for this CPU
// (PrefetchAuto) rather than set. A nil Pool reports the default.
func (p *Pool) Prefetch() (m Prefetch, auto bool) {
	m = PrefetchAuto
	if p != nil {
		p.mu.Lock()
		m = p.pk.prefetch
		p.mu.Unlock()
	}
	auto = m == PrefetchAuto
	if m.near() {
		return PrefetchNear, auto
	}
	return PrefetchFar, auto
}

// CPUVendor is the CPU's vendor string ("GenuineIntel", "AuthenticAMD",
// ...; "" on architectures without one), which PrefetchAuto goes by.
func CPUVendor() string { return thisCPUVendor }
