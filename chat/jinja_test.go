package chat

import (
	"errors"
	"math/rand"
	"strings"
	"testing"
)

func render(t *testing.T, src string, vars map[string]any) (string, error) {
	t.Helper()
	tmpl, err := Parse(src)
	if err != nil {
		return "", err
	}
	return tmpl.Execute(vars)
}

// Expected outputs are what Jinja2 (trim_blocks, lstrip_blocks, as
// transformers configures it) prints for the same source.
func TestJinjaRender(t *testing.T) {
	msgs := []Message{{Role: "system", Content: "sys"}, {Role: "user", Content: " hi "}, {Role: "assistant", Content: "<think>\nplan\n</think>\n\nanswer"}}
	for _, tc := range []struct {
		name, src, want string
		vars            map[string]any
	}{
		{"text", "plain 안녕", "plain 안녕", nil},
		{"filter block", "[{% filter trim %}  a {{ x }}  {% endfilter %}]", "[a 1]", map[string]any{"x": 1}},
		{"filter block chain", "{%- filter upper|replace('B', 'b') -%}\n ab {% for i in [1,2] %}{{ i }}{% endfor %}\n{%- endfilter -%}!", "Ab 12!", nil},
		{"output", "{{ 'a' + 'b' }}{{ 1 + 2 }}{{ 7 // 2 }}{{ -7 // 2 }}{{ 7 % 3 }}{{ 2 ** 3 }}", "ab33-418", nil},
		{"float", "{{ 1.5 * 2 }} {{ 1 / 2 }} {{ 3.0 }}", "3.0 0.5 3.0", nil},
		{"concat tilde", "{{ 'n' ~ 1 ~ none ~ true }}", "n1NoneTrue", nil},
		{"comparison", "{{ 1 < 2 }}{{ 'a' == 'a' }}{{ 1 == 1.0 }}{{ 2 != 2 }}", "TrueTrueTrueFalse", nil},
		{"in", "{{ 'b' in 'abc' }}{{ 2 in [1,2] }}{{ 'k' in {'k': 1} }}{{ 3 not in [1] }}", "TrueTrueTrueTrue", nil},
		{"and or value", "{{ '' or 'x' }}{{ 'a' and 'b' }}{{ none or 0 }}", "xb0", nil},
		{"cond expr", "{{ 'y' if x else 'n' }}{{ 'y' if not x else 'n' }}", "ny", map[string]any{"x": false}},
		{"cond without else", "[{{ 'y' if x }}]", "[]", map[string]any{"x": false}},
		{"undefined prints empty", "[{{ nope }}][{{ nope.deeper }}]", "[][]", nil},
		{"is defined", "{{ x is defined }}{{ y is defined }}{{ y is not defined }}{{ not y is defined }}", "TrueFalseTrueTrue", map[string]any{"x": 1}},
		{"is tests", "{{ none is none }}{{ 'a' is string }}{{ 1 is number }}{{ false is false }}{{ true is false }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ m is mapping }}{{ l is iterable }}",
			"TrueTrueTrueTrueFalseTrueTrueTrueTrue", map[string]any{"m": map[string]any{}, "l": []any{}}},
		{"filters", "{{ '  x  ' | trim }}|{{ [1,2,3] | length }}|{{ 'ab' | upper }}|{{ ['a','b'] | join(', ') }}|{{ [3,1,2] | sort | first }}|{{ [1,2] | last }}|{{ none | default('d') }}|{{ nope | default('d') }}",
			"x|3|AB|a, b|1|2|None|d", nil},
		{"filter precedence", "{{ 'a' + ' b ' | trim + 'c' }}{{ l | length - 1 }}", "abc2", map[string]any{"l": []any{1, 2, 3}}},
		{"tojson", `{{ {"name": "f", "args": {"x": [1, 2.5, true, none]}, "ko": "안녕\n\"q\""} | tojson }}`,
			`{"name": "f", "args": {"x": [1, 2.5, true, null]}, "ko": "안녕\n\"q\""}`, nil},
		{"tojson indent", `{{ {"a": [1]} | tojson(indent=2) }}`, "{\n  \"a\": [\n    1\n  ]\n}", nil},
		{"string methods", "{{ ' a '.strip() }}|{{ 'xxa'.lstrip('x') }}|{{ 'a\\n\\n'.rstrip('\\n') }}|{{ 'a,b'.split(',')[1] }}|{{ 'ab'.startswith('a') }}{{ 'ab'.endswith('a') }}|{{ 'a b  c'.split() | length }}",
			"a|a|a|b|TrueFalse|3", nil},
		{"qwen think split", "{{ c.split('</think>')[-1].lstrip('\\n') }}|{{ c.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}",
			"answer|plan", map[string]any{"c": "<think>\nplan\n</think>\n\nanswer"}},
		{"slicing", "{{ l[::-1] }}{{ l[1:] }}{{ l[:-1] }}{{ 'abcd'[1:3] }}{{ '한국어'[::-1] }}{{ l[-1] }}", "[3, 2, 1][2, 3][1, 2]bc어국한3", map[string]any{"l": []any{1, 2, 3}}},
		{"index out of range is undefined", "[{{ l[5] }}]", "[]", map[string]any{"l": []any{1}}},
		{"dict access", "{{ m.a }}{{ m['a'] }}{{ m.get('z', 'zz') }}{% for k, v in m.items() %}{{ k }}={{ v }};{% endfor %}", "11zza=1;b=2;", map[string]any{"m": map[string]any{"b": 2, "a": 1}}},
		{"for loop vars", "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }} {% endfor %}",
			"10TrueFalse22 21FalseTrue21 ", map[string]any{"l": []any{"a", "b"}}},
		{"for else", "{% for x in l %}x{% else %}empty{% endfor %}", "empty", map[string]any{"l": []any{}}},
		{"for filter", "{% for x in l if x > 1 %}{{ x }}{{ loop.length }}{% endfor %}", "2232", map[string]any{"l": []any{1, 2, 3}}},
		{"break continue", "{% for x in l %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", "13", map[string]any{"l": []any{1, 2, 3, 4, 5}}},
		{"set scoping", "{% set a = 1 %}{% for x in [1] %}{% set a = 2 %}{{ a }}{% endfor %}{{ a }}", "21", nil},
		{"list append", "{% set ns = namespace(ids=[]) %}{% for x in [1,2] %}{% set _ = ns.ids.append(x * 10) %}{% endfor %}{{ ns.ids }}" +
			"{% set l = [1] %}{% set _ = l.append(2) %}{% set _ = l.extend([3, 4]) %}{% set _ = l.insert(0, 0) %}{{ l }}{{ l.pop() }}{{ l.pop(0) }}{{ l }}" +
			"{% set m = {'k': []} %}{% set _ = m['k'].append('v') %}{% set _ = m.k.append('w') %}{{ m.k }}",
			"[10, 20][0, 1, 2, 3, 4]40[1, 2, 3]['v', 'w']", nil},
		{"int dict keys", "{% set b = {512: 'b', 0: 'a', 16384: 'c'} %}{% for k, v in b | dictsort %}{{ k + 1 }}{{ v }};{% endfor %}{{ b[16384] }}{{ 0 in b }}",
			"1a;513b;16385c;cTrue", nil},
		{"str format", "{{ '<{}|{}>'.format('a', 1) }}{{ '{1}{0}'.format('x', 'y') }}{{ '{{{n}}}'.format(n='z') }}", "<a|1>yx{z}", nil},
		{"min max from_json", "{{ [3, 1, 2] | min }}{{ [3, 1, 2] | max }}{{ ('{\"a\": [1, 2]}' | from_json).a[1] }}", "132", nil},
		{"namespace", "{% set ns = namespace(n=0, s='') %}{% for x in [1,2,3] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}", "6", nil},
		{"set block", "{% set b %}in{{ 1 }}{% endset %}[{{ b }}]", "[in1]", nil},
		{"macro", "{% macro greet(who, p='!') %}hi {{ who }}{{ p }}{% endmacro %}{{ greet('a') }} {{ greet('b', p='?') }}", "hi a! hi b?", nil},
		{"elif", "{% for x in [1,2,3] %}{% if x == 1 %}a{% elif x == 2 %}b{% else %}c{% endif %}{% endfor %}", "abc", nil},
		{"messages", "{% for m in messages %}{{ m.role }}:{{ m['content'] | trim }};{% endfor %}", "system:sys;user:hi;assistant:<think>\nplan\n</think>\n\nanswer;", map[string]any{"messages": msgs}},
		{"comment", "a{# hidden #}b", "ab", nil},
		{"raw", "{% raw %}{{ x }}{% endraw %}", "{{ x }}", nil},
		{"string escapes", `{{ "a\tb\u00e9\\" }}{{ 'it''s' }}`, "a\tbé\\its", nil},
		{"range", "{% for i in range(3) %}{{ i }}{% endfor %}{% for i in range(5, 1, -2) %}{{ i }}{% endfor %}", "01253", nil},
		{"list and dict literals", "{{ [1, 'a'] }}{{ {'k': 'v'} }}{{ (1, 2)[1] }}", "[1, 'a']{'k': 'v'}2", nil},
		{"select map", "{{ l | selectattr('r', 'equalto', 'u') | map(attribute='c') | join }}{{ [1,0,2] | select | list | length }}", "ac2",
			map[string]any{"l": []any{map[string]any{"r": "u", "c": "a"}, map[string]any{"r": "s", "c": "b"}, map[string]any{"r": "u", "c": "c"}}}},
		// whitespace control
		{"trim_blocks", "{% if true %}\nyes\n{% endif %}\nafter", "yes\nafter", nil},
		{"lstrip_blocks", "a\n    {% if true %}\n    b\n    {% endif %}\nc", "a\n    b\nc", nil},
		{"minus strips", "a   {%- if true -%}   b   {%- endif -%}   c", "abc", nil},
		{"minus on output", "a \n {{- 'b' -}} \n c", "abc", nil},
		{"plus keeps lstrip", "a\n  {%+ if true %}b{% endif %}", "a\n  b", nil},
		{"var tag keeps newline", "{{ 'a' }}\nb", "a\nb", nil},
		{"comment trims", "a\n  {# c #}\nb", "a\nb", nil},
		{"lstrip not mid-line", "x  {% if true %}y{% endif %}", "x  y", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render(t, tc.src, tc.vars)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

func TestJinjaErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, wantSub string
		parse              bool // the error is a parse error
	}{
		{"unknown filter", "{{ x | frobnicate }}", "unknown filter 'frobnicate'", true},
		{"unknown test", "{{ x is shiny }}", "unknown test 'shiny'", true},
		{"unterminated if", "{% if x %}abc", "'if' opened at line 1 is not closed", true},
		{"unterminated for", "line\n{% for x in y %}", "'for' opened at line 2 is not closed", true},
		{"unterminated tag", "{{ x ", "unterminated tag", true},
		{"unterminated string", "{{ 'abc }}", "unterminated string", true},
		{"unterminated comment", "{# abc", "unterminated comment", true},
		{"unknown statement", "{% frob %}", "unknown statement 'frob'", true},
		{"stray endif", "{% endif %}", "unexpected 'endif'", true},
		{"stray endfilter", "{% endfilter %}", "unexpected 'endfilter'", true},
		{"unterminated filter", "{% filter trim %}x", "'filter' opened at line 1 is not closed", true},
		{"unknown block filter", "{% filter frob %}x{% endfilter %}", "unknown filter 'frob'", true},
		{"bad char", "{{ x ; y }}", "unexpected character", true},
		{"missing paren", "{{ f(1 }}", "expected ')'", true},
		{"deep parentheses", "{{ " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " }}", "nested more than", true},
		{"deep unary", "{{ " + strings.Repeat("not ", 100000) + "x }}", "nested more than", true},
		{"deep blocks", strings.Repeat("{% if x %}", 100000), "nested more than", true},
		{"long chain", "{{ 1" + strings.Repeat(" + 1", 5000) + " }}", "more than 1000 operators", true},
		{"deep lists", "{{ " + strings.Repeat("[", 100000) + " }}", "nested more than", true},
		{"raise_exception", "{{ raise_exception('roles must alternate') }}", "roles must alternate", false},
		{"call undefined", "{{ nothing() }}", "'nothing' (undefined) is not callable", false},
		{"add mismatch", "{{ 'a' + 1 }}", "unsupported operand", false},
		{"int power overflow", "{{ 2 ** 64 }}", "out of range", false},
		{"int product overflow", "{{ 4611686018427387904 * 2 }}", "out of range", false},
		{"int sum overflow", "{{ 9223372036854775807 + 1 }}", "out of range", false},
		{"int difference overflow", "{{ -9223372036854775807 - 2 }}", "out of range", false},
		{"huge repetition", "{{ 'ab' * 100000000000 }}", "too long", false},
		{"repetition count that would overflow", "{{ 'ab' * 9223372036854775807 }}", "too long", false},
		{"huge list repetition", "{{ [1, 2] * 9223372036854775807 }}", "too long", false},
		{"division by zero", "{{ 1 / 0 }}", "division by zero", false},
		{"set attr on non-namespace", "{% set d = {} %}{% set d.x = 1 %}", "only namespace()", false},
		{"huge range", "{% for i in range(100000000) %}{% endfor %}", "range over", false},
		{"break outside loop", "{% break %}", "break outside a loop", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, perr := Parse(tc.src)
			if tc.parse {
				if perr == nil || !strings.Contains(perr.Error(), tc.wantSub) {
					t.Fatalf("Parse error = %v, want one containing %q", perr, tc.wantSub)
				}
				return
			}
			if perr != nil {
				t.Fatalf("unexpected parse error: %v", perr)
			}
			_, err := tmpl.Execute(nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("Execute error = %v, want one containing %q", err, tc.wantSub)
			}
		})
	}
	_, err := render(t, "{{ raise_exception('no') }}", nil)
	var re *RaiseError
	if !errors.As(err, &re) || re.Msg != "no" {
		t.Errorf("raise_exception error = %#v, want *RaiseError{no}", err)
	}
}

// TestRandomTemplatesNeverPanic feeds random fragments of template syntax
// through Parse and Execute; any outcome but a panic is acceptable.
func TestRandomTemplatesNeverPanic(t *testing.T) {
	frags := []string{"{{", "}}", "{%", "%}", "{%-", "-%}", "{#", "#}", " if ", " for ", " in ", " endif ", " endfor ", " else ", " elif ",
		" set ", " = ", " x ", " messages ", "[", "]", "(", ")", "{", "}", "|", " length ", " trim ", " tojson ", "'a'", `"b"`, ".", "::", ":",
		"-1", "0", "1.5", " not ", " is ", " defined ", " none ", "+", "-", "*", "/", "//", "%", "**", "~", ",", " loop.index ", " namespace(",
		" ns.x ", " macro ", " endmacro ", " raw ", " endraw ", "\n", "  ", "안녕", "\\", "'", ".split(", ".strip()", "[::-1]", " range(", " break ",
		" continue ", " raise_exception(", " and ", " or ", "==", "<", " true ", " m ", ".role", "['content']"}
	rng := rand.New(rand.NewSource(42))
	vars := map[string]any{"messages": []Message{{Role: "user", Content: "안녕"}, {Role: "assistant", Content: "네"}}, "x": "xyz", "m": map[string]any{"role": "user"}}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for j, n := 0, rng.Intn(24); j < n; j++ {
			b.WriteString(frags[rng.Intn(len(frags))])
		}
		src := b.String()
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic on %q: %v", src, r)
				}
			}()
			if tmpl, err := Parse(src); err == nil {
				_, _ = tmpl.Execute(vars)
			}
		}()
	}
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"{{ x }}", "{% for m in messages %}{{ m.content }}{% endfor %}", "{%- if a -%}b{% endif %}", "{{ x[::-1] | tojson }}",
		"{% set ns = namespace(l=[]) %}{% set _ = ns.l.append(1) %}{{ ns.l.pop(0) }}", "{{ '{}{0}'.format(1) }}{{ {1: 2} | dictsort }}{{ [1] | max }}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse(src)
		if err != nil {
			return
		}
		_, _ = tmpl.Execute(map[string]any{"messages": []Message{{Role: "user", Content: "hi"}}, "x": "abc"})
	})
}
