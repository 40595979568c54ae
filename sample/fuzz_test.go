package sample

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// The plain recognizer agrees with encoding/json on any text (short of
// its depth and whitespace bounds), and every prefix of a text it
// accepts is accepted.
func FuzzJSONRecognizer(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2.5e-3, "x\\u00e9"]}`, `[true, false, null]`, `"s"`, `-0 `, `{}`, `[1,]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 512 {
			return // beyond the depth and whitespace bounds' reach is the point
		}
		// The space ends a top-level number; it can also lengthen a
		// trailing run of spaces past the bound, so the bounds are checked
		// on the text as fed.
		fed := s + " "
		st := jsonState{}
		ok := st.feed([]byte(fed))
		ours := ok && st.complete()
		// RFC 8259 asks for UTF-8; encoding/json passes invalid bytes in strings.
		if want := json.Valid([]byte(s)) && utf8.ValidString(s); ours != want && !(want && exceedsBounds(fed)) {
			t.Fatalf("%q: recognizer %v, encoding/json %v", s, ours, want)
		}
	})
}

// exceedsBounds says whether a valid text passes the recognizer's depth
// or whitespace bounds, which encoding/json does not have.
func exceedsBounds(s string) bool {
	depth, run := 0, 0
	for i := range len(s) {
		switch s[i] {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		}
		if isJSONSpace(s[i]) {
			run++
		} else {
			run = 0
		}
		if depth > maxJSONDepth || run > maxJSONSpace {
			return true
		}
	}
	return false
}

// Under the empty schema the schema recognizer accepts what the tight
// JSON recognizer accepts, prefix by prefix.
func FuzzSchemaAnyMatchesJSON(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2.5e-3, "x"]}`, "[\n  true,\n  null\n]", `12 `, `"s"`, `{"a":1 }`} {
		f.Add(s)
	}
	p, err := compileSchema([]byte(`{}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sch, js := p.start(), jsonState{tight: true}
		for i := range len(s) {
			a, b := sch.feed([]byte{s[i]}), js.feed([]byte{s[i]})
			if a != b {
				t.Fatalf("%q at byte %d: schema %v, json %v", s, i, a, b)
			}
			if !a {
				return
			}
			if sch.complete() != js.complete() {
				t.Fatalf("%q at byte %d: complete %v against %v", s, i, sch.complete(), js.complete())
			}
		}
	})
}

// FuzzSchemaCompile feeds schemas from clients' side of the wire: none
// may panic the compiler, and whatever text a compiled schema takes whole
// is valid JSON.
func FuzzSchemaCompile(f *testing.F) {
	for _, s := range [][2]string{
		{`{"type":"number","minimum":0,"exclusiveMaximum":1e0}`, `0.5 `},
		{`{"type":"number","exclusiveMinimum":-1.5E-3,"maximum":12345678901234.5}`, `-0.001 `},
		{`{"type":"integer","multipleOf":2.5,"minimum":-100}`, `-95 `},
		{`{"type":"array","prefixItems":[{"type":"integer"},{"enum":["a",1]}],"items":false}`, `[1,"a"]`},
		{`{"type":"array","items":[{"type":"boolean"}],"additionalItems":{"const":null}}`, `[true,null]`},
		{`{"type":"array","items":{"enum":[1,1.0,"x",{"a":[1]}]},"uniqueItems":true,"minItems":1}`, `[1,"x"]`},
		{`{"type":"object","properties":{"n":{"type":"number","minimum":-0,"maximum":-0}},"required":["n"]}`, `{"n":-0.0}`},
		{`{"type":"object","properties":{"a":{},"b":{"type":"integer"},"c":{}},"required":["c"],"minProperties":2,"maxProperties":2}`, `{"a":1,"c":2}`},
		{`{"additionalProperties":{"type":"null"},"maxProperties":1}`, `{"k":null}`},
		{`{"anyOf":[{"properties":{"t":{"const":1},"x":{}},"required":["t"]},{"properties":{"y":{},"t":{"enum":[12,"a"]}},"required":["t","y"]}],"discriminator":{"propertyName":"t"}}`, `{"t":12,"y":0}`},
		{`{"$defs":{"A":{"$ref":"#/$defs/A"}},"items":{"$ref":"#/$defs/A"},"uniqueItems":true}`, `[]`},
		{`{"allOf":[{"$ref":"#/$defs/B"},{"properties":{"b":{"maxLength":2},"c":{"type":"integer"}},"required":["c"]}],"$defs":{"B":{"properties":{"b":{"type":"string"}},"additionalProperties":{"type":"integer"}}}}`, `{"b":"x","c":1}`},
		{`{"type":["string","integer"],"enum":["a",1,null],"anyOf":[{"minimum":0},{"maxLength":1}]}`, `"a"`},
		{`{"oneOf":[{"required":["A"],"properties":{"A":{"type":"integer"}}},{"required":["AB"],"properties":{"AB":{}}},{"properties":{"o":{},"p":{}}}]}`, `{"AB":[]}`},
		{`{"propertyNames":{"pattern":"^[a-z]+$","maxLength":3},"patternProperties":{"a":{"type":"integer"}},"maxProperties":2}`, `{"ab":1}`},
		{`{"items":{"type":"string","maxLength":2},"uniqueItems":true,"minItems":2}`, `["a","\u0062","ab"]`},
		{`{"type":"string","pattern":"^(?=.*[A-Z])(?!.*x$)[a-zA-Z]{2,4}$"}`, `"aBc"`},
		{`{"not":{"type":["null","array"]},"properties":{"a":{"not":{"type":"object"}}}}`, `{"a":1}`},
		{`{"items":{"type":"integer","minimum":-100,"maximum":100,"multipleOf":3},"uniqueItems":true}`, `[-99,0,3,-0]`},
		{`{"type":"string","format":"email","allOf":[{"pattern":"^(?!\\.)(?!.*\\.\\.)"},{"pattern":"k"}],"not":{"enum":["k@a.bc",null]},"maxLength":9}`, `"ok@a.bc"`},
		{`{"properties":{"c":{"type":"null"},"a":{"nullable":true,"type":"integer","minimum":0,"exclusiveMinimum":true}},"dependentRequired":{"a":["c"]},"x-k":1}`, `{"c":null,"a":null}`},
		{`{"$ref":"#/$defs/A","maxItems":1,"unevaluatedItems":{"not":{}},"$defs":{"A":{"prefixItems":[{"not":{"pattern":"^a|b$"}}]}}}`, `["ba"]`},
		{`{"type":"integer","multipleOf":4,"allOf":[{"multipleOf":6}],"minimum":0}`, `24 `},
		{`{"properties":{"k":{"enum":["a","b"]},"x":{}},"required":["k"],"if":{"properties":{"k":{"const":"a"}}},"then":{"required":["x"]},"else":{"not":{"required":["x"]}}}`, `{"k":"b"}`},
		{`{"type":"string","pattern":"^[a-z]{2}(?!x)(?:^|-)[a-z.]+(?<![.-])(?<=a|b)$","maxLength":7}`, `"ab-c.a"`},
		{`{"type":"array","items":{"type":"string","pattern":"(^|\\s)#\\w+$"},"contains":{"not":{"pattern":"x"}},"minContains":2}`, `["#a"," #b"]`},
		{`{"anyOf":[{"properties":{"n":{"type":"string"},"v":{"type":"integer"},"u":{"enum":["a","b"]}},"required":["n"]},{"properties":{"n":{"type":"string","title":"t"},"v":{"type":"string"},"u":{"enum":["b","c"]}},"required":["n","v"]}]}`, `{"n":"x","v":"y","u":"b"}`},
		{`{"properties":{"a":{"type":"integer"},"b":{}},"dependentSchemas":{"b":{"properties":{"a":{"maximum":3}}}},"allOf":[{"if":{"required":["a"]},"then":{"required":["b"]}},{"anyOf":[{"minProperties":1},{"maxProperties":0}]}]}`, `{"a":2,"b":1}`},
		{`{"anyOf":[{"properties":{"n":{"type":"string"},"v":{"type":"integer","maximum":9}},"required":["n"]},{"additionalProperties":{"type":"integer"},"maxProperties":2},{"type":"null"}]}`, `{"v":3,"n":1}`},
		{`{"anyOf":[{"properties":{"n":{"enum":["a",1]}},"additionalProperties":false},{"type":"object","minProperties":1}]}`, `{"n":[true]}`},
		{`{"anyOf":[{"type":"array","items":{"type":"integer","maximum":9}},{"type":"array","prefixItems":[{"enum":["a",1]}],"items":{"type":"string","pattern":"^(?:(?!ab).)*(?<!c)$"}}]}`, `[1,"x"]`},
		{`{"anyOf":[{"type":"string","format":"date"},{"const":"now"},{"type":"string","maxLength":2}],"not":{"const":"ab"}}`, `"now"`},
		{`{"type":"array","items":{"type":"object","properties":{"t":{"enum":["a"]},"v":{"type":"string","pattern":"^[ab]$"}}},"uniqueItems":true}`, `[{"v":"a"},{"t":"a","v":"b"}]`},
		{`{"type":"array","items":{"anyOf":[{"type":"integer","minimum":0,"maximum":2},{"type":"null"},{"type":"boolean"}]},"uniqueItems":true}`, `[0,null,true,2]`},
		{`{"properties":{"a":{"$ref":"#/properties/b/items/0"},"b":{"items":[{"not":{"const":false},"type":"boolean"}]}}}`, `{"a":true}`},
		{`{"$defs":{"N":{"properties":{"c":{"allOf":[{"$ref":"#/$defs/N"},{"maxProperties":1}]},"d":{}}}},"$ref":"#/$defs/N"}`, `{"c":{"c":{"d":1}}}`},
		{`{"type":"string","anyOf":[{"pattern":"^a|b$"},{"enum":["x"]}],"oneOf":[{"enum":["ab"]},{"type":"string"}]}`, `"xb"`},
		{`{"oneOf":[{"properties":{"p":{}},"additionalProperties":false},{"properties":{"q":{},"r":{}},"additionalProperties":false},{"type":"string"}]}`, `{"r":1}`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, schema, text string) {
		if len(schema) > 2048 || len(text) > 512 {
			return
		}
		p, err := compileSchema([]byte(schema))
		if err != nil {
			return
		}
		st := p.start()
		for i := range len(text) {
			if !st.feed([]byte{text[i]}) {
				return
			}
		}
		if st.complete() && !json.Valid([]byte(text)) {
			t.Fatalf("schema %s took %q whole, which is no JSON", schema, text)
		}
	})
}
