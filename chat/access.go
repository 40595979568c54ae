package chat

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// getAttr is `obj.name`: a mapping key first, then a method.
func getAttr(obj value, name string) value {
	switch o := obj.(type) {
	case *dict:
		if v, ok := o.get(name); ok {
			return v
		}
		if m := dictMethod(o, name); m != nil {
			return m
		}
	case *namespace:
		if v, ok := o.d.get(name); ok {
			return v
		}
	case string:
		if m := stringMethod(o, name); m != nil {
			return m
		}
	case []value:
		if m := listMethod(o, name); m != nil {
			return m
		}
	}
	return undefined{name}
}

// getItem is `obj[idx]`.
func getItem(obj, idx value) (value, error) {
	switch o := obj.(type) {
	case *dict:
		if v, ok := o.get(str(idx)); ok {
			return v, nil
		}
		return undefined{str(idx)}, nil
	case *namespace:
		return getAttr(o, str(idx)), nil
	case []value:
		i, ok := idx.(int64)
		if !ok {
			return notSubscriptable(obj, idx), nil
		}
		if i < 0 {
			i += int64(len(o))
		}
		if i < 0 || i >= int64(len(o)) {
			return undefined{fmt.Sprint(idx)}, nil
		}
		return o[i], nil
	case string:
		i, ok := idx.(int64)
		if !ok {
			return notSubscriptable(obj, idx), nil
		}
		r := []rune(o)
		if i < 0 {
			i += int64(len(r))
		}
		if i < 0 || i >= int64(len(r)) {
			return undefined{fmt.Sprint(idx)}, nil
		}
		return string(r[i]), nil
	case undefined:
		return undefined{o.name}, nil
	}
	return notSubscriptable(obj, idx), nil
}

// notSubscriptable is Jinja's answer where obj[idx] fails in Python (a
// string or list indexed by a string, none or a number indexed at all):
// the attribute idx names when it is a string and obj has it (a method),
// else undefined, not an error. Templates rely on it: Llama 3.2's walks
// message['content'] and asks each item for ['type'], strings included.
func notSubscriptable(obj, idx value) value {
	if name, ok := idx.(string); ok {
		return getAttr(obj, name)
	}
	return undefined{fmt.Sprint(idx)}
}

func (s *state) evalSlice(sc *scope, e *sliceExpr) (value, error) {
	obj, err := s.eval(sc, e.obj)
	if err != nil {
		return nil, err
	}
	var bounds [3]*int64
	for i, b := range []expr{e.lo, e.hi, e.step} {
		if b == nil {
			continue
		}
		v, err := s.eval(sc, b)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("slice indices must be integers, not %s", typeName(v))
		}
		bounds[i] = &n
	}
	switch o := obj.(type) {
	case []value:
		idx, err := sliceIndices(len(o), bounds)
		if err != nil {
			return nil, err
		}
		out := make([]value, len(idx))
		for i, j := range idx {
			out[i] = o[j]
		}
		return out, nil
	case string:
		r := []rune(o)
		idx, err := sliceIndices(len(r), bounds)
		if err != nil {
			return nil, err
		}
		out := make([]rune, len(idx))
		for i, j := range idx {
			out[i] = r[j]
		}
		return string(out), nil
	case undefined:
		return o, nil
	}
	return nil, fmt.Errorf("'%s' object cannot be sliced", typeName(obj))
}

// sliceIndices implements Python's slice semantics for a sequence of n.
func sliceIndices(n int, b [3]*int64) ([]int, error) {
	step := int64(1)
	if b[2] != nil {
		step = *b[2]
	}
	if step == 0 {
		return nil, fmt.Errorf("slice step cannot be zero")
	}
	clamp := func(p *int64, def int64, lo, hi int64) int64 {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += int64(n)
		}
		return max(lo, min(hi, v))
	}
	var out []int
	if step > 0 {
		start, stop := clamp(b[0], 0, 0, int64(n)), clamp(b[1], int64(n), 0, int64(n))
		for i := start; i < stop; i += step {
			out = append(out, int(i))
		}
	} else {
		start, stop := clamp(b[0], int64(n)-1, -1, int64(n)-1), clamp(b[1], -1, -1, int64(n)-1)
		if b[1] != nil && *b[1] < 0 && *b[1]+int64(n) < 0 {
			stop = -1
		}
		for i := start; i > stop; i += step {
			out = append(out, int(i))
		}
	}
	return out, nil
}

func argString(args []value, i int, def string) (string, bool, error) {
	if i >= len(args) || args[i] == nil {
		return def, false, nil
	}
	s, ok := args[i].(string)
	if !ok {
		return "", false, fmt.Errorf("argument %d must be a string, not %s", i+1, typeName(args[i]))
	}
	return s, true, nil
}

const pyWhitespace = " \t\n\r\v\f"

func stringMethod(s string, name string) callable {
	strip := func(f func(string, string) string) callable {
		return func(_ *state, args []value, _ map[string]value) (value, error) {
			chars, given, err := argString(args, 0, pyWhitespace)
			if err != nil {
				return nil, err
			}
			if !given {
				return f(s, pyWhitespace), nil
			}
			return f(s, chars), nil
		}
	}
	switch name {
	case "format":
		return func(_ *state, args []value, kw map[string]value) (value, error) { return pyFormat(s, args, kw) }
	case "strip":
		return strip(strings.Trim)
	case "lstrip":
		return strip(strings.TrimLeft)
	case "rstrip":
		return strip(strings.TrimRight)
	case "startswith", "endswith":
		return func(_ *state, args []value, _ map[string]value) (value, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("%s takes one argument", name)
			}
			var prefixes []value
			switch a := args[0].(type) {
			case string:
				prefixes = []value{a}
			case []value:
				prefixes = a
			default:
				return nil, fmt.Errorf("%s argument must be a string or tuple, not %s", name, typeName(a))
			}
			for _, p := range prefixes {
				ps, _ := p.(string)
				if (name == "startswith" && strings.HasPrefix(s, ps)) || (name == "endswith" && strings.HasSuffix(s, ps)) {
					return true, nil
				}
			}
			return false, nil
		}
	case "split", "rsplit":
		return func(_ *state, args []value, kw map[string]value) (value, error) {
			sep, given, err := argString(args, 0, "")
			if err != nil {
				return nil, err
			}
			limit := -1
			if len(args) > 1 {
				if n, ok := args[1].(int64); ok {
					limit = int(n)
				}
			}
			var parts []string
			switch {
			case !given:
				parts = strings.Fields(s)
			case sep == "":
				return nil, fmt.Errorf("empty separator")
			case limit >= 0 && name == "split":
				parts = strings.SplitN(s, sep, limit+1)
			case limit >= 0:
				parts = rsplitN(s, sep, limit)
			default:
				parts = strings.Split(s, sep)
			}
			out := make([]value, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, nil
		}
	case "lower", "upper", "title", "capitalize":
		return func(_ *state, _ []value, _ map[string]value) (value, error) {
			return caseFold(name, s), nil
		}
	case "replace":
		return func(_ *state, args []value, _ map[string]value) (value, error) {
			return replace(s, args)
		}
	case "splitlines":
		return func(_ *state, args []value, kw map[string]value) (value, error) {
			keep, _ := arg(args, kw, 0, "keepends")
			return splitLines(s, truthy(keep)), nil
		}
	case "isdigit", "isdecimal", "isnumeric", "isalpha", "isalnum", "isspace", "islower", "isupper":
		return func(_ *state, _ []value, _ map[string]value) (value, error) { return strPredicate(name, s), nil }
	case "find", "count":
		return func(_ *state, args []value, _ map[string]value) (value, error) {
			sub, _, err := argString(args, 0, "")
			if err != nil {
				return nil, err
			}
			if name == "count" {
				return int64(strings.Count(s, sub)), nil
			}
			i := strings.Index(s, sub)
			if i < 0 {
				return int64(-1), nil
			}
			return int64(len([]rune(s[:i]))), nil
		}
	case "join":
		return func(_ *state, args []value, _ map[string]value) (value, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("join takes one argument")
			}
			return join(args[0], s)
		}
	}
	return nil
}

func rsplitN(s, sep string, limit int) []string {
	var rev []string
	for limit > 0 {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		rev = append(rev, s[i+len(sep):])
		s = s[:i]
		limit--
	}
	out := []string{s}
	for i := len(rev) - 1; i >= 0; i-- {
		out = append(out, rev[i])
	}
	return out
}

func replace(s string, args []value) (value, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("replace takes 2 or 3 arguments")
	}
	old, _, err := argString(args, 0, "")
	if err != nil {
		return nil, err
	}
	nw, _, err := argString(args, 1, "")
	if err != nil {
		return nil, err
	}
	n := -1
	if len(args) > 2 {
		if c, ok := args[2].(int64); ok {
			n = int(c)
		}
	}
	return strings.Replace(s, old, nw, n), nil
}

// splitLines is Python's str.splitlines: lines end at \n, \r\n, \r, \v,
// \f, \x1c-\x1e, \x85, U+2028 and U+2029, kept with keepends; no empty
// last line after a final break.
func splitLines(s string, keepEnds bool) []value {
	out := []value{}
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		default:
			i += n
			continue
		}
		end := i + n
		if r == '\r' && end < len(s) && s[end] == '\n' {
			end++
		}
		if keepEnds {
			out = append(out, s[start:end])
		} else {
			out = append(out, s[start:i])
		}
		start, i = end, end
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// strPredicate is Python's str.isdigit and its kin: false for "", and
// islower/isupper ask for at least one cased character and all of the
// cased ones in that case.
func strPredicate(name, s string) bool {
	if s == "" {
		return false
	}
	var lower, upper, title bool
	for _, r := range s {
		var ok bool
		switch name {
		case "isdigit", "isdecimal":
			ok = unicode.IsDigit(r)
		case "isnumeric":
			ok = unicode.IsNumber(r)
		case "isalpha":
			ok = unicode.IsLetter(r)
		case "isalnum":
			ok = unicode.IsLetter(r) || unicode.IsNumber(r)
		case "isspace":
			ok = unicode.IsSpace(r) || r == 0x1c || r == 0x1d || r == 0x1e || r == 0x1f
		default:
			ok = true
			lower = lower || unicode.IsLower(r)
			upper = upper || unicode.IsUpper(r)
			title = title || unicode.IsTitle(r)
		}
		if !ok {
			return false
		}
	}
	// A title-case letter (ǅ) is cased but neither lower nor upper case.
	switch name {
	case "islower":
		return lower && !upper && !title
	case "isupper":
		return upper && !lower && !title
	}
	return true
}

// caseFold is Python's str.lower, upper, capitalize and title, with
// Unicode's full case mappings as Python has them (ß upper-cases to SS, İ
// lower-cases to i̇, a final Σ to ς).
func caseFold(how, s string) string {
	switch how {
	case "lower":
		return cases.Lower(language.Und).String(s)
	case "upper":
		return cases.Upper(language.Und).String(s)
	case "capitalize":
		// The first character title-cased, the rest lower-cased.
		r, n := utf8.DecodeRuneInString(s)
		if n == 0 {
			return s
		}
		return titleRune(r) + cases.Lower(language.Und).String(s[n:])
	}
	// title: a character after a cased one is lower-cased, any other
	// title-cased; cased means an upper-, lower- or title-case letter, so
	// digits, apostrophes and Hangul start words.
	var b strings.Builder
	lower := cases.Lower(language.Und)
	prevCased := false
	for _, r := range s {
		if prevCased {
			b.WriteString(lower.String(string(r)))
		} else {
			b.WriteString(titleRune(r))
		}
		prevCased = unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
	}
	return b.String()
}

// titleRune is r's full title-case mapping: ß becomes Ss, ǆ ǅ.
func titleRune(r rune) string {
	if t, ok := fullTitle[r]; ok {
		return t
	}
	return string(unicode.ToTitle(r))
}

// fullTitle holds the title-case mappings of Unicode's SpecialCasing.txt
// that are longer than one character (the Latin and Armenian ligatures);
// the others are unicode.ToTitle's.
var fullTitle = map[rune]string{
	'ß': "Ss", 'ﬀ': "Ff", 'ﬁ': "Fi", 'ﬂ': "Fl", 'ﬃ': "Ffi", 'ﬄ': "Ffl", 'ﬅ': "St", 'ﬆ': "St",
	'և': "Եւ", 'ﬓ': "Մն", 'ﬔ': "Մե", 'ﬕ': "Մի", 'ﬖ': "Վն", 'ﬗ': "Մխ", 'ŉ': "ʼN",
}

// jinjaTitle is Jinja's title filter, which is not Python's str.title:
// words are split at runs of '-', whitespace and opening brackets only, and
// each has its first character upper-cased and the rest lower-cased
// ("it's" stays "It's").
func jinjaTitle(s string) string {
	isSep := func(r rune) bool {
		return r == '-' || r == '(' || r == '{' || r == '[' || r == '<' || unicode.IsSpace(r)
	}
	var b strings.Builder
	upper, lower := cases.Upper(language.Und), cases.Lower(language.Und)
	for s != "" {
		r, n := utf8.DecodeRuneInString(s)
		if isSep(r) {
			b.WriteRune(r)
			s = s[n:]
			continue
		}
		end := strings.IndexFunc(s, isSep)
		if end < 0 {
			end = len(s)
		}
		b.WriteString(upper.String(s[:n]))
		b.WriteString(lower.String(s[n:end]))
		s = s[end:]
	}
	return b.String()
}

func dictMethod(d *dict, name string) callable {
	switch name {
	case "items":
		return func(_ *state, _ []value, _ map[string]value) (value, error) { return pairs(d), nil }
	case "keys":
		return func(_ *state, _ []value, _ map[string]value) (value, error) {
			out := make([]value, len(d.keys))
			for i, k := range d.keys {
				out[i] = k
			}
			return out, nil
		}
	case "values":
		return func(_ *state, _ []value, _ map[string]value) (value, error) {
			out := make([]value, len(d.keys))
			for i, k := range d.keys {
				out[i] = d.m[k]
			}
			return out, nil
		}
	case "get":
		return func(_ *state, args []value, _ map[string]value) (value, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("get takes a key")
			}
			if v, ok := d.get(str(args[0])); ok {
				return v, nil
			}
			if len(args) > 1 {
				return args[1], nil
			}
			return nil, nil
		}
	}
	return nil
}

func listMethod(l []value, name string) callable {
	switch name {
	case "index":
		return func(_ *state, args []value, _ map[string]value) (value, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("index takes one argument")
			}
			for i, x := range l {
				if equal(x, args[0]) {
					return int64(i), nil
				}
			}
			return nil, fmt.Errorf("%s is not in list", repr(args[0]))
		}
	case "count":
		return func(_ *state, args []value, _ map[string]value) (value, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("count takes one argument")
			}
			n := 0
			for _, x := range l {
				if equal(x, args[0]) {
					n++
				}
			}
			return int64(n), nil
		}
	}
	return nil
}

// pyFormat is Python's str.format for what templates write: {} in turn,
// {0} by position, {name} by keyword, {{ and }} for braces; format specs
// are not supported (an error says so).
func pyFormat(f string, args []value, kw map[string]value) (value, error) {
	var b strings.Builder
	next := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("format: single '{' in %q", f)
			}
			field := f[i+1 : i+end]
			i += end
			if strings.ContainsAny(field, ":!.[") {
				return nil, fmt.Errorf("format: field {%s} is not supported (only {}, {N} and {name})", field)
			}
			var v value
			switch n, err := strconv.Atoi(field); {
			case field == "":
				if next >= len(args) {
					return nil, fmt.Errorf("format: not enough arguments for %q", f)
				}
				v = args[next]
				next++
			case err == nil:
				if n < 0 || n >= len(args) {
					return nil, fmt.Errorf("format: no argument %d for %q", n, f)
				}
				v = args[n]
			default:
				var ok bool
				if v, ok = kw[field]; !ok {
					return nil, fmt.Errorf("format: no argument %q for %q", field, f)
				}
			}
			b.WriteString(str(v))
		case c == '}':
			return nil, fmt.Errorf("format: single '}' in %q", f)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
