package quant

import (
	"fmt"
	"math"
)

// RandomBlocks fills dst with whole blocks of type t made of random codes
// from next, each block's scale set so that its values' RMS is rms. It is
// for the types Nuri reads but cannot quantize (CanDequantize, not
// Supported): synthetic models and test weights in them, which would
// otherwise need their codebook-searching quantizers.
func RandomBlocks(t Type, dst []byte, next func() uint64, rms float64) error {
	if Supported(t) || !CanDequantize(t) || !t.Traits().Quantized {
		return fmt.Errorf("quant.RandomBlocks: %v is not a read-only block type", t)
	}
	bb, qk := t.BlockBytes(), t.BlockSize()
	if len(dst)%bb != 0 {
		return fmt.Errorf("quant.RandomBlocks: %d bytes are not whole %v blocks", len(dst), t)
	}
	vals := make([]float32, qk)
	for o := 0; o < len(dst); o += bb {
		blk := dst[o : o+bb]
		for i := 0; i < bb; i += 8 {
			x := next()
			for j := i; j < min(i+8, bb); j++ {
				blk[j] = byte(x >> (8 * (j - i)))
			}
		}
		setBlockScale(t, blk, FP32ToFP16(1))
		if err := Dequantize(t, blk, vals); err != nil {
			return err
		}
		var ss float64
		for _, v := range vals {
			ss += float64(v) * float64(v)
		}
		d := float32(0)
		if got := math.Sqrt(ss / float64(qk)); got > 0 {
			d = float32(rms / got)
		}
		setBlockScale(t, blk, FP32ToFP16(d))
	}
	return nil
}

// setBlockScale writes a read-only i-quant block's fp16 super-block scale:
// the first two bytes, or IQ1_M's four top nibbles of its scale words.
func setBlockScale(t Type, blk []byte, d uint16) {
	if t != IQ1_M {
		put16(blk, d)
		return
	}
	for k := 0; k < 4; k++ {
		o := 48 + 2*k
		put16(blk[o:], le16(blk[o:])&0x0fff|(d>>(4*k)&0xf)<<12)
	}
}
