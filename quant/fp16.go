package quant

import (
	"encoding/binary"
	"math"
)

// IEEE binary16 and bfloat16 conversions, bit-compatible with ggml's
// (x86 F16C for fp16, ggml_compute_fp32_to_bf16 for bf16): round to nearest,
// ties to even, fp16 subnormals kept, NaNs made quiet.

// FP16ToFP32 widens an IEEE binary16 value to float32 (exact).
func FP16ToFP32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // inf or NaN: keep the payload
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	default: // subnormal: mant * 2^-24, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
}

// FP32ToFP16 rounds a float32 to the nearest IEEE binary16 (ties to even),
// overflowing to ±inf and keeping subnormals, as x86's vcvtps2ph does.
func FP32ToFP16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 { // NaN: quiet it, keep the top payload bits
			return sign | 0x7e00 | uint16(mant>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased fp16 exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// fp16 subnormal (or zero): the value is m·2^(e-38) with the
		// implicit bit restored; in units of 2^-24 that is m >> (14-e).
		if e < -10 {
			return sign // below half the smallest subnormal: rounds to 0
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		q := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && q&1 == 1) {
			q++ // may carry into the smallest normal: still the right encoding
		}
		return sign | uint16(q)
	}
	q := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && q&1 == 1) {
		q++ // a carry into the exponent (up to inf) is the correct result
	}
	return sign | uint16(q)
}

// BF16ToFP32 widens a bfloat16 to float32 (exact).
func BF16ToFP32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// FP32ToBF16 rounds a float32 to bfloat16, ties to even, NaNs made quiet
// (ggml_compute_fp32_to_bf16; subnormals are not flushed).
func FP32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

// Little-endian field accessors for block layouts.

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

func put16(b []byte, v uint16) { binary.LittleEndian.PutUint16(b, v) }

func f16at(b []byte) float32 { return FP16ToFP32(binary.LittleEndian.Uint16(b)) }

func f32at(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

func putf32(b []byte, v float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(v)) }
