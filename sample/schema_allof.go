package sample

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// allOf of several schemas (OpenAPI's inheritance, allOf [{"$ref": Base},
// {more properties}]; zod's intersections; pydantic v1's $ref beside
// keywords) is merged keyword by keyword into one schema that accepts
// what every part does: types intersected, bounds tightened, properties
// joined (one declared in several parts takes all their schemas),
// required lists joined, enums intersected. A part's additionalProperties
// holds for the properties only the other parts declare: false drops them
// (or refuses the schema, where one is required), a schema joins theirs.
// Keywords that do not combine into one (two patterns, two formats, two
// unions) are refused unless equal.

// errNoValue is a merge that no value meets: an error at the top, and an
// alternative left out where an anyOf is distributed over its siblings.
var errNoValue = errors.New("no value meets every part")

// A $ref merged into an allOf is copied, not shared, so a schema that
// does so recursively would not end, and one that does so twice a level
// would double at each: merged schemas nest at most maxInlineDepth deep
// and number at most maxInlined in a compile, and one allOf flattens into
// at most maxAllOfParts parts.
const (
	maxInlineDepth = 64
	maxInlined     = 4096
	maxAllOfParts  = 1024
)

func noValue(path, format string, a ...any) error {
	return emptyErr(path, "allOf: "+format, a...)
}

// allOfParts appends the schemas v is the conjunction of: v itself, or,
// for an allOf, its members' parts and v's other keywords; a $ref stands
// for its target.
func (c *schemaCompiler) allOfParts(v any, path string, depth int, out []*ordered) ([]*ordered, error) {
	if depth > maxInlineDepth || len(out) > maxAllOfParts {
		return nil, schemaErr(path, "allOf nested more than %d deep or of more than %d parts, or a $ref in it that refers to itself", maxInlineDepth, maxAllOfParts)
	}
	switch v := v.(type) {
	case bool:
		if !v {
			return nil, noValue(path, "false accepts nothing")
		}
		return out, nil
	case *ordered:
		if isNever(v) {
			return nil, noValue(path, "not of a schema that accepts everything accepts nothing")
		}
		v, err := legacyForms(v, path)
		if err != nil {
			return nil, err
		}
		if ref, ok := v.get("$ref"); ok {
			s, _ := ref.(string)
			target, err := c.refTarget(s, path)
			if err != nil {
				return nil, err
			}
			if rest := without(v, "$ref"); constrains(rest) {
				// Keywords beside $ref hold too.
				if out, err = c.allOfParts(rest, path, depth+1, out); err != nil {
					return nil, err
				}
			}
			return c.allOfParts(target, s, depth+1, out)
		}
		l, ok := v.get("allOf")
		if !ok {
			return append(out, v), nil
		}
		list, isList := l.([]any)
		if !isList || len(list) == 0 {
			return nil, schemaErr(path, "allOf must be a non-empty list")
		}
		for i, e := range list {
			var err error
			if out, err = c.allOfParts(e, fmt.Sprintf("%s/allOf/%d", path, i), depth+1, out); err != nil {
				return nil, err
			}
		}
		if rest := without(v, "allOf"); constrains(rest) {
			out = append(out, rest)
		}
		return out, nil
	}
	return nil, schemaErr(path, "a schema must be an object or a boolean")
}

// without is o less the keywords drop.
func without(o *ordered, drop ...string) *ordered {
	r := &ordered{vals: map[string]any{}}
	for _, k := range o.keys {
		if !slices.Contains(drop, k) {
			r.keys = append(r.keys, k)
			r.vals[k] = o.vals[k]
		}
	}
	return r
}

// constrains says whether o has a keyword other than an annotation.
func constrains(o *ordered) bool {
	return slices.ContainsFunc(o.keys, func(k string) bool { return !isAnnotation(k) })
}

// mergeParts merges parts, left to right, into one schema.
func mergeParts(parts []*ordered, path string) (*ordered, error) {
	m := &ordered{vals: map[string]any{}}
	for _, p := range parts {
		var err error
		if m, err = mergeTwo(m, p, path); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// allOf wraps schemas in an allOf, to be merged when compiled.
func allOf(a ...any) *ordered { return keyword("allOf", a) }

// keyword is the schema of keyword k alone, of value v.
func keyword(k string, v any) *ordered {
	return &ordered{keys: []string{k}, vals: map[string]any{k: v}}
}

// refusing is the schema of the strings a not refuses: those that match
// the pattern src.
func refusing(src string) *ordered {
	return keyword("pattern", patternList{{src: src, negate: true}})
}

var (
	lowerBounds = []string{"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}
	upperBounds = []string{"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}
)

// mergeTwo is the schema of the values both a and b accept.
func mergeTwo(a, b *ordered, path string) (*ordered, error) {
	if tupleItems(a) && itemKeys(b) || tupleItems(b) && itemKeys(a) {
		return nil, schemaErr(path, "allOf: a tuple (prefixItems, or items as a list) in one part and items in another are not merged")
	}
	a, b = withoutLoneThen(a), withoutLoneThen(b)
	b, pending := deferredAlternatives(a, b)
	m := &ordered{keys: slices.Clone(a.keys), vals: maps.Clone(a.vals)}
	if pending != nil {
		b.keys = append(b.keys, "allOf")
		b.vals["allOf"] = []any{pending}
	}
	for _, k := range b.keys {
		bv := b.vals[k]
		av, both := a.vals[k]
		if !both {
			m.keys = append(m.keys, k)
			m.vals[k] = bv
			continue
		}
		if isAnnotation(k) && k != "format" || jsonEqual(av, bv) {
			continue // a's annotation stands (a format may hold the text)
		}
		v, err := mergeKeyword(k, av, bv, path)
		if err != nil {
			return nil, err
		}
		m.vals[k] = v
	}
	if err := mergeProperties(m, a, b, path); err != nil {
		return nil, err
	}
	return m, nil
}

// alternativeGroups are the keywords that make a schema a union of
// alternatives (compiled by distributing them over the rest), each with
// the keywords read beside it.
var alternativeGroups = [][]string{
	{"anyOf", "oneOf", "discriminator"},
	{"if", "then", "else"},
	{"not"},
}

// deferredAlternatives takes out of b the unions a has too (two parts'
// anyOfs, two if/then/elses, as allOf [{if...}, {if...}] writes a
// schema's conditions): they do not merge into one, so b's is returned
// apart (nil if none), to be kept as a pending allOf beside a's. Each is
// then distributed in turn: the alternatives of a's, each merged with
// the rest, b's among it, and so on (their cross product).
func deferredAlternatives(a, b *ordered) (*ordered, *ordered) {
	var pending *ordered
	for _, g := range alternativeGroups {
		inA := slices.ContainsFunc(g, func(k string) bool { return k != "discriminator" && has(a, k) })
		inB := slices.ContainsFunc(g, func(k string) bool { return k != "discriminator" && has(b, k) })
		if !inA || !inB || slices.IndexFunc(g, func(k string) bool { return !jsonEqual(a.vals[k], b.vals[k]) }) < 0 {
			continue
		}
		if pending == nil {
			pending = &ordered{vals: map[string]any{}}
		}
		for _, k := range g {
			if v, ok := b.get(k); ok {
				pending.keys = append(pending.keys, k)
				pending.vals[k] = v
			}
		}
		b = without(b, g...)
	}
	return b, pending
}

// withoutLoneThen is o less a then or else without an if beside it: an
// annotation, which must not meet another part's if.
func withoutLoneThen(o *ordered) *ordered {
	if has(o, "if") || !has(o, "then") && !has(o, "else") {
		return o
	}
	return without(o, "then", "else")
}

// mergeKeyword combines a keyword both parts give, differently.
func mergeKeyword(k string, av, bv any, path string) (any, error) {
	switch {
	case k == "type":
		return mergeTypes(av, bv, path)
	case k == "required":
		al, aok := av.([]any)
		bl, bok := bv.([]any)
		if !aok || !bok {
			return nil, schemaErr(path, "required must be a list")
		}
		out := slices.Clone(al)
		for _, e := range bl {
			if !slices.ContainsFunc(out, func(x any) bool { return jsonEqual(x, e) }) {
				out = append(out, e)
			}
		}
		return out, nil
	case k == "properties":
		return mergePropertyMaps(av, bv, path)
	case k == "additionalProperties", k == "unevaluatedProperties", k == "unevaluatedItems", k == "items" && isSchema(av) && isSchema(bv):
		if isNever(av) || isNever(bv) {
			return false, nil
		}
		if av == true {
			return bv, nil
		}
		if bv == true {
			return av, nil
		}
		return allOf(av, bv), nil
	case slices.Contains(lowerBounds, k), slices.Contains(upperBounds, k):
		an, aok := av.(json.Number)
		bn, bok := bv.(json.Number)
		x, xok := new(big.Rat).SetString(string(an))
		y, yok := new(big.Rat).SetString(string(bn))
		if !aok || !bok || !xok || !yok {
			return nil, schemaErr(path, "%s must be a number", k)
		}
		if (x.Cmp(y) < 0) == slices.Contains(lowerBounds, k) {
			return bv, nil // the tighter bound
		}
		return av, nil
	case k == "uniqueItems":
		if av == true || bv == true {
			return true, nil
		}
		return false, nil
	case k == "enum":
		al, aok := av.([]any)
		bl, bok := bv.([]any)
		if !aok || !bok {
			return nil, schemaErr(path, "enum must be a non-empty list")
		}
		var out []any
		for _, e := range al {
			if slices.ContainsFunc(bl, func(x any) bool { return jsonEqual(x, e) }) {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil, noValue(path, "the parts' enums share no value")
		}
		return out, nil
	case k == "const":
		return nil, noValue(path, "the parts' consts differ")
	case k == "allOf":
		// Pending unions (deferredAlternatives), all of which hold.
		al, aok := av.([]any)
		bl, bok := bv.([]any)
		if !aok || !bok {
			return nil, schemaErr(path, "allOf must be a non-empty list")
		}
		return append(slices.Clone(al), bl...), nil
	case k == "dependentRequired", k == "dependencies":
		// Each part's requirements hold: a property requires what it
		// does in either.
		am, aok := av.(*ordered)
		bm, bok := bv.(*ordered)
		if !aok || !bok {
			return nil, schemaErr(path, "%s must be an object", k)
		}
		m := &ordered{keys: slices.Clone(am.keys), vals: maps.Clone(am.vals)}
		for _, name := range bm.keys {
			al, inA := m.vals[name].([]any)
			bl, isList := bm.vals[name].([]any)
			if !isList || has(m, name) && !inA {
				return nil, schemaErr(path, "%s/%s: a list of property names is supported", k, name)
			}
			if !has(m, name) {
				m.keys = append(m.keys, name)
			}
			m.vals[name] = append(slices.Clone(al), bl...)
		}
		return m, nil
	case k == "multipleOf":
		// Each part's holds (integers take their least common multiple).
		var out multipleList
		for _, v := range []any{av, bv} {
			switch v := v.(type) {
			case json.Number:
				out = append(out, v)
			case multipleList:
				out = append(out, v...)
			default:
				return nil, schemaErr(path, "multipleOf must be a number")
			}
		}
		return out, nil
	case k == "pattern":
		// A text held to several patterns is held to each one's automata
		// (zod writes z.string().regex(a).regex(b) as allOf [{pattern: a},
		// {pattern: b}]).
		var out patternList
		for _, v := range []any{av, bv} {
			l, err := patterns(v, path)
			if err != nil {
				return nil, err
			}
			out = append(out, l...)
		}
		slices.SortFunc(out, func(a, b patternItem) int {
			if c := strings.Compare(a.src, b.src); c != 0 {
				return c
			}
			return boolCmp(a.negate, b.negate)
		})
		return foldRefusals(slices.Compact(out)), nil
	case k == "format":
		// A format Nuri does not hold the text to is an annotation: the
		// other part's stands.
		fa, _, _ := formatGrammar(av)
		fb, _, _ := formatGrammar(bv)
		switch {
		case fb == nil:
			return av, nil
		case fa == nil:
			return bv, nil
		}
	}
	return nil, schemaErr(path, "allOf: the parts give %q differently; only types, properties, required, additionalProperties, items, bounds, lengths, counts, uniqueItems, enums, patterns, multipleOf, dependentRequired and unevaluated* are merged", k)
}

// patternList is the patterns of several merged parts, each of which a
// string must match, or (a not's) must not: a type of its own, which no
// decoded schema has.
type patternList []patternItem

type patternItem struct {
	src    string
	negate bool
}

func (p patternItem) String() string {
	if p.negate {
		return fmt.Sprintf("not %q", p.src)
	}
	return strconv.Quote(p.src)
}

// patterns reads a pattern keyword's value, a merged list or a string.
// foldRefusals is l with its patterns a text must not match made one,
// their alternation (a text that matches none matches no alternative):
// allOf of many if/thens on a type's const, distributed, leaves each
// alternative's else a refusal of each const, more automata than a string
// takes.
func foldRefusals(l patternList) patternList {
	var out patternList
	var refused []string
	for _, p := range l {
		if p.negate {
			refused = append(refused, "(?:"+p.src+")")
			continue
		}
		out = append(out, p)
	}
	switch len(refused) {
	case 0:
		return l
	case 1:
		return append(out, patternItem{src: strings.TrimSuffix(strings.TrimPrefix(refused[0], "(?:"), ")"), negate: true})
	}
	return append(out, patternItem{src: strings.Join(refused, "|"), negate: true})
}

func patterns(v any, path string) (patternList, error) {
	switch v := v.(type) {
	case string:
		return patternList{{src: v}}, nil
	case patternList:
		return v, nil
	}
	return nil, schemaErr(path, "pattern must be a string")
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// multipleList is the multipleOfs of several merged parts, each of which
// a number must be a multiple of.
type multipleList []json.Number

// tupleItems says whether o gives its leading items schemas of their own.
func tupleItems(o *ordered) bool {
	_, list := o.vals["items"].([]any)
	return list || has(o, "prefixItems") || has(o, "additionalItems")
}

func itemKeys(o *ordered) bool {
	return has(o, "items") || has(o, "prefixItems") || has(o, "additionalItems")
}

func isSchema(v any) bool {
	switch v.(type) {
	case bool, *ordered:
		return true
	}
	return false
}

// mergeTypes intersects two type keywords (an integer is a number).
func mergeTypes(av, bv any, path string) (any, error) {
	names := func(v any) ([]string, error) {
		switch v := v.(type) {
		case string:
			return []string{v}, nil
		case []any:
			var out []string
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					return nil, schemaErr(path, "type must name types")
				}
				out = append(out, s)
			}
			return out, nil
		}
		return nil, schemaErr(path, "type must be a string or a list")
	}
	at, err := names(av)
	if err != nil {
		return nil, err
	}
	bt, err := names(bv)
	if err != nil {
		return nil, err
	}
	var out []any
	for _, t := range at {
		switch {
		case slices.Contains(bt, t):
			out = append(out, t)
		case t == "integer" && slices.Contains(bt, "number"), t == "number" && slices.Contains(bt, "integer"):
			out = append(out, "integer")
		}
	}
	switch len(out) {
	case 0:
		return nil, noValue(path, "types %v and %v have none in common", at, bt)
	case 1:
		return out[0], nil
	}
	return out, nil
}

// mergePropertyMaps joins two properties keywords: a's order, then b's
// new properties; one in both takes both schemas.
func mergePropertyMaps(av, bv any, path string) (any, error) {
	ao, aok := av.(*ordered)
	bo, bok := bv.(*ordered)
	if !aok || !bok {
		return nil, schemaErr(path, "properties must be an object")
	}
	m := &ordered{keys: slices.Clone(ao.keys), vals: maps.Clone(ao.vals)}
	for _, k := range bo.keys {
		x, both := ao.vals[k]
		switch {
		case !both:
			m.keys = append(m.keys, k)
			m.vals[k] = bo.vals[k]
		case isNever(x) || isNever(bo.vals[k]):
			m.vals[k] = false // a property no value meets: never written
		case acceptsAll(bo.vals[k]):
			// (A part that only names the property, {}: the other's
			// schema stands as it is.)
		case acceptsAll(x):
			m.vals[k] = bo.vals[k]
		case !jsonEqual(x, bo.vals[k]):
			m.vals[k] = allOf(x, bo.vals[k])
		}
	}
	return m, nil
}

// acceptsAll says whether schema v accepts every value: true, {}, or an
// allOf of such.
func acceptsAll(v any) bool {
	if isSchemaOfAll(v) {
		return true
	}
	o, ok := v.(*ordered)
	if !ok || slices.ContainsFunc(o.keys, func(k string) bool { return k != "allOf" && (!isAnnotation(k) || k == "format") }) {
		return false
	}
	l, _ := o.vals["allOf"].([]any)
	return len(l) > 0 && !slices.ContainsFunc(l, func(e any) bool { return !acceptsAll(e) })
}

// mergeProperties applies each part's additionalProperties to the
// properties only the other declares: false leaves them out (a required
// one then leaves no value), a schema joins theirs.
func mergeProperties(m, a, b *ordered, path string) error {
	shared, _ := m.vals["properties"].(*ordered)
	if shared == nil {
		return nil
	}
	// A copy: the parts' own maps may be a $ref's target, compiled again.
	props := &ordered{keys: slices.Clone(shared.keys), vals: maps.Clone(shared.vals)}
	m.vals["properties"] = props
	for _, side := range []*ordered{a, b} {
		extra, ok := side.vals["additionalProperties"]
		if !ok || extra == true {
			continue
		}
		own, _ := side.vals["properties"].(*ordered)
		var keep []string
		for _, k := range props.keys {
			declared := false
			if own != nil {
				_, declared = own.vals[k]
			}
			if declared {
				keep = append(keep, k)
				continue
			}
			if !isNever(extra) {
				props.vals[k] = allOf(props.vals[k], extra)
				keep = append(keep, k)
				continue
			}
			if req, _ := m.vals["required"].([]any); slices.Contains(req, any(k)) {
				return noValue(path, "%q is required, and a part's additionalProperties false forbids it", k)
			}
			delete(props.vals, k)
		}
		props.keys = keep
	}
	return nil
}

// merged compiles o, an allOf beside other keywords or of several
// schemas, as the one schema its parts merge into.
func (c *schemaCompiler) merged(o *ordered, path string) (*schemaNode, error) {
	parts, err := c.allOfParts(o, path, 0, nil)
	if err != nil {
		return nil, err
	}
	m, err := mergeParts(parts, path)
	if err != nil {
		return nil, err
	}
	return c.inline(m, path)
}

// inline compiles m, a schema merged from parts, bounding how deep such
// schemas nest. A merged schema met again, as a $ref inlined into one
// leads back to it (resjson's resource, whose values are a string or a
// resource of at least one property), is the node built the first time,
// as a recursive $ref is: a one-way union until it is built.
func (c *schemaCompiler) inline(m *ordered, path string) (*schemaNode, error) {
	key := "merged " + canonical(m)
	if n, ok := c.refs[key]; ok {
		c.recursed[n] = true
		return n, nil
	}
	if c.inlined >= maxInlineDepth || *c.merges >= maxInlined {
		return nil, schemaErr(path, "allOf merged more than %d deep or %d times", maxInlineDepth, maxInlined)
	}
	c.inlined++
	*c.merges++
	defer func() { c.inlined-- }()
	n := &schemaNode{kind: kUnion, at: path}
	c.refs[key] = n
	built, err := c.object(m, path)
	delete(c.refs, key) // met again elsewhere, not within: compiled anew there
	if err != nil || !c.recursed[n] {
		return built, err
	}
	n.alts = []*schemaNode{built}
	c.unions = append(c.unions, n)
	return n, nil
}

// canonical is schema value v written so that equal schemas, whatever
// their keys' order, are written alike: as JSON with sorted keys, and
// what a merge leaves that is no JSON (a list of patterns, of
// multipleOfs) by its Go type and value.
func canonical(v any) string {
	var b bytes.Buffer
	_ = writeValue(&b, v, func(o *ordered) []string { return slices.Sorted(maps.Keys(o.vals)) }, func(b *bytes.Buffer, v any) error {
		switch v.(type) {
		case string, bool, nil:
			return writeLeaf(b, v)
		}
		fmt.Fprintf(b, "%T%#v", v, v)
		return nil
	})
	return b.String()
}

// joinedBeside is an anyOf's alternatives l each merged with the
// keywords rest beside it, where that lets mergeAlternatives join some
// (hws-config's {"type": "string", "anyOf": [{"pattern": ...}, {"enum":
// [...]}]}, whose alternatives, as written, take other types too); ok
// is false otherwise, and distribute merges them as it compiles them.
func (c *schemaCompiler) joinedBeside(key string, l []any, rest *ordered, path string) ([]any, bool) {
	if key != "anyOf" {
		return nil, false
	}
	restParts, err := c.allOfParts(rest, path, 0, nil)
	if err != nil {
		return nil, false
	}
	var merged []any
	for i, a := range l {
		at := fmt.Sprintf("%s/%d", path, i)
		parts, err := c.allOfParts(a, at, 0, slices.Clone(restParts))
		if err != nil {
			return nil, false
		}
		m, err := mergeParts(parts, at)
		if err != nil {
			return nil, false
		}
		merged = append(merged, m)
	}
	joined := c.mergeAlternatives(merged, path)
	return joined, len(joined) < len(merged)
}

// distribute compiles an anyOf or oneOf (key, of the alternatives l)
// beside constraining keywords rest as the union of each alternative
// merged with rest: (A or B) and R is (A and R) or (B and R), and as
// oneOf, too, exactly one holds where exactly one of A and B does.
// Alternatives that nothing meets together with rest are left out. A
// discriminator's propertyName still must tell the objects apart.
func (c *schemaCompiler) distribute(o *ordered, key string, l []any, rest *ordered, path string) (*schemaNode, error) {
	restParts, err := c.allOfParts(rest, path, 0, nil)
	if err != nil {
		return nil, err
	}
	var alts []*schemaNode
	var why error
	for i, a := range l {
		at := fmt.Sprintf("%s/%s/%d", path, key, i)
		parts, err := c.allOfParts(a, at, 0, slices.Clone(restParts))
		if errors.Is(err, errNoValue) {
			why = err
			continue
		}
		if err != nil {
			return nil, err
		}
		m, err := mergeParts(parts, at)
		if errors.Is(err, errNoValue) {
			why = err
			continue
		}

		if err != nil {
			return nil, err
		}
		n, err := c.inline(m, at)
		if errors.Is(err, errNoValue) {
			why = err // a required property, say, that nothing meets
			continue
		}
		if err != nil {
			return nil, err
		}
		alts = append(alts, n)
	}
	if len(alts) == 0 {
		return nil, fmt.Errorf("no alternative of %s meets the keywords beside it: %w", key, why)
	}
	at := path + "/" + key
	if key == "if" {
		at += " (if/then/else: the if with the then, or the if's not with the else)"
	}
	u := c.unionNode(alts, at)
	u.exclusive = key == "oneOf"
	if d, ok := o.get("discriminator"); ok {
		if err := c.discriminator(u, d, path+"/discriminator", false); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// enum compiles an enum (or const) of vals beside the keywords rest,
// keeping the values rest accepts: a value the schema's other keywords
// refuse is no value of the schema.
func (c *schemaCompiler) enum(vals []any, rest *ordered, path string) (*schemaNode, error) {
	if len(vals) > maxLargeEnum {
		return nil, schemaErr(path, "more than %d enum values", maxLargeEnum)
	}
	n, err := enumValues(vals, path)
	if err != nil {
		return nil, err
	}
	if constrains(rest) {
		rn, err := c.compileApart(rest, path)
		if err != nil {
			return nil, err
		}
		p := &schemaProgram{root: rn}
		kept := n.enum[:0]
		for _, v := range n.enum {
			if p.accepts(v) {
				kept = append(kept, v)
			}
		}
		if len(kept) == 0 {
			return nil, emptyErr(path, "no value of the enum (or const) meets the keywords beside it")
		}
		n.enum = kept
	}
	if len(n.enum) > maxSchemaEnum {
		return c.largeEnum(n.enum, path)
	}
	return n, nil
}

// maxLargeEnum is how many values an enum may have (largeEnum).
const maxLargeEnum = 4096

// largeEnum is an enum of more values than a bit set holds (ISO 639
// language codes, a taxonomy's categories, an icon set's names): its
// strings become one string under the pattern of their alternation, an
// automaton that reads each as validators do, escapes decoded; the other
// values, at most maxSchemaEnum of them, stay an enum beside it.
func (c *schemaCompiler) largeEnum(enc [][]byte, path string) (*schemaNode, error) {
	var lits []string
	rest := &schemaNode{kind: kEnum}
	for _, v := range enc {
		if v[0] != '"' {
			rest.enum = append(rest.enum, v)
			continue
		}
		var text string
		if err := json.Unmarshal(v, &text); err != nil {
			return nil, schemaErr(path, "enum value %s: %v", v, err)
		}
		lits = append(lits, regexp.QuoteMeta(text))
	}
	if len(rest.enum) > maxSchemaEnum {
		return nil, schemaErr(path, "more than %d enum values that are not strings", maxSchemaEnum)
	}
	strs, err := c.node(&ordered{keys: []string{"type", "pattern"}, vals: map[string]any{"type": "string", "pattern": "^(?:" + strings.Join(lits, "|") + ")$"}}, path)
	if err != nil {
		return nil, fmt.Errorf("enum of %d strings: %w", len(lits), err)
	}
	if len(rest.enum) == 0 {
		return strs, nil
	}
	return c.unionNode([]*schemaNode{strs, rest}, path), nil
}

// accepts says whether text is a whole value of p (a top-level number
// ends at a space after it).
func (p *schemaProgram) accepts(text []byte) bool {
	st := p.start()
	if !st.feed(text) {
		return false
	}
	return st.complete() || st.feed([]byte(" ")) && st.complete()
}
