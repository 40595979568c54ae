package kernels

import (
	"reflect"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// nearTypes are the weight types with near twins (gen_packed.py,
// NEAR_PREFETCH).
var nearTypes = []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K}

func TestParsePrefetch(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Prefetch
		ok   bool
	}{{"", PrefetchAuto, true}, {"auto", PrefetchAuto, true}, {"near", PrefetchNear, true}, {"far", PrefetchFar, true}, {"Near", PrefetchAuto, false}, {"2", PrefetchAuto, false}} {
		got, err := ParsePrefetch(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParsePrefetch(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok {
			var back Prefetch
			b, _ := got.MarshalText()
			if err := back.UnmarshalText(b); err != nil || back != got {
				t.Errorf("%v: text round trip gave %v, %v", got, back, err)
			}
		}
	}
}

func TestPoolPrefetchResolves(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	if m, start := p.Prefetch(); m != PrefetchAuto || (start == PrefetchNear) != nearPrefetchCPU || start == PrefetchAuto {
		t.Errorf("auto: Prefetch() = %v, %v (CPU vendor %q)", m, start, CPUVendor())
	}
	if (CPUVendor() == "AuthenticAMD") != nearPrefetchCPU {
		t.Errorf("vendor %q: near by default %v", CPUVendor(), nearPrefetchCPU)
	}
	for _, m := range []Prefetch{PrefetchNear, PrefetchFar} {
		p.SetPrefetch(m)
		if got, start := p.Prefetch(); got != m || start != m {
			t.Errorf("SetPrefetch(%v): Prefetch() = %v, %v", m, got, start)
		}
	}
	// Each setter keeps the other's mode and forgets the measurements.
	p.SetPacing(PacingOff)
	p.SetPrefetch(PrefetchNear)
	p.pk.pacer.classes = append(p.pk.pacer.classes, paceClass{})
	p.SetPacing(PacingOn)
	if pc := p.pk.pacer; pc.prefetch != PrefetchNear || pc.mode != PacingOn || len(pc.classes) != 0 {
		t.Errorf("SetPacing after SetPrefetch: %+v", pc)
	}
	p.pk.pacer.classes = append(p.pk.pacer.classes, paceClass{})
	p.SetPrefetch(PrefetchFar)
	if pc := p.pk.pacer; pc.prefetch != PrefetchFar || pc.mode != PacingOn || len(pc.classes) != 0 {
		t.Errorf("SetPrefetch after SetPacing: %+v", pc)
	}
}

func TestSingleRowKernelChoice(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	fn := func(k streamKernel) uintptr { return reflect.ValueOf(k).Pointer() }
	for _, wt := range nearTypes {
		s := packedSetOf(wt, false)
		if s.nearStreams == nil || s.pacedStreams == nil {
			t.Fatalf("%v: near %v, paced %v: want both twins", wt, s.nearStreams != nil, s.pacedStreams != nil)
		}
		for _, tc := range []struct {
			paced, near bool
			want        streamKernel
		}{{false, false, s.streams}, {false, true, s.nearStreams}, {true, false, s.pacedStreams}, {true, true, s.pacedStreams}} {
			if got := s.singleRowKernel(tc.paced, tc.near); fn(got) != fn(tc.want) {
				t.Errorf("%v paced %v near %v: wrong kernel", wt, tc.paced, tc.near)
			}
		}
	}
	// A type without near twins keeps its plain kernel.
	if s := packedSetOf(quant.Q5_0, false); fn(s.singleRowKernel(false, true)) != fn(s.streams) {
		t.Error("Q5_0 near: want the plain kernel")
	}
}
