package chat

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

type filterFunc func(s *state, x value, args []value, kw map[string]value) (value, error)

// filters is the filter table; the parser rejects names not in it. It is
// filled once in init (map refers back to it) and never written after.
var filters map[string]filterFunc

func init() {
	filters = map[string]filterFunc{
		"trim":   fTrim,
		"length": fLength,
		"count":  fLength,
		"tojson": fToJSON,
		"string": func(_ *state, x value, _ []value, _ map[string]value) (value, error) { return str(x), nil },
		"lower":  strFilter("lower"),
		"upper":  strFilter("upper"),
		"title": func(_ *state, x value, _ []value, _ map[string]value) (value, error) {
			return jinjaTitle(str(x)), nil
		},
		"capitalize": strFilter("capitalize"),
		"replace":    fReplace,
		"join":       fJoin,
		"first":      fFirst,
		"last":       fLast,
		"list":       fList,
		"default":    fDefault,
		"d":          fDefault,
		"int":        fInt,
		"float":      fFloat,
		"abs":        fAbs,
		"round":      fRound,
		"items":      fItems,
		"attr":       fAttr,
		"dictsort":   fDictsort,
		"map":        fMap,
		"select":     selectFilter(false, false),
		"reject":     selectFilter(true, false),
		"selectattr": selectFilter(false, true),
		"rejectattr": selectFilter(true, true),
		"unique":     fUnique,
		"reverse":    fReverse,
		"sort":       fSort,
		"safe":       func(_ *state, x value, _ []value, _ map[string]value) (value, error) { return x, nil },
		"escape":     fEscape,
		"e":          fEscape,
		"indent":     fIndent,
		"wordcount": func(_ *state, x value, _ []value, _ map[string]value) (value, error) {
			return int64(len(strings.Fields(str(x)))), nil
		},
		"sum":       fSum,
		"min":       extremeFilter(-1),
		"max":       extremeFilter(1),
		"from_json": fFromJSON,
		"center":    fCenter,
		"truncate":  fTruncate,
		"batch":     fBatch,
		"slice":     fSlice,
		"format":    fFormat,
	}
}

// extremeFilter is Jinja's min (sign -1) and max (1): the first smallest
// or largest item, by attribute when given; undefined when empty.
func extremeFilter(sign int) filterFunc {
	return func(_ *state, x value, args []value, kw map[string]value) (value, error) {
		items, err := iterate(x)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return undefined{"min or max of an empty sequence"}, nil
		}
		cs, _ := arg(args, kw, 0, "case_sensitive")
		attr, _ := arg(args, kw, 1, "attribute")
		key := itemKey(attr, truthy(cs))
		best := items[0]
		for _, it := range items[1:] {
			c, ok := compare(key(it), key(best))
			if !ok {
				return nil, fmt.Errorf("cannot order %s and %s", typeName(key(it)), typeName(key(best)))
			}
			if c*sign > 0 {
				best = it
			}
		}
		return best, nil
	}
}

// fFromJSON parses a JSON string into template values (llama.cpp's
// extension, which DeepSeek V3.2's template uses on tool arguments).
func fFromJSON(_ *state, x value, _ []value, _ map[string]value) (value, error) {
	sx, ok := x.(string)
	if !ok {
		return nil, fmt.Errorf("from_json needs a string, not %s", typeName(x))
	}
	v, err := decodeJSON([]byte(sx))
	if err != nil {
		return nil, fmt.Errorf("from_json: %w", err)
	}
	return v, nil
}

func arg(args []value, kw map[string]value, i int, name string) (value, bool) {
	if v, ok := kw[name]; ok {
		return v, true
	}
	if i < len(args) {
		return args[i], true
	}
	return nil, false
}

func fTrim(_ *state, x value, args []value, kw map[string]value) (value, error) {
	s := str(x)
	if c, ok := arg(args, kw, 0, "chars"); ok && c != nil {
		return strings.Trim(s, str(c)), nil
	}
	return strings.Trim(s, pyWhitespace), nil
}

func fLength(_ *state, x value, _ []value, _ map[string]value) (value, error) {
	n, err := length(x)
	return int64(n), err
}

func strFilter(how string) filterFunc {
	return func(_ *state, x value, _ []value, _ map[string]value) (value, error) {
		return caseFold(how, str(x)), nil
	}
}

func fReplace(_ *state, x value, args []value, _ map[string]value) (value, error) {
	return replace(str(x), args)
}

func join(x value, sep string) (value, error) {
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = str(it)
	}
	return strings.Join(parts, sep), nil
}

func fJoin(_ *state, x value, args []value, kw map[string]value) (value, error) {
	sep := ""
	if v, ok := arg(args, kw, 0, "d"); ok {
		sep = str(v)
	}
	if a, ok := arg(args, kw, 1, "attribute"); ok {
		items, err := iterate(x)
		if err != nil {
			return nil, err
		}
		key := itemKey(a, true)
		mapped := make([]value, len(items))
		for i, it := range items {
			mapped[i] = key(it)
		}
		x = mapped
	}
	return join(x, sep)
}

func fFirst(_ *state, x value, _ []value, _ map[string]value) (value, error) {
	items, err := iterate(x)
	if err != nil || len(items) == 0 {
		return undefined{"first"}, err
	}
	return items[0], nil
}

func fLast(_ *state, x value, _ []value, _ map[string]value) (value, error) {
	items, err := iterate(x)
	if err != nil || len(items) == 0 {
		return undefined{"last"}, err
	}
	return items[len(items)-1], nil
}

func fList(_ *state, x value, _ []value, _ map[string]value) (value, error) {
	items, err := iterate(x)
	return append([]value{}, items...), err
}

func fDefault(_ *state, x value, args []value, kw map[string]value) (value, error) {
	def, _ := arg(args, kw, 0, "default_value")
	if def == nil && len(args) == 0 {
		def = ""
	}
	boolean, _ := arg(args, kw, 1, "boolean")
	if _, undef := x.(undefined); undef || (truthy(boolean) && !truthy(x)) {
		return def, nil
	}
	return x, nil
}

// fInt is Jinja's int(default=0, base=10): a string in the base (Python's
// int(s, base): an optional sign, 0x/0o/0b prefixes matching it, base 0
// taking them as given), or else read as a float and truncated.
func fInt(_ *state, x value, args []value, kw map[string]value) (value, error) {
	def, ok := arg(args, kw, 0, "default")
	if !ok {
		def = int64(0)
	}
	base := int64(10)
	if b, ok := arg(args, kw, 1, "base"); ok {
		if n, isInt := b.(int64); isInt && (n == 0 || n >= 2 && n <= 36) {
			base = n
		}
	}
	switch v := x.(type) {
	case int64:
		return v, nil
	case float64:
		return int64(v), nil
	case bool:
		if v {
			return int64(1), nil
		}
		return int64(0), nil
	case string:
		if n, ok := parsePyInt(strings.TrimSpace(v), int(base)); ok {
			return n, nil
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return int64(f), nil
		}
	}
	return def, nil
}

// parsePyInt reads s as Python's int(s, base) does, short of digit-group
// underscores ("1_000"), which fInt's float reading takes in base 10.
func parsePyInt(s string, base int) (int64, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if len(s) > 2 && s[0] == '0' {
		prefixBase := 0
		switch s[1] {
		case 'x', 'X':
			prefixBase = 16
		case 'o', 'O':
			prefixBase = 8
		case 'b', 'B':
			prefixBase = 2
		}
		if prefixBase != 0 && (base == 0 || base == prefixBase) {
			s, base = s[2:], prefixBase
		}
	}
	if base == 0 {
		base = 10
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseInt(s, base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func fFloat(_ *state, x value, args []value, kw map[string]value) (value, error) {
	def, ok := arg(args, kw, 0, "default")
	if !ok {
		def = 0.0
	}
	if f, ok := toFloat(x); ok {
		return f, nil
	}
	if s, ok := x.(string); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return f, nil
		}
	}
	return def, nil
}

func fAbs(_ *state, x value, _ []value, _ map[string]value) (value, error) {
	switch v := x.(type) {
	case int64:
		if v < 0 {
			return -v, nil
		}
		return v, nil
	case float64:
		return math.Abs(v), nil
	}
	return nil, fmt.Errorf("bad operand type for abs(): %s", typeName(x))
}

// fRound is Jinja's round(precision=0, method='common'): common is
// Python's round, half to even on the float's exact decimal value (2.5
// gives 2.0, 2.675 to two places 2.67), an int staying an int; ceil and
// floor scale by 10^precision and return a float.
func fRound(_ *state, x value, args []value, kw map[string]value) (value, error) {
	f, ok := toFloat(x)
	if _, isBool := x.(bool); !ok || isBool {
		return nil, fmt.Errorf("cannot round %s", typeName(x))
	}
	prec := int64(0)
	if p, ok := arg(args, kw, 0, "precision"); ok {
		prec, _ = p.(int64)
	}
	prec = max(-308, min(prec, 308))
	method := "common"
	if m, ok := arg(args, kw, 1, "method"); ok {
		method = str(m)
	}
	scale := math.Pow(10, float64(prec))
	switch method {
	case "ceil":
		return math.Ceil(f*scale) / scale, nil
	case "floor":
		return math.Floor(f*scale) / scale, nil
	case "common":
	default:
		return nil, fmt.Errorf("round: method must be 'common', 'ceil' or 'floor', not %q", method)
	}
	if n, isInt := x.(int64); isInt {
		return roundInt(n, -prec), nil
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return f, nil
	}
	if prec >= 0 {
		r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'f', int(prec), 64), 64)
		if err != nil {
			return nil, fmt.Errorf("round %v: %w", f, err)
		}
		return r, nil
	}
	pow := math.Pow(10, float64(-prec))
	return math.RoundToEven(f/pow) * pow, nil
}

// roundInt is Python's round(n, -digits) of an int: n to a multiple of
// 10^digits, half to even (round(1250, -2) is 1200); n itself for
// digits <= 0.
func roundInt(n, digits int64) int64 {
	if digits <= 0 {
		return n
	}
	if digits > 18 {
		return 0
	}
	pow := int64(1)
	for range digits {
		pow *= 10
	}
	q, r := n/pow, n%pow
	if r < 0 {
		q, r = q-1, r+pow // floor division, 0 <= r < pow
	}
	if 2*r > pow || 2*r == pow && q%2 != 0 {
		q++
	}
	return q * pow
}

// fAttr is Jinja's attr filter: an attribute, never an item, so a
// mapping gives only its methods (d|attr('items')), not its keys.
func fAttr(_ *state, x value, args []value, kw map[string]value) (value, error) {
	name, ok := arg(args, kw, 0, "name")
	if !ok {
		return nil, fmt.Errorf("attr needs a name")
	}
	if d, isDict := x.(*dict); isDict {
		if m := dictMethod(d, str(name)); m != nil {
			return m, nil
		}
		return undefined{str(name)}, nil
	}
	return getAttr(x, str(name)), nil
}

func fItems(_ *state, x value, _ []value, _ map[string]value) (value, error) {
	d, ok := x.(*dict)
	if !ok {
		if _, u := x.(undefined); u {
			return []value{}, nil
		}
		return nil, fmt.Errorf("items needs a mapping, not %s", typeName(x))
	}
	return pairs(d), nil
}

// fDictsort is Jinja's dictsort(case_sensitive=False, by='key',
// reverse=False): the (key, value) pairs sorted by key or value, strings
// without case by default, stable.
func fDictsort(_ *state, x value, args []value, kw map[string]value) (value, error) {
	d, ok := x.(*dict)
	if !ok {
		return nil, fmt.Errorf("dictsort needs a mapping, not %s", typeName(x))
	}
	cs, _ := arg(args, kw, 0, "case_sensitive")
	by := value("key")
	if b, ok := arg(args, kw, 1, "by"); ok {
		by = b
	}
	pos := 0
	switch str(by) {
	case "key":
	case "value":
		pos = 1
	default:
		return nil, fmt.Errorf("dictsort: by must be 'key' or 'value', not %q", str(by))
	}
	rev, _ := arg(args, kw, 2, "reverse")
	key := itemKey(nil, truthy(cs))
	out := make([]value, len(d.keys))
	for i, k := range d.keys {
		out[i] = []value{d.key(k), d.m[k]}
	}
	var err error
	sort.SliceStable(out, func(i, j int) bool {
		a, b := key(out[i].([]value)[pos]), key(out[j].([]value)[pos])
		c, ok := compare(a, b)
		if !ok && err == nil {
			err = fmt.Errorf("dictsort: cannot order %s and %s", typeName(a), typeName(b))
		}
		if truthy(rev) {
			return c > 0
		}
		return c < 0
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// itemKey is what Jinja's filters order, compare or pick items by (its
// make_attrgetter): the attribute when given, a dotted path whose integer
// parts index lists ("args.0"), and, unless caseSensitive, a string
// lower-cased.
func itemKey(attr value, caseSensitive bool) func(value) value {
	var path []value
	switch a := attr.(type) {
	case nil, undefined:
	case int64:
		path = []value{a}
	default:
		for _, part := range strings.Split(str(a), ".") {
			if n, err := strconv.ParseInt(part, 10, 64); err == nil {
				path = append(path, n)
			} else {
				path = append(path, part)
			}
		}
	}
	lower := cases.Lower(language.Und) // a Caser is not for concurrent use: one a key function
	return func(v value) value {
		for _, p := range path {
			if i, isInt := p.(int64); isInt {
				var err error
				if v, err = getItem(v, i); err != nil {
					return undefined{fmt.Sprint(i)}
				}
				continue
			}
			v = getAttr(v, p.(string))
		}
		if s, isStr := v.(string); isStr && !caseSensitive {
			return lower.String(s)
		}
		return v
	}
}

func fMap(s *state, x value, args []value, kw map[string]value) (value, error) {
	if x == nil {
		return []value{}, nil // Jinja maps none to nothing
	}
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	out := make([]value, len(items))
	if a, ok := kw["attribute"]; ok {
		def, hasDef := kw["default"]
		key := itemKey(a, true)
		for i, it := range items {
			v := key(it)
			if _, u := v.(undefined); u && hasDef {
				v = def
			}
			out[i] = v
		}
		return out, nil
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("map needs a filter name or attribute=")
	}
	f, ok := filters[str(args[0])]
	if !ok {
		return nil, fmt.Errorf("unknown filter '%s'", str(args[0]))
	}
	for i, it := range items {
		if out[i], err = f(s, it, args[1:], nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// selectFilter builds select/reject/selectattr/rejectattr.
func selectFilter(reject, byAttr bool) filterFunc {
	return func(_ *state, x value, args []value, _ map[string]value) (value, error) {
		if x == nil {
			return []value{}, nil // Jinja selects nothing from none
		}
		items, err := iterate(x)
		if err != nil {
			return nil, err
		}
		key := itemKey(nil, true)
		if byAttr {
			if len(args) == 0 {
				return nil, fmt.Errorf("missing attribute name")
			}
			key, args = itemKey(args[0], true), args[1:]
		}
		test := func(v value, _ []value) (bool, error) { return truthy(v), nil }
		if len(args) > 0 {
			t, ok := tests[str(args[0])]
			if !ok {
				return nil, fmt.Errorf("unknown test '%s'", str(args[0]))
			}
			test, args = t, args[1:]
		}
		out := []value{}
		for _, it := range items {
			ok, err := test(key(it), args)
			if err != nil {
				return nil, err
			}
			if ok != reject {
				out = append(out, it)
			}
		}
		return out, nil
	}
}

// fUnique is Jinja's unique(case_sensitive=False, attribute=None): the
// first item of each key, strings compared without case by default.
func fUnique(_ *state, x value, args []value, kw map[string]value) (value, error) {
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	cs, _ := arg(args, kw, 0, "case_sensitive")
	attr, _ := arg(args, kw, 1, "attribute")
	key := itemKey(attr, truthy(cs))
	out := []value{}
	var seen []value
	for _, it := range items {
		k := key(it)
		dup := false
		for _, o := range seen {
			if equal(o, k) {
				dup = true
				break
			}
		}
		if !dup {
			seen = append(seen, k)
			out = append(out, it)
		}
	}
	return out, nil
}

func fReverse(_ *state, x value, _ []value, _ map[string]value) (value, error) {
	if s, ok := x.(string); ok {
		r := []rune(s)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return string(r), nil
	}
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	out := make([]value, len(items))
	for i, it := range items {
		out[len(items)-1-i] = it
	}
	return out, nil
}

func fSort(_ *state, x value, args []value, kw map[string]value) (value, error) {
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	out := append([]value{}, items...)
	rev, _ := arg(args, kw, 0, "reverse")
	cs, _ := arg(args, kw, 1, "case_sensitive")
	attr, _ := arg(args, kw, 2, "attribute")
	key := itemKey(attr, truthy(cs))
	var sortErr error
	sort.SliceStable(out, func(i, j int) bool {
		c, ok := compare(key(out[i]), key(out[j]))
		if !ok && sortErr == nil {
			sortErr = fmt.Errorf("cannot compare %s and %s", typeName(out[i]), typeName(out[j]))
		}
		if truthy(rev) {
			return c > 0
		}
		return c < 0
	})
	return out, sortErr
}

func fEscape(_ *state, x value, _ []value, _ map[string]value) (value, error) {
	return html.EscapeString(str(x)), nil
}

func fIndent(_ *state, x value, args []value, kw map[string]value) (value, error) {
	width := "    "
	if w, ok := arg(args, kw, 0, "width"); ok {
		if n, isInt := w.(int64); isInt {
			width = strings.Repeat(" ", int(max(0, min(n, 1000))))
		} else {
			width = str(w)
		}
	}
	first, _ := arg(args, kw, 1, "first")
	blank, _ := arg(args, kw, 2, "blank")
	lines := strings.Split(str(x), "\n")
	for i, l := range lines {
		if (i == 0 && !truthy(first)) || (l == "" && !truthy(blank)) {
			continue
		}
		lines[i] = width + l
	}
	return strings.Join(lines, "\n"), nil
}

func fSum(_ *state, x value, args []value, kw map[string]value) (value, error) {
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	total, _ := arg(args, kw, 1, "start")
	if total == nil {
		total = int64(0)
	}
	attr, _ := arg(args, kw, 0, "attribute")
	key := itemKey(attr, true)
	for _, it := range items {
		it = key(it)
		if total, err = arith("+", total, it); err != nil {
			return nil, err
		}
	}
	return total, nil
}
