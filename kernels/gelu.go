package kernels

import (
	"fmt"
	"math"
	"sync"

	"github.com/nuri-ai/nuri/quant"
)

// geluF16 is gelu's tanh form for every fp16 input, rounded to fp16: the
// table ggml's CPU backend builds at start-up and reads for its gelu and
// geglu (GGML_GELU_FP16), so outputs match it bit for bit. 128 KiB, built
// on first use and never written again.
var geluF16 = sync.OnceValue(func() *[1 << 16]uint16 {
	var t [1 << 16]uint16
	for h := range t {
		t[h] = quant.FP32ToFP16(geluTanh(quant.FP16ToFP32(uint16(h))))
	}
	return &t
})

// geluTanh is 0.5·z·(1 + tanh(√(2/π)·z·(1 + 0.044715·z²))) in float32
// steps, as ggml_gelu_f32.
func geluTanh(z float32) float32 {
	const coefA, sqrt2OverPi = float32(0.044715), float32(0.79788456080286535587989211986876)
	inner := sqrt2OverPi * z * (1 + coefA*z*z)
	return 0.5 * z * (1 + float32(math.Tanh(float64(inner))))
}

// GELUMul sets dst = gelu(gate)·up elementwise, as ggml's geglu on the
// CPU: gate ≤ -10 gives 0, gate ≥ 10 gives gate·up, anything between the
// fp16 table's value for gate rounded to fp16.
func GELUMul(dst, gate, up []float32) {
	if len(gate) != len(dst) || len(up) != len(dst) {
		panic(fmt.Sprintf("kernels.GELUMul: %d outputs, %d gates, %d ups", len(dst), len(gate), len(up)))
	}
	t := geluF16()
	for i, z := range gate {
		switch {
		case z <= -10:
			dst[i] = 0
		case z >= 10:
			dst[i] = z * up[i]
		default:
			dst[i] = quant.FP16ToFP32(t[quant.FP32ToFP16(z)]) * up[i]
		}
	}
}
