package sample

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ordered is a JSON object with its keys in the text's order: properties
// are written in the order the schema gives them.
type ordered struct {
	keys []string
	vals map[string]any
}

func (o *ordered) get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

// decodeOrdered decodes JSON text, objects as *ordered and numbers as
// json.Number.
func decodeOrdered(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	v, err := decodeOrderedValue(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("text after the schema")
	}
	return v, nil
}

func decodeOrderedValue(d *json.Decoder, depth int) (any, error) {
	if depth > 100 {
		return nil, fmt.Errorf("schema nested too deep")
	}
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		if t == '{' {
			o := &ordered{vals: map[string]any{}}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				v, err := decodeOrderedValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				if _, dup := o.vals[k]; !dup {
					o.keys = append(o.keys, k)
				}
				o.vals[k] = v
			}
			_, err := d.Token()
			return o, err
		}
		var l []any
		for d.More() {
			v, err := decodeOrderedValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		_, err := d.Token()
		return l, err
	}
	return t, nil
}

// writeCompact writes v as compact JSON, keys in order and without HTML
// escapes: the one spelling an enum value is matched in.
func writeCompact(b *bytes.Buffer, v any) error {
	return writeValue(b, v, func(o *ordered) []string { return o.keys }, writeLeaf)
}

// writeValue writes v as JSON, each object's keys in the order keys
// gives and each value other than an object, a list or a number by leaf.
func writeValue(b *bytes.Buffer, v any, keys func(*ordered) []string, leaf func(*bytes.Buffer, any) error) error {
	switch v := v.(type) {
	case *ordered:
		b.WriteByte('{')
		for i, k := range keys(v) {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := leaf(b, k); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := writeValue(b, v.vals[k], keys, leaf); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeValue(b, e, keys, leaf); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case json.Number:
		b.WriteString(v.String())
	default:
		return leaf(b, v)
	}
	return nil
}

// writeLeaf writes a string, boolean or null as JSON, without HTML
// escapes.
func writeLeaf(b *bytes.Buffer, v any) error {
	var s bytes.Buffer
	e := json.NewEncoder(&s)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return err
	}
	b.Write(bytes.TrimSuffix(s.Bytes(), []byte("\n")))
	return nil
}

// schemaAnnotations are keywords that describe without constraining.
var schemaAnnotations = map[string]bool{
	"title": true, "description": true, "default": true, "examples": true, "$schema": true,
	"$id": true, "$comment": true, "format": true, "deprecated": true, "readOnly": true,
	"writeOnly": true, "$defs": true, "definitions": true,
	// Annotations since 2019-09 (zod writes contentEncoding beside base64's
	// format and pattern, which hold the text).
	"contentEncoding": true, "contentMediaType": true, "contentSchema": true,
	"id": true, // draft 4's $id
	// OpenAPI's example, externalDocs and xml; the editors' and code
	// generators' own annotations, which SchemaStore's schemas and
	// generated ones carry: VS Code's (markdownDescription,
	// enumDescriptions, defaultSnippets, allowComments ...), ajv-errors'
	// errorMessage, json-schema-to-typescript's, jsonschema2pojo's,
	// react-jsonschema-form's enumNames. $anchor and $dynamicAnchor name
	// a schema ($refs to them are refused as not local); $vocabulary
	// lists a meta-schema's vocabularies.
	"example": true, "externalDocs": true, "xml": true,
	"markdownDescription": true, "enumDescriptions": true, "markdownEnumDescriptions": true,
	"deprecationMessage": true, "markdownDeprecationMessage": true, "errorMessage": true,
	"patternErrorMessage": true, "defaultSnippets": true, "doNotSuggest": true,
	"suggestSortText": true, "allowComments": true, "allowTrailingCommas": true,
	"tsType": true, "tsEnumNames": true, "javaType": true, "existingJavaType": true,
	"javaName": true, "javaEnumNames": true, "enumNames": true,
	"$anchor": true, "$dynamicAnchor": true, "$vocabulary": true,
}

// isAnnotation says whether keyword k leaves the values a schema accepts
// alone: the annotations, and OpenAPI's extensions (x-…).
func isAnnotation(k string) bool {
	return schemaAnnotations[k] || strings.HasPrefix(k, "x-")
}

// legacyForms rewrites OpenAPI 3.0's and draft 4's forms of keywords in
// their later ones: nullable true (a null too: "null" joins the types, or
// the schema becomes an anyOf with null), and exclusiveMinimum or
// exclusiveMaximum true (the minimum or maximum beside it is exclusive).
// o is left as it is; the result may be o.
func legacyForms(o *ordered, path string) (*ordered, error) {
	o, err := dependentSchemas(o, path)
	if err != nil {
		return nil, err
	}
	if !has(o, "nullable") && !slices.ContainsFunc(boundKeys, func(k string) bool { _, b := o.vals[k].(bool); return b }) {
		return o, nil
	}
	out := o // each change below makes a new one (without)
	for _, k := range []string{"exclusiveMinimum", "exclusiveMaximum"} {
		b, isBool := out.vals[k].(bool)
		if !isBool {
			continue
		}
		bound := map[string]string{"exclusiveMinimum": "minimum", "exclusiveMaximum": "maximum"}[k]
		out = without(out, k)
		if !b {
			continue
		}
		v, ok := out.get(bound)
		if !ok {
			return nil, schemaErr(path, "%s true needs %s beside it", k, bound)
		}
		out = without(out, bound)
		out.keys = append(out.keys, k)
		out.vals[k] = v
	}
	n, ok := out.get("nullable")
	if !ok {
		return out, nil
	}
	b, isBool := n.(bool)
	if !isBool {
		return nil, schemaErr(path, "nullable must be a boolean")
	}
	out = without(out, "nullable")
	if !b {
		return out, nil
	}
	t, typed := out.get("type")
	switch {
	case has(out, "enum") || has(out, "const"):
		// OpenAPI 3.0.3: an enum takes null only where it lists it; the
		// type must then take it too.
		if !typed {
			return out, nil
		}
		fallthrough
	case typed && !has(out, "$ref"):
		var types []any
		switch t := t.(type) {
		case string:
			types = []any{t}
		case []any:
			types = slices.Clone(t)
		default:
			return nil, schemaErr(path, "type must be a string or a list")
		}
		if !slices.Contains(types, any("null")) {
			types = append(types, "null")
		}
		out.vals["type"] = types
		return out, nil
	}
	return keyword("anyOf", []any{out, keyword("type", "null")}), nil
}

// dependentSchemas rewrites dependentSchemas (and draft 7's dependencies
// whose values are schemas) as the conditions they are: for each
// property named, an allOf member {"if": {"type": "object", "required":
// [name]}, "then": its schema}. Lists of names in dependencies stay there
// (dependentRequired). o is left as it is; the result may be o.
func dependentSchemas(o *ordered, path string) (*ordered, error) {
	var conds []any
	out := o
	for _, k := range []string{"dependentSchemas", "dependencies"} {
		v, ok := out.get(k)
		if !ok {
			continue
		}
		m, isObj := v.(*ordered)
		if !isObj {
			return nil, schemaErr(path, "%s must be an object", k)
		}
		lists := &ordered{vals: map[string]any{}}
		for _, name := range m.keys {
			s := m.vals[name]
			if _, isList := s.([]any); isList && k == "dependencies" {
				lists.keys = append(lists.keys, name)
				lists.vals[name] = s
				continue
			}
			if !isSchema(s) {
				return nil, schemaErr(path, "%s/%s must be a schema", k, name)
			}
			if isSchemaOfAll(s) {
				continue
			}
			cond := keyword("if", &ordered{keys: []string{"type", "required"}, vals: map[string]any{"type": "object", "required": []any{name}}})
			cond.keys = append(cond.keys, "then")
			cond.vals["then"] = s
			conds = append(conds, cond)
		}
		if len(lists.keys) == len(m.keys) {
			continue
		}
		out = without(out, k)
		if len(lists.keys) > 0 {
			out.keys = append(out.keys, k)
			out.vals[k] = lists
		}
	}
	if len(conds) == 0 {
		return out, nil
	}
	if l, ok := out.get("allOf"); ok {
		list, isList := l.([]any)
		if !isList {
			return nil, schemaErr(path, "allOf must be a non-empty list")
		}
		conds = append(slices.Clone(list), conds...)
	} else {
		out = without(out) // a copy, to add to
		out.keys = append(out.keys, "allOf")
	}
	out.vals["allOf"] = conds
	return out, nil
}

// unevaluatedForms reads unevaluatedProperties and unevaluatedItems as
// the additionalProperties or items they amount to in a schema that
// compiles as one (no allOf, anyOf, oneOf or $ref left, whose members
// or target would evaluate too): an object's properties are the only ones written, so
// beside declared properties either is met already; a map's keys are
// all unevaluated unless additionalProperties or patternProperties takes
// them; an array's items past prefixItems, unless items does.
func unevaluatedForms(o *ordered) *ordered {
	if has(o, "allOf") || has(o, "anyOf") || has(o, "oneOf") || has(o, "$ref") {
		return o
	}
	if v, ok := o.get("unevaluatedProperties"); ok {
		o = without(o, "unevaluatedProperties")
		if !has(o, "additionalProperties") && !has(o, "patternProperties") {
			o.keys = append(o.keys, "additionalProperties")
			o.vals["additionalProperties"] = v
		}
	}
	if v, ok := o.get("unevaluatedItems"); ok {
		o = without(o, "unevaluatedItems")
		_, list := o.vals["items"].([]any)
		switch {
		case list && !has(o, "additionalItems"):
			o.keys = append(o.keys, "additionalItems")
			o.vals["additionalItems"] = v
		case !has(o, "items"):
			o.keys = append(o.keys, "items")
			o.vals["items"] = v
		}
	}
	return o
}

// stringFormats are the formats a string's text is held to, as regular
// expressions matched whole (RFC 3339's date, time and date-time: days
// that exist in their month, 29 February in leap years only, the time
// offset required; and its duration, Appendix A's ABNF; RFC 4122's
// uuid; a dotted IPv4 address; RFC 4291's IPv6 text forms, compressed or
// with a dotted IPv4 tail; RFC 1123's host names; RFC 3986's URIs, with
// IPv6 literals; an e-mail address's common form). They are what pydantic
// and zod write for HttpUrl / z.url(), IPv6Address, timedelta /
// z.iso.duration() and the like, and pydantic's own UUID versions and IP
// interfaces. Where validators differ, the form is
// the one they all take (TestFormatsGolden), so a reply passes whichever
// the client runs. Other formats stay annotations, as JSON Schema allows.
var stringFormats = map[string]stringFormat{
	"date":      {re: rfc3339Date, finish: 9},
	"time":      {re: rfc3339Time, finish: 8},
	"date-time": {re: rfc3339Date + "T" + rfc3339Time, finish: 19},
	"duration":  {re: rfc3339Duration, finish: 2},
	"uuid":      {re: `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`, finish: 35},
	"ipv4":      {re: ipv4Address, finish: 6},
	"ipv6":      {re: ipv6Address, finish: 5},
	"hostname":  {re: hostname, maxLen: 253, finish: 1},
	"uri":       {re: uri, finish: 6},
	// (pydantic writes HttpUrl as a uri under maxLength 2083, which its
	// validator holds to http and https; no schema names this format)
	"http-url": {re: httpURL, finish: 7},
	"email":    {re: email, maxLen: 254, finish: 5},
	// pydantic's own: UUID1 … UUID8 (the version digit, RFC 4122's
	// variant), IPvAnyAddress, and the interfaces (an address with a
	// prefix length, or none).
	"uuid1":           {re: uuidVersion("1"), finish: 35},
	"uuid3":           {re: uuidVersion("3"), finish: 35},
	"uuid4":           {re: uuidVersion("4"), finish: 35},
	"uuid5":           {re: uuidVersion("5"), finish: 35},
	"uuid6":           {re: uuidVersion("6"), finish: 35},
	"uuid7":           {re: uuidVersion("7"), finish: 35},
	"uuid8":           {re: uuidVersion("8"), finish: 35},
	"ipvanyaddress":   {re: ipv4Address + `|` + ipv6Address, finish: 6},
	"ipv4interface":   {re: ipv4Interface, finish: 6},
	"ipv6interface":   {re: ipv6Interface, finish: 5},
	"ipvanyinterface": {re: ipv4Interface + `|` + ipv6Interface, finish: 6},
}

// uuidVersion is a UUID of version v and RFC 4122's variant, which
// Python's uuid module (and so pydantic's UUID4, say) reads a version of.
func uuidVersion(v string) string {
	return `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-` + v + `[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}`
}

const (
	// ipv4Interface and ipv6Interface are an address and maybe a prefix
	// length, as Python's ipaddress reads an interface (its netmask
	// forms, 1.2.3.4/255.255.255.0, are not written).
	ipv4Interface = `(` + ipv4Address + `)(/([0-9]|[12][0-9]|3[0-2]))?`
	ipv6Interface = `(` + ipv6Address + `)(/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))?`
)

// stringFormat is a format's expression and the longest text it allows
// (0: no limit), for limits an expression cannot count (RFC 1123's 253
// characters across a host name's labels), with the most characters any
// prefix of its texts needs to become whole: a host name's "a-" one more,
// an address's "kim." five ("a@b.c"). With a length limit (the format's,
// or a schema's maxLength, as pydantic gives HttpUrl 2083), the text keeps
// room for them. TestFormatFinishBounds works them out.
type stringFormat struct {
	re     string
	maxLen int
	finish int
}

const (
	ipv4Octet   = `(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])`
	ipv4Address = `(` + ipv4Octet + `\.){3}` + ipv4Octet

	// ipv6Address is RFC 3986's IPv6address: eight groups of one to four
	// hex digits, the last two maybe a dotted IPv4 address, with at most
	// one "::" standing for one or more groups of zeros.
	h16         = `[0-9A-Fa-f]{1,4}`
	ls32        = `(` + h16 + `:` + h16 + `|` + ipv4Address + `)`
	ipv6Address = `((` + h16 + `:){6}` + ls32 +
		`|::(` + h16 + `:){5}` + ls32 +
		`|(` + h16 + `)?::(` + h16 + `:){4}` + ls32 +
		`|((` + h16 + `:){0,1}` + h16 + `)?::(` + h16 + `:){3}` + ls32 +
		`|((` + h16 + `:){0,2}` + h16 + `)?::(` + h16 + `:){2}` + ls32 +
		`|((` + h16 + `:){0,3}` + h16 + `)?::` + h16 + `:` + ls32 +
		`|((` + h16 + `:){0,4}` + h16 + `)?::` + ls32 +
		`|((` + h16 + `:){0,5}` + h16 + `)?::` + h16 +
		`|((` + h16 + `:){0,6}` + h16 + `)?::)`

	// hostname is RFC 1123's: dot-separated labels of letters, digits and
	// inner hyphens, 63 characters at most (253 in all: stringFormat).
	hostLabel = `[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?`
	hostname  = hostLabel + `(\.` + hostLabel + `)*`

	// email is a conservative form of an address, which Ajv takes: a
	// local part of up to three dot-separated atoms (at most 62
	// characters, under RFC 5321's 64), a domain of two or more host-name
	// labels, the last starting with a letter (254 in all).
	emailAtom = `[A-Za-z0-9_%+-]{1,20}`
	email     = emailAtom + `(\.` + emailAtom + `){0,2}@(` + hostLabel + `\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?`

	// uri is RFC 3986's URI: scheme ":" hier-part ["?" query]
	// ["#" fragment], the host a name, an IPv4 address or an IPv6
	// literal in brackets. The hier-part is not empty ("http:" is a URI
	// to the RFC, not to Ajv).
	uriPct      = `%[0-9A-Fa-f]{2}`
	uriPlain    = `A-Za-z0-9._~!$&'()*+,;=\-`
	uriPChar    = `([` + uriPlain + `:@]|` + uriPct + `)`
	uriSegment  = uriPChar + `*`
	uriSegNZ    = uriPChar + `+`
	uriAuth     = `(([` + uriPlain + `:]|` + uriPct + `)*@)?(\[` + ipv6Address + `\]|([` + uriPlain + `]|` + uriPct + `)*)(:[0-9]*)?`
	uriHierPart = `(//` + uriAuth + `(/` + uriSegment + `)*|/(` + uriSegNZ + `(/` + uriSegment + `)*)?|` + uriSegNZ + `(/` + uriSegment + `)*)`
	uriTail     = `(` + uriPChar + `|[/?])*`
	uri         = `[A-Za-z][A-Za-z0-9+.-]*:` + uriHierPart + `(\?` + uriTail + `)?(#` + uriTail + `)?`

	// httpURL is an http or https URL with a host (a name whose last
	// label starts with a letter, an IPv4 address or an IPv6 literal) and
	// a port below 10000, as pydantic's HttpUrl takes it: the WHATWG URL
	// parser's host rules refuse much of what RFC 3986 allows a reg-name,
	// and read a name that ends in a number as an IPv4 address.
	httpURL = `[hH][tT][tT][pP][sS]?://((` + hostLabel + `\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?|` + ipv4Address + `|\[` + ipv6Address + `\])` +
		`(:[0-9]{1,4})?(/` + uriSegment + `)*(\?` + uriTail + `)?(#` + uriTail + `)?`
)

// httpURLMaxLength is the maxLength pydantic gives HttpUrl (Internet
// Explorer's limit): a uri under it is read as one (http-url).
const httpURLMaxLength = 2083

// rfc3339Duration is RFC 3339's duration (Appendix A): "P", then years,
// months and days (each only after the one before it, from any start),
// then "T" and hours, minutes and seconds the same way, or weeks alone.
// Each number has at most as many digits as pydantic's timedelta (the
// schema's main writer; its parser keeps a duration under 10^9 days and
// its time part under 2^32 seconds) takes in any combination: 5 for
// years, 6 for months, weeks, hours and minutes, 8 for days and seconds.
// Unbounded, a small model would also run on digits until its tokens are
// spent ("PT622000000…").
const rfc3339Duration = `P((` + durYears + `Y(` + durMonths + `M(` + durDays + `D)?)?|` + durMonths + `M(` + durDays + `D)?|` + durDays + `D)(T` + durTime + `)?|T` + durTime + `|` + durWeeks + `W)`

const (
	durYears   = `[0-9]{1,5}`
	durMonths  = `[0-9]{1,6}`
	durWeeks   = `[0-9]{1,6}`
	durDays    = `[0-9]{1,8}`
	durHours   = `[0-9]{1,6}`
	durMinutes = `[0-9]{1,6}`
	durSeconds = `[0-9]{1,8}`
	durTime    = `(` + durHours + `H(` + durMinutes + `M(` + durSeconds + `S)?)?|` + durMinutes + `M(` + durSeconds + `S)?|` + durSeconds + `S)`
)

// rfc3339Date is a full-date whose day exists: 31 in the long months, 30
// in the others but February, which has 28, and 29 in a year divisible by
// 4, not by 100 unless by 400. The year is 0001-9999: RFC 3339 allows 0000,
// but Python's datetime (and so jsonschema's format checker and pydantic)
// cannot hold it.
const rfc3339Date = `(` + dateYear + `-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))` +
	`|([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)-02-29)`

const dateYear = `([0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)`

// rfc3339Time is a full-time: the time-offset (Z or ±hh:mm) is required,
// as RFC 3339 and JSON Schema have it and as Ajv and Python's jsonschema
// check it (pydantic reads it too), and there is no leap second's :60,
// which Python's datetime cannot hold and Ajv takes only at 23:59 UTC.
const rfc3339Time = `([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])`

// formatGrammar is the grammar of a format in stringFormats, the longest
// text it allows (0: no limit) and the most characters a prefix needs to
// finish (0: not known), or nil.
func formatGrammar(f any) (*Grammar, int, int) {
	name, _ := f.(string)
	sf, ok := stringFormats[name]
	if !ok {
		return nil, 0, 0
	}
	g, err := CompileRegex(sf.re)
	if err != nil {
		panic(fmt.Sprintf("sample: format %s: %v", name, err)) // the table is ours
	}
	return g, sf.maxLen, sf.finish
}

type schemaCompiler struct {
	root   any
	refs   map[string]*schemaNode
	unions []*schemaNode
	// inlined counts the merged allOfs being compiled within one
	// another (maxInlineDepth), merges those compiled in all, by this
	// compiler and those it starts for enums and keys (maxInlined).
	inlined int
	merges  *int
	// recursed are the merged schemas met again while being built
	// (inline), whose one-way unions stand for them
	recursed map[*schemaNode]bool
	// itemJoins are the objects joinItems joined, finished with the
	// unions' (finishJoin)
	itemJoins []*schemaNode
	// notes are where the constraint takes less than the schema allows
	// (a joined object's property whose schemas start alike)
	notes []string
}

func compileSchema(raw []byte) (*schemaProgram, error) {
	v, err := decodeOrdered(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSchema, err)
	}
	c := &schemaCompiler{root: v, refs: map[string]*schemaNode{}, merges: new(int), recursed: map[*schemaNode]bool{}}
	n, err := c.node(v, "#")
	if err != nil {
		return nil, err
	}
	if err := c.finishUnions(); err != nil {
		return nil, err
	}
	return &schemaProgram{root: n, notes: c.notes}, nil
}

func schemaErr(path, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrSchema, path, fmt.Sprintf(format, a...))
}

// emptyErr is a schema no value meets: an error at the top, and an
// alternative left out of a union distributed over its siblings.
func emptyErr(path, format string, a ...any) error {
	return fmt.Errorf("%w: %w: %s: %s", ErrSchema, errNoValue, path, fmt.Sprintf(format, a...))
}

func (c *schemaCompiler) node(v any, path string) (*schemaNode, error) {
	switch v := v.(type) {
	case bool:
		if !v {
			return nil, schemaErr(path, "false accepts nothing")
		}
		return &schemaNode{kind: kAny}, nil
	case *ordered:
		if isNever(v) {
			return nil, schemaErr(path, "not of a schema that accepts everything accepts nothing")
		}
		return c.object(v, path)
	}
	return nil, schemaErr(path, "a schema must be an object or a boolean")
}

func (c *schemaCompiler) object(o *ordered, path string) (*schemaNode, error) {
	o, err := legacyForms(o, path)
	if err != nil {
		return nil, err
	}
	o = unevaluatedForms(o)
	known := map[string]bool{}
	for _, k := range []string{"type", "properties", "required", "additionalProperties", "items", "prefixItems", "additionalItems", "uniqueItems", "minProperties", "maxProperties",
		"minItems", "maxItems", "minLength", "maxLength", "pattern", "enum", "const", "anyOf", "oneOf", "allOf", "$ref",
		"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "discriminator", "propertyNames", "patternProperties", "not",
		"unevaluatedProperties", "unevaluatedItems", // read by unevaluatedForms, once nothing beside evaluates
		"dependentRequired", "dependencies", "if", "then", "else", // then and else without if are annotations
		"dependentSchemas", // rewritten by dependentSchemas as an allOf of if/then, dependencies of schemas too
		"contains", "minContains", "maxContains"} {
		known[k] = true
	}
	for _, k := range o.keys {
		if !known[k] && !isAnnotation(k) {
			return nil, schemaErr(path, "keyword %q is not supported", k)
		}
	}
	if ref, ok := o.get("$ref"); ok {
		s, _ := ref.(string)
		if rest := without(o, "$ref"); constrains(rest) && !targetHolds(pointerTarget(c.root, s), rest) {
			// Keywords beside $ref hold too (JSON Schema 2019-09 on):
			// merged with its target, as allOfParts reads them.
			return c.merged(o, path)
		}
		return c.ref(s, path)
	}
	if iv, ok := o.get("if"); ok {
		// if/then/else: the if and the then, or what the if refuses
		// (its not) and the else.
		then, els := o.vals["then"], o.vals["else"]
		if then == nil {
			then = true
		}
		if els == nil {
			els = true
		}
		var negs []any // none where the if takes everything
		if !isSchemaOfAll(iv) {
			if negs, err = c.notAlternatives(iv, path+"/if"); err != nil {
				return nil, err
			}
		}
		alts := []any{allOf(iv, then)}
		for _, n := range negs {
			alts = append(alts, allOf(n, els))
		}
		return c.alternatives(without(o, "if", "then", "else"), "if", alts, path)
	}
	if nv, ok := o.get("not"); ok {
		alts, err := c.notAlternatives(nv, path+"/not")
		if err != nil {
			return nil, err
		}
		return c.alternatives(without(o, "not"), "not", alts, path)
	}
	if a, ok := o.get("allOf"); ok && !has(o, "anyOf") && !has(o, "oneOf") {
		// (Beside an anyOf, the allOf may hold unions merging left
		// pending: the anyOf is distributed first, over the allOf among
		// the rest.)
		if l, isList := a.([]any); isList && len(l) == 1 && !constrains(without(o, "allOf")) {
			return c.node(l[0], path+"/allOf/0") // a $ref in it stays shared
		}
		return c.merged(o, path)
	}
	if e, ok := o.get("const"); ok {
		return c.enum([]any{e}, without(o, "const"), path)
	}
	if e, ok := o.get("enum"); ok {
		l, isList := e.([]any)
		if !isList || len(l) == 0 {
			return nil, schemaErr(path, "enum must be a non-empty list")
		}
		return c.enum(l, without(o, "enum"), path)
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		a, ok := o.get(k)
		if !ok {
			continue
		}
		l, isList := a.([]any)
		if !isList || len(l) == 0 {
			return nil, schemaErr(path, "%s must be a non-empty list", k)
		}
		kw := k // the keyword as written
		if k == "oneOf" && c.stringsApart(l, path) {
			k = "anyOf" // no text two alternatives take: the oneOf is their anyOf
		} else if k == "oneOf" {
			if once, ok := c.stringsOnlyOnce(l, path); ok {
				l = once
			}
		}
		if e, ok := c.enumUnion(l, k == "oneOf"); ok && len(l) > 1 {
			l = []any{e}
		} else if k == "anyOf" {
			l = c.mergeAlternatives(l, path+"/"+kw)
		}
		if rest := without(o, kw, "discriminator"); constrains(rest) {
			if joined, ok := c.joinedBeside(k, l, rest, path+"/"+kw); ok {
				l = joined // (the keywords beside are in each)
			} else {
				return c.distribute(o, k, l, rest, path)
			}
		}
		var alts []*schemaNode
		for i, s := range l {
			if isNever(s) {
				continue // an alternative no value meets (z.never() in a union)
			}
			n, err := c.node(s, fmt.Sprintf("%s/%s/%d", path, k, i))
			if err != nil {
				return nil, err
			}
			alts = append(alts, n)
		}
		if len(alts) == 0 {
			return nil, schemaErr(path, "every alternative of %s accepts nothing", k)
		}
		u := c.unionNode(alts, path+"/"+k)
		u.exclusive = k == "oneOf"
		if d, ok := o.get("discriminator"); ok {
			if err := c.discriminator(u, d, path+"/discriminator", true); err != nil {
				return nil, err
			}
		}
		return u, nil
	}
	if has(o, "discriminator") {
		return nil, schemaErr(path, "discriminator is supported beside anyOf or oneOf")
	}
	var types []string
	switch t, _ := o.get("type"); t := t.(type) {
	case nil:
		switch {
		case has(o, "properties") || has(o, "additionalProperties") || has(o, "required") || has(o, "minProperties") || has(o, "maxProperties") ||
			has(o, "propertyNames") || has(o, "patternProperties"):
			types = []string{"object"}
		case has(o, "items") || has(o, "prefixItems") || has(o, "additionalItems") || has(o, "minItems") || has(o, "maxItems"):
			types = []string{"array"}
		case has(o, "pattern") && !has(o, "minLength") && !has(o, "maxLength") && onlyRefusing(o.vals["pattern"]):
			// A not's pattern alone ({"not": {"const": ""}}): strings must
			// not match it, and any other value may be written.
			types = jsonTypes
		case has(o, "minLength") || has(o, "maxLength") || has(o, "pattern"):
			types = []string{"string"}
		case hasBounds(o):
			return nil, schemaErr(path, "numeric bounds without a type: give \"type\": \"integer\"")
		default:
			return &schemaNode{kind: kAny}, nil
		}
	case string:
		types = []string{t}
	case []any:
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, schemaErr(path, "type must name types")
			}
			types = append(types, s)
		}
	default:
		return nil, schemaErr(path, "type must be a string or a list")
	}
	if slices.Contains(types, "number") {
		// (An integer is a number: under the same keywords, the number
		// takes it.)
		types = slices.DeleteFunc(types, func(t string) bool { return t == "integer" })
	}
	alts := make([]*schemaNode, 0, len(types))
	for _, t := range types {
		n, err := c.typed(o, t, path)
		if err != nil {
			return nil, err
		}
		alts = append(alts, n)
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return c.unionNode(alts, path+"/type"), nil
}

// isNever says whether schema v accepts no value: false, or a not of a
// schema that accepts every one ({"not": {}}, as zod writes z.never()).
func isNever(v any) bool {
	switch v := v.(type) {
	case bool:
		return !v
	case *ordered:
		n, ok := v.get("not")
		return ok && isSchemaOfAll(n) && !slices.ContainsFunc(v.keys, func(k string) bool { return k != "not" && !isAnnotation(k) })
	}
	return false
}

// isSchemaOfAll says whether v is a schema every value meets: true, or
// one of annotations alone (format, read as one, holds a text here).
func isSchemaOfAll(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case *ordered:
		return !slices.ContainsFunc(v.keys, func(k string) bool { return !isAnnotation(k) || k == "format" })
	}
	return false
}

// onlyRefusing says whether pattern, a pattern keyword's value, holds
// only patterns a not gave, which strings must not match.
func onlyRefusing(pattern any) bool {
	l, ok := pattern.(patternList)
	return ok && !slices.ContainsFunc(l, func(p patternItem) bool { return !p.negate })
}

// jsonTypes are JSON's types, as a type keyword names them (integer
// aside: a kind of number).
var jsonTypes = []string{"object", "array", "string", "number", "boolean", "null"}

// notAlternatives reads a not as the schemas whose anyOf it is (one, in
// most cases): of types, the types it leaves (notTypes); of a pattern
// (beside type string or none), a string that does not match it; of an
// enum or const of strings and null, the strings are refused by a
// pattern not to match and null by the types left; of an anyOf of those,
// each one's at once; of an object's properties and required names (an
// if's usual form), an object that lacks a required one, or has a
// property its schema refuses (that schema's not), or, where the not
// names type object, a value of another type. A $ref alone is read as
// its target, a not of a not as what it negates, and
// additionalProperties true beside properties, which adds nothing, is
// left out. A not of anything else is refused.
func (c *schemaCompiler) notAlternatives(v any, path string) ([]any, error) {
	if r, ok := c.resolved(v); ok {
		v = r
	}
	o, ok := v.(*ordered)
	if ok && has(o, "properties") && acceptsAll(o.vals["additionalProperties"]) {
		o = without(o, "additionalProperties")
	}
	switch {
	case v == false, ok && isNever(o):
		return []any{true}, nil // not of nothing: anything
	case v == true:
		return nil, schemaErr(path, "not of a schema that accepts everything accepts nothing")
	case !ok:
		return nil, schemaErr(path, "a schema must be an object or a boolean")
	}
	var keys []string
	for _, k := range o.keys {
		if !isAnnotation(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return nil, schemaErr(path, "not of a schema that accepts everything accepts nothing")
	}
	t, typed := o.get("type")
	takes := func(name string) bool { // whether the not's type keyword names type name, or it has none
		l, isList := t.([]any)
		return !typed || t == name || isList && slices.Contains(l, any(name))
	}
	only := func(allowed ...string) bool {
		return !slices.ContainsFunc(keys, func(k string) bool { return !slices.Contains(allowed, k) })
	}
	switch {
	case slices.Equal(keys, []string{"not"}):
		return []any{o.vals["not"]}, nil // not of a not: what it negates
	case slices.Equal(keys, []string{"anyOf"}):
		l, isList := o.vals["anyOf"].([]any)
		if !isList || len(l) == 0 {
			return nil, schemaErr(path, "anyOf must be a non-empty list")
		}
		var parts []any
		for i, e := range l {
			at := fmt.Sprintf("%s/anyOf/%d", path, i)
			alts, err := c.notAlternatives(e, at)
			if err != nil {
				return nil, err
			}
			if len(alts) > 1 {
				return nil, schemaErr(at, "not of an anyOf is supported where each member's not is one schema")
			}
			parts = append(parts, alts[0])
		}
		return []any{allOf(parts...)}, nil
	case slices.Equal(keys, []string{"type"}):
		types, err := notTypes(o, path)
		if err != nil {
			return nil, err
		}
		return []any{keyword("type", types)}, nil
	case only("pattern", "type") && has(o, "pattern") && (!typed || t == "string"):
		src, isString := o.vals["pattern"].(string)
		if !isString {
			return nil, schemaErr(path, "pattern must be a string")
		}
		return []any{refusing(src)}, nil
	case only("const", "type") && has(o, "const") || only("enum", "type") && has(o, "enum"):
		vals, isList := o.vals["enum"].([]any)
		if c, isConst := o.get("const"); isConst {
			vals, isList = []any{c}, true
		}
		if !isList || len(vals) == 0 {
			return nil, schemaErr(path, "enum must be a non-empty list")
		}
		var lits []string
		var parts []any
		refused := map[bool]bool{} // the booleans
		for _, e := range vals {
			switch e := e.(type) {
			case string:
				if takes("string") {
					lits = append(lits, regexp.QuoteMeta(e))
				}
			case nil:
				if takes("null") {
					parts = append(parts, keyword("type", typesBut("null")))
				}
			case bool:
				if takes("boolean") {
					refused[e] = true
				}
			default:
				var b bytes.Buffer
				_ = writeCompact(&b, e)
				return nil, schemaErr(path, "not of an enum or const is supported over strings, booleans and null, not %s", b.String())
			}
		}
		if len(lits) > 0 {
			parts = append(parts, refusing("^(?:"+strings.Join(lits, "|")+")$"))
		}
		switch len(refused) {
		case 2:
			parts = append(parts, keyword("type", typesBut("boolean")))
		case 1: // another type, or the other boolean
			parts = append(parts, keyword("anyOf", []any{keyword("type", typesBut("boolean")), keyword("const", !refused[true])}))
		}
		return []any{allOf(append(parts, true)...)}, nil
	case only("properties", "required", "type") && (has(o, "properties") || has(o, "required")) && (!typed || t == "object"):
		var alts []any
		if typed {
			alts = append(alts, keyword("type", typesBut("object")))
		}
		object := func(k string, v any, required bool) *ordered {
			a := &ordered{keys: []string{"type", "properties"}, vals: map[string]any{"type": "object",
				"properties": &ordered{keys: []string{k}, vals: map[string]any{k: v}}}}
			if required {
				a.keys = append(a.keys, "required")
				a.vals["required"] = []any{k}
			}
			return a
		}
		if r, ok := o.get("required"); ok {
			names, err := nameList(r, path, "required")
			if err != nil {
				return nil, err
			}
			for _, k := range names {
				alts = append(alts, object(k, false, false)) // k missing
			}
		}
		if p, ok := o.get("properties"); ok {
			po, isObj := p.(*ordered)
			if !isObj {
				return nil, schemaErr(path, "properties must be an object")
			}
			for _, k := range po.keys {
				if s := po.vals[k]; !isNever(s) {
					alts = append(alts, object(k, keyword("not", s), true))
				}
			}
		}
		if len(alts) == 0 {
			return nil, schemaErr(path, "not of a schema every object meets accepts no object")
		}
		return alts, nil
	}
	return nil, schemaErr(path, "not is supported over types ({\"not\": {\"type\": \"null\"}}), a pattern, an enum or const of strings and null, an object's properties and required names, or an anyOf of those")
}

// alternatives compiles rest (a schema's other keywords) beside key, an
// if or a not read as the anyOf of alts, as distribute does: each
// alternative merged with rest, those nothing meets left out.
func (c *schemaCompiler) alternatives(rest *ordered, key string, alts []any, path string) (*schemaNode, error) {
	if len(alts) == 1 {
		return c.merged(allOf(rest, alts[0]), path)
	}
	n, err := c.distribute(&ordered{vals: map[string]any{}}, key, alts, rest, path)
	if err != nil {
		how := map[string]string{"if": "if/then/else, read as the if with the then or the if's not with the else",
			"not": "not, read as the alternatives it leaves"}[key]
		return nil, fmt.Errorf("%s: %w", how, err)
	}
	return n, nil
}

// typeNames is a type keyword's value, a name or a list of them, as names
// ("" for an entry that is no string); nil for anything else.
func typeNames(t any) []string {
	switch t := t.(type) {
	case string:
		return []string{t}
	case []any:
		names := make([]string, len(t))
		for i, e := range t {
			names[i], _ = e.(string)
		}
		return names
	}
	return nil
}

// notTypes reads a not of types alone ({"not": {"type": "null"}}, a value
// of any other type) as the types it leaves. A not of anything else, or
// of integer without number (the numbers that are no integers), is
// refused.
func notTypes(v any, path string) ([]any, error) {
	o, ok := v.(*ordered)
	var t any
	if ok {
		t, ok = o.get("type")
	}
	if !ok || slices.ContainsFunc(o.keys, func(k string) bool { return k != "type" && !isAnnotation(k) }) {
		return nil, schemaErr(path, "not is supported over types alone ({\"not\": {\"type\": \"null\"}})")
	}
	names := typeNames(t)
	for _, n := range names {
		switch {
		case n == "integer" && !slices.Contains(names, "number"):
			return nil, schemaErr(path, "not of integer leaves the numbers that are no integers; not supported")
		case n != "integer" && !slices.Contains(jsonTypes, n):
			return nil, schemaErr(path, "unknown type %q", n)
		}
	}
	left := typesBut(names...)
	if len(left) == 0 {
		return nil, schemaErr(path, "not of every type accepts nothing")
	}
	return left, nil
}

// nameList reads a list of property names, keyword what's value.
func nameList(v any, path, what string) ([]string, error) {
	l, isList := v.([]any)
	if !isList {
		return nil, schemaErr(path, "%s must be a list", what)
	}
	names := make([]string, len(l))
	for i, e := range l {
		name, isString := e.(string)
		if !isString {
			return nil, schemaErr(path, "%s must list property names", what)
		}
		names[i] = name
	}
	return names, nil
}

// typesBut is JSON's types other than names.
func typesBut(names ...string) []any {
	var left []any
	for _, t := range jsonTypes {
		if !slices.Contains(names, t) {
			left = append(left, t)
		}
	}
	return left
}

var boundKeys = []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}

func hasBounds(o *ordered) bool {
	for _, k := range boundKeys {
		if has(o, k) {
			return true
		}
	}
	return false
}

// integerNode is an integer, bounded by minimum, maximum and their
// exclusive forms (numbers, not draft 4's booleans), as whole numbers.
func integerNode(o *ordered, path string) (*schemaNode, error) {
	n := &schemaNode{kind: kInteger, lo: -maxBound, hi: maxBound}
	for _, k := range boundKeys {
		v, ok := o.get(k)
		if !ok {
			continue
		}
		num, isNum := v.(json.Number)
		f, err := num.Float64()
		if !isNum || err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, schemaErr(path, "%s must be a number", k)
		}
		n.bounded = true
		if math.Abs(f) >= maxBound {
			// Generated schemas bound integers by int64's or uint64's
			// range (Java, Go, protobuf): integers are written within
			// ±10^18, which such a bound leaves free. One that leaves
			// none of them is refused.
			if loose := strings.HasSuffix(k, "inimum") == (f < 0); !loose {
				return nil, schemaErr(path, "%s %s leaves no integer within ±%d, which Nuri writes integers within", k, num, int64(maxBound))
			}
			continue
		}
		switch k {
		case "minimum":
			n.lo = max(n.lo, int64(math.Ceil(f)))
		case "exclusiveMinimum":
			n.lo = max(n.lo, int64(math.Floor(f))+1)
		case "maximum":
			n.hi = min(n.hi, int64(math.Floor(f)))
		case "exclusiveMaximum":
			n.hi = min(n.hi, int64(math.Ceil(f))-1)
		}
	}
	if f, _ := o.vals["format"].(string); f == "int32" {
		// OpenAPI's 32-bit integers (int64 fits the bounds already).
		n.lo, n.hi, n.bounded = max(n.lo, math.MinInt32), min(n.hi, math.MaxInt32), true
	}
	if v, ok := o.get("multipleOf"); ok {
		mult, err := integerMultiples(v)
		if err != nil {
			return nil, schemaErr(path, "multipleOf: %v", err)
		}
		if mult > 1 {
			// Validators read numbers as float64: beyond 2^53 the value
			// they test is not the one written.
			n.mult, n.bounded = mult, true
			n.lo, n.hi = max(n.lo, -maxExactInt), min(n.hi, maxExactInt)
		}
	}
	if n.lo > n.hi || !n.viable(false, 0, 0, nil) && !n.viable(true, 0, 0, nil) {
		return nil, schemaErr(path, "no integer lies within the bounds")
	}
	return n, nil
}

// integerMultiples is the step of the integers a multipleOf leaves, or
// several merged parts' multipleOfs leave together (zod writes
// z.number().int().multipleOf(3).multipleOf(5) as multipleOf 3 and allOf
// [{multipleOf: 5}]): their least common multiple.
func integerMultiples(v any) (int64, error) {
	list, ok := v.(multipleList)
	if !ok {
		return integerMultiple(v)
	}
	l := big.NewInt(1)
	for _, e := range list {
		m, err := integerMultiple(e)
		if err != nil {
			return 0, err
		}
		b := big.NewInt(m)
		g := new(big.Int).GCD(nil, nil, l, b)
		l.Mul(l, b.Div(b, g))
		if !l.IsInt64() || l.Int64() > maxExactInt {
			return 0, fmt.Errorf("the least common multiple of %v is above 2^53", list)
		}
	}
	return l.Int64(), nil
}

// integerMultiple is the whole numbers a multipleOf (a positive decimal)
// leaves of the integers: the multiples of its numerator in lowest terms
// (of 2.5 = 5/2 they are the multiples of 5; of 0.5, every integer).
// Validators test multipleOf in float64 (JavaScript's %, Python's
// division), which is exact for an integer or a binary fraction such as
// 2.5 or 0.25 and not for 0.1: 3 % 0.1 is 0.0999… for Ajv, and 3 / 0.1
// is 30.000000000000004 for Python's jsonschema, so both call 3 no
// multiple of 0.1. Such a multipleOf is refused.
func integerMultiple(v any) (int64, error) {
	num, isNum := v.(json.Number)
	neg, m, ok := parseBound(num)
	if !isNum || !ok || neg || m.isZero() {
		return 0, fmt.Errorf("must be a positive decimal below 10^%d with at most %d significant digits", numberScale, maxNumberDigits)
	}
	// m/10^18 in lowest terms: the 2s and 5s of 10^18 it shares go.
	for range numberScale {
		if q, r := m.divmod64(2); r == 0 {
			m = q
		}
	}
	fives := 0
	for range numberScale {
		if q, r := m.divmod64(5); r == 0 {
			m, fives = q, fives+1
		}
	}
	if fives < numberScale {
		return 0, fmt.Errorf("%s is no binary fraction: validators test it in float64, where integers that are its multiples may not be (3 %% 0.1 is not 0)", num)
	}
	if m.hi != 0 || m.lo > maxExactInt {
		return 0, fmt.Errorf("must be below 2^53")
	}
	return int64(m.lo), nil
}

// numberNode is a number, bounded by minimum, maximum and their
// exclusive forms, each a decimal below 10^18 with at most 18 digits
// after the point and 15 significant ones (schema_number.go).
func numberNode(o *ordered, path string) (*schemaNode, error) {
	if !hasBounds(o) && !has(o, "multipleOf") {
		return &schemaNode{kind: kNumber}, nil
	}
	b := &numberBounds{}
	if v, ok := o.get("multipleOf"); ok {
		if err := b.setMultiples(v); err != nil {
			return nil, schemaErr(path, "multipleOf: %v", err)
		}
	}
	for _, k := range boundKeys {
		v, ok := o.get(k)
		if !ok {
			continue
		}
		num, isNum := v.(json.Number)
		if f, err := num.Float64(); isNum && (err == nil || errors.Is(err, strconv.ErrRange)) && math.Abs(f) >= 1e18 {
			// A bound of float64's or int64's range (-1.7976931348623157e308,
			// 9223372036854775807): a bounded number has at most 15
			// digits, and such a bound leaves each free. One that leaves
			// none of them is refused.
			if loose := strings.HasSuffix(k, "inimum") == (f < 0); !loose {
				return nil, schemaErr(path, "%s %s leaves no number of at most %d digits", k, num, maxNumberDigits)
			}
			continue
		}
		neg, mag, exact := parseBound(num)
		if !isNum || !exact {
			return nil, schemaErr(path, "%s must be a decimal below 10^%d with at most %d digits after the point and %d significant ones", k, numberScale, numberScale, maxNumberDigits)
		}
		excl := strings.HasPrefix(k, "exclusive")
		if strings.HasSuffix(k, "inimum") {
			// The tighter bound wins; at equal values the exclusive one.
			if c := lessSigned(neg, mag, b.loNeg, b.lo); !b.hasLo || c > 0 || c == 0 && excl {
				b.hasLo, b.loNeg, b.lo, b.loExcl = true, neg, mag, excl
			}
		} else if c := lessSigned(neg, mag, b.hiNeg, b.hi); !b.hasHi || c < 0 || c == 0 && excl {
			b.hasHi, b.hiNeg, b.hi, b.hiExcl = true, neg, mag, excl
		}
	}
	start := schemaFrame{frac: -1}
	pos, neg := start, start
	neg.neg = true
	if !b.numberViable(&pos, false) && !b.numberViable(&neg, false) {
		if b.step != nil {
			return nil, schemaErr(path, "no number of at most %d digits lies within the bounds that is a multiple of multipleOf as validators test it (in float64)", maxNumberDigits)
		}
		return nil, schemaErr(path, "no number of at most %d digits lies within the bounds", maxNumberDigits)
	}
	return &schemaNode{kind: kNumber, bounded: true, nb: b}, nil
}

// maxBound keeps bounded integers to 18 digits, where their values fit.
const maxBound = 1e18

func has(o *ordered, k string) bool {
	_, ok := o.get(k)
	return ok
}

// count reads a non-negative integer keyword; def when absent.
func count(o *ordered, k, path string, def int) (int, error) {
	v, ok := o.get(k)
	if !ok {
		return def, nil
	}
	n, isNum := v.(json.Number)
	i, err := n.Int64()
	if !isNum || err != nil || i < 0 || i > 1<<20 {
		return 0, schemaErr(path, "%s must be a non-negative integer", k)
	}
	return int(i), nil
}

func (c *schemaCompiler) typed(o *ordered, t, path string) (*schemaNode, error) {
	switch t {
	case "string":
		lo, err := count(o, "minLength", path, 0)
		if err != nil {
			return nil, err
		}
		hi, err := count(o, "maxLength", path, -1)
		if err != nil {
			return nil, err
		}
		if hi >= 0 && hi < lo {
			return nil, schemaErr(path, "maxLength is below minLength")
		}
		n := &schemaNode{kind: kString, min: lo, max: hi}
		k := 0
		if p, ok := o.get("pattern"); ok {
			list, err := patterns(p, path)
			if err != nil {
				return nil, err
			}
			for _, item := range list {
				dfas, err := item.texts()
				if err != nil {
					return nil, schemaErr(path, "pattern %v: %v", item, err)
				}
				switch {
				case len(list) == 1 && len(dfas) > maxTexts:
					return nil, schemaErr(path, "pattern %v: more than %d lookarounds", item, maxTexts-1)
				case k+len(dfas) > maxTexts:
					return nil, schemaErr(path, "patterns %v: more than %d automata (one a pattern, one each lookahead it opens with)", list, maxTexts)
				}
				k += copy(n.texts[k:], dfas)
			}
		}
		if f, ok := o.get("format"); ok {
			if f == "uri" && hi == httpURLMaxLength {
				f = "http-url" // pydantic's HttpUrl
			}
			if g, maxLen, finish := formatGrammar(f); g != nil {
				if k == maxTexts {
					return nil, schemaErr(path, "pattern %v beside format %v: more than %d automata (one a pattern, one each lookahead it opens with, one the format)", o.vals["pattern"], f, maxTexts)
				}
				n.texts[k] = newStringDFA(g)
				n.finish = finish
				if maxLen > 0 && (n.max < 0 || n.max > maxLen) {
					n.max = maxLen
					if n.min > n.max {
						return nil, schemaErr(path, "minLength is above format %v's %d characters", f, maxLen)
					}
				}
			}
		}
		if n.texts[0] != nil {
			n.escapes = newStateCache[escapeKey, bool]()
			n.finishes = newStateCache[textStates, int]()
			var gs []*Grammar
			for _, d := range n.texts {
				if d != nil {
					gs = append(gs, d.grammars()...)
				}
			}
			// Texts whose automata tell more classes of characters apart
			// go unsearched (taken as able to match and finish).
			if chars, starts := charClasses(gs...); len(chars) <= maxJointChars {
				n.finishChars, n.starts, n.mids = chars, starts, newStateCache[midChar, bool]()
			}
		}
		if n.texts[1] != nil && n.finishChars != nil {
			n.joint = &jointCache{answers: newStateCache[textStates, bool](), chars: n.finishChars}
			if !n.jointLive(textStates{}) {
				return nil, emptyErr(path, "no text matches the patterns %v and format %v together", o.vals["pattern"], o.vals["format"])
			}
		}
		if n.texts[0] != nil && n.max >= 0 && n.finishDistance(textStates{}) > n.max {
			return nil, emptyErr(path, "no text of at most %d characters (maxLength) matches the pattern %v and format %v", n.max, o.vals["pattern"], o.vals["format"])
		}
		return n, nil
	case "integer":
		return integerNode(o, path)
	case "number":
		return numberNode(o, path)
	case "boolean":
		return &schemaNode{kind: kBoolean}, nil
	case "null":
		return &schemaNode{kind: kNull}, nil
	case "array":
		n := &schemaNode{kind: kArray}
		var err error
		if n.min, err = count(o, "minItems", path, 0); err != nil {
			return nil, err
		}
		if n.max, err = count(o, "maxItems", path, -1); err != nil {
			return nil, err
		}
		if n.max >= 0 && n.max < n.min {
			return nil, schemaErr(path, "maxItems is below minItems")
		}
		if err := c.arrayItems(n, o, path); err != nil {
			return nil, err
		}
		if err := c.uniqueItems(n, o, path); err != nil {
			return nil, err
		}
		if err := c.contains(n, o, path); err != nil {
			return nil, err
		}
		return n, nil
	case "object":
		return c.objectType(o, path)
	}
	return nil, schemaErr(path, "unknown type %q", t)
}

// contains reads contains and minContains (1 unless given): the first
// minContains items are written under the items' schema merged with
// contains, so that many match it whatever the rest are. Under
// maxContains, the items after them are written under the items' schema
// merged with contains' not, so no more match (where that not can be
// compiled). contains beside a tuple or uniqueItems is refused.
func (c *schemaCompiler) contains(n *schemaNode, o *ordered, path string) error {
	v, ok := o.get("contains")
	if !ok {
		return nil // minContains and maxContains alone do nothing
	}
	min, err := count(o, "minContains", path, 1)
	if err != nil {
		return err
	}
	most, err := count(o, "maxContains", path, -1)
	if err != nil {
		return err
	}
	if len(n.prefix) > 0 || o.vals["uniqueItems"] == true {
		return schemaErr(path, "contains beside prefixItems or uniqueItems is not supported")
	}
	items, hasItems := o.get("items")
	if !hasItems {
		items = true
	}
	switch {
	case most >= 0 && most < min:
		return emptyErr(path, "maxContains %d is below minContains %d", most, min)
	case n.max >= 0 && n.max < min:
		return emptyErr(path, "maxItems %d is below minContains %d", n.max, min)
	case min > 0 && isNever(items):
		return emptyErr(path, "no item may be written, and contains needs %d", min)
	case most >= 0 && (n.max < 0 || most < n.max):
		// The items past the first min match contains no more.
		if n.values, err = c.merged(allOf(items, keyword("not", v)), path+"/maxContains"); err != nil {
			return err
		}
	}
	if min == 0 {
		return nil // minContains 0: contains asks for none
	}
	if n.contains, err = c.merged(allOf(items, v), path+"/contains"); err != nil {
		return err
	}
	n.minContains, n.min = min, max(n.min, min)
	return nil
}

// arrayItems reads an array's item schemas into n: a tuple's leading
// items, each of its own schema (2020-12's prefixItems, or draft 4-7's
// items as a list), then the items after them (items, or draft 4-7's
// additionalItems beside a list; false: none). pydantic writes
// tuple[int, str] as prefixItems, zod-to-json-schema as a list of items.
func (c *schemaCompiler) arrayItems(n *schemaNode, o *ordered, path string) error {
	items, hasItems := o.get("items")
	rest, restKey := items, "items"
	lead, isList := items.([]any)
	leadKey := "items"
	switch p, ok := o.get("prefixItems"); {
	case ok:
		if isList || has(o, "additionalItems") {
			return schemaErr(path, "prefixItems beside items as a list or additionalItems: the leading items and the rest are prefixItems and items")
		}
		if lead, isList = p.([]any); !isList {
			return schemaErr(path, "prefixItems must be a list of schemas")
		}
		leadKey = "prefixItems"
	case isList:
		restKey = "additionalItems"
		rest, hasItems = o.get("additionalItems")
	}
	// additionalItems beside items that is a schema has no effect (draft
	// 4-7), and is left out.
	for i, s := range lead {
		node, err := c.node(s, fmt.Sprintf("%s/%s/%d", path, leadKey, i))
		if err != nil {
			return err
		}
		n.prefix = append(n.prefix, node)
	}
	if !hasItems {
		return nil
	}
	if isNever(rest) {
		// No item past the leading ones.
		if n.max < 0 || n.max > len(n.prefix) {
			n.max = len(n.prefix)
		}
		if n.min > n.max {
			return schemaErr(path, "minItems %d is above the %d items %s false allows", n.min, n.max, restKey)
		}
		return nil
	}
	var err error
	n.values, err = c.node(rest, path+"/"+restKey)
	return err
}

// uniqueItems reads an array's uniqueItems. Items that are an enum (a
// set of Literal values or of an Enum, as pydantic writes set[...]),
// booleans or an integer range of few values are held unique as an
// enum's: a value once written is refused after, and another item only
// begins while a value is left. Other integers, numbers and strings
// (under a pattern or format too) are remembered as they end
// (uniqueScalars). Objects are told apart by one property's value
// (uniqueObjects), a union of scalars by each alternative's own
// (uniqueUnion). Other items (arrays, objects of no such property,
// unions of objects) would need every item written kept whole, and are
// refused.
func (c *schemaCompiler) uniqueItems(n *schemaNode, o *ordered, path string) error {
	v, ok := o.get("uniqueItems")
	if !ok {
		return nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return schemaErr(path, "uniqueItems must be a boolean")
	}
	if !b {
		return nil
	}
	items := throughRefs(n.values)
	if items != nil && len(n.prefix) == 0 {
		switch items.kind {
		case kBoolean:
			items = &schemaNode{kind: kEnum, enum: [][]byte{[]byte("true"), []byte("false")}}
			n.values = items
		case kNull:
			items = &schemaNode{kind: kEnum, enum: [][]byte{[]byte("null")}}
			n.values = items
		case kInteger:
			if vals := integerValues(items, maxSchemaEnum); vals != nil {
				// Few enough to be an enum, whose values are counted off
				// exactly as they are written.
				items = &schemaNode{kind: kEnum, enum: vals}
				n.values = items
				break
			}
			return uniqueScalars(n, items, path)
		case kString:
			if items.texts[0] == nil || items.starts != nil {
				return uniqueScalars(n, items, path)
			}
		case kNumber:
			return uniqueScalars(n, items, path)
		case kObject:
			if ok, err := c.uniqueObjects(n, items, path); ok || err != nil {
				return err
			}
		case kUnion:
			if ok, err := c.uniqueUnion(n, items, path); ok || err != nil {
				return err
			}
		}
	}
	if items == nil || items.kind != kEnum || len(n.prefix) > 0 {
		return schemaErr(path, "uniqueItems is supported where the items are an enum (pydantic's set of Literal values or of an Enum), "+
			"booleans, integers, numbers, strings (set[str], set[int], set[float]; under a pattern or format whose automata tell at most 256 classes of characters apart), "+
			"or objects with a property of those (but an enum) to tell them apart by")
	}
	var err error
	if n.same, err = enumSame(items.enum); err != nil {
		return schemaErr(path, "%v", err)
	}
	if distinct := distinctOf(n.same); n.min > distinct {
		return schemaErr(path, "minItems %d is above the %d distinct values unique items can take", n.min, distinct)
	}
	return nil
}

// enumSame is, for each of an enum's values (compact JSON), the values
// equal to it as JSON Schema counts (itself included; 1 and 1.0 are one).
func enumSame(enum [][]byte) ([]uint64, error) {
	vals := make([]any, len(enum))
	for i, e := range enum {
		v, err := decodeOrdered(e)
		if err != nil {
			return nil, fmt.Errorf("enum value %s: %w", e, err)
		}
		vals[i] = v
	}
	same := make([]uint64, len(vals))
	for i := range vals {
		for j := range vals {
			if jsonEqual(vals[i], vals[j]) {
				same[i] |= 1 << j
			}
		}
	}
	return same, nil
}

// distinctOf counts the distinct values among those enumSame relates.
func distinctOf(same []uint64) int {
	distinct := 0
	for i, m := range same {
		if m&(1<<i-1) == 0 { // the first of its equals
			distinct++
		}
	}
	return distinct
}

// maxExactInt is the largest integer a float64 holds apart from its
// neighbours: validators read numbers as float64, so multiples and unique
// items are kept within it, either way.
const maxExactInt = 1 << 53

// uniqueScalars makes the items of array n, integers or strings, unique:
// each item is remembered when it ends (a string by a hash of its text,
// an integer by its value), and one written before cannot end again. An
// integer's digits must leave an unwritten integer within the bounds to
// end at, and a string's character that fills maxLength must not make it
// one written before, so the output never reaches a point with no way
// on. maxItems is cut to the values there are.
func uniqueScalars(n, items *schemaNode, path string) error {
	u := *items
	u.unique = true
	values := int64(-1) // of the item, -1: more than any array holds
	if u.kind == kInteger {
		u.bounded = true
		u.lo, u.hi = max(u.lo, -maxExactInt), min(u.hi, maxExactInt)
		values = multiplesIn(u.lo, u.hi, u.mult)
	} else if u.kind == kNumber {
		// Written as bounded numbers are, their values held exactly.
		if u.nb == nil {
			u.nb = &numberBounds{}
		}
		u.bounded = true
		values = u.nb.distinct()
	} else if u.kind == kString && u.texts[0] != nil {
		// Under a pattern or format: its texts, counted as far as minItems
		// and maxItems ask (another item is refused where none is left).
		u.textClasses = u.makeClasses()
		limit := max(n.min, n.max) + 1
		values = int64(u.textCount(textStates{}, u.max, limit, map[textStates]bool{}))
		if values >= int64(limit) {
			values = -1
		}
	} else if u.max == 0 {
		values = 1 // ""
	}
	if values >= 0 && values < 1<<20 {
		if n.min > int(values) {
			return schemaErr(path, "minItems %d is above the %d distinct values unique items can take", n.min, values)
		}
		if n.max < 0 || n.max > int(values) {
			n.max = int(values)
		}
	}
	n.values = &u
	return nil
}

// uniqueObjects makes the object items of array n unique by one
// property of theirs, the key: no two items give it one value, which
// makes them unequal whatever else they hold, and is held as a unique
// scalar item's value is (uniqueScalars). Keeping every item written
// whole instead would have to foresee, at each byte, that the item can
// still end unlike all of them. The key is the first property whose
// values are strings (a name, an id), else the first integer or number
// (an index), one the objects require before one they do not; one they
// do not require is written in every item. That narrows what is written
// (two items with one name are valid where they differ elsewhere), so a
// note says so. It says false where no property can be the key.
func (c *schemaCompiler) uniqueObjects(n, items *schemaNode, path string) (bool, error) {
	if items.dispatch != nil || items.tagged != nil || items.keyAt != nil || items.joined != nil {
		return false, nil
	}
	required := 0
	for _, p := range items.props {
		if p.required {
			required++
		}
	}
	key, rank := -1, 0
	for i, p := range items.props {
		k := throughRefs(p.node)
		r := 0
		switch {
		case k == nil:
		case k.kind == kString && k.max != 0 && (k.texts[0] == nil || k.starts != nil):
			r = 2
		case k.kind == kInteger || k.kind == kNumber:
			r = 1
		}
		if r == 0 || !p.required && items.propBounded && items.propMax >= 0 && required >= items.propMax {
			continue
		}
		if p.required {
			r += 2
		}
		if r > rank {
			key, rank = i, r
		}
	}
	if key < 0 {
		return false, nil
	}
	u := *items
	u.props = slices.Clone(items.props)
	p := &u.props[key]
	set := &schemaNode{kind: kArray, min: n.min, max: n.max}
	if err := uniqueScalars(set, throughRefs(p.node), path); err != nil {
		return true, err
	}
	n.max = set.max
	how := ""
	if !p.required {
		how = ", written in every item"
	}
	p.node, p.required = set.values, true
	u.unique, u.keyProp = true, key
	n.values = &u
	c.notes = append(c.notes, fmt.Sprintf("%s: unique items are told apart by property %q%s: no two give it one value", path, p.name, how))
	return true, nil
}

// uniqueUnion makes the items of array n, a union of scalars (pydantic's
// set[int | str], set[Optional[str]]), unique: each alternative as
// uniqueScalars makes it, and null or a boolean refused at its first
// byte once written. Another item must always be able to begin where the
// array may go on: an alternative of strings or numbers must have values
// enough to fill the array alone; integers and strings under a pattern
// may have fewer, since each refuses its first byte once none is left,
// and where no alternative fills the array, maxItems is cut to the
// values there are. Integers beside numbers are not supported (1 and 1.0
// would be told apart), nor are alternatives of other kinds. It says
// false where it cannot.
func (c *schemaCompiler) uniqueUnion(n, items *schemaNode, path string) (bool, error) {
	u := *items
	u.alts = make([]*schemaNode, len(items.alts))
	fill := n.max // as many as an array may hold
	if fill < 0 {
		fill = 1 << 19
	}
	values, fills := 0, false
	kinds := map[schemaKind]bool{}
	for i, a := range items.alts {
		a = throughRefs(a)
		if a == nil {
			return false, nil
		}
		kinds[a.kind] = true
		switch a.kind {
		case kNull, kBoolean:
			l := *a
			l.unique = true
			u.alts[i] = &l
			values += map[schemaKind]int{kNull: 1, kBoolean: 2}[a.kind]
		case kString, kInteger, kNumber:
			if a.kind == kString && a.texts[0] != nil && a.starts == nil {
				return false, nil
			}
			set := &schemaNode{kind: kArray, max: fill}
			if err := uniqueScalars(set, a, path); err != nil {
				return true, err
			}
			switch {
			case set.max == fill:
				fills = true
			case a.kind == kInteger || a.kind == kString && a.texts[0] != nil:
				values += set.max // (each refuses its first byte once none is left)
			default:
				return false, nil
			}
			u.alts[i] = set.values
		default:
			return false, nil
		}
	}
	if kinds[kInteger] && kinds[kNumber] {
		return false, nil
	}
	if !fills {
		if n.min > values {
			return true, schemaErr(path, "minItems %d is above the %d distinct values unique items can take", n.min, values)
		}
		if n.max < 0 || n.max > values {
			n.max = values
		}
	}
	c.unions = append(c.unions, &u)
	n.values = &u
	return true, nil
}

// multiplesIn counts the multiples of m (0 or 1: every integer) in
// [lo, hi].
func multiplesIn(lo, hi, m int64) int64 {
	if lo > hi {
		return 0
	}
	if m <= 1 {
		return hi - lo + 1
	}
	ceil := lo / m
	if lo%m > 0 {
		ceil++
	}
	floor := hi / m
	if hi%m < 0 {
		floor--
	}
	return max(floor-ceil+1, 0)
}

// integerValues are the JSON texts of integer node n's values, in order,
// when there are at most limit of them; nil otherwise.
func integerValues(n *schemaNode, limit int64) [][]byte {
	lo, hi, m := n.lo, n.hi, max(n.mult, 1)
	if !n.bounded || multiplesIn(lo, hi, m) > limit || multiplesIn(lo, hi, m) == 0 {
		return nil
	}
	first := lo / m * m
	if first < lo {
		first += m
	}
	var out [][]byte
	for v := first; v <= hi; v += m {
		out = append(out, []byte(strconv.FormatInt(v, 10)))
	}
	return out
}

// jsonEqual says whether two values as decodeOrdered gives them are
// equal as JSON Schema counts: numbers by value, objects whatever the
// order of their keys.
func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		x, okA := new(big.Rat).SetString(a.String())
		y, okB := new(big.Rat).SetString(b.String())
		return okA && okB && x.Cmp(y) == 0
	case *ordered:
		b, ok := b.(*ordered)
		if !ok || len(a.vals) != len(b.vals) {
			return false
		}
		for k, v := range a.vals {
			w, ok := b.vals[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	case patternList:
		b, ok := b.(patternList)
		return ok && slices.Equal(a, b)
	case multipleList:
		b, ok := b.(multipleList)
		return ok && slices.EqualFunc(a, b, func(x, y json.Number) bool { return jsonEqual(x, y) })
	}
	return a == b // strings, booleans, null
}

func (c *schemaCompiler) objectType(o *ordered, path string) (*schemaNode, error) {
	n, err := c.objectShape(o, path)
	if err != nil {
		return nil, err
	}
	return n, propertyCounts(n, o, path)
}

// propertyCounts reads minProperties and maxProperties into n. An object
// of declared properties holds both (each written at most once, in
// order), and so does a map whose keys are told apart (mapNode); on one
// whose keys may repeat, which validators count once, minProperties is
// refused.
func propertyCounts(n *schemaNode, o *ordered, path string) error {
	if !has(o, "minProperties") && !has(o, "maxProperties") {
		return nil
	}
	lo, err := count(o, "minProperties", path, 0)
	if err != nil {
		return err
	}
	hi, err := count(o, "maxProperties", path, -1)
	if err != nil {
		return err
	}
	if hi >= 0 && hi < lo {
		return schemaErr(path, "maxProperties is below minProperties")
	}
	switch {
	case n.kind == kMap:
		apart, keys := n.keysApart(lo + 1)
		switch {
		case lo > 0 && !apart:
			return schemaErr(path, "minProperties on a map whose keys are under a pattern or format is not supported: a key may repeat there, and validators count it once")
		case keys >= 0 && lo > keys:
			return schemaErr(path, "minProperties %d is above the %d keys propertyNames allows", lo, keys)
		}
		n.propBounded, n.propMin, n.propMax = true, lo, hi
		return nil
	case n.kind != kObject || n.dispatch != nil:
		return schemaErr(path, "minProperties and maxProperties are supported on objects of declared properties and on maps (additionalProperties a schema)")
	}
	required := 0
	for _, p := range n.props {
		if p.required {
			required++
		}
	}
	if lo > len(n.props) || hi >= 0 && required > hi {
		return schemaErr(path, "minProperties %d and maxProperties %d leave no object of the %d properties, %d required", lo, hi, len(n.props), required)
	}
	n.propBounded, n.propMin, n.propMax = true, lo, hi
	return nil
}

// impliedProperties rewrites the properties an object must have, as JSON
// Schema reads them, as declared properties, which are all Nuri writes
// where there are any: a declared property whose name a
// patternProperties pattern matches takes that pattern's schema too; a
// required name not declared is declared after the declared ones, with
// the schemas of the patterns it matches or, matching none,
// additionalProperties' (false leaves it no value). Undeclared names are
// never written, so patterns bind nothing else. A map (no properties)
// with required names becomes an object of those alone, which notes say.
func (c *schemaCompiler) impliedProperties(o *ordered, path string) (*ordered, error) {
	po, _ := o.vals["properties"].(*ordered)
	if po == nil {
		po = &ordered{vals: map[string]any{}}
	}
	r, _ := o.get("required")
	var missing []string
	if r != nil {
		names, err := nameList(r, path, "required")
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			if !has(po, name) && !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
		}
	}
	pp, hasPatterns := o.get("patternProperties")
	if len(missing) == 0 && (!hasPatterns || len(po.keys) == 0) {
		return o, nil
	}
	var patterns []string
	var matchers []*schemaProgram
	if hasPatterns {
		ppo, isObj := pp.(*ordered)
		if !isObj {
			return nil, schemaErr(path, "patternProperties must be an object")
		}
		for _, src := range ppo.keys {
			n, err := c.node(&ordered{keys: []string{"type", "pattern"}, vals: map[string]any{"type": "string", "pattern": src}}, path+"/patternProperties")
			if err != nil {
				return nil, err
			}
			patterns, matchers = append(patterns, src), append(matchers, &schemaProgram{root: n})
		}
	}
	// schemas are the patterns' schemas name takes.
	schemas := func(name string) ([]any, error) {
		var b bytes.Buffer
		if err := writeCompact(&b, name); err != nil {
			return nil, err
		}
		var out []any
		for i, m := range matchers {
			if m.accepts(b.Bytes()) {
				out = append(out, pp.(*ordered).vals[patterns[i]])
			}
		}
		return out, nil
	}
	declared := &ordered{keys: slices.Clone(po.keys), vals: maps.Clone(po.vals)}
	for _, name := range po.keys {
		more, err := schemas(name)
		if err != nil {
			return nil, err
		}
		if len(more) > 0 {
			declared.vals[name] = allOf(append([]any{po.vals[name]}, more...)...)
		}
	}
	extra, hasExtra := o.get("additionalProperties")
	if !hasExtra {
		extra = true
	}
	for _, name := range missing {
		l, err := schemas(name)
		if err != nil {
			return nil, err
		}
		switch {
		case len(l) > 0:
			declared.vals[name] = allOf(l...)
		case isNever(extra):
			return nil, emptyErr(path, "required property %q is not declared, and additionalProperties refuses it", name)
		case !isSchema(extra):
			return nil, schemaErr(path, "additionalProperties must be a schema")
		default:
			declared.vals[name] = extra
		}
		declared.keys = append(declared.keys, name)
	}
	if len(po.keys) == 0 && (!isNever(extra) || hasPatterns) {
		c.notes = append(c.notes, fmt.Sprintf("%s: an object of any keys with required ones (%s) is written with those alone", path, strings.Join(missing, ", ")))
	}
	out := without(o, "properties", "patternProperties")
	out.keys = append(out.keys, "properties")
	out.vals["properties"] = declared
	return out, nil
}

// objectShape is an object's node before its property counts.
func (c *schemaCompiler) objectShape(o *ordered, path string) (*schemaNode, error) {
	// closed: no property but those declared is valid (which a oneOf
	// that joins objects needs to tell they cannot both match)
	closed := isNever(o.vals["additionalProperties"]) && !has(o, "patternProperties")
	o, err := c.impliedProperties(o, path)
	if err != nil {
		return nil, err
	}
	props, _ := o.get("properties")
	po, isObj := props.(*ordered)
	if props != nil && !isObj {
		return nil, schemaErr(path, "properties must be an object")
	}
	extra, hasExtra := o.get("additionalProperties")
	keys, err := c.keySchema(o, path)
	if err != nil {
		return nil, err
	}
	if pp, ok := o.get("patternProperties"); ok {
		// A map: its keys match the pattern and take its values' schema
		// (keys that match no pattern are left unwritten, whatever
		// additionalProperties allows them).
		var ok bool
		if _, extra, ok = onePattern(pp); !ok {
			return nil, schemaErr(path, "patternProperties is supported with one pattern, an object of one member")
		}
		hasExtra = true
	}
	if po == nil || len(po.keys) == 0 {
		if r, _ := o.get("required"); r != nil {
			if l, isList := r.([]any); !isList || len(l) > 0 {
				return nil, schemaErr(path, "required names properties that are not declared")
			}
		}
		if has(o, "dependentRequired") || has(o, "dependencies") {
			return nil, schemaErr(path, "dependentRequired on an object without declared properties is not supported")
		}
		switch {
		case extra == nil && hasExtra:
			return nil, schemaErr(path, "additionalProperties must be a schema")
		case extra == nil:
			extra = true
		case isNever(extra):
			return &schemaNode{kind: kObject}, nil // only {}
		}
		vals, err := c.node(extra, path+"/additionalProperties")
		if err != nil {
			return nil, err
		}
		if v := throughRefs(vals); v != nil && v.kind == kAny && keys == nil && !has(o, "minProperties") && !has(o, "maxProperties") {
			// Any object, read as JSON: its keys are not told apart.
			return &schemaNode{kind: kAnyObject}, nil
		}
		m := mapNode(vals, keys)
		m.valSrc = extra
		return m, nil
	}
	if len(po.keys) > maxWideProps {
		return nil, schemaErr(path, "more than %d properties", maxWideProps)
	}
	n := &schemaNode{kind: kObject, closed: closed}
	index := map[string]int{}
	forbidden := map[string]bool{}
	for _, name := range po.keys {
		if isNever(po.vals[name]) {
			forbidden[name] = true // a property that must not be given: left unwritten
			continue
		}
		if strings.ContainsAny(name, "\"\\") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 }) || name == "" {
			return nil, schemaErr(path, "property name %q needs escaping; not supported", name)
		}
		pn, err := c.node(po.vals[name], path+"/properties/"+name)
		if errors.Is(err, errNoValue) {
			// No value meets its schema (renovate's option merged with
			// {"additionalProperties": {"type": "string"}} where it is an
			// array): a property that must not be given, as false says.
			forbidden[name] = true
			continue
		}
		if err != nil {
			return nil, err
		}
		index[name] = len(n.props)
		n.props = append(n.props, schemaProp{name: name, node: pn, src: po.vals[name]})
	}
	if r, ok := o.get("required"); ok {
		names, err := nameList(r, path, "required")
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			i, ok := index[name]
			if forbidden[name] {
				return nil, emptyErr(path, "required property %q has a schema that accepts nothing", name)
			}
			if !ok {
				return nil, schemaErr(path, "required property %q is not declared", name)
			}
			n.props[i].required = true
		}
	}
	if keys != nil {
		// Declared properties whose names the keys' schema refuses are
		// no properties of the object.
		kp := &schemaProgram{root: keys}
		var kept []schemaProp
		for _, p := range n.props {
			var b bytes.Buffer
			if err := writeCompact(&b, p.name); err != nil {
				return nil, err
			}
			switch {
			case kp.accepts(b.Bytes()):
				kept = append(kept, p)
			case p.required:
				return nil, emptyErr(path, "required property %q is a name propertyNames refuses", p.name)
			}
		}
		n.props = kept
	}
	if err := dependentRequired(n, o, path); err != nil {
		return nil, err
	}
	return n, nil
}

// dependentRequired reads dependentRequired (and draft 7's dependencies
// of lists, the same) into an object's properties' requires, closed
// over: a property that requires one that requires another requires
// both. A property that requires one the object cannot have (not
// declared, or never written) is itself never written; a required one
// is refused.
func dependentRequired(n *schemaNode, o *ordered, path string) error {
	reqs := map[string][]string{}
	for _, k := range []string{"dependentRequired", "dependencies"} {
		v, ok := o.get(k)
		if !ok {
			continue
		}
		m, isObj := v.(*ordered)
		if !isObj {
			return schemaErr(path, "%s must be an object", k)
		}
		for _, name := range m.keys {
			if _, isList := m.vals[name].([]any); !isList {
				return schemaErr(path, "%s/%s: a list of property names is supported", k, name)
			}
			l, err := nameList(m.vals[name], path, k+"/"+name)
			if err != nil {
				return err
			}
			for _, r := range l {
				if r != name && !slices.Contains(reqs[name], r) {
					reqs[name] = append(reqs[name], r)
				}
			}
		}
	}
	if len(reqs) == 0 {
		return nil
	}
	has := map[string]bool{}
	for _, p := range n.props {
		has[p.name] = true
	}
	var kept []schemaProp
	for _, p := range n.props {
		// The closure, breadth first.
		seen := map[string]bool{p.name: true}
		queue := slices.Clone(reqs[p.name])
		possible := true
		for len(queue) > 0 {
			r := queue[0]
			queue = queue[1:]
			if seen[r] {
				continue
			}
			seen[r] = true
			if !has[r] {
				possible = false
				break
			}
			p.requires = append(p.requires, r)
			queue = append(queue, reqs[r]...)
		}
		switch {
		case possible:
			kept = append(kept, p)
		case p.required:
			return emptyErr(path, "required property %q requires one the object cannot have", p.name)
		}
	}
	n.props = kept
	n.setDeps()
	if n.wide() && n.deps != nil {
		return schemaErr(path, "dependentRequired on an object of more than %d properties is not supported", maxSchemaProps)
	}
	return nil
}

// mapNode is a map of values vals under keys (nil: any string). Its
// keys are told apart, so none is written twice (validators keep one of
// a repeated key's values and drop the other), where that leaves no
// dead end: a string key is remembered by a hash of its text (as unique
// string items are, uniqueScalars), any string but one written before
// able to follow; an enum's values are counted off as written; keys
// under a pattern or format as unique string items under one are
// (unique_text.go).
func mapNode(vals, keys *schemaNode) *schemaNode {
	n := &schemaNode{kind: kMap, values: vals}
	switch {
	case keys == nil:
		n.keys = &schemaNode{kind: kString, max: -1, unique: true}
	case keys.kind == kString && keys.texts[0] == nil:
		u := *keys
		u.unique = true
		n.keys = &u
	case keys.kind == kString && keys.starts != nil:
		// Under a pattern or format: told apart as unique string items
		// under one are (unique_text.go), a key refused where only keys
		// written before are left to finish it.
		u := *keys
		u.unique, u.textClasses = true, u.makeClasses()
		n.keys = &u
	case keys.kind == kEnum:
		n.keys = keys
		n.same, _ = enumSame(keys.enum) // our own compact JSON: it decodes
	default:
		n.keys = keys
	}
	return n
}

// keysApart says whether a map's keys are told apart (mapNode), and so
// counted as validators count them; their number, -1 for more than a
// map holds (keys under a pattern are counted up to limit, -1 there).
func (n *schemaNode) keysApart(limit int) (bool, int) {
	switch {
	case n.same != nil:
		return true, distinctOf(n.same)
	case n.keys.unique && n.keys.max == 0:
		return true, 1 // ""
	case n.keys.uniqueTexts():
		if c := n.keys.textCount(textStates{}, n.keys.max, limit, map[textStates]bool{}); c < limit {
			return true, c
		}
		return true, -1
	}
	return n.keys.unique, -1
}

// keySchema is the schema an object's keys are held to by propertyNames
// and patternProperties' pattern, merged, or nil where neither is given.
// Keys are strings, so the schema is a string's (a pattern, lengths, a
// format) or an enum of strings. It is compiled apart, its unions
// finished, so declared names can be checked against it at once.
func (c *schemaCompiler) keySchema(o *ordered, path string) (*schemaNode, error) {
	var parts []any
	if pn, ok := o.get("propertyNames"); ok {
		if po, isObj := pn.(*ordered); isObj && !has(po, "type") && !has(po, "$ref") {
			// Keys are strings: a format alone holds them too.
			parts = append(parts, pn, keyword("type", "string"))
		} else {
			parts = append(parts, pn)
		}
	}
	if pp, ok := o.get("patternProperties"); ok {
		if pattern, _, ok := onePattern(pp); ok {
			parts = append(parts, &ordered{keys: []string{"type", "pattern"}, vals: map[string]any{"type": "string", "pattern": pattern}})
		}
	}
	if len(parts) == 0 {
		return nil, nil
	}
	var ks any = parts[0]
	if len(parts) > 1 {
		ks = allOf(parts...)
	}
	n, err := c.compileApart(ks, path+"/propertyNames")
	if err != nil {
		return nil, err
	}
	k := throughRefs(n)
	switch {
	case k == nil:
	case k.kind == kAny:
		return nil, nil
	case k.kind == kString:
		if k.min == 0 && k.max < 0 && k.texts[0] == nil {
			return nil, nil // any string
		}
		return k, nil
	case k.kind == kEnum && !slices.ContainsFunc(k.enum, func(v []byte) bool { return v[0] != '"' }):
		return k, nil
	}
	return nil, schemaErr(path, "propertyNames must be a schema of strings (a pattern, lengths, a format, or an enum of strings)")
}

// compileApart compiles v, a schema within this one, with a compiler of
// its own whose unions are finished at once, so its node can run before
// the whole schema is compiled (an enum's values and declared property
// names are checked against it).
func (c *schemaCompiler) compileApart(v any, path string) (*schemaNode, error) {
	sub := &schemaCompiler{root: c.root, refs: map[string]*schemaNode{}, inlined: c.inlined, merges: c.merges, recursed: map[*schemaNode]bool{}}
	n, err := sub.node(v, path)
	if err != nil {
		return nil, err
	}
	return n, sub.finishUnions()
}

// onePattern reads patternProperties of one pattern: the pattern and its
// values' schema.
func onePattern(pp any) (string, any, bool) {
	ppo, isObj := pp.(*ordered)
	if !isObj || len(ppo.keys) != 1 {
		return "", nil, false
	}
	return ppo.keys[0], ppo.vals[ppo.keys[0]], true
}

// refTarget is the schema a local $ref names: the root, or an entry of
// its $defs or definitions.
func (c *schemaCompiler) refTarget(ref, path string) (any, error) {
	if target := pointerTarget(c.root, ref); target != nil {
		return target, nil
	}
	return nil, schemaErr(path, "$ref %q is not a local definition", ref)
}

// Keywords that constrain values of one type alone (and are vacuous
// for others).
var typeKeywords = map[string][]string{
	"array": {"items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains",
		"minContains", "maxContains", "unevaluatedItems"},
	"object": {"properties", "required", "additionalProperties", "minProperties", "maxProperties", "propertyNames",
		"patternProperties", "dependentRequired", "dependencies", "dependentSchemas", "unevaluatedProperties"},
	"string": {"minLength", "maxLength", "pattern"},
	"number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
}

// targetHolds says whether the keywords rest beside a $ref to target
// add nothing to it: each is the target's own, or constrains a type the
// target's one type is not (renovate's {"$ref": "#", "type": "object",
// "items": ...} under its root object). Then the $ref is read alone, as
// one to a schema being built (a recursive one) can only be.
func targetHolds(target any, rest *ordered) bool {
	t, ok := target.(*ordered)
	if !ok {
		return false
	}
	typ, _ := t.vals["type"].(string)
	for _, k := range rest.keys {
		if isAnnotation(k) {
			continue
		}
		if v, ok := t.get(k); ok && jsonEqual(v, rest.vals[k]) {
			continue
		}
		if names := typeNames(rest.vals[k]); k == "type" && typ != "" && (slices.Contains(names, typ) || typ == "integer" && slices.Contains(names, "number")) {
			continue // types that hold the target's
		}
		other := false
		for kind, keys := range typeKeywords {
			if slices.Contains(keys, k) {
				other = typ != "" && typ != kind && !(kind == "number" && typ == "integer")
			}
		}
		if !other {
			return false
		}
	}
	return true
}

// pointerTarget is the schema within root that ref names as a JSON
// Pointer in a URI fragment ("#", "#/$defs/Cat",
// "#/properties/a~1b/items/0"), nil where ref is no such pointer (a
// remote schema, an $anchor) or names nothing.
func pointerTarget(root any, ref string) any {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	ptr, err := url.PathUnescape(ptr) // a fragment's percent-encoding
	if err != nil || ptr != "" && ptr[0] != '/' {
		return nil
	}
	target := root
	for ptr != "" {
		var tok string
		tok, ptr, _ = strings.Cut(ptr[1:], "/")
		if ptr != "" {
			ptr = "/" + ptr
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch t := target.(type) {
		case *ordered:
			target, _ = t.get(tok)
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) || tok != strconv.Itoa(i) {
				return nil
			}
			target = t[i]
		default:
			return nil
		}
	}
	return target
}

// throughRefs is n past the one-way unions a $ref leaves (nil for a
// reference that only refers to itself).
func throughRefs(n *schemaNode) *schemaNode {
	for range maxSchemaDepth {
		if n == nil || n.kind != kUnion || len(n.alts) != 1 {
			return n
		}
		n = n.alts[0]
	}
	return nil
}

func (c *schemaCompiler) ref(ref, path string) (*schemaNode, error) {
	if n, ok := c.refs[ref]; ok {
		return n, nil // a recursive schema refers to a node being built
	}
	target, err := c.refTarget(ref, path)
	if err != nil {
		return nil, err
	}
	// The reference is a one-way union until its target is built, so a
	// recursive schema can point at it; finishUnions flattens it.
	n := c.unionNode(nil, ref)
	c.refs[ref] = n
	built, err := c.node(target, ref)
	if err != nil {
		return nil, err
	}
	n.alts = []*schemaNode{built}
	return n, nil
}

func enumNode(vals []any, path string) (*schemaNode, error) {
	if len(vals) > maxSchemaEnum {
		return nil, schemaErr(path, "more than %d enum values", maxSchemaEnum)
	}
	return enumValues(vals, path)
}

// enumValues is an enum of vals, however many.
func enumValues(vals []any, path string) (*schemaNode, error) {
	n := &schemaNode{kind: kEnum}
	for _, v := range vals {
		var b bytes.Buffer
		if err := writeCompact(&b, v); err != nil {
			return nil, schemaErr(path, "enum value: %v", err)
		}
		n.enum = append(n.enum, b.Bytes())
	}
	return n, nil
}

// sameScalars leaves out of a union's flattened alternatives flat the
// scalars one before is (sameScalar): a null each of an anyOf's objects
// allows, where "type": ["object", "null"] beside the anyOf is given to
// each. Of a oneOf (groups: the alternative each comes from), a scalar
// two alternatives give takes values that meet both, no value of it:
// every copy goes.
func sameScalars(flat []*schemaNode, groups []int) ([]*schemaNode, []int) {
	scalar := func(n *schemaNode) bool {
		switch n.kind {
		case kBoolean, kNull, kInteger, kNumber, kString:
			return true
		}
		return false
	}
	drop := make([]bool, len(flat))
	for i, a := range flat {
		for j := range i {
			if drop[j] && groups == nil || !scalar(a) || !sameScalar(flat[j], a) {
				continue
			}
			drop[i] = true
			if groups != nil && groups[i] != groups[j] {
				drop[j] = true
			}
			break
		}
	}
	var out []*schemaNode
	var outGroups []int
	for i, a := range flat {
		if !drop[i] {
			out = append(out, a)
			if groups != nil {
				outGroups = append(outGroups, groups[i])
			}
		}
	}
	return out, outGroups
}

// unionNode joins alternatives; its first-byte table is built by
// finishUnions, once every $ref is resolved.
func (c *schemaCompiler) unionNode(alts []*schemaNode, at string) *schemaNode {
	n := &schemaNode{kind: kUnion, alts: alts, at: at}
	c.unions = append(c.unions, n)
	return n
}

// finishUnions builds each union's first-byte table: alternatives must be
// told apart by their first byte, since the recognizer follows one.
func (c *schemaCompiler) finishUnions() error {
	// A oneOf within another union is finished first, so that the outer
	// one takes its alternatives as the oneOf left them (objects made
	// exclusive), not as written; unions are otherwise finished in turn.
	state := map[*schemaNode]int8{} // 1: being finished, 2: finished
	var finish func(n *schemaNode) error
	finish = func(n *schemaNode) error {
		if state[n] != 0 {
			return nil
		}
		state[n] = 1
		defer func() { state[n] = 2 }()
		for i := range n.first {
			n.first[i] = -1
		}
		var flat []*schemaNode
		var groups []int // a oneOf's: the alternative of n each of flat comes from
		want := n.tag    // or, failing that, one of a union within
		var add func(a *schemaNode, depth, group int) error
		add = func(a *schemaNode, depth, group int) error {
			if depth > 32 {
				return schemaErr(n.at, "anyOf refers to itself before any character")
			}
			if a.kind != kUnion {
				flat, groups = append(flat, a), append(groups, group)
				return nil
			}
			if a.exclusive && a != n && state[a] == 0 {
				if err := finish(a); err != nil {
					return err
				}
			}
			if want == "" {
				want = a.tag
			}
			for _, b := range a.alts {
				if err := add(b, depth+1, group); err != nil {
					return err
				}
			}
			return nil
		}
		for i, a := range n.alts {
			if err := add(a, 0, i); err != nil {
				return err
			}
		}
		if !n.exclusive {
			groups = nil // (a union within that is a oneOf sees to its own)
		}
		flat, groups = sameScalars(flat, groups)
		if len(flat) == 0 {
			return emptyErr(n.at, "oneOf: every value meets two alternatives")
		}
		flat, err := c.tagObjects(flat, groups, want, n.tag != "", n.tagMap, n.at)
		if err != nil {
			return err
		}
		if groups == nil { // (a oneOf's arrays may both take [], and are left apart)
			var notes []string
			flat, notes = c.joinArrays(flat, n.at)
			c.notes = append(c.notes, notes...)
		}
		if len(flat) > 127 {
			return schemaErr(n.at, "more than 127 alternatives")
		}
		for i, a := range flat {
			for b, ok := range a.firstBytes() {
				if !ok {
					continue
				}
				if n.first[b] >= 0 {
					return schemaErr(n.at, "two alternatives can both start with %q; only alternatives told apart by their first character (or objects by a discriminator or their first keys) are supported", rune(b))
				}
				n.first[b] = int8(i)
			}
		}
		n.alts = flat
		return nil
	}
	for _, n := range c.unions {
		if err := finish(n); err != nil {
			return err
		}
	}
	for _, n := range c.unions {
		for _, a := range n.alts {
			if a.joined != nil {
				c.notes = append(c.notes, a.finishJoin(n.at)...)
			}
		}
	}
	for _, j := range c.itemJoins {
		c.notes = append(c.notes, j.finishJoin("(an array's item)")...)
	}
	return nil
}
