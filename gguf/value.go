package gguf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ValueType is a metadata value type id (gguf_type).
type ValueType uint32

// The GGUF metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32",
	"FLOAT32", "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"}

// Valid reports whether t is one of the thirteen GGUF value types.
func (t ValueType) Valid() bool { return t <= TypeFloat64 }

func (t ValueType) String() string {
	if t.Valid() {
		return valueTypeNames[t]
	}
	return "type(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// size is the encoded size of a scalar of type t; for strings and arrays it
// is the smallest possible encoding (an empty one), which is what the reader
// uses to bound counts by the bytes left in the file.
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64, TypeString:
		return 8
	case TypeArray:
		return 12 // element type + count
	}
	return 0
}

func (t ValueType) isInt() bool {
	switch t {
	case TypeUint8, TypeInt8, TypeUint16, TypeInt16, TypeUint32, TypeInt32, TypeUint64, TypeInt64:
		return true
	}
	return false
}

func (t ValueType) isSigned() bool {
	return t == TypeInt8 || t == TypeInt16 || t == TypeInt32 || t == TypeInt64
}

// Value is one metadata value: a scalar, a string or an array (whose
// elements may themselves be arrays). The zero Value is invalid.
//
// Scalars keep their exact stored type so that a file read and written back
// is unchanged. Array payloads are typed Go slices ([]uint32, []string, ...;
// []Value for arrays of arrays) shared with the caller where an accessor
// returns them: do not modify slices obtained from a Value.
type Value struct {
	typ  ValueType
	elem ValueType // element type of an array
	num  uint64    // integer (sign-extended), bool (0/1) or float bits (float32 bits for FLOAT32)
	str  string
	arr  any
	ok   bool
}

// Scalar constructors.

func Uint8(v uint8) Value   { return Value{typ: TypeUint8, num: uint64(v), ok: true} }
func Int8(v int8) Value     { return Value{typ: TypeInt8, num: uint64(int64(v)), ok: true} }
func Uint16(v uint16) Value { return Value{typ: TypeUint16, num: uint64(v), ok: true} }
func Int16(v int16) Value   { return Value{typ: TypeInt16, num: uint64(int64(v)), ok: true} }
func Uint32(v uint32) Value { return Value{typ: TypeUint32, num: uint64(v), ok: true} }
func Int32(v int32) Value   { return Value{typ: TypeInt32, num: uint64(int64(v)), ok: true} }
func Uint64(v uint64) Value { return Value{typ: TypeUint64, num: v, ok: true} }
func Int64(v int64) Value   { return Value{typ: TypeInt64, num: uint64(v), ok: true} }
func Float32(v float32) Value {
	return Value{typ: TypeFloat32, num: uint64(math.Float32bits(v)), ok: true}
}
func Float64(v float64) Value { return Value{typ: TypeFloat64, num: math.Float64bits(v), ok: true} }
func String(s string) Value   { return Value{typ: TypeString, str: s, ok: true} }
func Bool(v bool) Value {
	var n uint64
	if v {
		n = 1
	}
	return Value{typ: TypeBool, num: n, ok: true}
}

// Array constructors. The slice is kept, not copied.

func arrayOf(elem ValueType, s any) Value { return Value{typ: TypeArray, elem: elem, arr: s, ok: true} }

func Uint8s(v []uint8) Value     { return arrayOf(TypeUint8, v) }
func Int8s(v []int8) Value       { return arrayOf(TypeInt8, v) }
func Uint16s(v []uint16) Value   { return arrayOf(TypeUint16, v) }
func Int16s(v []int16) Value     { return arrayOf(TypeInt16, v) }
func Uint32s(v []uint32) Value   { return arrayOf(TypeUint32, v) }
func Int32s(v []int32) Value     { return arrayOf(TypeInt32, v) }
func Uint64s(v []uint64) Value   { return arrayOf(TypeUint64, v) }
func Int64s(v []int64) Value     { return arrayOf(TypeInt64, v) }
func Float32s(v []float32) Value { return arrayOf(TypeFloat32, v) }
func Float64s(v []float64) Value { return arrayOf(TypeFloat64, v) }
func Bools(v []bool) Value       { return arrayOf(TypeBool, v) }
func Strings(v []string) Value   { return arrayOf(TypeString, v) }

// Arrays builds an array of arrays. Every element must itself be an array.
func Arrays(v []Value) (Value, error) {
	for i, e := range v {
		if e.typ != TypeArray || !e.ok {
			return Value{}, fmt.Errorf("gguf: nested array element %d is a %s, not an array", i, e.typ)
		}
	}
	return arrayOf(TypeArray, v), nil
}

// IsValid reports whether v was built by a constructor or read from a file.
func (v Value) IsValid() bool { return v.ok }

// Type returns the stored value type.
func (v Value) Type() ValueType { return v.typ }

// ElemType returns an array's element type.
func (v Value) ElemType() ValueType { return v.elem }

// Len returns the number of elements of an array, or 0 for a scalar.
func (v Value) Len() int {
	switch a := v.arr.(type) {
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float32:
		return len(a)
	case []float64:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []Value:
		return len(a)
	}
	return 0
}

// Index returns element i of an array as a Value (ok false when v is not an
// array or i is out of range).
func (v Value) Index(i int) (Value, bool) {
	if v.typ != TypeArray || i < 0 || i >= v.Len() {
		return Value{}, false
	}
	switch a := v.arr.(type) {
	case []uint8:
		return Uint8(a[i]), true
	case []int8:
		return Int8(a[i]), true
	case []uint16:
		return Uint16(a[i]), true
	case []int16:
		return Int16(a[i]), true
	case []uint32:
		return Uint32(a[i]), true
	case []int32:
		return Int32(a[i]), true
	case []uint64:
		return Uint64(a[i]), true
	case []int64:
		return Int64(a[i]), true
	case []float32:
		return Float32(a[i]), true
	case []float64:
		return Float64(a[i]), true
	case []bool:
		return Bool(a[i]), true
	case []string:
		return String(a[i]), true
	case []Value:
		return a[i], true
	}
	return Value{}, false
}

// AsInt64 returns an integer of any width (signed or unsigned) as int64;
// false for non-integers and for UINT64 values above MaxInt64.
func (v Value) AsInt64() (int64, bool) {
	if !v.ok || !v.typ.isInt() {
		return 0, false
	}
	if v.typ == TypeUint64 && v.num > math.MaxInt64 {
		return 0, false
	}
	return int64(v.num), true
}

// AsUint64 returns a non-negative integer of any width as uint64.
func (v Value) AsUint64() (uint64, bool) {
	if !v.ok || !v.typ.isInt() {
		return 0, false
	}
	if v.typ.isSigned() && int64(v.num) < 0 {
		return 0, false
	}
	return v.num, true
}

// AsFloat64 returns a FLOAT32 or FLOAT64 value.
func (v Value) AsFloat64() (float64, bool) {
	switch v.typ {
	case TypeFloat32:
		return float64(math.Float32frombits(uint32(v.num))), true
	case TypeFloat64:
		return math.Float64frombits(v.num), true
	}
	return 0, false
}

// AsBool returns a BOOL value.
func (v Value) AsBool() (bool, bool) {
	if v.typ != TypeBool {
		return false, false
	}
	return v.num != 0, true
}

// AsString returns a STRING value.
func (v Value) AsString() (string, bool) {
	if v.typ != TypeString {
		return "", false
	}
	return v.str, true
}

// AsStrings returns an array of strings (shared, do not modify).
func (v Value) AsStrings() ([]string, bool) {
	a, ok := v.arr.([]string)
	return a, ok && v.typ == TypeArray
}

// AsFloat32s returns an array of FLOAT32 (shared, do not modify); an array
// of FLOAT64 is converted into a new slice.
func (v Value) AsFloat32s() ([]float32, bool) {
	switch a := v.arr.(type) {
	case []float32:
		return a, true
	case []float64:
		out := make([]float32, len(a))
		for i, x := range a {
			out[i] = float32(x)
		}
		return out, true
	}
	return nil, false
}

// AsInt32s returns an array of INT32 (shared, do not modify). An array of any
// other integer type whose values all fit in int32 is converted into a new
// slice; false otherwise.
func (v Value) AsInt32s() ([]int32, bool) {
	if a, ok := v.arr.([]int32); ok {
		return a, true
	}
	if !v.ok || v.typ != TypeArray || !v.elem.isInt() {
		return nil, false
	}
	n := v.Len()
	out := make([]int32, n)
	for i := 0; i < n; i++ {
		e, _ := v.Index(i)
		x, ok := e.AsInt64()
		if !ok || x < math.MinInt32 || x > math.MaxInt32 {
			return nil, false
		}
		out[i] = int32(x)
	}
	return out, true
}

// AsBytes returns an array of UINT8 or INT8 as bytes (shared, do not
// modify).
func (v Value) AsBytes() ([]byte, bool) {
	switch a := v.arr.(type) {
	case []uint8:
		return a, true
	case []int8:
		b := make([]byte, len(a))
		for i, x := range a {
			b[i] = byte(x)
		}
		return b, true
	}
	return nil, false
}

// AsArrays returns the elements of an array of arrays.
func (v Value) AsArrays() ([]Value, bool) {
	a, ok := v.arr.([]Value)
	return a, ok
}

// Interface returns the value as a plain Go value: the integer, float, bool
// or string of the stored width, or the typed slice of an array ([]any of
// nested values for an array of arrays). Suitable for encoding/json.
func (v Value) Interface() any {
	switch v.typ {
	case TypeUint8:
		return uint8(v.num)
	case TypeInt8:
		return int8(v.num)
	case TypeUint16:
		return uint16(v.num)
	case TypeInt16:
		return int16(v.num)
	case TypeUint32:
		return uint32(v.num)
	case TypeInt32:
		return int32(v.num)
	case TypeUint64:
		return v.num
	case TypeInt64:
		return int64(v.num)
	case TypeFloat32:
		return math.Float32frombits(uint32(v.num))
	case TypeFloat64:
		return math.Float64frombits(v.num)
	case TypeBool:
		return v.num != 0
	case TypeString:
		return v.str
	case TypeArray:
		if a, ok := v.arr.([]Value); ok {
			out := make([]any, len(a))
			for i, e := range a {
				out[i] = e.Interface()
			}
			return out
		}
		return v.arr
	}
	return nil
}

// String formats the value for people: scalars as themselves (strings
// quoted), arrays as their type and length plus the first few elements.
func (v Value) String() string {
	switch v.typ {
	case TypeString:
		return strconv.Quote(v.str)
	case TypeArray:
		n := v.Len()
		var b strings.Builder
		fmt.Fprintf(&b, "[%s × %d]", v.elem, n)
		const show = 4
		if n > 0 {
			b.WriteString(" [")
			for i := 0; i < n && i < show; i++ {
				if i > 0 {
					b.WriteString(", ")
				}
				e, _ := v.Index(i)
				b.WriteString(e.String())
			}
			if n > show {
				b.WriteString(", …")
			}
			b.WriteString("]")
		}
		return b.String()
	}
	if !v.ok {
		return "<invalid>"
	}
	return fmt.Sprint(v.Interface())
}

// Equal reports whether two values have the same types and contents
// (floats compared by bits, so NaNs with equal bits are equal).
func (v Value) Equal(w Value) bool {
	if v.ok != w.ok || v.typ != w.typ {
		return false
	}
	switch v.typ {
	case TypeString:
		return v.str == w.str
	case TypeArray:
		if v.elem != w.elem || v.Len() != w.Len() {
			return false
		}
		for i := 0; i < v.Len(); i++ {
			a, _ := v.Index(i)
			b, _ := w.Index(i)
			if !a.Equal(b) {
				return false
			}
		}
		return true
	case TypeBool:
		return (v.num != 0) == (w.num != 0)
	}
	return v.num == w.num
}
