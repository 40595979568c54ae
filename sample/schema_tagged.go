package sample

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// Unions of objects. The recognizer follows one alternative from the
// first byte, and every object starts with '{', so objects among an
// anyOf's alternatives are joined into one node that is told apart later:
// by the value of a property each requires, whose const or enum values no
// two alternatives share (a discriminator, as pydantic's
// Field(discriminator=...), OpenAI's strict tool schemas and TypeScript's
// tagged unions write them). That property is written first, so the
// object is known from its value on.

// discriminator reads OpenAPI's discriminator keyword beside anyOf or
// oneOf into the union u: the property that tells the alternatives apart
// and, with withMapping, the $ref each of its values names (a union
// merged with the keywords beside it has alternatives other than those
// $refs, and leaves the mapping unread).
func (c *schemaCompiler) discriminator(u *schemaNode, d any, path string, withMapping bool) error {
	o, ok := d.(*ordered)
	if !ok {
		return schemaErr(path, "discriminator must be an object")
	}
	for _, k := range o.keys {
		if k != "propertyName" && k != "mapping" {
			return schemaErr(path, "discriminator keyword %q is not supported", k)
		}
	}
	name, _ := o.vals["propertyName"].(string)
	if name == "" {
		return schemaErr(path, "discriminator needs a propertyName, a string")
	}
	u.tag = name
	m, ok := o.get("mapping")
	if !ok || !withMapping {
		return nil
	}
	mo, ok := m.(*ordered)
	if !ok {
		return schemaErr(path, "discriminator mapping must be an object")
	}
	u.tagMap = map[string]*schemaNode{}
	for _, v := range mo.keys {
		ref, isString := mo.vals[v].(string)
		if !isString {
			return schemaErr(path+"/mapping", "the value of %q must be a $ref string", v)
		}
		n, err := c.ref(ref, path+"/mapping")
		if err != nil {
			return err
		}
		u.tagMap[v] = n
	}
	return nil
}

// tagObjects replaces the objects among a union's flattened alternatives
// by one node that tells them apart by a discriminator: want first (the
// union's discriminator keyword, which must then work, or one of a union
// inside it), then each property of the first object in turn. Other
// alternatives are kept; a union of at most one object is returned as it
// is.
func (c *schemaCompiler) tagObjects(flat []*schemaNode, groups []int, want string, must bool, mapping map[string]*schemaNode, path string) ([]*schemaNode, error) {
	var objs []*schemaNode
	var objGroups []int // with groups (a oneOf's), the group of each of objs
	at, count := -1, 0
	// A map of any keys beside the objects (an anyOf's alone, with no
	// discriminator) is joined with them, after them (joinMap).
	var maps []*schemaNode
	for _, a := range flat {
		switch {
		case groups != nil || must:
		case a.kind == kObject && a.joinMap:
			maps = append(maps, a.joined[len(a.joined)-1])
		default:
			if m := joinableMap(a); m != nil {
				maps = append(maps, m)
			}
		}
	}
	if len(maps) > 1 {
		return nil, schemaErr(path, "two maps of any keys among the alternatives; one is supported, beside objects")
	}
	out := make([]*schemaNode, 0, len(flat))
	withObjects := slices.ContainsFunc(flat, func(o *schemaNode) bool { return o.kind == kObject && o.dispatch == nil })
	for fi, a := range flat {
		if len(maps) > 0 && withObjects && (a.kind == kAnyObject || joinableMap(a) == a) {
			continue // joined below, with the objects
		}
		if a.kind != kObject || a.dispatch != nil {
			out = append(out, a)
			continue
		}
		count++
		if at < 0 {
			at = len(out)
			out = append(out, a)
		}
		switch { // a union of objects joined already
		case a.tagFrom != nil:
			objs = append(objs, a.tagFrom...)
		case a.tagged != nil:
			objs = append(objs, a.tagged...)
		case a.joinMap:
			objs = append(objs, a.joined[:len(a.joined)-1]...)
		case a.joined != nil:
			objs = append(objs, a.joined...)
		default:
			objs = append(objs, a)
		}
		for groups != nil && len(objGroups) < len(objs) {
			objGroups = append(objGroups, groups[fi])
		}
	}
	switch {
	case count == 0 && must:
		return nil, schemaErr(path, "discriminator %q beside alternatives none of which is an object", want)
	case count > 0 && len(maps) > 0:
		// Objects and a map: only as they are written can they be told
		// apart (a map may have any key, and any first key).
		t, err := c.joinObjects(append(objs, maps[0]), path)
		if err != nil {
			return nil, schemaErr(path, "objects and a map among the alternatives of an anyOf are told apart as they are written, where they write their common properties in one order; not here: %v", err)
		}
		out[at] = t
		return out, nil
	case count < 2 && mapping == nil:
		return flat, nil
	}
	var names []string
	if want != "" {
		names = append(names, want)
	}
	if !must {
		for _, p := range objs[0].props {
			names = append(names, p.name)
		}
	}
	// overlap is two objects of a oneOf's different alternatives that
	// may both match one object Nuri writes (-1: none), which only a
	// discriminator keeps apart.
	overlap := func() (int, int) {
		for j := range objs {
			for k := j + 1; k < len(objs) && groups != nil; k++ {
				if objGroups[j] != objGroups[k] && (mayOverlap(objs[j], objs[k]) || mayOverlap(objs[k], objs[j])) {
					return j, k
				}
			}
		}
		return -1, -1
	}
	why := "the first object has no properties"
	for i, name := range names {
		t, err := tagBy(objs, name, mapping)
		if err == nil {
			out[at] = t
			return out, nil
		}
		if i == 0 {
			why = err.Error()
		}
	}
	if must {
		return nil, schemaErr(path, "discriminator %q does not tell the alternatives apart: %s", want, why)
	}
	// A oneOf: a value must meet one alternative only. A discriminator
	// sees to that; objects told apart otherwise, from different
	// alternatives, must be unable to both match one object, and are
	// made so where they differ in what they require (exclusive).
	if j, _ := overlap(); j >= 0 {
		objs = c.exclusive(objs, objGroups, path)
	}
	if j, k := overlap(); j >= 0 {
		return nil, schemaErr(path, "oneOf: objects %d and %d may both match one object, and no discriminator tells them apart: %s", j, k, why)
	}
	t, err := keyBy(objs)
	if err == nil {
		out[at] = t
		return out, nil
	}
	t, joinErr := c.joinObjects(objs, path)
	if joinErr == nil {
		out[at] = t
		return out, nil
	}
	return nil, schemaErr(path, "objects among the alternatives of an anyOf are told apart by a discriminator, by the keys they can start with, "+
		"or as they are written, where they write their common properties in one order; none here: %s; %v; %v", why, err, joinErr)
}

// exclusive makes a oneOf's objects (groups: the alternative each comes
// from) unable to meet one another where they differ in what they
// require: an object leaves out the properties another alternative's
// object requires and it does not, so that nothing it writes meets that
// one (SchemaStore's oneOf [{"required": ["uses"]}, {"required":
// ["run"]}] over shared properties: a step has one of them). Properties
// that require one left out go too; an object whose required ones would
// go, or whose minProperties could no longer be met, is kept as it is.
// The notes say which properties went.
func (c *schemaCompiler) exclusive(objs []*schemaNode, groups []int, path string) []*schemaNode {
	out := slices.Clone(objs)
	var nonEmpty []string // objects made to write a property (nonEmptyApart)
	defer func() {
		if nonEmpty != nil {
			c.notes = append(c.notes, fmt.Sprintf("%s: oneOf: objects %s are written with at least one property, "+
				"which the other alternatives' closed objects have no place for, so that no object meets two", path, strings.Join(nonEmpty, ", ")))
		}
	}()
	for j, a := range objs {
		var drop []string
		for k, b := range objs {
			if groups[j] == groups[k] || !mayOverlap(a, b) {
				continue
			}
			for _, p := range b.props {
				if i := slices.IndexFunc(a.props, func(q schemaProp) bool { return q.name == p.name }); p.required && i >= 0 && !a.props[i].required && !slices.Contains(drop, p.name) {
					drop = append(drop, p.name)
				}
			}
		}
		if len(drop) == 0 {
			if narrowed := nonEmptyApart(a, objs, groups, j); narrowed != nil {
				out[j] = narrowed
				nonEmpty = append(nonEmpty, strconv.Itoa(j))
			}
			continue
		}
		if narrowed, gone := a.withoutProps(drop); narrowed != nil {
			out[j] = narrowed
			note := fmt.Sprintf("%s: oneOf: object %d leaves out %q, which another alternative requires", path, j, drop)
			if more := gone[len(drop):]; len(more) > 0 {
				note += fmt.Sprintf(", and %q, which require one of those", more)
			}
			c.notes = append(c.notes, note+", so that no object meets both")
		}
	}
	return out
}

// nonEmptyApart is object objs[j] made to write at least one property,
// where that keeps it apart from every object of another alternative it
// may meet (groups: the alternative of each): each is closed and
// declares none of its properties (appveyor's and traefik's oneOf of
// closed objects of one optional property each, which {} alone meets
// all of); nil where that is not so.
func nonEmptyApart(a *schemaNode, objs []*schemaNode, groups []int, j int) *schemaNode {
	if len(a.props) == 0 || a.propBounded && (a.propMin >= 1 || a.propMax == 0) {
		return nil
	}
	overlaps := false
	for k, b := range objs {
		if groups[j] == groups[k] || !mayOverlap(a, b) {
			continue
		}
		if !b.closed || slices.ContainsFunc(a.props, func(p schemaProp) bool { return b.declares(p.name) }) {
			return nil
		}
		overlaps = true
	}
	if !overlaps {
		return nil // apart already
	}
	r := *a
	if !r.propBounded {
		r.propBounded, r.propMax = true, -1
	}
	r.propMin = 1
	return &r
}

// declares says whether object o declares property name.
func (o *schemaNode) declares(name string) bool {
	return slices.ContainsFunc(o.props, func(q schemaProp) bool { return q.name == name })
}

// withoutProps is object o without the properties names and those that
// require one of them (dependentRequired), and the names that went; nil
// where a required property would go or minProperties could no longer be
// met.
func (o *schemaNode) withoutProps(names []string) (*schemaNode, []string) {
	gone := slices.Clone(names)
	props := slices.Clone(o.props)
	for changed := true; changed; {
		changed = false
		props = slices.DeleteFunc(props, func(p schemaProp) bool {
			if slices.Contains(gone, p.name) {
				return true
			}
			if slices.ContainsFunc(p.requires, func(q string) bool { return slices.Contains(gone, q) }) {
				gone, changed = append(gone, p.name), true
				return true
			}
			return false
		})
	}
	for _, p := range o.props {
		if p.required && slices.Contains(gone, p.name) {
			return nil, nil
		}
	}
	if o.propBounded && o.propMin > len(props) {
		return nil, nil
	}
	r := *o
	r.props = props
	r.setDeps()
	return &r, gone
}

// mayOverlap says whether an object Nuri writes under a, which has only
// a's declared properties, may meet b too, as far as their properties
// tell: not where b requires one a has not, where a requires one b has no
// place for (b is closed), or where a property either requires gives
// values the other's schema for it refuses (enums that share none, or
// schemas that start apart).
func mayOverlap(a, b *schemaNode) bool {
	find := func(o *schemaNode, name string) int {
		return slices.IndexFunc(o.props, func(q schemaProp) bool { return q.name == name })
	}
	for _, p := range b.props {
		if !p.required {
			continue
		}
		i := find(a, p.name)
		if i < 0 || valuesApart(a.props[i].node, p.node) {
			return false
		}
	}
	if b.closed && a.propBounded && a.propMin >= 1 && !slices.ContainsFunc(a.props, func(p schemaProp) bool { return b.declares(p.name) }) {
		return false // a writes a property b has no place for
	}
	for _, p := range a.props {
		if !p.required {
			continue
		}
		i := find(b, p.name)
		switch {
		case i < 0 && b.closed:
			return false
		case i >= 0 && valuesApart(p.node, b.props[i].node):
			return false
		}
	}
	return true
}

// valuesApart says whether no value meets both schemas a and b, as far as
// enums' values and first bytes tell.
func valuesApart(a, b *schemaNode) bool {
	ea, eb := throughRefs(a), throughRefs(b)
	if ea != nil && eb != nil && ea.kind == kEnum && eb.kind == kEnum {
		return !slices.ContainsFunc(ea.enum, func(v []byte) bool {
			return slices.ContainsFunc(eb.enum, func(w []byte) bool { return bytes.Equal(v, w) })
		})
	}
	fa, fb := a.firstBytes(), b.firstBytes()
	for c := range fa {
		if fa[c] && fb[c] {
			return false
		}
	}
	return true
}

// maxJoined is how many objects joinObjects joins (a frame keeps those
// still open in a bit set).
const maxJoined = 64

// joinObjects joins objs into one node that tells them apart as they are
// written: a key an object does not take next, or a value of an enum it
// does not hold, leaves it behind, and the others go on. It serves the
// unions a discriminator does not tell apart, nor their first keys
// (pydantic's Union[Cat, Dog] of models that both start with "name"; the
// alternatives if/then/else gives, which differ further in). Its props
// are every name any object has, in an order each keeps; objects that
// write two names in opposite orders are not joined. Where the objects
// still open give the property about to be written different schemas,
// and not all enums, the first of them in the union's order holds, and
// the objects with another schema there are left behind: the value meets
// an object still open, whatever it is.
//
// The last of objs may be a map of any keys (joinableMap), which takes
// every name under its values' schema: the objects' names are written as
// its keys too, and any other key leaves the objects behind (joinMap).
//
// Objects that write two names in opposite orders (JSON's objects have
// none, but each is written in its declared order) are written in one
// order instead, which the notes say (at is the union's path).
func (c *schemaCompiler) joinObjects(objs []*schemaNode, at string) (*schemaNode, error) {
	if len(objs) > maxJoined {
		return nil, fmt.Errorf("more than %d objects to join", maxJoined)
	}
	mapAt := -1
	for j, o := range objs {
		if o.kind == kMap {
			if j != len(objs)-1 {
				return nil, fmt.Errorf("a map among the objects, not last")
			}
			mapAt = j
		}
	}
	names, conflict := joinOrder(objs)
	if conflict {
		objs = slices.Clone(objs)
		var moved []string
		for j, o := range objs {
			objs[j] = o.inOrder(names)
			for k, p := range objs[j].props {
				if p.name != o.props[k].name && !slices.Contains(moved, p.name) {
					moved = append(moved, p.name)
				}
			}
		}
		c.notes = append(c.notes, fmt.Sprintf("%s: the objects declare properties %q in different orders; each is written in one order, %q", at, moved, names))
	}
	if len(names) > maxSchemaProps {
		return nil, fmt.Errorf("more than %d properties among the objects", maxSchemaProps)
	}
	t := &schemaNode{kind: kObject, joined: objs, props: make([]schemaProp, len(names)),
		joinAt: make([][]int8, len(objs)), joinFrom: make([][]int8, len(objs)),
		joinSame: make([][]uint64, len(names)), joinEnum: make([]*schemaNode, len(names)), joinVals: make([][]uint64, len(names)),
		joinPick: make([]*schemaNode, len(names)), joinClass: make([][]uint64, len(names))}
	var mapBit uint64
	if mapAt >= 0 {
		t.joinMap, mapBit = true, 1<<mapAt
		v := throughRefs(objs[mapAt].values)
		t.joinRides = v != nil && v.kind == kAny
		t.nameHash = make([]uint64, len(names))
		for i, name := range names {
			h := uint64(fnvOffset)
			for k := range len(name) {
				h = (h ^ uint64(name[k])) * fnvPrime
			}
			t.nameHash[i] = h
		}
	}
	for j, o := range objs {
		t.joinAt[j] = slices.Repeat([]int8{-1}, len(names))
		t.joinFrom[j] = make([]int8, len(o.props))
		for k, p := range o.props {
			i := slices.Index(names, p.name)
			t.joinAt[j][i], t.joinFrom[j][k] = int8(k), int8(i)
		}
	}
	for i, name := range names {
		t.props[i].name = name
		t.joinSame[i] = make([]uint64, len(objs))
		var having []schemaProp // the property in each object that has it
		var owners []int
		for j, o := range objs {
			if k := t.joinAt[j][i]; k >= 0 {
				p := o.props[k]
				if p.src != nil {
					p.src = c.flatSchema(p.src) // allOfs merged, $refs read
				}
				having, owners = append(having, p), append(owners, j)
			}
		}
		t.props[i].node = having[0].node
		if mapAt >= 0 && !t.joinRides {
			m := objs[mapAt]
			having, owners = append(having, schemaProp{name: name, node: m.values, src: c.flatSchema(m.valSrc)}), append(owners, mapAt)
		}
		same := true
		for x, p := range having {
			for y, q := range having {
				if p.node == q.node || p.src != nil && q.src != nil && sameSchema(p.src, q.src) {
					t.joinSame[i][owners[x]] |= 1 << owners[y]
				} else {
					same = false
				}
			}
		}
		if t.joinRides {
			// A map of any values goes on beside every object, whatever
			// it writes here.
			for _, j := range owners {
				t.joinSame[i][j] |= mapBit
				t.joinSame[i][mapAt] |= 1 << j
			}
			t.joinSame[i][mapAt] |= mapBit
		}
		enums := !slices.ContainsFunc(having, func(p schemaProp) bool { e := throughRefs(p.node); return e == nil || e.kind != kEnum })
		if same && (enums || !t.joinRides) {
			continue
		}
		if !enums {
			// Schemas of other kinds: a union of them, one for each
			// class of objects that give the same, told apart by their
			// first bytes once every union is built (finishJoin).
			pick := &schemaNode{kind: kUnion, at: "#"}
			var classes []uint64
			var srcs []any
			for x, p := range having {
				if m := t.joinSame[i][owners[x]]; !slices.Contains(classes, m) {
					classes = append(classes, m)
					pick.alts = append(pick.alts, p.node)
					srcs = append(srcs, p.src)
				}
			}
			if t.joinRange == nil {
				t.joinRange, t.joinSpans = make([][]*schemaNode, len(names)), make([][][2]int64, len(names))
			}
			t.joinRange[i], t.joinSpans[i] = spanned(pick.alts, srcs)
			if t.joinRides {
				// A value that starts as no object's schema does is the
				// map's alone.
				pick.alts, classes, pick.rest = append(pick.alts, anySchema), append(classes, mapBit), true
			}
			t.joinPick[i], t.joinClass[i] = pick, classes
			continue
		}
		// Enums that differ: their values joined, each with the objects
		// that take it.
		values := &schemaNode{kind: kEnum}
		var taken []uint64
		for x, p := range having {
			for _, v := range throughRefs(p.node).enum {
				at := slices.IndexFunc(values.enum, func(w []byte) bool { return bytes.Equal(w, v) })
				if at < 0 {
					at = len(values.enum)
					values.enum = append(values.enum, v)
					taken = append(taken, 0)
				}
				taken[at] |= 1 << owners[x]
				if t.joinRides {
					taken[at] |= mapBit
				}
			}
		}
		if len(values.enum) > maxSchemaEnum {
			return nil, fmt.Errorf("more than %d values of %q among the objects", maxSchemaEnum, name)
		}
		t.joinEnum[i], t.joinVals[i] = values, taken
	}
	return t, nil
}

// schemaValued are the keywords whose value is a schema, or a list of
// schemas; schemaMaps those whose value maps names to schemas.
var (
	schemaValued = []string{"items", "additionalProperties", "additionalItems", "not", "if", "then", "else", "contains",
		"propertyNames", "unevaluatedProperties", "unevaluatedItems", "anyOf", "oneOf", "allOf", "prefixItems"}
	schemaMaps = []string{"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)

// sameSchema says whether schemas a and b are the same but for their
// annotations (pydantic writes each model's field with a title and a
// description of its own) and formats Nuri leaves unchecked.
func sameSchema(a, b any) bool {
	ao, aok := a.(*ordered)
	bo, bok := b.(*ordered)
	if !aok || !bok {
		return jsonEqual(a, b)
	}
	significant := func(o *ordered) []string {
		var out []string
		for _, k := range o.keys {
			if !isAnnotation(k) || k == "format" && heldFormat(o.vals[k]) {
				out = append(out, k)
			}
		}
		slices.Sort(out)
		return out
	}
	keys := significant(ao)
	if !slices.Equal(keys, significant(bo)) {
		return false
	}
	for _, k := range keys {
		av, bv := ao.vals[k], bo.vals[k]
		switch {
		case slices.Contains(schemaMaps, k):
			am, aok := av.(*ordered)
			bm, bok := bv.(*ordered)
			if !aok || !bok || !slices.Equal(am.keys, bm.keys) { // in order: properties are written so
				return false
			}
			for _, name := range am.keys {
				if !sameSchema(am.vals[name], bm.vals[name]) {
					return false
				}
			}
		case slices.Contains(schemaValued, k):
			al, alist := av.([]any)
			bl, blist := bv.([]any)
			switch {
			case alist != blist:
				return false
			case alist:
				if !slices.EqualFunc(al, bl, sameSchema) {
					return false
				}
			case !sameSchema(av, bv):
				return false
			}
		case !jsonEqual(av, bv):
			return false
		}
	}
	return true
}

// heldFormat says whether Nuri holds texts to format f.
func heldFormat(f any) bool {
	g, _, _ := formatGrammar(f)
	return g != nil
}

// finishJoin builds the first-byte tables of a joined object's unions of
// a property's schemas (joinPick), once the unions within them have
// theirs. A property whose schemas can start with the same byte has
// none: there the first object still open decides (joinKey), which notes
// say (at is the union's path).
func (n *schemaNode) finishJoin(at string) []string {
	var narrowed []int
	for i, pick := range n.joinPick {
		if pick != nil && !pick.firstTable() {
			n.joinPick[i] = nil
			if n.joinRange == nil || n.joinRange[i] == nil || slices.Contains(n.joinRange[i][1:], nil) {
				narrowed = append(narrowed, i) // no ranges, or a set of them with a gap
			}
		} else if n.joinRange != nil {
			n.joinRange[i] = nil // (the first byte tells them apart)
		}
	}
	var notes []string
	for _, i := range narrowed {
		if n.coOpen(i) {
			notes = append(notes, fmt.Sprintf("%s: the objects give property %q schemas whose values start alike; "+
				"where several such objects are still open, the first one's schema holds and the others are left behind", at, n.props[i].name))
		}
	}
	return notes
}

// coOpen says whether two objects that give property i schemas of
// different classes may both be open when it is written: unless a
// property before it that one requires is one the other has not, or
// gives values apart (enums that share none, schemas that start apart).
func (n *schemaNode) coOpen(i int) bool {
	has := func(j, p int) bool { return n.joinAt[j][p] >= 0 || n.joinMap && j == len(n.joined)-1 }
	apart := func(j, k, p int) bool { // objects j and k cannot both write p
		if !has(k, p) || n.joinSame[p][j]&(1<<k) != 0 {
			return !has(k, p)
		}
		if n.joinEnum[p] != nil {
			for _, objs := range n.joinVals[p] {
				if objs&(1<<j) != 0 && objs&(1<<k) != 0 {
					return false
				}
			}
			return true
		}
		return n.joinPick[p] != nil // first bytes apart
	}
	separated := func(j, k int) bool {
		for p := range i {
			if q := n.joinAt[j][p]; q >= 0 && n.joined[j].props[q].required && apart(j, k, p) {
				return true
			}
		}
		return false
	}
	for j := range n.joined {
		for k := j + 1; k < len(n.joined); k++ {
			if !has(j, i) || !has(k, i) || n.joinSame[i][j]&(1<<k) != 0 {
				continue
			}
			if !separated(j, k) && !separated(k, j) {
				return true
			}
		}
	}
	return false
}

// firstTable builds a union's first-byte table from its alternatives, or
// says that two can start with the same byte.
func (u *schemaNode) firstTable() bool {
	for b := range u.first {
		u.first[b] = -1
	}
	for a, alt := range u.alts {
		if u.rest && a == len(u.alts)-1 {
			for b, ok := range valueStarts {
				if ok && u.first[b] < 0 {
					u.first[b] = int8(a)
				}
			}
			break
		}
		for b, ok := range alt.firstBytes() {
			if !ok {
				continue
			}
			if u.first[b] >= 0 {
				return false
			}
			u.first[b] = int8(a)
		}
	}
	return true
}

// joinOrder is the names objs' properties have, in an order each object
// keeps (its properties' order, which they are written in): of the names
// whose predecessors are placed, the one met first in objs goes next.
// Where objects order names oppositely, the one met first of those left
// goes next, and conflict says so.
func joinOrder(objs []*schemaNode) (names []string, conflict bool) {
	var seen []string              // every name, as first met
	after := map[string][]string{} // a name's successors in some object
	before := map[string]int{}     // how many names precede it in some object, not placed yet
	for _, o := range objs {
		for k, p := range o.props {
			if !slices.Contains(seen, p.name) {
				seen = append(seen, p.name)
			}
			if k > 0 {
				prev := o.props[k-1].name
				if !slices.Contains(after[prev], p.name) {
					after[prev] = append(after[prev], p.name)
					before[p.name]++
				}
			}
		}
	}
	names = make([]string, 0, len(seen))
	for len(names) < len(seen) {
		next := slices.IndexFunc(seen, func(n string) bool { return before[n] == 0 && !slices.Contains(names, n) })
		if next < 0 {
			conflict = true
			next = slices.IndexFunc(seen, func(n string) bool { return !slices.Contains(names, n) })
		}
		names = append(names, seen[next])
		for _, n := range after[seen[next]] {
			before[n]--
		}
	}
	return names, conflict
}

// inOrder is object o with its properties in the order of names (all
// its names among them): a copy, where that moves one.
func (o *schemaNode) inOrder(names []string) *schemaNode {
	at := func(p schemaProp) int { return slices.Index(names, p.name) }
	if slices.IsSortedFunc(o.props, func(a, b schemaProp) int { return cmp.Compare(at(a), at(b)) }) {
		return o
	}
	r := *o
	r.props = slices.Clone(o.props)
	slices.SortStableFunc(r.props, func(a, b schemaProp) int { return cmp.Compare(at(a), at(b)) })
	r.setDeps()
	return &r
}

// joinState is object j's last property and those written, from a
// joined object's frame f (every property written is one j has, or j
// would not be open).
func (n *schemaNode) joinState(j int, f *schemaFrame) (int, uint64) {
	at := n.joinAt[j]
	last := -1
	if f.last >= 0 {
		last = int(at[f.last])
	}
	var used uint64
	for m := f.used; m != 0; m &= m - 1 {
		used |= 1 << at[bits.TrailingZeros64(m)]
	}
	return last, used
}

// joinableMap is a as a map that joinObjects can join beside objects, or
// nil: a map whose keys are any strings, told apart (mapNode), or an
// object of any properties, read as a map of any values.
func joinableMap(a *schemaNode) *schemaNode {
	switch {
	case a.kind == kAnyObject:
		m := mapNode(anySchema, nil)
		m.valSrc = true
		return m
	case a.kind == kMap && a.same == nil && a.keys.kind == kString && a.keys.unique && a.keys.texts[0] == nil && a.keys.min == 0 && a.keys.max < 0:
		return a
	}
	return nil
}

// mapBit is a joined object's map's bit among its open objects (0: it
// has none).
func (n *schemaNode) mapBit() uint64 {
	if !n.joinMap {
		return 0
	}
	return 1 << (len(n.joined) - 1)
}

// mapTakes says whether a joined object's map is open in frame f and may
// take another key (its maxProperties).
func (n *schemaNode) mapTakes(f *schemaFrame) bool {
	if f.num&n.mapBit() == 0 {
		return false
	}
	m := n.joined[len(n.joined)-1]
	return !m.propBounded || m.propMax < 0 || int(f.count) < m.propMax
}

// freeKey is property i, the name a key written while the map was open
// is (by its hash h, as its frame kept it; -1: none), and the objects
// still open once it is written: joinKey's, or the map alone.
func (n *schemaNode) freeKey(f *schemaFrame, h uint64) (int, uint64) {
	for i, nh := range n.nameHash {
		if nh == h {
			return i, n.joinKey(f, i)
		}
	}
	return -1, n.mapBit()
}

// toMap goes on in joined object frame f as its map's frame once the map
// alone is open: its keys are any strings from then on.
func (f *schemaFrame) toMap() {
	n := f.node
	if !n.joinMap || f.num != n.mapBit() {
		return
	}
	f.node, f.last, f.used = n.joined[len(n.joined)-1], -1, 0
	switch f.mode {
	case mObjColon:
		f.mode = mMapColon
	case mObjValue:
		f.mode = mMapValue
	case mObjAfter:
		f.mode = mMapAfter
	}
}

// keysNext is the properties that may follow in frame f (nextKeys, or, in
// a joined object, those any object still open takes next; its map, which
// takes any key, is asked apart: mapTakes).
func (n *schemaNode) keysNext(f *schemaFrame) uint64 {
	if n.joined == nil {
		return n.nextKeys(int(f.last), int(f.count), f.used)
	}
	var out uint64
	for m := f.num &^ n.mapBit(); m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		last, used := n.joinState(j, f)
		for k := n.joined[j].nextKeys(last, int(f.count), used); k != 0; k &= k - 1 {
			out |= 1 << n.joinFrom[j][bits.TrailingZeros64(k)]
		}
	}
	return out
}

// closes says whether the object in frame f may end (mayClose, or, in a
// joined object, whether an object still open may).
func (n *schemaNode) closes(f *schemaFrame) bool {
	if n.wide() {
		return n.wideCloses(f)
	}
	if n.joined == nil {
		return n.mayClose(int(f.last), int(f.count), f.used)
	}
	if f.num&n.mapBit() != 0 && int(f.count) >= n.joined[len(n.joined)-1].propMin {
		return true
	}
	for m := f.num &^ n.mapBit(); m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		if last, used := n.joinState(j, f); n.joined[j].mayClose(last, int(f.count), used) {
			return true
		}
	}
	return false
}

// joinKey is the objects still open once key i is written in frame f:
// those that take it next, and of them, unless the property's enums tell
// them apart by its value, those that give it the first one's schema.
func (n *schemaNode) joinKey(f *schemaFrame, i int) uint64 {
	open := f.num & n.mapBit() // a key the map was open for (it takes every key)
	for m := f.num &^ n.mapBit(); m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		k := n.joinAt[j][i]
		if k < 0 {
			continue
		}
		if last, used := n.joinState(j, f); n.joined[j].nextKeys(last, int(f.count), used)&(1<<k) != 0 {
			open |= 1 << j
		}
	}
	if open != 0 && n.joinEnum[i] == nil && n.joinPick[i] == nil && n.rangeHull(i, open) == nil {
		open &= n.joinSame[i][bits.TrailingZeros64(open)]
	}
	return open
}

// joinValue is the schema of the value of property f.last of a joined
// object: the objects' enums joined, or the first open object's.
func (n *schemaNode) joinValue(f *schemaFrame) *schemaNode {
	if e := n.joinEnum[f.last]; e != nil {
		return e
	}
	if u := n.joinPick[f.last]; u != nil {
		return u
	}
	if h := n.rangeHull(int(f.last), f.num); h != nil {
		return h
	}
	j := bits.TrailingZeros64(f.num)
	if n.joinMap && j == len(n.joined)-1 {
		return n.joined[j].values
	}
	return n.joined[j].props[n.joinAt[j][f.last]].node
}

// maxSpanned is how many classes of a property's schemas spanned reads:
// it keeps a schema for each set of them.
const maxSpanned = 6

// spanned reads schemas (each of a class of objects; srcs their
// sources) that differ only in their range: integers but for their
// bounds, strings but for their lengths. For each set of them (a bit
// set) whose ranges together leave no gap, it returns a schema of their
// whole span, under which the value is written while those classes'
// objects are open, and nil for the others; and each one's range (whole
// numbers, or code points), by which the objects whose range the value
// is out of are then left behind. It returns nil where they are not
// such.
func spanned(schemas []*schemaNode, srcs []any) ([]*schemaNode, [][2]int64) {
	if len(schemas) > maxSpanned {
		return nil, nil
	}
	var spans [][2]int64
	var first *schemaNode
	var core any // the sources less their lengths (strings)
	for k, a := range schemas {
		e := throughRefs(a)
		if e == nil || k > 0 && e.kind != first.kind {
			return nil, nil
		}
		switch {
		case e.kind == kInteger && e.mult <= 1 && !e.unique:
			spans = append(spans, [2]int64{e.lo, e.hi})
		case e.kind == kString && !e.unique:
			o, ok := srcs[k].(*ordered)
			if !ok {
				return nil, nil
			}
			rest := without(o, "minLength", "maxLength")
			if k > 0 && !sameSchema(core, rest) {
				return nil, nil
			}
			core = rest
			hi := int64(e.max)
			if e.max < 0 {
				hi = math.MaxInt64
			}
			spans = append(spans, [2]int64{int64(e.min), hi})
		default:
			return nil, nil
		}
		if k == 0 {
			first = e
		}
	}
	hulls := make([]*schemaNode, 1<<len(spans))
	for set := 1; set < len(hulls); set++ {
		var in [][2]int64
		for k, s := range spans {
			if set&(1<<k) != 0 {
				in = append(in, s)
			}
		}
		// No gap: sorted by their starts, each starts within or right
		// after those before.
		slices.SortFunc(in, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
		end, gap := in[0][1], false
		for _, s := range in[1:] {
			gap = gap || end < math.MaxInt64 && s[0] > end+1
			end = max(end, s[1])
		}
		if gap {
			continue
		}
		whole := *first
		if first.kind == kInteger {
			whole.bounded, whole.lo, whole.hi = true, in[0][0], end
		} else {
			whole.min, whole.max = int(in[0][0]), -1
			if end < math.MaxInt64 {
				whole.max = int(end)
			}
		}
		hulls[set] = &whole
	}
	return hulls, spans
}

// flatSchema is schema v as one schema: its allOfs merged and $refs
// read (a merged property's schema is an allOf of each part's), or v
// where that cannot be.
func (c *schemaCompiler) flatSchema(v any) any {
	parts, err := c.allOfParts(v, "#", 0, nil)
	if err != nil {
		return v
	}
	m, err := mergeParts(parts, "#")
	if err != nil {
		return v
	}
	return m
}

// rangeHull is the schema property i's value is written under in a
// joined object whose open objects are open (nil where their ranges
// leave a gap, or it has no ranges).
func (n *schemaNode) rangeHull(i int, open uint64) *schemaNode {
	if n.joinRange == nil || n.joinRange[i] == nil {
		return nil
	}
	set := 0
	for k, m := range n.joinClass[i][:len(n.joinSpans[i])] { // (not a map's rest: joinObjects)
		if m&open != 0 {
			set |= 1 << k
		}
	}
	return n.joinRange[i][set]
}

// spanOpen is the objects still open once a joined object's property
// written under a rangeHull ends, its value (an integer, or a string's
// code points) in child frame c.
func (n *schemaNode) spanOpen(i int, c *schemaFrame) uint64 {
	v := int64(c.count)
	if c.node.kind == kInteger {
		v = int64(c.num)
		if c.neg {
			v = -v
		}
	}
	var open uint64
	for k, s := range n.joinSpans[i] {
		if v >= s[0] && v <= s[1] {
			open |= n.joinClass[i][k]
		}
	}
	return open
}

// joinTaken is the values of property f.last's joined enum that an
// object still open takes.
func (n *schemaNode) joinTaken(f *schemaFrame) uint64 {
	var out uint64
	for v, objs := range n.joinVals[f.last] {
		if objs&f.num != 0 {
			out |= 1 << v
		}
	}
	return out
}

// keyBy joins objs by the keys each can start with (those up to its
// first required property), or says why it cannot: two objects that can
// start with the same key, or both take {}.
func keyBy(objs []*schemaNode) (*schemaNode, error) {
	t := &schemaNode{kind: kObject}
	owner := map[string]int{}
	empty := -1
	for k, o := range objs {
		if o.wide() {
			return nil, fmt.Errorf("object %d has more than %d properties", k, maxSchemaProps)
		}
		if o.mayClose(-1, 0, 0) {
			if empty >= 0 {
				return nil, fmt.Errorf("objects %d and %d both take {}", empty, k)
			}
			empty = k
		}
		for m := o.nextKeys(-1, 0, 0); m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m)
			name := o.props[i].name
			if prev, dup := owner[name]; dup {
				return nil, fmt.Errorf("objects %d and %d can both start with %q", prev, k, name)
			}
			owner[name] = k
			t.props = append(t.props, schemaProp{name: name, node: o.props[i].node})
			t.tagAlt = append(t.tagAlt, int8(k))
			t.keyAt = append(t.keyAt, int8(i))
		}
		t.tagged = append(t.tagged, o)
	}
	if len(t.props) > maxSchemaProps {
		return nil, fmt.Errorf("more than %d keys the objects can start with", maxSchemaProps)
	}
	for i := range t.props {
		t.props[i].required = empty < 0
	}
	return t, nil
}

// tagBy joins objs by their property name, or says why it cannot.
func tagBy(objs []*schemaNode, name string, mapping map[string]*schemaNode) (*schemaNode, error) {
	if len(objs) > 127 {
		return nil, fmt.Errorf("more than 127 objects")
	}
	values := &schemaNode{kind: kEnum}
	t := &schemaNode{kind: kObject, props: []schemaProp{{name: name, node: values, required: true}}, tagFrom: objs}
	owner := map[string]int{} // a value's compact JSON: the object that takes it
	for k, o := range objs {
		i := slices.IndexFunc(o.props, func(p schemaProp) bool { return p.name == name })
		if i < 0 {
			return nil, fmt.Errorf("object %d has no property %q", k, name)
		}
		if !o.props[i].required {
			return nil, fmt.Errorf("object %d does not require %q", k, name)
		}
		e := throughRefs(o.props[i].node)
		if e == nil || e.kind != kEnum {
			return nil, fmt.Errorf("property %q of object %d is not a const or an enum", name, k)
		}
		for _, v := range e.enum {
			prev, dup := owner[string(v)]
			if dup && prev != k {
				return nil, fmt.Errorf("objects %d and %d both take %q %s", prev, k, name, v)
			}
			if !dup {
				owner[string(v)] = k
				values.enum = append(values.enum, v)
				t.tagAlt = append(t.tagAlt, int8(k))
			}
		}
		moved := *o
		moved.props = append([]schemaProp{o.props[i]}, slices.Delete(slices.Clone(o.props), i, i+1)...)
		moved.setDeps()
		t.tagged = append(t.tagged, &moved)
	}
	if len(values.enum) > maxSchemaEnum {
		return nil, fmt.Errorf("more than %d values of %q", maxSchemaEnum, name)
	}
	keys := make([]string, 0, len(mapping))
	for v := range mapping {
		keys = append(keys, v)
	}
	slices.Sort(keys)
	for _, v := range keys {
		// OpenAPI's mapping keys are strings; a value that is not one
		// (an integer const) is named by its JSON text.
		var b bytes.Buffer
		if err := writeCompact(&b, v); err != nil {
			return nil, err
		}
		k, ok := owner[b.String()]
		if !ok {
			if k, ok = owner[v]; !ok {
				return nil, fmt.Errorf("mapping names %q, which no object's %q takes", v, name)
			}
		}
		if throughRefs(mapping[v]) != objs[k] {
			return nil, fmt.Errorf("mapping sends %q to a schema other than the object whose %q takes it", v, name)
		}
	}
	return t, nil
}

// joinArrays replaces the arrays among a union's alternatives (two or
// more, with neither unique items nor contains) by one node that tells
// them apart as their items are written (pydantic's Union[List[int],
// List[str]], a tuple beside a list): each item's first byte leaves
// behind the arrays whose item schema there cannot start with it, and
// where the arrays still open give that item schemas that start alike,
// the first one's holds. The array closes where an array still open
// takes that many items.
func (c *schemaCompiler) joinArrays(flat []*schemaNode, path string) ([]*schemaNode, []string) {
	var arrays []*schemaNode
	at := -1
	for i, a := range flat {
		if a.kind != kArray || a.uniqueArray() || a.contains != nil {
			continue
		}
		if at < 0 {
			at = i
		}
		if a.arrays != nil {
			arrays = append(arrays, a.arrays...)
		} else {
			arrays = append(arrays, a)
		}
	}
	if len(arrays) < 2 || len(arrays) > 64 {
		return flat, nil
	}
	t := &schemaNode{kind: kArray, arrays: arrays, min: -1, max: -1}
	c.joinItems(t)
	var notes []string
	for j, a := range arrays {
		for k, b := range arrays[j+1:] {
			if i, ok := itemsStartAlike(a, b); ok && !t.itemObjectsJoined(i, j, j+1+k) {
				notes = append(notes, fmt.Sprintf("%s: arrays %d and %d give item %d schemas whose values start alike; "+
					"where both are still open, the first one's schema holds and the other is left behind", path, j, j+1+k, i))
			}
		}
	}
	out := make([]*schemaNode, 0, len(flat))
	for i, a := range flat {
		switch {
		case i == at:
			out = append(out, t)
		case a.kind != kArray || a.uniqueArray() || a.contains != nil:
			out = append(out, a)
		}
	}
	return out, notes
}

// joinItems joins, at each item position of joined arrays t (the last
// standing for every one past the tuples), the objects their items are
// where two or more arrays give different ones (List[Cat] beside
// List[Dog]): the item is written under that joined object, and once it
// ends, the arrays whose objects it left behind are left behind too.
// Objects that cannot be joined leave the position to pickItem's first
// array.
func (c *schemaCompiler) joinItems(t *schemaNode) {
	last := 0
	for _, a := range t.arrays {
		last = max(last, len(a.prefix))
	}
	t.itemJoin, t.itemOwners = make([]*schemaNode, last+1), make([][]uint64, last+1)
	for k := range last + 1 {
		var objs []*schemaNode
		var owners []uint64 // the arrays each of objs is the item of
		for j, a := range t.arrays {
			item := throughRefs(a.itemAt(k))
			if item == nil || item.kind != kObject || item.dispatch != nil || a.max >= 0 && k >= a.max {
				continue
			}
			parts := []*schemaNode{item}
			switch {
			case item.tagFrom != nil:
				parts = item.tagFrom
			case item.tagged != nil:
				parts = item.tagged
			case item.joined != nil:
				parts = item.joined
			}
			for _, o := range parts {
				if at := slices.Index(objs, o); at >= 0 {
					owners[at] |= 1 << j
					continue
				}
				objs, owners = append(objs, o), append(owners, 1<<j)
			}
		}
		if len(objs) < 2 {
			continue
		}
		joined, err := c.joinObjects(objs, "(an array's item)")
		if err != nil {
			continue
		}
		c.itemJoins = append(c.itemJoins, joined)
		t.itemJoin[k], t.itemOwners[k] = joined, owners
	}
}

// itemAtJoined is the joined object of item k's position, or nil.
func (n *schemaNode) itemAtJoined(k int) (*schemaNode, int) {
	if n.itemJoin == nil {
		return nil, 0
	}
	pos := min(k, len(n.itemJoin)-1)
	return n.itemJoin[pos], pos
}

// itemObjectsJoined says whether arrays j and k's objects at item i are
// joined (no first-array choice there).
func (n *schemaNode) itemObjectsJoined(i, j, k int) bool {
	joined, pos := n.itemAtJoined(i)
	if joined == nil {
		return false
	}
	var in uint64
	for _, m := range n.itemOwners[pos] {
		in |= m
	}
	return in&(1<<j) != 0 && in&(1<<k) != 0
}

// itemsStartAlike is the first item at which arrays a and b give schemas
// that are not the same but can start with the same byte.
func itemsStartAlike(a, b *schemaNode) (int, bool) {
	for k := range max(len(a.prefix), len(b.prefix)) + 1 {
		x, y := a.itemAt(k), b.itemAt(k)
		if x == nil {
			x = anySchema
		}
		if y == nil {
			y = anySchema
		}
		if sameScalar(x, y) || a.max >= 0 && k >= a.max || b.max >= 0 && k >= b.max {
			continue
		}
		if !valuesApart(x, y) {
			return k, true
		}
	}
	return 0, false
}

// sameScalar says whether schemas a and b are one, or the same scalar
// schema compiled twice (integers, numbers and strings without bounds,
// patterns or formats; booleans, nulls, any value).
func sameScalar(a, b *schemaNode) bool {
	a, b = throughRefs(a), throughRefs(b)
	switch {
	case a == b:
		return true
	case a == nil || b == nil || a.kind != b.kind || a.unique || b.unique:
		return false
	}
	switch a.kind {
	case kBoolean, kNull, kAny, kAnyObject:
		return true
	case kInteger:
		return a.lo == b.lo && a.hi == b.hi && a.mult == b.mult && a.bounded == b.bounded
	case kNumber:
		return a.nb == nil && b.nb == nil
	case kString:
		return a.texts[0] == nil && b.texts[0] == nil && a.min == b.min && a.max == b.max
	}
	return false
}

// itemAt is array a's schema for its item k (nil: any).
func (a *schemaNode) itemAt(k int) *schemaNode {
	if k < len(a.prefix) {
		return a.prefix[k]
	}
	return a.values
}

// itemObjectsOpen is the objects of joined object item (item k's joined
// objects of joined arrays n) whose arrays are among open.
func (n *schemaNode) itemObjectsOpen(k int, open uint64) uint64 {
	_, pos := n.itemAtJoined(k)
	var out uint64
	for j, m := range n.itemOwners[pos] {
		if m&open != 0 {
			out |= 1 << j
		}
	}
	return out
}

// itemArraysOpen is the arrays still open once joined object item k ends
// with its objects objs open.
func (n *schemaNode) itemArraysOpen(k int, objs uint64) uint64 {
	_, pos := n.itemAtJoined(k)
	var out uint64
	for m := objs; m != 0; m &= m - 1 {
		out |= n.itemOwners[pos][bits.TrailingZeros64(m)]
	}
	return out
}

// arraysTaking is the joined arrays still open in frame f that take an
// item after the f.count written.
func (n *schemaNode) arraysTaking(f *schemaFrame) uint64 {
	var out uint64
	for m := f.num; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		if a := n.arrays[j]; a.max < 0 || int(f.count) < a.max {
			out |= 1 << j
		}
	}
	return out
}

// arraysClose says whether the array in frame f may end: after f.count
// items, at least its minimum (or, joined, an open array's).
func (n *schemaNode) arraysClose(f *schemaFrame) bool {
	if n.arrays == nil {
		return int(f.count) >= n.min
	}
	for m := f.num; m != 0; m &= m - 1 {
		if int(f.count) >= n.arrays[bits.TrailingZeros64(m)].min {
			return true
		}
	}
	return false
}

// pickItem is the schema of the item of joined arrays frame p writes
// (its f.count-th) that starts with c: the first open array's whose item
// schema can start with c. The arrays whose schema there is another are
// left behind; none, nil.
func (n *schemaNode) pickItem(p *schemaFrame, c byte) *schemaNode {
	k := int(p.count) - 1
	if joined, pos := n.itemAtJoined(k); joined != nil && c == '{' {
		// Objects of several arrays, joined: the arrays that give one
		// stay open, told apart as the object is written (pop).
		var open uint64
		for _, m := range n.itemOwners[pos] {
			open |= m & p.num
		}
		if open != 0 {
			p.num = open
			return joined
		}
	}
	var pick *schemaNode
	var open uint64
	for m := p.num; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		item := n.arrays[j].itemAt(k)
		if item == nil {
			item = anySchema
		}
		if !item.firstBytes()[c] || pick != nil && !sameScalar(item, pick) {
			continue
		}
		pick, open = item, open|1<<j
	}
	p.num = open
	return pick
}
