package chat

import (
	"fmt"
	"math"
	"strings"
)

// binary applies a non-short-circuit operator with Python semantics.
func binary(op string, l, r value) (value, error) {
	switch op {
	case "==":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	case "<", ">", "<=", ">=":
		c, ok := compare(l, r)
		if !ok {
			return nil, fmt.Errorf("'%s' not supported between %s and %s", op, typeName(l), typeName(r))
		}
		return (op == "<" && c < 0) || (op == ">" && c > 0) || (op == "<=" && c <= 0) || (op == ">=" && c >= 0), nil
	case "in", "not in":
		in, err := contains(r, l)
		if err != nil {
			return nil, err
		}
		return in == (op == "in"), nil
	case "~":
		return str(l) + str(r), nil
	case "+":
		switch x := l.(type) {
		case string:
			if y, ok := r.(string); ok {
				return x + y, nil
			}
		case []value:
			if y, ok := r.([]value); ok {
				out := make([]value, 0, len(x)+len(y))
				return append(append(out, x...), y...), nil
			}
		}
	case "*":
		// A string or list times an int repeats it, the int on either side
		// (Python's sequence repetition; a count below 1 gives it empty).
		seq, n := l, r
		if _, isInt := l.(int64); isInt {
			seq, n = r, l
		}
		if count, isInt := n.(int64); isInt {
			count = max(count, 0)
			// Bounds checked by division, so a huge count cannot overflow
			// past them.
			switch x := seq.(type) {
			case string:
				if len(x) > 0 && count > maxOutput/int64(len(x)) {
					return nil, fmt.Errorf("string repetition of %d × %d bytes is too long", count, len(x))
				}
				return strings.Repeat(x, int(count)), nil
			case []value:
				if len(x) > 0 && count > maxListRepeat/int64(len(x)) {
					return nil, fmt.Errorf("list repetition of %d × %d items is too long", count, len(x))
				}
				out := make([]value, 0, len(x)*int(count))
				for range count {
					out = append(out, x...)
				}
				return out, nil
			}
		}
	}
	return arith(op, l, r)
}

func arith(op string, l, r value) (value, error) {
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	lf, okL := toFloat(l)
	rf, okR := toFloat(r)
	_, lBool := l.(bool)
	_, rBool := r.(bool)
	if !okL || !okR || lBool || rBool {
		return nil, fmt.Errorf("unsupported operand types for %s: %s and %s", op, typeName(l), typeName(r))
	}
	both := lInt && rInt
	switch op {
	case "+":
		if both {
			return intResult(li+ri, (li >= 0) != (ri >= 0) || (li+ri >= 0) == (li >= 0))
		}
		return lf + rf, nil
	case "-":
		if both {
			return intResult(li-ri, (li >= 0) == (ri >= 0) || (li-ri >= 0) == (li >= 0))
		}
		return lf - rf, nil
	case "*":
		if both {
			p := li * ri
			return intResult(p, li == 0 || p/li == ri && !(li == -1 && ri == math.MinInt64) && !(ri == -1 && li == math.MinInt64))
		}
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return lf / rf, nil
	case "//", "%":
		if rf == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		if both {
			if li == math.MinInt64 && ri == -1 {
				return intResult(0, false)
			}
			q := li / ri
			if (li%ri != 0) && ((li < 0) != (ri < 0)) {
				q-- // Python floors
			}
			if op == "//" {
				return q, nil
			}
			return li - q*ri, nil
		}
		q := math.Floor(lf / rf)
		if op == "//" {
			return q, nil
		}
		return lf - float64(q*rf), nil
	case "**":
		if both && ri >= 0 {
			// Exact, by squaring, as Python's int power.
			result, base, ok := int64(1), li, true
			for e := ri; e > 0 && ok; e >>= 1 {
				if e&1 == 1 {
					var r value
					if r, _ = arith("*", result, base); r == nil {
						ok = false
						break
					}
					result = r.(int64)
				}
				if e > 1 {
					b, _ := arith("*", base, base)
					if b == nil {
						ok = false
						break
					}
					base = b.(int64)
				}
			}
			return intResult(result, ok)
		}
		return math.Pow(lf, rf), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

// maxListRepeat bounds the items a list repetition makes (a value is 16
// bytes and more; templates repeat lists of a few items, if at all).
const maxListRepeat = 1 << 20

// intResult is an integer operation's result, or an error where it left
// int64's range: Python's ints have no bound, and a wrapped value would
// print as a wrong number.
func intResult(n int64, ok bool) (value, error) {
	if !ok {
		return nil, fmt.Errorf("integer result out of range (beyond ±2^63)")
	}
	return n, nil
}

func contains(container, item value) (bool, error) {
	switch c := container.(type) {
	case string:
		s, ok := item.(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' requires a string, not %s", typeName(item))
		}
		return strings.Contains(c, s), nil
	case []value:
		for _, x := range c {
			if equal(x, item) {
				return true, nil
			}
		}
		return false, nil
	case *dict:
		_, ok := c.m[str(item)]
		return ok, nil
	case undefined:
		return false, nil
	}
	return false, fmt.Errorf("argument of type '%s' is not iterable", typeName(container))
}
