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
		for _, x := range a {
			b = append(b, byte(x))
		}
	case []bool:
		for _, x := range a {
			if x {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
	case []uint16:
		for _, x := range a {
			b = le.AppendUint16(b, x)
		}
	case []int16:
		for _, x := range a {
			b = le.AppendUint16(b, uint16(x))
		}
	case []uint32:
		for _, x := range a {
			b = le.AppendUint32(b, x)
		}
	case []int32:
		for _, x := range a {
			b = le.AppendUint32(b, uint32(x))
		}
	case []float32:
		for _, x := range a {
			b = le.AppendUint32(b, math.Float32bits(x))
		}
	case []uint64:
		for _, x := range a {
			b = le.AppendUint64(b, x)
		}
	case []int64:
		for _, x := range a {
			b = le.AppendUint64(b, uint64(x))
		}
	case []float64:
		for _, x := range a {
			b = le.AppendUint64(b, math.Float64bits(x))
		}
	case []string:
		for _, s := range a {
			b = appendString(b, s)
		}
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
