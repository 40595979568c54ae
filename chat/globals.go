package chat

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type testFunc func(x value, args []value) (bool, error)

// tests is the `is` test table; never written after initialisation.
var tests = map[string]testFunc{
	"defined":   func(x value, _ []value) (bool, error) { _, u := x.(undefined); return !u, nil },
	"undefined": func(x value, _ []value) (bool, error) { _, u := x.(undefined); return u, nil },
	"none":      func(x value, _ []value) (bool, error) { return x == nil, nil },
	"string":    func(x value, _ []value) (bool, error) { _, ok := x.(string); return ok, nil },
	"number":    func(x value, _ []value) (bool, error) { _, f := x.(float64); _, i := x.(int64); return f || i, nil },
	"integer":   func(x value, _ []value) (bool, error) { _, ok := x.(int64); return ok, nil },
	"float":     func(x value, _ []value) (bool, error) { _, ok := x.(float64); return ok, nil },
	"boolean":   func(x value, _ []value) (bool, error) { _, ok := x.(bool); return ok, nil },
	"true":      func(x value, _ []value) (bool, error) { b, ok := x.(bool); return ok && b, nil },
	"false":     func(x value, _ []value) (bool, error) { b, ok := x.(bool); return ok && !b, nil },
	"mapping":   func(x value, _ []value) (bool, error) { _, ok := x.(*dict); return ok, nil },
	"callable":  func(x value, _ []value) (bool, error) { _, ok := x.(callable); return ok, nil },
	"iterable":  isIterable,
	"sequence":  isIterable,
	"even":      func(x value, _ []value) (bool, error) { n, ok := x.(int64); return ok && n%2 == 0, nil },
	"odd":       func(x value, _ []value) (bool, error) { n, ok := x.(int64); return ok && n%2 != 0, nil },
	"lower":     func(x value, _ []value) (bool, error) { s, ok := x.(string); return ok && s == strings.ToLower(s), nil },
	"upper":     func(x value, _ []value) (bool, error) { s, ok := x.(string); return ok && s == strings.ToUpper(s), nil },
	"divisibleby": func(x value, a []value) (bool, error) {
		n, ok1 := x.(int64)
		if len(a) != 1 {
			return false, fmt.Errorf("divisibleby takes one argument")
		}
		d, ok2 := a[0].(int64)
		return ok1 && ok2 && d != 0 && n%d == 0, nil
	},
	"eq":      cmpTest("=="),
	"equalto": cmpTest("=="),
	"==":      cmpTest("=="),
	"ne":      cmpTest("!="),
	"lt":      cmpTest("<"),
	"gt":      cmpTest(">"),
	"le":      cmpTest("<="),
	"ge":      cmpTest(">="),
	"in": func(x value, a []value) (bool, error) {
		if len(a) != 1 {
			return false, fmt.Errorf("in takes one argument")
		}
		return contains(a[0], x)
	},
	"sameas": func(x value, a []value) (bool, error) {
		if len(a) != 1 {
			return false, fmt.Errorf("sameas takes one argument")
		}
		// identity for the singletons templates compare against
		switch a[0].(type) {
		case nil, bool:
			return x == a[0], nil
		}
		return equal(x, a[0]), nil
	},
}

// isIterable is Jinja's iterable (and sequence) test: true for an
// undefined value too, which iterates as empty.
func isIterable(x value, _ []value) (bool, error) {
	switch x.(type) {
	case string, []value, *dict, undefined:
		return true, nil
	}
	return false, nil
}

func cmpTest(op string) testFunc {
	return func(x value, a []value) (bool, error) {
		if len(a) != 1 {
			return false, fmt.Errorf("test takes one argument")
		}
		v, err := binary(op, x, a[0])
		if err != nil {
			return false, err
		}
		return v.(bool), nil
	}
}

// globals are the functions a template may call by name.
var globals = map[string]callable{
	"raise_exception": func(_ *state, args []value, _ map[string]value) (value, error) {
		msg := "raise_exception called"
		if len(args) > 0 {
			msg = str(args[0])
		}
		return nil, &RaiseError{Msg: msg}
	},
	"namespace": func(_ *state, args []value, kw map[string]value) (value, error) {
		d := newDict()
		if len(args) > 0 {
			if init, ok := args[0].(*dict); ok {
				for _, k := range init.keys {
					d.set(k, init.m[k])
				}
			}
		}
		for _, k := range sortedKeys(kw) {
			d.set(k, kw[k])
		}
		return &namespace{d: d}, nil
	},
	"dict": func(_ *state, _ []value, kw map[string]value) (value, error) {
		d := newDict()
		for _, k := range sortedKeys(kw) {
			d.set(k, kw[k])
		}
		return d, nil
	},
	"range":        rangeFunc,
	"strftime_now": strftimeNow,
}

// sortedKeys orders keyword arguments; Go maps lose the call order.
func sortedKeys(m map[string]value) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func rangeFunc(_ *state, args []value, _ map[string]value) (value, error) {
	var n [3]int64
	for i, a := range args {
		if i > 2 {
			return nil, fmt.Errorf("range takes at most 3 arguments")
		}
		v, ok := a.(int64)
		if !ok {
			return nil, fmt.Errorf("range arguments must be integers, not %s", typeName(a))
		}
		n[i] = v
	}
	start, stop, step := int64(0), n[0], int64(1)
	switch len(args) {
	case 0:
		return nil, fmt.Errorf("range needs at least one argument")
	case 2:
		start, stop = n[0], n[1]
	case 3:
		start, stop, step = n[0], n[1], n[2]
	}
	if step == 0 {
		return nil, fmt.Errorf("range step must not be zero")
	}
	var out []value
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		if len(out) >= maxRangeItems {
			return nil, fmt.Errorf("range over %d items", maxRangeItems)
		}
		out = append(out, i)
	}
	return out, nil
}

// strftimeNow is transformers' strftime_now(format) for the few directives
// chat templates use (dates in system prompts).
func strftimeNow(_ *state, args []value, _ map[string]value) (value, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("strftime_now takes a format")
	}
	return strftime(time.Now(), str(args[0])), nil
}

func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'B':
			b.WriteString(t.Month().String())
		case 'b':
			b.WriteString(t.Month().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

// fToJSON is transformers' tojson: json.dumps with ensure_ascii=False,
// keys in insertion order, ", " and ": " separators (or "," with indent).
func fToJSON(_ *state, x value, args []value, kw map[string]value) (value, error) {
	indent := -1
	if v, ok := arg(args, kw, 0, "indent"); ok && v != nil {
		n, isInt := v.(int64)
		if !isInt || n < 0 || n > 64 {
			return nil, fmt.Errorf("indent must be a small integer")
		}
		indent = int(n)
	}
	sortKeys := truthy(kw["sort_keys"])
	var b strings.Builder
	if err := writeJSON(&b, x, indent, 0, sortKeys); err != nil {
		return nil, err
	}
	return b.String(), nil
}

func writeJSON(b *strings.Builder, x value, indent, level int, sortKeys bool) error {
	if level > 200 {
		return fmt.Errorf("value nested too deep")
	}
	sep := func(first bool, lvl int) {
		if !first {
			if indent >= 0 {
				b.WriteByte(',')
			} else {
				b.WriteString(", ")
			}
		}
		if indent >= 0 {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(" ", indent*lvl))
		}
	}
	closeSep := func(lvl int) {
		if indent >= 0 {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(" ", indent*lvl))
		}
	}
	switch v := x.(type) {
	case nil, undefined:
		b.WriteString("null")
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		switch {
		case math.IsNaN(v):
			b.WriteString("NaN")
		case math.IsInf(v, 1):
			b.WriteString("Infinity")
		case math.IsInf(v, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(pyFloat(v))
		}
	case string:
		writeJSONString(b, v)
	case []value:
		if len(v) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, e := range v {
			sep(i == 0, level+1)
			if err := writeJSON(b, e, indent, level+1, sortKeys); err != nil {
				return err
			}
		}
		closeSep(level)
		b.WriteByte(']')
	case *namespace:
		return writeJSON(b, v.d, indent, level, sortKeys)
	case *dict:
		if len(v.keys) == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := v.keys
		if sortKeys {
			keys = append([]string{}, keys...)
			sort.Strings(keys)
		}
		b.WriteByte('{')
		for i, k := range keys {
			sep(i == 0, level+1)
			writeJSONString(b, k)
			b.WriteString(": ")
			if err := writeJSON(b, v.m[k], indent, level+1, sortKeys); err != nil {
				return err
			}
		}
		closeSep(level)
		b.WriteByte('}')
	default:
		return fmt.Errorf("object of type %s is not JSON serializable", typeName(x))
	}
	return nil
}

// writeJSONString escapes like Python's json with ensure_ascii=False.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(b, `\u%04x`, r)
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(b, `\udc%02x`, s[i]) // surrogateescape, as Python would show it
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}
