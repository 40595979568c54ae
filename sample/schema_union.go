package sample

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Alternatives of an anyOf that start alike but need not be told apart.
// The recognizer follows one alternative from a value's first byte, so
// two strings, two numbers or an enum beside a string would be refused;
// pydantic writes them for Union[date, datetime], Union[int, float] and
// Union[Literal["auto"], str]. Where the union is one schema, it is
// written as one: an alternative that takes every value is the union; one
// the same as another (but for annotations) is left out; an enum whose values another alternative takes is left
// out (that one takes them); an integer or number whose range another's
// holds likewise; strings held to a pattern, a format or an enum of
// strings, under the same lengths, become one string whose pattern is
// the alternation of theirs. A oneOf is left as it is: a value two
// alternatives take is no value of it.

// mergeAlternatives is l, an anyOf's alternatives, with those that
// another takes left out and strings joined, as above; path names the
// anyOf. Alternatives it cannot read are left as they are.
func (c *schemaCompiler) mergeAlternatives(l []any, path string) []any {
	l = c.flatAnyOf(l, 0)
	var out []any
	for _, v := range l {
		o, ok := c.resolved(v)
		switch {
		case ok && acceptsAll(o), v == true:
			return []any{v} // an alternative that takes every value
		case ok && slices.ContainsFunc(out, func(w any) bool { p, isObj := c.resolved(w); return isObj && sameSchema(o, p) }):
			continue // the same as one before (but for annotations)
		}
		out = append(out, v)
	}
	// Enums whose every value another alternative takes.
	for i := 0; i < len(out); i++ {
		vals, ok := c.enumValues(out[i])
		if !ok {
			continue
		}
		for j, x := range out {
			if j == i {
				continue
			}
			if _, isEnum := c.enumValues(x); isEnum {
				continue // (an enum within another is left to the first-byte table)
			}
			if c.takesAll(x, vals, path) {
				out = slices.Delete(out, i, i+1)
				i--
				break
			}
		}
	}
	// Strings an alternative of any string takes (a URL beside a file's
	// path, whose format is not held).
	if i := slices.IndexFunc(out, c.anyString); i >= 0 {
		keep := out[i]
		out = slices.DeleteFunc(out, func(v any) bool {
			o, ok := c.resolved(v)
			return v != keep && ok && o.vals["type"] == "string"
		})
	}
	// Numbers within another's range.
	for i := 0; i < len(out); i++ {
		a, ok := c.rangeOf(out[i])
		if !ok {
			continue
		}
		for j, x := range out {
			if b, ok := c.rangeOf(x); ok && j != i && b.holds(a) && (!a.holds(b) || j < i) {
				out = slices.Delete(out, i, i+1)
				i--
				break
			}
		}
	}
	return c.joinStrings(out)
}

// flatAnyOf is l with each alternative that is an anyOf alone (through
// $refs: vega-lite's TimeUnit, an anyOf of anyOfs of enums) replaced by
// its alternatives, depth levels down so far.
func (c *schemaCompiler) flatAnyOf(l []any, depth int) []any {
	if depth >= maxInlineDepth {
		return l
	}
	var out []any
	for _, v := range l {
		o, ok := c.resolved(v)
		var inner []any
		if ok {
			inner, _ = o.vals["anyOf"].([]any)
		}
		if len(inner) == 0 || constrains(without(o, "anyOf")) {
			out = append(out, v)
			continue
		}
		out = append(out, c.flatAnyOf(inner, depth+1)...)
	}
	return out
}

// anyString says whether schema v takes every string and nothing else.
func (c *schemaCompiler) anyString(v any) bool {
	o, ok := c.resolved(v)
	if !ok || o.vals["type"] != "string" || !onlyKeywords(o, "type", "format") {
		return false
	}
	f, hasFormat := o.get("format")
	return !hasFormat || !heldFormat(f)
}

// resolved is schema v, or what it stands for: the target of a $ref
// alone, the one member of an allOf alone (pydantic's {"allOf": [{"$ref":
// ...}], "description": ...}).
func (c *schemaCompiler) resolved(v any) (*ordered, bool) {
	o, ok := v.(*ordered)
	if !ok {
		return nil, false
	}
	for range maxInlineDepth {
		if l, isList := o.vals["allOf"].([]any); isList && len(l) == 1 && !constrains(without(o, "allOf")) {
			if o, ok = l[0].(*ordered); !ok {
				return nil, false
			}
			continue
		}
		ref, isRef := o.vals["$ref"].(string)
		if !isRef || constrains(without(o, "$ref")) {
			break
		}
		target, err := c.refTarget(ref, "#")
		if err != nil {
			return nil, false
		}
		if o, ok = target.(*ordered); !ok {
			return nil, false
		}
	}
	return o, true
}

// onlyKeywords says whether o's keywords, but for annotations, are among keys.
func onlyKeywords(o *ordered, keys ...string) bool {
	return !slices.ContainsFunc(o.keys, func(k string) bool {
		return !slices.Contains(keys, k) && (!isAnnotation(k) || k == "format" && heldFormat(o.vals[k]))
	})
}

// enumUnion is l, the alternatives of an anyOf (oneOf: of a oneOf), as
// one enum where each is an enum or const (with a type beside it, which
// keeps its values of that type, and annotations): the values any of
// them takes, or of a oneOf the values only one takes, since a value two
// take is no value of it. OpenAPI and SchemaStore write enums so, each
// value with a description: oneOf [{"const": "a", "description": ...},
// ...]. ok is false where an alternative is no enum, or none is left.
func (c *schemaCompiler) enumUnion(l []any, oneOf bool) (any, bool) {
	var vals []any
	var takers []int // how many alternatives take each of vals
	for _, a := range l {
		o, ok := c.resolved(a)
		if !ok || !onlyKeywords(o, "enum", "const", "type") || has(o, "enum") == has(o, "const") {
			return nil, false
		}
		e, isList := o.vals["enum"].([]any)
		if cv, isConst := o.get("const"); isConst {
			e, isList = []any{cv}, true
		}
		if !isList {
			return nil, false
		}
		types := typeNames(o.vals["type"])
		var own []any // this alternative's values, each once
		for _, v := range e {
			if types != nil && !slices.ContainsFunc(types, func(t string) bool { return valueOfType(v, t) }) {
				continue
			}
			if slices.ContainsFunc(own, func(w any) bool { return jsonEqual(v, w) }) {
				continue
			}
			own = append(own, v)
			if i := slices.IndexFunc(vals, func(w any) bool { return jsonEqual(v, w) }); i >= 0 {
				takers[i]++
				continue
			}
			vals, takers = append(vals, v), append(takers, 1)
		}
	}
	var kept []any
	for i, v := range vals {
		if !oneOf || takers[i] == 1 {
			kept = append(kept, v)
		}
	}
	if len(kept) == 0 {
		return nil, false
	}
	return &ordered{keys: []string{"enum"}, vals: map[string]any{"enum": kept}}, true
}

// maxApartAlternatives bounds the oneOfs stringsApart reads (it merges
// each pair).
const maxApartAlternatives = 8

// stringsApart says whether l, a oneOf's alternatives, are all strings
// (an enum or const of strings, or a string under patterns, a format and
// lengths) no two of which take one text: each pair merged (allOf) takes
// none. The oneOf is then their anyOf, and joined as one: SchemaStore's
// oneOf [{"enum": ["none", "llvm"]}, {"pattern": "\\{.*\\}"}], a value
// from a list or a text of another form.
func (c *schemaCompiler) stringsApart(l []any, path string) bool {
	if len(l) < 2 || len(l) > maxApartAlternatives {
		return false
	}
	for _, a := range l {
		o, ok := c.resolved(a)
		if !ok || !onlyKeywords(o, "type", "enum", "const", "pattern", "format", "minLength", "maxLength") {
			return false
		}
		if t, typed := o.vals["type"]; typed && t != "string" {
			return false
		}
		isEnum, allStrings := enumOfStrings(o)
		if isEnum && !allStrings {
			return false
		}
		if !isEnum && !has(o, "type") && !has(o, "pattern") && !has(o, "minLength") && !has(o, "maxLength") {
			return false // (a format alone holds strings only)
		}
	}
	for i := range l {
		for j := range i {
			if _, err := c.compileApart(allOf(l[j], l[i]), path); !errors.Is(err, errNoValue) {
				return false
			}
		}
	}
	return true
}

// stringsOnlyOnce is l, a oneOf's alternatives, with each string one
// less the texts the others take, since a text two take is no value of
// the oneOf: tldr's oneOf [{"enum": ["linux"]}, {"type": "string"}] is
// any string but "linux" (the enum's string is left out, every one
// being another's too). ok where at most one string alternative is left
// (they would start alike) and each not could be read; the other
// alternatives, of types other than string, stay as they are.
func (c *schemaCompiler) stringsOnlyOnce(l []any, path string) ([]any, bool) {
	if len(l) > maxApartAlternatives {
		return nil, false
	}
	var strs []int
	for i, a := range l {
		o, ok := c.resolved(a)
		if !ok {
			return nil, false
		}
		types := typeNames(o.vals["type"])
		switch _, allStrings := enumOfStrings(o); {
		case slices.Equal(types, []string{"string"}) || types == nil && allStrings:
			strs = append(strs, i)
		case types == nil || slices.Contains(types, "string"):
			return nil, false // strings and other values
		}
	}
	if len(strs) < 2 {
		return nil, false
	}
	var out []any
	left := 0
	for i, a := range l {
		if !slices.Contains(strs, i) {
			out = append(out, a)
			continue
		}
		parts := []any{a}
		for _, j := range strs {
			if j != i {
				parts = append(parts, keyword("not", l[j]))
			}
		}
		only := allOf(parts...)
		_, err := c.compileApart(only, path)
		switch {
		case errors.Is(err, errNoValue):
			continue // every text another takes too
		case err != nil:
			return nil, false
		}
		out, left = append(out, only), left+1
	}
	return out, left <= 1 && len(out) > 0
}

// enumOfStrings says whether schema o has an enum or const, and whether
// its values are all strings.
func enumOfStrings(o *ordered) (isEnum, allStrings bool) {
	vals, isEnum := o.vals["enum"].([]any)
	if cv, isConst := o.get("const"); isConst {
		vals, isEnum = append(vals, cv), true
	}
	return isEnum, isEnum && !slices.ContainsFunc(vals, func(v any) bool { _, isStr := v.(string); return !isStr })
}

// enumValues are the values of an enum or const with nothing beside it.
func (c *schemaCompiler) enumValues(v any) ([]any, bool) {
	o, ok := c.resolved(v)
	if !ok || !onlyKeywords(o, "enum", "const") {
		return nil, false
	}
	if e, isConst := o.get("const"); isConst {
		if has(o, "enum") {
			return nil, false
		}
		return []any{e}, true
	}
	l, isList := o.vals["enum"].([]any)
	return l, isList && len(l) > 0
}

// takesAll says whether schema x takes every one of vals.
func (c *schemaCompiler) takesAll(x any, vals []any, path string) bool {
	if o, ok := c.resolved(x); ok {
		// A type that leaves a value out needs no compiling.
		types := typeNames(o.vals["type"])
		for _, v := range vals {
			if types != nil && !slices.ContainsFunc(types, func(t string) bool { return valueOfType(v, t) }) {
				return false
			}
		}
	}
	n, err := c.compileApart(x, path)
	if err != nil {
		return false
	}
	p := &schemaProgram{root: n}
	for _, v := range vals {
		var b bytes.Buffer
		if writeCompact(&b, v) != nil || !p.accepts(b.Bytes()) {
			return false
		}
	}
	return true
}

// numberRange is a number's or integer's range, with nothing else beside
// its type and bounds; integers' ends are whole numbers within it.
type numberRange struct {
	integer bool
	lo, hi  *big.Rat // nil: none
	// loOpen, hiOpen: the end is not in the range (a number's
	// exclusive bound)
	loOpen, hiOpen bool
}

func (c *schemaCompiler) rangeOf(v any) (numberRange, bool) {
	o, ok := c.resolved(v)
	if !ok || !onlyKeywords(o, "type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") {
		return numberRange{}, false
	}
	t, _ := o.vals["type"].(string)
	if t != "integer" && t != "number" {
		return numberRange{}, false
	}
	r := numberRange{integer: t == "integer"}
	for _, k := range boundKeys {
		v, ok := o.get(k)
		if !ok {
			continue
		}
		n, isNum := v.(json.Number)
		x, okRat := new(big.Rat).SetString(string(n))
		if !isNum || !okRat {
			return numberRange{}, false
		}
		open := strings.HasPrefix(k, "exclusive")
		if strings.HasSuffix(k, "inimum") {
			if r.lo == nil || x.Cmp(r.lo) > 0 || x.Cmp(r.lo) == 0 && open {
				r.lo, r.loOpen = x, open
			}
		} else if r.hi == nil || x.Cmp(r.hi) < 0 || x.Cmp(r.hi) == 0 && open {
			r.hi, r.hiOpen = x, open
		}
	}
	if r.integer {
		// The whole numbers in range: its ends, as closed bounds.
		if r.lo != nil {
			f := ceilRat(r.lo)
			if r.loOpen && f.Cmp(r.lo) == 0 {
				f.Add(f, big.NewRat(1, 1))
			}
			r.lo, r.loOpen = f, false
		}
		if r.hi != nil {
			f := floorRat(r.hi)
			if r.hiOpen && f.Cmp(r.hi) == 0 {
				f.Sub(f, big.NewRat(1, 1))
			}
			r.hi, r.hiOpen = f, false
		}
	}
	return r, true
}

func floorRat(x *big.Rat) *big.Rat {
	q := new(big.Int).Div(x.Num(), x.Denom()) // Euclidean: rounds down for a positive divisor
	return new(big.Rat).SetInt(q)
}

func ceilRat(x *big.Rat) *big.Rat {
	f := floorRat(x)
	if f.Cmp(x) < 0 {
		f.Add(f, big.NewRat(1, 1))
	}
	return f
}

// holds says whether every value of range b is one of r's: a number's
// range holds an integer's within it, an integer's only integers'.
func (r numberRange) holds(b numberRange) bool {
	if r.integer && !b.integer {
		return false
	}
	switch {
	case r.lo == nil:
	case b.lo == nil:
		return false
	case b.lo.Cmp(r.lo) < 0, b.lo.Cmp(r.lo) == 0 && r.loOpen && !b.loOpen:
		return false
	}
	switch {
	case r.hi == nil:
	case b.hi == nil:
		return false
	case b.hi.Cmp(r.hi) > 0, b.hi.Cmp(r.hi) == 0 && r.hiOpen && !b.hiOpen:
		return false
	}
	return true
}

// stringAlternative is a string alternative read as one pattern (an
// ECMA-262 search; "" takes every string) under lengths.
type stringAlternative struct {
	at       int
	pattern  string
	min, max any // minLength and maxLength, nil where not given
	literals []string
}

// stringPattern reads v as a string under a pattern, a format or an enum
// of strings (not two of them: that is their intersection), and lengths.
func (c *schemaCompiler) stringPattern(v any) (stringAlternative, bool) {
	o, ok := c.resolved(v)
	if !ok || !onlyKeywords(o, "type", "pattern", "format", "minLength", "maxLength", "enum", "const") {
		return stringAlternative{}, false
	}
	if t, typed := o.get("type"); typed && t != "string" {
		return stringAlternative{}, false
	}
	s := stringAlternative{min: o.vals["minLength"], max: o.vals["maxLength"]}
	parts := 0
	if p, ok := o.get("pattern"); ok {
		src, isString := p.(string)
		if !isString || lookaroundAt(src) >= 0 {
			return stringAlternative{}, false
		}
		s.pattern = "(?:" + src + ")"
		parts++
	}
	if f, ok := o.get("format"); ok && heldFormat(f) {
		name, _ := f.(string)
		sf := stringFormats[name]
		if sf.maxLen > 0 {
			return stringAlternative{}, false // its length bound is the format's too
		}
		s.pattern = "^(?:" + sf.re + ")$"
		parts++
	}
	if vals, ok := c.enumValues(without(o, "type", "minLength", "maxLength")); ok {
		for _, e := range vals {
			lit, isString := e.(string)
			if !isString {
				return stringAlternative{}, false
			}
			s.literals = append(s.literals, lit)
		}
		parts++
	} else if has(o, "enum") || has(o, "const") {
		return stringAlternative{}, false
	}
	if _, typed := o.get("type"); parts > 1 || !typed && s.literals == nil {
		return stringAlternative{}, false // an intersection, or values of other types too
	}
	return s, true
}

// joinStrings joins out's string alternatives that have the same lengths
// (enums whose values fit them join any) into one, where there are two
// or more.
func (c *schemaCompiler) joinStrings(out []any) []any {
	var strs []stringAlternative
	for i, v := range out {
		if s, ok := c.stringPattern(v); ok {
			s.at = i
			strs = append(strs, s)
		}
	}
	if !slices.ContainsFunc(strs, func(s stringAlternative) bool { return s.pattern != "" && (s.min != nil || s.max != nil) }) {
		// No pattern or format under lengths: those under lengths alone
		// are patterns of their own (code points, as ECMA-262's u flag
		// counts them).
		for i, s := range strs {
			if s.pattern != "" || s.literals != nil || s.min == nil && s.max == nil {
				continue
			}
			lo, hi := "0", ""
			for _, b := range []struct {
				v   any
				out *string
			}{{s.min, &lo}, {s.max, &hi}} {
				if b.v == nil {
					continue
				}
				n, isNum := b.v.(json.Number)
				if v, err := n.Int64(); !isNum || err != nil || v < 0 {
					return out
				}
				*b.out = string(n)
			}
			strs[i].pattern, strs[i].min, strs[i].max = `^[\s\S]{`+lo+","+hi+"}$", nil, nil
		}
	}
	var lengths *stringAlternative // the lengths of those with a pattern or format
	for i, s := range strs {
		if s.literals != nil {
			continue
		}
		if lengths != nil && (!jsonEqual(lengths.min, s.min) || !jsonEqual(lengths.max, s.max)) {
			return out // strings of different lengths: left apart
		}
		lengths = &strs[i]
	}
	var min, max any
	if lengths != nil {
		min, max = lengths.min, lengths.max
	}
	fits := func(lit string) bool {
		n := json.Number("")
		count := utf8.RuneCountInString(lit)
		for _, b := range []struct {
			v     any
			below bool
		}{{min, false}, {max, true}} {
			if b.v == nil {
				continue
			}
			if n, _ = b.v.(json.Number); n == "" {
				return false
			}
			bound, err := n.Int64()
			if err != nil || b.below && int64(count) > bound || !b.below && int64(count) < bound {
				return false
			}
		}
		return true
	}
	var joined []stringAlternative
	for _, s := range strs {
		if s.literals == nil || !slices.ContainsFunc(s.literals, func(l string) bool { return !fits(l) }) {
			joined = append(joined, s)
		}
	}
	if len(joined) < 2 {
		return out
	}
	var alts []string
	anyText := false
	for _, s := range joined {
		switch {
		case s.literals != nil:
			quoted := make([]string, len(s.literals))
			for i, l := range s.literals {
				quoted[i] = regexp.QuoteMeta(l)
			}
			alts = append(alts, "^(?:"+strings.Join(quoted, "|")+")$")
		case s.pattern == "":
			anyText = true
		default:
			alts = append(alts, s.pattern)
		}
	}
	m := &ordered{keys: []string{"type"}, vals: map[string]any{"type": "string"}}
	if !anyText {
		m.keys = append(m.keys, "pattern")
		m.vals["pattern"] = strings.Join(alts, "|")
	}
	for k, v := range map[string]any{"minLength": min, "maxLength": max} {
		if v != nil {
			m.keys = append(m.keys, k)
			m.vals[k] = v
		}
	}
	slices.Sort(m.keys[1:]) // maxLength before minLength before pattern: one order, whatever the map's
	res := slices.Clone(out[:joined[0].at])
	res = append(res, m)
	for i := joined[0].at + 1; i < len(out); i++ {
		if !slices.ContainsFunc(joined, func(s stringAlternative) bool { return s.at == i }) {
			res = append(res, out[i])
		}
	}
	return res
}

// valueOfType says whether decoded JSON value v is of JSON Schema type t.
func valueOfType(v any, t string) bool {
	switch v := v.(type) {
	case nil:
		return t == "null"
	case bool:
		return t == "boolean"
	case string:
		return t == "string"
	case json.Number:
		if t == "number" {
			return true
		}
		r, ok := new(big.Rat).SetString(string(v))
		return t == "integer" && ok && r.IsInt()
	case []any:
		return t == "array"
	case *ordered:
		return t == "object"
	}
	return false
}
