package chat

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strconv"
	"strings"
)

type filterFunc func(s *state, x value, args []value, kw map[string]value) (value, error)

// filters is the filter table; the parser rejects names not in it. It is
// filled once in init (map refers back to it) and never written after.
var filters map[string]filterFunc

func init() {
	filters = map[string]filterFunc{
		"trim":       fTrim,
		"length":     fLength,
		"count":      fLength,
		"tojson":     fToJSON,
		"string":     func(_ *state, x value, _ []value, _ map[string]value) (value, error) { return str(x), nil },
		"lower":      strFilter("lower"),
		"upper":      strFilter("upper"),
		"title":      strFilter("title"),
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
		key := func(v value) value { return v }
		if a, ok := arg(args, kw, 1, "attribute"); ok && a != nil {
			key = func(v value) value { return getAttr(v, str(a)) }
		}
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
		mapped := make([]value, len(items))
		for i, it := range items {
			mapped[i] = getAttr(it, str(a))
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

func fInt(_ *state, x value, args []value, kw map[string]value) (value, error) {
	def, ok := arg(args, kw, 0, "default")
	if !ok {
		def = int64(0)
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
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return int64(f), nil
		}
	}
	return def, nil
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

func fRound(_ *state, x value, args []value, kw map[string]value) (value, error) {
	f, ok := toFloat(x)
	if !ok {
		return nil, fmt.Errorf("cannot round %s", typeName(x))
	}
	prec := int64(0)
	if p, ok := arg(args, kw, 0, "precision"); ok {
		prec, _ = p.(int64)
	}
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
	}
	return math.Round(f*scale) / scale, nil
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

func fDictsort(_ *state, x value, _ []value, _ map[string]value) (value, error) {
	d, ok := x.(*dict)
	if !ok {
		return nil, fmt.Errorf("dictsort needs a mapping, not %s", typeName(x))
	}
	keys := make([]value, len(d.keys))
	for i, k := range d.keys {
		keys[i] = d.key(k)
	}
	var err error
	sort.SliceStable(keys, func(i, j int) bool {
		c, ok := compare(keys[i], keys[j])
		if !ok && err == nil {
			err = fmt.Errorf("dictsort: cannot order %s and %s", typeName(keys[i]), typeName(keys[j]))
		}
		return c < 0
	})
	if err != nil {
		return nil, err
	}
	out := make([]value, len(keys))
	for i, k := range keys {
		out[i] = []value{k, d.m[str(k)]}
	}
	return out, nil
}

func fMap(s *state, x value, args []value, kw map[string]value) (value, error) {
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	out := make([]value, len(items))
	if a, ok := kw["attribute"]; ok {
		def, hasDef := kw["default"]
		for i, it := range items {
			v := getAttr(it, str(a))
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
		items, err := iterate(x)
		if err != nil {
			return nil, err
		}
		attr := ""
		if byAttr {
			if len(args) == 0 {
				return nil, fmt.Errorf("missing attribute name")
			}
			attr, args = str(args[0]), args[1:]
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
			v := it
			if byAttr {
				v = getAttr(it, attr)
			}
			ok, err := test(v, args)
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

func fUnique(_ *state, x value, _ []value, _ map[string]value) (value, error) {
	items, err := iterate(x)
	if err != nil {
		return nil, err
	}
	var out []value
	for _, it := range items {
		dup := false
		for _, o := range out {
			if equal(o, it) {
				dup = true
				break
			}
		}
		if !dup {
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
	attr, hasAttr := kw["attribute"]
	key := func(v value) value {
		if hasAttr {
			return getAttr(v, str(attr))
		}
		return v
	}
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
	attr, hasAttr := arg(args, kw, 0, "attribute")
	for _, it := range items {
		if hasAttr && attr != nil {
			it = getAttr(it, str(attr))
		}
		if total, err = arith("+", total, it); err != nil {
			return nil, err
		}
	}
	return total, nil
}
