package sample

import (
	"bytes"
	"fmt"
	"math/bits"
	"slices"
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
func tagObjects(flat []*schemaNode, want string, must bool, mapping map[string]*schemaNode, path string) ([]*schemaNode, error) {
	var objs []*schemaNode
	at, count := -1, 0
	out := make([]*schemaNode, 0, len(flat))
	for _, a := range flat {
		if a.kind != kObject || a.dispatch != nil {
			out = append(out, a)
			continue
		}
		count++
		if at < 0 {
			at = len(out)
			out = append(out, a)
		}
		if a.tagged != nil { // a union of objects joined already
			objs = append(objs, a.tagged...)
		} else {
			objs = append(objs, a)
		}
	}
	switch {
	case count == 0 && must:
		return nil, schemaErr(path, "discriminator %q beside alternatives none of which is an object", want)
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
	t, err := keyBy(objs)
	if err == nil {
		out[at] = t
		return out, nil
	}
	return nil, schemaErr(path, "objects among the alternatives of an anyOf are told apart only by a property each requires "+
		"whose const or enum values no two share (a discriminator), or by the keys they can start with; neither here: %s; %v", why, err)
}

// keyBy joins objs by the keys each can start with (those up to its
// first required property), or says why it cannot: two objects that can
// start with the same key, or both take {}.
func keyBy(objs []*schemaNode) (*schemaNode, error) {
	t := &schemaNode{kind: kObject}
	owner := map[string]int{}
	empty := -1
	for k, o := range objs {
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
	t := &schemaNode{kind: kObject, props: []schemaProp{{name: name, node: values, required: true}}}
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
