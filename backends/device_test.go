package backends

import "testing"

// TestOpOnActivations: the ops on weights or on a cache are the only ones
// a device answers by type; every other op is F32 alone.
func TestOpOnActivations(t *testing.T) {
	byType := map[Op]bool{OpGetRows: true, OpMatMul: true, OpStoreKV: true, OpAttention: true}
	for o := Op(0); int(o) < len(opNames); o++ {
		if got := o.OnActivations(); got == byType[o] {
			t.Errorf("%v.OnActivations() = %v", o, got)
		}
	}
	if Op(len(opNames)).OnActivations() {
		t.Error("an op past the last is on activations")
	}
}
