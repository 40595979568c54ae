package npu_test

import (
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/conformance"
	"github.com/nuri-ai/nuri/backends/npu"
	"github.com/nuri-ai/nuri/quant"
)

// TestConformance runs the kit on both profiles. The NPU's matmuls and
// table lookups are int8 (conformance.Int8Limits, chosen because the
// device is a backends.Requantizer); KV caches of block types (Q8_0 and
// the 4- and 5-bit ones) must be refused.
func TestConformance(t *testing.T) {
	for _, p := range npu.Profiles() {
		t.Run(p.Name, func(t *testing.T) {
			dev, err := npu.New(p, 0, npu.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer dev.Close()
			rs := conformance.Run(t, dev)
			for _, r := range rs {
				wantUnsupported := (r.Op == backends.OpStoreKV || r.Op == backends.OpAttention) && r.Type != quant.F16 && r.Type != quant.F32
				if got := r.Status == conformance.Unsupported; got != wantUnsupported {
					t.Errorf("%v %v: status %v, want unsupported=%v", r.Op, r.Type, r.Status, wantUnsupported)
				}
			}
		})
	}
}
