package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// appendString appends a GGUF string (uint64 length, bytes).
func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue appends the encoding of v without its type tag.
func appendValue(b []byte, v Value) ([]byte, error) {
	if !v.ok {
		return b, fmt.Errorf("invalid (zero) value")
	}
	switch v.typ {
	case TypeString:
		return appendString(b, v.str), nil
	case TypeArray:
		return appendArray(b, v)
	}
	switch v.typ.size() {
	case 1:
		return append(b, byte(v.num)), nil
	case 2:
		return binary.LittleEndian.AppendUint16(b, uint16(v.num)), nil
	case 4:
		return binary.LittleEndian.AppendUint32(b, uint32(v.num)), nil
	case 8:
		return binary.LittleEndian.AppendUint64(b, v.num), nil
	}
	return b, fmt.Errorf("unknown value type %d", v.typ)
}

func appendArray(b []byte, v Value) ([]byte, error) {
	le := binary.LittleEndian
	b = le.AppendUint32(b, uint32(v.elem))
	b = le.AppendUint64(b, uint64(v.Len()))
	switch a := v.arr.(type) {
	case []uint8:
		b = append(b, a...)
	case []int8:
		b = appendEach(b, a, func(b []byte, x int8) []byte { return append(b, byte(x)) })
	case []bool:
		b = appendEach(b, a, func(b []byte, x bool) []byte {
			if x {
				return append(b, 1)
			}
			return append(b, 0)
		})
	case []uint16:
		b = appendEach(b, a, le.AppendUint16)
	case []int16:
		b = appendEach(b, a, func(b []byte, x int16) []byte { return le.AppendUint16(b, uint16(x)) })
	case []uint32:
		b = appendEach(b, a, le.AppendUint32)
	case []int32:
		b = appendEach(b, a, func(b []byte, x int32) []byte { return le.AppendUint32(b, uint32(x)) })
	case []float32:
		b = appendEach(b, a, func(b []byte, x float32) []byte { return le.AppendUint32(b, math.Float32bits(x)) })
	case []uint64:
		b = appendEach(b, a, le.AppendUint64)
	case []int64:
		b = appendEach(b, a, func(b []byte, x int64) []byte { return le.AppendUint64(b, uint64(x)) })
	case []float64:
		b = appendEach(b, a, func(b []byte, x float64) []byte { return le.AppendUint64(b, math.Float64bits(x)) })
	case []string:
		b = appendEach(b, a, appendString)
	case []Value:
		for i, e := range a {
			if e.typ != TypeArray {
				return b, fmt.Errorf("nested array element %d is a %s", i, e.typ)
			}
			var err error
			if b, err = appendArray(b, e); err != nil {
				return b, err
			}
		}
	default:
		return b, fmt.Errorf("array of %s has no elements payload", v.elem)
	}
	return b, nil
}

// appendEach appends every element of a to b with put.
func appendEach[T any](b []byte, a []T, put func([]byte, T) []byte) []byte {
	for _, x := range a {
		b = put(b, x)
	}
	return b
}
