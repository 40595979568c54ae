package kernels

import (
	"fmt"
	"math"
	"sync"

	"github.com/nuri-ai/nuri/quant"
)

// geluF16 is gelu's tanh form for every fp16 input, rounded to fp16 and
// held as float32 (exact): the table ggml's CPU backend builds at start-up
// and reads for its gelu and geglu (GGML_GELU_FP16), so outputs match it
// bit for bit. 256 KiB, built on first use and never written again; a
// layer's gates touch a few thousand entries of it.
var geluF16 = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range t {
		t[h] = quant.FP16ToFP32(quant.FP32ToFP16(geluTanh(quant.FP16ToFP32(uint16(h)))))
	}
	return &t
})

// GELUTable returns the fp16 table of gelu (as float32, indexed by an
// fp16 value's bits) that GELUMul reads, for devices that run the same
// lookup (the CUDA backend uploads it).
func GELUTable() *[1 << 16]float32 { return geluF16() }

// geluTanh is 0.5·z·(1 + tanh(√(2/π)·z·(1 + 0.044715·z²))) in float32
// steps, as ggml_gelu_f32; the product 0.044715·z² is rounded before the
// add, so arm64 (where Go would fuse them) builds amd64's table.
func geluTanh(z float32) float32 {
	const coefA, sqrt2OverPi = float32(0.044715), float32(0.79788456080286535587989211986876)
	inner := sqrt2OverPi * z * (1 + float32(coefA*z*z))
	return 0.5 * z * (1 + float32(math.Tanh(float64(inner))))
}

// GELUMul sets dst = gelu(gate)·up elementwise, as ggml's geglu on the
// CPU: gate ≤ -10 gives 0, gate ≥ 10 gives gate·up, anything between the
// fp16 table's value for gate rounded to fp16. It is the reference of
// VecOps.GELUMul.
func GELUMul(dst, gate, up []float32) {
	checkGELU(dst, gate, up)
	t := geluF16()
	for i, z := range gate {
		dst[i] = geluAt(t, z, quant.FP32ToFP16(z)) * up[i]
	}
}

// geluAt is gelu(z) with h the fp16 bits of z.
func geluAt(t *[1 << 16]float32, z float32, h uint16) float32 {
	switch {
	case z <= -10:
		return 0
	case z >= 10:
		return z
	}
	return t[h]
}

func checkGELU(dst, gate, up []float32) {
	if len(gate) != len(dst) || len(up) != len(dst) {
		panic(fmt.Sprintf("kernels: GELUMul: %d outputs, %d gates, %d ups", len(dst), len(gate), len(up)))
	}
}

// GELUMul is GELUMul with the gates' fp16 rounding done by the vector
// conversion (ToF16) a run at a time: the same bits, and a gemma-3-1b
// decode step's 6912-wide FFN row in 24 µs on one thread instead of 77
// (the scalar conversion's branches dominated).
func (o VecOps) GELUMul(dst, gate, up []float32) {
	checkGELU(dst, gate, up)
	o.gelu(dst, gate, up)
}

// GELU sets dst = gelu(x) elementwise through the same table (ggml's gelu
// on the CPU: encoders' FFNs): GELUMul with every up 1, the same bits.
func (o VecOps) GELU(dst, x []float32) {
	if len(x) != len(dst) {
		panic(fmt.Sprintf("kernels: GELU: %d outputs, %d inputs", len(dst), len(x)))
	}
	o.gelu(dst, x, nil)
}

// gelu is GELUMul, or GELU when up is nil: eight at a time by the vector
// conversion and a gather from the table where the CPU has them (the same
// bits), the rest by ToF16 a run at a time.
func (o VecOps) gelu(dst, gate, up []float32) {
	t := geluF16()
	if hasQuantAsm && (o.fast || o.avx2) && len(gate) >= 8 {
		n8 := len(gate) / 8
		var u *float32
		if up != nil {
			u = &up[0]
		}
		geluF16Table(&gate[0], u, n8, &t[0], &dst[0])
		done := 8 * n8
		if done == len(gate) {
			return
		}
		dst, gate = dst[done:], gate[done:]
		if up != nil {
			up = up[done:]
		}
	}
	var hs [256]uint16
	for off := 0; off < len(gate); off += len(hs) {
		g := gate[off:min(off+len(hs), len(gate))]
		h := hs[:len(g)]
		o.ToF16(h, g)
		d := dst[off : off+len(g)]
		if up == nil {
			for i, z := range g {
				d[i] = geluAt(t, z, h[i])
			}
			continue
		}
		u := up[off : off+len(g)]
		for i, z := range g {
			d[i] = geluAt(t, z, h[i]) * u[i]
		}
	}
}
