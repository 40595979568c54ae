package chat

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Jinja's filters for laying text out and grouping sequences, and its
// printf-style format filter, each as Jinja 3.1 defines it
// (testdata/jinja2/golden.json checks them against Jinja itself).

// fCenter is center(width=80): Python's str.center, the odd space on the
// right unless the width is odd too.
func fCenter(_ *state, x value, args []value, kw map[string]value) (value, error) {
	s := str(x)
	width := int64(80)
	if w, ok := arg(args, kw, 0, "width"); ok {
		n, isInt := w.(int64)
		if !isInt {
			return nil, fmt.Errorf("center: width must be an integer, not %s", typeName(w))
		}
		width = min(n, maxOutput)
	}
	n := int64(utf8.RuneCountInString(s))
	if width <= n {
		return s, nil
	}
	pad := width - n
	left := pad/2 + (pad & width & 1)
	return strings.Repeat(" ", int(left)) + s + strings.Repeat(" ", int(pad-left)), nil
}

// fTruncate is truncate(length=255, killwords=False, end='...',
// leeway=5): a text at most length+leeway characters long stays as it
// is; a longer one is cut to length less the end's length, back to the
// last space unless killwords, and the end appended.
func fTruncate(_ *state, x value, args []value, kw map[string]value) (value, error) {
	s := []rune(str(x))
	length, killwords, end, leeway := int64(255), false, "...", int64(5)
	if v, ok := arg(args, kw, 0, "length"); ok {
		length, _ = v.(int64)
	}
	if v, ok := arg(args, kw, 1, "killwords"); ok {
		killwords = truthy(v)
	}
	if v, ok := arg(args, kw, 2, "end"); ok {
		end = str(v)
	}
	if v, ok := arg(args, kw, 3, "leeway"); ok && v != nil {
		leeway, _ = v.(int64)
	}
	endLen := int64(utf8.RuneCountInString(end))
	switch {
	case length < endLen:
		return nil, fmt.Errorf("truncate: length %d is shorter than the end %q", length, end)
	case leeway < 0:
		return nil, fmt.Errorf("truncate: leeway %d must not be negative", leeway)
	case int64(len(s)) <= length+leeway:
		return string(s), nil
	}
	cut := string(s[:length-endLen])
	if !killwords {
		if i := strings.LastIndexByte(cut, ' '); i >= 0 {
			cut = cut[:i]
		}
	}
	return cut + end, nil
}

// fBatch is batch(linecount, fill_with=None): lists of linecount items,
// the last filled up with fill_with when given.
func fBatch(_ *state, x value, args []value, kw map[string]value) (value, error) {
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	v, _ := arg(args, kw, 0, "linecount")
	n, isInt := v.(int64)
	if !isInt || n < 1 {
		return nil, fmt.Errorf("batch: linecount must be a positive integer, not %s", repr(v))
	}
	fill, hasFill := arg(args, kw, 1, "fill_with")
	hasFill = hasFill && fill != nil
	out := []value{}
	for lo := 0; lo < len(items); lo += int(n) {
		hi := min(lo+int(n), len(items))
		b := append([]value{}, items[lo:hi]...)
		for hasFill && len(b) < int(n) {
			b = append(b, fill)
		}
		out = append(out, b)
	}
	return out, nil
}

// fSlice is slice(slices, fill_with=None): the items in that many
// columns, the first len % slices one longer, the others filled up with
// fill_with when given.
func fSlice(_ *state, x value, args []value, kw map[string]value) (value, error) {
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	v, _ := arg(args, kw, 0, "slices")
	slices, isInt := v.(int64)
	if !isInt || slices < 1 || slices > maxOutput {
		return nil, fmt.Errorf("slice: slices must be a positive integer, not %s", repr(v))
	}
	fill, hasFill := arg(args, kw, 1, "fill_with")
	hasFill = hasFill && fill != nil
	per, extra := len(items)/int(slices), len(items)%int(slices)
	out := make([]value, 0, slices)
	offset := 0
	for k := range int(slices) {
		start := offset + k*per
		if k < extra {
			offset++
		}
		col := append([]value{}, items[start:offset+(k+1)*per]...)
		if hasFill && k >= extra {
			col = append(col, fill)
		}
		out = append(out, col)
	}
	return out, nil
}

// fFormat is the format filter: Python's printf-style value % args, or
// % kwargs with %(name)s fields.
func fFormat(_ *state, x value, args []value, kw map[string]value) (value, error) {
	if len(args) > 0 && len(kw) > 0 {
		return nil, fmt.Errorf("format: give positional or keyword arguments, not both")
	}
	return percentFormat(str(x), args, kw)
}

// percentFormat is Python's %-formatting of f: %[(name)][flags][width]
// [.precision]type with the flags #0- +, the types diouxXeEfFgGcrsa and
// %% (width and precision as numbers, not *).
func percentFormat(f string, args []value, kw map[string]value) (string, error) {
	var b strings.Builder
	next := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		i++
		if i >= len(f) {
			return "", fmt.Errorf("format: incomplete format in %q", f)
		}
		var v value
		haveV := false
		if f[i] == '(' {
			end := strings.IndexByte(f[i:], ')')
			if end < 0 {
				return "", fmt.Errorf("format: incomplete format key in %q", f)
			}
			name := f[i+1 : i+end]
			got, ok := kw[name]
			if !ok {
				return "", fmt.Errorf("format: no argument %q", name)
			}
			v, haveV = got, true
			i += end + 1
		}
		var flags string
		for i < len(f) && strings.IndexByte("#0- +", f[i]) >= 0 {
			flags += string(f[i])
			i++
		}
		num := func() int {
			j := i
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				i++
			}
			n, _ := strconv.Atoi(f[j:i])
			return min(n, int(maxOutput))
		}
		width, prec := num(), -1
		if i < len(f) && f[i] == '.' {
			i++
			prec = num()
		}
		if i >= len(f) {
			return "", fmt.Errorf("format: incomplete format in %q", f)
		}
		verb := f[i]
		if verb == '%' {
			b.WriteByte('%')
			continue
		}
		if !haveV {
			if next >= len(args) {
				return "", fmt.Errorf("format: not enough arguments for %q", f)
			}
			v, next = args[next], next+1
		}
		s, err := percentValue(verb, flags, prec, v)
		if err != nil {
			return "", err
		}
		if pad := width - utf8.RuneCountInString(s); pad > 0 {
			switch {
			case strings.Contains(flags, "-"):
				s += strings.Repeat(" ", pad)
			case strings.Contains(flags, "0") && strings.IndexByte("diouxXeEfFgG", verb) >= 0:
				sign := ""
				if s != "" && strings.IndexByte("+- ", s[0]) >= 0 {
					sign, s = s[:1], s[1:]
				}
				s = sign + strings.Repeat("0", pad) + s
			default:
				s = strings.Repeat(" ", pad) + s
			}
		}
		b.WriteString(s)
	}
	if len(kw) == 0 && next < len(args) {
		return "", fmt.Errorf("format: not all arguments converted in %q", f)
	}
	return b.String(), nil
}

// percentValue is one %-conversion of v without its width.
func percentValue(verb byte, flags string, prec int, v value) (string, error) {
	sign := func(s string, neg bool) string {
		switch {
		case neg:
			return "-" + s
		case strings.Contains(flags, "+"):
			return "+" + s
		case strings.Contains(flags, " "):
			return " " + s
		}
		return s
	}
	switch verb {
	case 's', 'r', 'a':
		s := str(v)
		switch verb {
		case 'r':
			s = repr(v)
		case 'a':
			s = asciiEscape(repr(v))
		}
		if prec >= 0 && prec < utf8.RuneCountInString(s) {
			s = string([]rune(s)[:prec])
		}
		return s, nil
	case 'c':
		switch c := v.(type) {
		case int64:
			if c < 0 || c > unicode.MaxRune {
				return "", fmt.Errorf("format: %%c arg not in range")
			}
			return string(rune(c)), nil
		case string:
			if utf8.RuneCountInString(c) == 1 {
				return c, nil
			}
		}
		return "", fmt.Errorf("format: %%c requires an int or a character, not %s", typeName(v))
	case 'd', 'i', 'u', 'o', 'x', 'X':
		var n int64
		switch c := v.(type) {
		case int64:
			n = c
		case bool:
			if c {
				n = 1
			}
		case float64:
			if math.IsInf(c, 0) || math.IsNaN(c) {
				return "", fmt.Errorf("format: cannot convert %v to an integer", c)
			}
			n = int64(c)
		default:
			return "", fmt.Errorf("format: %%%c requires a number, not %s", verb, typeName(v))
		}
		neg := n < 0
		u := uint64(n)
		if neg {
			u = uint64(-n)
		}
		var s string
		switch verb {
		case 'o':
			s = strconv.FormatUint(u, 8)
			if strings.Contains(flags, "#") {
				s = "0o" + s
			}
		case 'x', 'X':
			s = strconv.FormatUint(u, 16)
			if strings.Contains(flags, "#") {
				s = "0x" + s
			}
			if verb == 'X' {
				s = strings.ToUpper(s)
			}
		default:
			s = strconv.FormatUint(u, 10)
		}
		if prec > len(s) {
			s = strings.Repeat("0", prec-len(s)) + s
		}
		return sign(s, neg), nil
	case 'e', 'E', 'f', 'F', 'g', 'G':
		x, ok := toFloat(v)
		if _, isBool := v.(bool); !ok && !isBool {
			return "", fmt.Errorf("format: %%%c requires a number, not %s", verb, typeName(v))
		}
		if b, isBool := v.(bool); isBool && b {
			x = 1
		}
		if prec < 0 {
			prec = 6
		}
		neg := math.Signbit(x)
		x = math.Abs(x)
		var s string
		switch {
		case math.IsInf(x, 0):
			s = "inf"
		case math.IsNaN(x):
			s = "nan"
		case verb == 'e' || verb == 'E':
			s = strconv.FormatFloat(x, 'e', prec, 64) // two exponent digits at least, as Python's
		case verb == 'f' || verb == 'F':
			s = strconv.FormatFloat(x, 'f', prec, 64)
		default:
			s = pyGeneral(x, max(prec, 1), strings.Contains(flags, "#"))
		}
		if verb == 'E' || verb == 'F' || verb == 'G' {
			s = strings.ToUpper(s)
		}
		return sign(s, neg && !math.IsNaN(x)), nil
	}
	return "", fmt.Errorf("format: unsupported format character %q", verb)
}

// pyGeneral is Python's %g: precision significant digits, scientific
// below 1e-4 or from 10^precision on, trailing zeros dropped unless alt.
func pyGeneral(x float64, prec int, alt bool) string {
	if x == 0 {
		if alt {
			return "0." + strings.Repeat("0", prec-1)
		}
		return "0"
	}
	e := strconv.FormatFloat(x, 'e', prec-1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	var s string
	if exp < -4 || exp >= prec {
		s = e
		if !alt {
			mant, rest, _ := strings.Cut(s, "e")
			if strings.Contains(mant, ".") {
				mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
			}
			s = mant + "e" + rest
		}
		return s
	}
	s = strconv.FormatFloat(x, 'f', max(prec-1-exp, 0), 64)
	if !alt && strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// asciiEscape is Python's ascii() applied to a repr: every non-ASCII
// character as \xNN, \uNNNN or \UNNNNNNNN.
func asciiEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r <= 0xffff:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			fmt.Fprintf(&b, "\\U%08x", r)
		}
	}
	return b.String()
}
