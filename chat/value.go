package chat

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// value is a template value: nil (none), undefined, bool, int64, float64,
// string, []value (list or tuple), *dict, *namespace, callable.
type value = any

// undefined is a name or attribute that does not exist. It is falsy,
// prints as "", iterates as empty, and chains (undefined.x is undefined),
// which is what chat templates probing optional fields rely on.
type undefined struct{ name string }

// dict is an insertion-ordered mapping (tojson must keep key order). Keys
// are stored by their text; a key that was not a string (a template's
// {0: ..., 512: ...}) keeps its value in orig, so iteration, items and
// dictsort give it back as it was written.
type dict struct {
	keys []string
	m    map[string]value
	orig map[string]value
}

// setKey is d[k] = v for a key of any type.
func (d *dict) setKey(k, v value) {
	ks := str(k)
	if _, isStr := k.(string); !isStr {
		if d.orig == nil {
			d.orig = map[string]value{}
		}
		d.orig[ks] = k
	}
	d.set(ks, v)
}

// key is the key stored as k, with the type it was written with.
func (d *dict) key(k string) value {
	if o, ok := d.orig[k]; ok {
		return o
	}
	return k
}

func newDict() *dict { return &dict{m: map[string]value{}} }

func (d *dict) set(k string, v value) {
	if _, ok := d.m[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[k] = v
}

func (d *dict) get(k string) (value, bool) {
	v, ok := d.m[k]
	return v, ok
}

// namespace is Jinja's namespace(): the one object whose attributes a
// `set` inside a loop may change for the outer scope.
type namespace struct{ d *dict }

// callable is a global function, a bound method or a macro.
type callable func(s *state, args []value, kw map[string]value) (value, error)

// fromGo converts caller data into template values.
func fromGo(x any) (value, error) {
	switch v := x.(type) {
	case nil, bool, int64, float64, string, *dict, undefined:
		return v, nil
	case JSON:
		return decodeJSON(v)
	case int:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case uint32:
		return int64(v), nil
	case float32:
		return float64(v), nil
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n, nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("bad number %q", v)
		}
		return f, nil
	case []value:
		out := make([]value, len(v))
		for i, e := range v {
			c, err := fromGo(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case []string:
		out := make([]value, len(v))
		for i, e := range v {
			out[i] = e
		}
		return out, nil
	case []map[string]any:
		out := make([]value, len(v))
		for i, e := range v {
			c, err := fromGo(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		// Go maps have no order: sort keys so output is deterministic.
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := newDict()
		for _, k := range keys {
			c, err := fromGo(v[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			d.set(k, c)
		}
		return d, nil
	case Message:
		return v.toDict(), nil
	case []Message:
		out := make([]value, len(v))
		for i, m := range v {
			out[i] = m.toDict()
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported template value of type %T", x)
}

func truthy(v value) bool {
	switch x := v.(type) {
	case nil, undefined:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []value:
		return len(x) > 0
	case *dict:
		return len(x.keys) > 0
	}
	return true
}

// str is Python's str().
func str(v value) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case undefined:
		return ""
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return pyFloat(x)
	case string:
		return x
	case []value:
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(repr(e))
		}
		b.WriteByte(']')
		return b.String()
	case *dict:
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(repr(k) + ": " + repr(x.m[k]))
		}
		b.WriteByte('}')
		return b.String()
	case *namespace:
		return "<Namespace " + str(x.d) + ">"
	}
	return fmt.Sprintf("<%T>", v)
}

// repr is Python's repr() for the types templates print inside lists.
func repr(v value) string {
	if s, ok := v.(string); ok {
		q := "'"
		if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
			q = `"`
		}
		r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`, q, `\`+q)
		return q + r.Replace(s) + q
	}
	return str(v)
}

func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if a := math.Abs(f); a >= 1e16 || (a < 1e-4 && a != 0) {
		return s // exponent form, like Python
	}
	s = strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func typeName(v value) string {
	switch v.(type) {
	case nil:
		return "none"
	case undefined:
		return "undefined"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "string"
	case []value:
		return "list"
	case *dict:
		return "dict"
	case *namespace:
		return "namespace"
	case callable:
		return "function"
	}
	return fmt.Sprintf("%T", v)
}

func toFloat(v value) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func equal(a, b value) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case undefined:
		_, ok := b.(undefined)
		return ok
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []value:
		y, ok := b.([]value)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case *dict:
		y, ok := b.(*dict)
		if !ok || len(x.keys) != len(y.keys) {
			return false
		}
		for _, k := range x.keys {
			w, ok := y.m[k]
			if !ok || !equal(x.m[k], w) {
				return false
			}
		}
		return true
	}
	fa, okA := toFloat(a)
	fb, okB := toFloat(b)
	if okA && okB {
		return fa == fb
	}
	return a == b
}

// compare orders numbers, strings (by code point) and lists (item by
// item, a prefix first), as Python does; ok is false for other pairs.
func compare(a, b value) (int, bool) {
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), true
		}
		return 0, false
	}
	if x, ok := a.([]value); ok {
		y, ok := b.([]value)
		if !ok {
			return 0, false
		}
		for i := range min(len(x), len(y)) {
			if equal(x[i], y[i]) {
				continue
			}
			return compare(x[i], y[i])
		}
		return cmp.Compare(len(x), len(y)), true
	}
	if x, ok := a.(int64); ok {
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y), true
		}
	}
	fa, okA := toFloat(a)
	fb, okB := toFloat(b)
	if !okA || !okB {
		return 0, false
	}
	switch {
	case fa < fb:
		return -1, true
	case fa > fb:
		return 1, true
	}
	return 0, true
}

// iterate returns the items a for loop or filter walks over.
func iterate(v value) ([]value, error) {
	switch x := v.(type) {
	case undefined, nil:
		if _, ok := v.(undefined); ok {
			return nil, nil
		}
		return nil, fmt.Errorf("'none' is not iterable")
	case []value:
		return x, nil
	case *dict:
		out := make([]value, len(x.keys))
		for i, k := range x.keys {
			out[i] = x.key(k)
		}
		return out, nil
	case string:
		out := make([]value, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	}
	return nil, fmt.Errorf("'%s' is not iterable", typeName(v))
}

func length(v value) (int, error) {
	switch x := v.(type) {
	case undefined:
		return 0, nil
	case string:
		return len([]rune(x)), nil
	case []value:
		return len(x), nil
	case *dict:
		return len(x.keys), nil
	}
	return 0, fmt.Errorf("object of type '%s' has no length", typeName(v))
}
