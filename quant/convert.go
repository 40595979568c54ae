package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Quantize and Dequantize dispatch over the supported types. Each block
// format has one function per direction that handles a single block.

type blockFuncs struct {
	quantize   func(x []float32, y []byte)
	dequantize func(x []byte, y []float32)
}

// blockTypes lists the block formats Quantize and Dequantize support. It is
// built by a function (not a package variable) so nothing global is mutable.
func blockTypes(t Type) (blockFuncs, bool) {
	switch t {
	case Q4_0:
		return blockFuncs{quantizeQ4_0Block, dequantizeQ4_0Block}, true
	case Q4_1:
		return blockFuncs{quantizeQ4_1Block, dequantizeQ4_1Block}, true
	case Q5_0:
		return blockFuncs{quantizeQ5_0Block, dequantizeQ5_0Block}, true
	case Q5_1:
		return blockFuncs{quantizeQ5_1Block, dequantizeQ5_1Block}, true
	case Q8_0:
		return blockFuncs{quantizeQ8_0Block, dequantizeQ8_0Block}, true
	case Q8_1:
		return blockFuncs{quantizeQ8_1Block, dequantizeQ8_1Block}, true
	case Q2_K:
		return blockFuncs{quantizeQ2_KBlock, dequantizeQ2_KBlock}, true
	case Q3_K:
		return blockFuncs{quantizeQ3_KBlock, dequantizeQ3_KBlock}, true
	case Q4_K:
		return blockFuncs{quantizeQ4_KBlock, dequantizeQ4_KBlock}, true
	case Q5_K:
		return blockFuncs{quantizeQ5_KBlock, dequantizeQ5_KBlock}, true
	case Q6_K:
		return blockFuncs{quantizeQ6_KBlock, dequantizeQ6_KBlock}, true
	case Q8_K:
		return blockFuncs{quantizeQ8_KBlock, dequantizeQ8_KBlock}, true
	case IQ4_NL:
		return blockFuncs{quantizeIQ4_NLBlock, dequantizeIQ4_NLBlock}, true
	case IQ4_XS:
		return blockFuncs{quantizeIQ4_XSBlock, dequantizeIQ4_XSBlock}, true
	// The i-quants below 4 bits (iquants.go; quantizers in iqgridquant.go
	// and iq1quant.go).
	case IQ2_XXS:
		return blockFuncs{iqGridQuantizer(IQ2_XXS), dequantizeIQ2_XXSBlock}, true
	case IQ2_XS:
		return blockFuncs{iqGridQuantizer(IQ2_XS), dequantizeIQ2_XSBlock}, true
	case IQ2_S:
		return blockFuncs{iqGridQuantizer(IQ2_S), dequantizeIQ2_SBlock}, true
	case IQ3_XXS:
		return blockFuncs{iqGridQuantizer(IQ3_XXS), dequantizeIQ3_XXSBlock}, true
	case IQ3_S:
		return blockFuncs{iqGridQuantizer(IQ3_S), dequantizeIQ3_SBlock}, true
	case IQ1_S:
		return blockFuncs{func(x []float32, y []byte) { quantizeIQ1_SBlock(x, y, nil, nil) }, dequantizeIQ1_SBlock}, true
	case IQ1_M:
		return blockFuncs{func(x []float32, y []byte) { quantizeIQ1_MBlock(x, y, nil, nil) }, dequantizeIQ1_MBlock}, true
	}
	return blockFuncs{}, false
}

// Supported reports whether both Quantize and Dequantize handle t.
func Supported(t Type) bool {
	if t == F32 || t == F16 || t == BF16 {
		return true
	}
	f, ok := blockTypes(t)
	return ok && f.quantize != nil
}

// CanDequantize reports whether Dequantize handles t: every type Supported
// does (and any type Nuri would read but not write; none is, at present).
func CanDequantize(t Type) bool {
	if t == F32 || t == F16 || t == BF16 {
		return true
	}
	_, ok := blockTypes(t)
	return ok
}

// checkSizes validates an n-element conversion between floats and t's
// bytes; quantizing says which direction, since some types are read only.
func checkSizes(t Type, n, nbytes int, quantizing bool) error {
	if quantizing && !Supported(t) {
		if CanDequantize(t) {
			return fmt.Errorf("quant: type %v can be read but not written", t)
		}
		return fmt.Errorf("quant: type %v is not supported", t)
	}
	if !CanDequantize(t) {
		return fmt.Errorf("quant: type %v is not supported", t)
	}
	want, err := t.RowBytes(n)
	if err != nil {
		return fmt.Errorf("quant: %w", err)
	}
	if nbytes != want {
		return fmt.Errorf("quant: %d %v elements need %d bytes, got %d", n, t, want, nbytes)
	}
	return nil
}

// Quantize converts src to type t into dst with llama.cpp's reference
// quantizer (no importance matrix), bit for bit. len(src) must be a multiple
// of t's block size and len(dst) exactly the bytes that many elements take.
// Rows are independent of each other, so a caller may split a tensor into
// rows (or any block-aligned pieces) and quantize them in parallel.
func Quantize(t Type, src []float32, dst []byte) error {
	if err := checkSizes(t, len(src), len(dst), true); err != nil {
		return err
	}
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
		return nil
	case F16:
		for i, v := range src {
			put16(dst[2*i:], FP32ToFP16(v))
		}
		return nil
	case BF16:
		for i, v := range src {
			put16(dst[2*i:], FP32ToBF16(v))
		}
		return nil
	}
	f, _ := blockTypes(t)
	tr := t.Traits()
	for i, o := 0, 0; i < len(src); i, o = i+tr.BlockSize, o+tr.BlockBytes {
		f.quantize(src[i:i+tr.BlockSize], dst[o:o+tr.BlockBytes])
	}
	return nil
}

// Dequantize expands len(dst) elements of type t from src into dst, exactly
// as ggml's dequantize_row_* functions compute them.
func Dequantize(t Type, src []byte, dst []float32) error {
	if err := checkSizes(t, len(dst), len(src), false); err != nil {
		return err
	}
	switch t {
	case F32:
		for i := range dst {
			dst[i] = f32at(src[4*i:])
		}
		return nil
	case F16:
		for i := range dst {
			dst[i] = FP16ToFP32(le16(src[2*i:]))
		}
		return nil
	case BF16:
		for i := range dst {
			dst[i] = BF16ToFP32(le16(src[2*i:]))
		}
		return nil
	}
	f, _ := blockTypes(t)
	tr := t.Traits()
	for i, o := 0, 0; i < len(dst); i, o = i+tr.BlockSize, o+tr.BlockBytes {
		f.dequantize(src[o:o+tr.BlockBytes], dst[i:i+tr.BlockSize])
	}
	return nil
}
