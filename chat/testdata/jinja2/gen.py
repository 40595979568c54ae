#!/usr/bin/env python3
"""Writes golden.json: what Jinja2 prints for each case below, in the
environment transformers renders chat templates in (ImmutableSandboxedEnvironment,
trim_blocks, lstrip_blocks, loop controls, its tojson that keeps non-ASCII, and
raise_exception). chat's TestJinja2Golden renders the same sources with the same
variables and compares.

Run from this folder: python3 gen.py  (Jinja2 3.1; the file records the version).
"""
import json

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception

L = {"l": [3, 1, 2], "s": "Hello World", "m": {"b": 2, "a": 1, "c": 3},
     "msgs": [{"role": "user", "content": "hi", "n": 2}, {"role": "assistant", "content": "yo", "n": 1},
              {"role": "user", "content": "again", "n": 3}],
     "f": 2.5, "neg": -4, "t": "  x y  ", "ko": "안녕 세상", "e": [], "z": 0,
     "add_generation_prompt": True}

CASES = [
    # numbers
    ("int filter", "{{ '3.7'|int }} {{ 3.9|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ true|int }} {{ ' 12 '|int }} {{ '0x1A'|int(0, 16) }}"),
    ("float filter", "{{ '2'|float }} {{ 3|float }} {{ 'x'|float }} {{ 'x'|float(1.5) }} {{ ' 1e3 '|float }}"),
    ("abs", "{{ neg|abs }} {{ -2.5|abs }} {{ f|abs }}"),
    ("round common", "{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 0.125|round(2) }} {{ -2.5|round }} {{ 7|round }} {{ 1234.5678|round(-2) }}"),
    ("round ceil floor", "{{ 2.1|round(method='ceil') }} {{ 2.9|round(0, 'floor') }} {{ 2.123|round(2, 'ceil') }} {{ -2.5|round(method='floor') }}"),
    ("sum", "{{ l|sum }} {{ [1.5, 2]|sum }} {{ msgs|sum(attribute='n') }} {{ l|sum(start=10) }} {{ e|sum }}"),
    ("min max", "{{ l|min }} {{ l|max }} {{ ['b','A','c']|min }} {{ ['b','A','c']|max(case_sensitive=true) }} {{ msgs|max(attribute='n')|attr('content') if false else (msgs|max(attribute='n')).content }}"),
    ("arithmetic", "{{ 7 / 2 }} {{ 6 / 3 }} {{ -7 % 3 }} {{ 7.5 // 2 }} {{ 2 ** -1 }} {{ 10 - 2.5 }} {{ 1e3 }} {{ 0.1 + 0.2 }} {{ 1/3 }} {{ 2**53 + 1 }} {{ 1e20 }} {{ 1.5e-7 }}"),
    ("string of numbers", "{{ 1.0 }} {{ 100.0 }} {{ 1e16 }} {{ 123456789.0 }} {{ -0.0 }} {{ 3|string }} {{ 3.25|string }}"),
    # strings
    ("title capitalize", "{{ 'hello wORLD'|title }}|{{ 'hello wORLD'|capitalize }}|{{ \"it's a-b c_d\"|title }}|{{ '안녕 hi'|title }}"),
    ("replace count", "{{ 'aaaa'|replace('a', 'b', 2) }}|{{ s|replace('o', '0') }}|{{ s|replace('', '-') }}"),
    ("trim chars", "[{{ t|trim }}][{{ 'xxaxx'|trim('x') }}][{{ '\\n a \\t'|trim }}]"),
    ("escape", "{{ '<a href=\"x\">&\\'</a>'|escape }}|{{ '<b>'|e }}"),
    ("indent", "{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}|{{ 'a\\nb'|indent('> ') }}"),
    ("wordcount", "{{ 'one two  three'|wordcount }} {{ ''|wordcount }}"),
    ("upper lower ko", "{{ ko|upper }} {{ 'ÀÉ'|lower }} {{ 'ß'|upper }}"),
    ("string methods", "{{ s.lower() }}|{{ s.upper() }}|{{ s.title() }}|{{ 'a-b-c'.rsplit('-', 1) }}|{{ 'a b'.split(' ', 0) }}|{{ s.find('o') }}|{{ s.count('o') }}|{{ s.replace('l', 'L', 1) }}|{{ '{}-{}'.format(1, 'x') }}"),
    ("string more methods", "{{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.endswith('bc') }} {{ ' x '.strip() }} {{ 'x'.center(5) if false else '' }}{{ '1,2,,3'.split(',') }} {{ 'a\\nb'.splitlines() }}"),
    ("string predicates", "{{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ 'Ab'.islower() }} {{ '  '.isspace() }} {{ 'AB'.isupper() }}"),
    ("string concat and multiply", "{{ 'ab' * 3 }} {{ [1] * 2 }} {{ 'a' ~ 2 ~ 3.5 }}"),
    ("in and not in", "{{ 'll' in s }} {{ 'z' not in s }} {{ 'a' in m }} {{ 2 in m.values() }} {{ 'x' in e }}"),
    # sequences
    ("unique", "{{ [1, 2, 1, 3, 2]|unique|list }} {{ ['a', 'A', 'b']|unique|list }} {{ ['a', 'A', 'b']|unique(case_sensitive=true)|list }} {{ msgs|unique(attribute='role')|map(attribute='content')|list }}"),
    ("reverse", "{{ l|reverse|list }} {{ s|reverse }} {{ ko|reverse }}"),
    ("sort", "{{ l|sort }} {{ l|sort(reverse=true) }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ msgs|sort(attribute='n')|map(attribute='content')|join(',') }}"),
    ("join", "{{ l|join }} {{ l|join('-') }} {{ msgs|join(', ', attribute='role') }}"),
    ("first last", "{{ l|first }} {{ l|last }} {{ s|first }} {{ s|last }} [{{ e|first }}]"),
    ("length", "{{ l|length }} {{ s|length }} {{ m|length }} {{ ko|length }} {{ e|count }}"),
    ("list", "{{ s|list }} {{ m|list }} {{ (1, 2)|list }}"),
    ("map", "{{ l|map('string')|join }} {{ msgs|map(attribute='role')|list }} {{ ['a','b']|map('upper')|list }} {{ msgs|map(attribute='missing', default='d')|list }}"),
    ("select reject", "{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{ l|select('gt', 1)|list }} {{ l|select('equalto', 2)|list }}"),
    ("selectattr", "{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ msgs|rejectattr('role', 'eq', 'user')|map(attribute='content')|list }} {{ msgs|selectattr('n', 'gt', 1)|list|length }}"),
    ("items dictsort", "{% for k, v in m|items %}{{ k }}{{ v }}{% endfor %}|{% for k, v in m|dictsort %}{{ k }}{{ v }}{% endfor %}|{% for k, v in m|dictsort(by='value', reverse=true) %}{{ k }}{% endfor %}"),
    ("dict methods", "{{ m.keys()|list }} {{ m.values()|list }} {{ m.get('a') }} {{ m.get('q') }} {{ m.get('q', 0) }} {{ m['c'] }}"),
    ("list methods", "{{ l.index(1) }} {{ l.count(3) }} {{ [1,2][0] }} {{ l[-2] }}"),
    ("slices", "{{ l[1:] }} {{ l[:1] }} {{ l[::2] }} {{ s[-5:] }} {{ s[::-1] }} {{ l[5:] }}"),
    ("range", "{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }}"),
    ("loop", "{% for x in l %}{{ loop.index }}/{{ loop.revindex0 }}/{{ loop.previtem if loop.previtem is defined else '-' }}/{{ loop.nextitem if loop.nextitem is defined else '-' }}/{{ loop.cycle('a', 'b') }} {% endfor %}"),
    ("loop over dict", "{% for k in m %}{{ k }}{% endfor %}"),
    ("nested loop", "{% for a in [1, 2] %}{% for b in ['x', 'y'] %}{{ loop.index }}{{ a }}{{ b }}{% endfor %}{{ loop.last }}{% endfor %}"),
    ("namespace", "{% set ns = namespace(n=0, s='') %}{% for x in l %}{% set ns.n = ns.n + x %}{% set ns.s = ns.s ~ x %}{% endfor %}{{ ns.n }}{{ ns.s }}"),
    ("set block", "{% set x %}a{{ 1 + 1 }}b{% endset %}[{{ x }}]"),
    ("macro", "{% macro f(a, b=2) %}{{ a }}+{{ b }}{% endmacro %}{{ f(1) }} {{ f(1, 3) }} {{ f(a=5, b=6) }}"),
    ("tests", "{{ 3 is odd }} {{ 3 is even }} {{ 6 is divisibleby(3) }} {{ 'a' is lower }} {{ 'A' is upper }} {{ none is none }} {{ l is sequence }} {{ m is mapping }} {{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }} {{ true is boolean }} {{ s is string }} {{ 2 is in([1, 2]) }} {{ 1 is sameas(1) }} {{ l is iterable }} {{ 5 is gt(3) }} {{ 5 is le(3) }}"),
    ("truthiness", "{{ 'y' if e else 'n' }}{{ 'y' if z else 'n' }}{{ 'y' if m else 'n' }}{{ 'y' if '' else 'n' }}{{ 'y' if 0.0 else 'n' }}{{ 'y' if none else 'n' }}"),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 'a' < 'b' }} {{ [1, 2] == [1, 2] }} {{ 1 == true }} {{ 0 == false }} {{ none == none }} {{ 'a' != 'b' }}"),
    ("tojson", "{{ m|tojson }} {{ msgs[0]|tojson(indent=2) }} {{ ko|tojson }} {{ [1.5, none, true]|tojson }} {{ m|tojson(sort_keys=true) }}"),
    ("whitespace control", "a  {%- if true -%}  b  {%- endif -%}  c\n{% if true %}\n  d\n{% endif %}\n  {% for x in [1] %}\n{{ x }}\n  {% endfor %}\ne"),
    ("inline if chains", "{% if z %}a{% elif l|length > 2 %}b{% else %}c{% endif %}"),
    ("filter block", "{% filter upper %}ab{{ 'c' }}{% endfilter %}"),
    ("string escapes", "{{ 'tab\\there' }}|{{ \"q\\\"q\" }}|{{ 'u\\u00e9' }}|{{ 'nl\\nx' }}"),
    ("none printing", "{{ none }}|{{ [none] }}|{{ {'a': none} }}|{{ true }}|{{ [true, 'x', 1.5] }}"),
    ("dict literal printing", "{{ {'a': 1, 'b': [1, 'x']} }} {{ [] }} {{ {} }} {{ {'k': {'n': [none, true, 1.5]}} }}"),
    ("tuples as values", "{{ 'a' in ('a', 'b') }} {{ ('x', 'y')|join }} {{ ('x', 'y')|length }} {{ 'ab'.startswith(('b', 'a')) }}"),
    ("case-insensitive ordering", "{{ ['b', 'a', 'C']|sort }} {{ ['b', 'a', 'C']|sort(case_sensitive=true) }} {{ ['a', 'B']|max }} {{ ['a', 'B']|max(true) }} {{ ['a', 'B']|min }} {{ ['b', 'a', 'C']|sort(true) }}"),
    ("dictsort options", "{% for k, v in {'b': 'x', 'A': 'y', 'c': 'X'}|dictsort %}{{ k }}{% endfor %} {% for k, v in {'b': 'x', 'A': 'y', 'c': 'X'}|dictsort(true) %}{{ k }}{% endfor %} {% for k, v in {'b': 'x', 'A': 'y', 'c': 'X'}|dictsort(by='value') %}{{ k }}{% endfor %}"),
    ("unique options", "{{ ['A', 'a', 'b', 'B']|unique|list }} {{ msgs|unique(attribute='n')|list|length }} {{ [{'k': 'X'}, {'k': 'x'}]|unique(attribute='k')|list|length }}"),
    ("attribute paths", "{{ [{'a': {'b': 2}}, {'a': {'b': 1}}]|sort(attribute='a.b')|map(attribute='a.b')|list }} {{ [[3, 'x'], [1, 'y']]|sort(attribute='0')|map(attribute='1')|join }} {{ msgs|map(attribute='role')|unique|list }}"),
    ("round more", "{{ -2.5|round }} {{ 0.5|round }} {{ 1.5|round }} {{ 1.005|round(2) }} {{ 1250|round(-2) }} {{ 1350|round(-2) }} {{ -1250|round(-2) }} {{ 2.5|round(0, 'ceil') }} {{ 7|round(1, 'floor') }} {{ 1e300|round(2) }}"),
    ("int more", "{{ '-0x1a'|int(0, 16) }} {{ '0b101'|int(0, 0) }} {{ '12'|int(0, 8) }} {{ '1_000'|int }} {{ 'ff'|int(0, 16) }} {{ '0x'|int(5, 16) }} {{ '1e3'|int }} {{ none|int }} {{ '-7'|int }} {{ '+7'|int }}"),
    ("float more", "{{ '1_0.5'|float }} {{ '-.5'|float }} {{ none|float }} {{ true|float }}"),
    ("title filter words", "{{ 'a(b c[d e<f g{h i-j k_l'|title }}|{{ 'ÉCOLE élan'|title }}|{{ '  two  spaces'|title }}"),
    ("python title and capitalize", "{{ \"hello 안hi 1st o'neil\".title() }}|{{ 'ßa'.capitalize() }}|{{ 'ǆemal'.capitalize() }}|{{ 'ﬁne'.upper() }}|{{ 'ΟΔΟΣ'.lower() }}|{{ 'İ'.lower()|length }}"),
    ("splitlines", "{{ 'a\\r\\nb\\rc\\n'.splitlines() }} {{ 'a\\n\\nb'.splitlines() }} {{ ''.splitlines() }} {{ 'a\\nb\\n'.splitlines(true) }} {{ 'x\\u2028y'.splitlines() }}"),
    ("string predicates more", "{{ ''.isdigit() }} {{ 'a1'.isalnum() }} {{ '\\t\\n '.isspace() }} {{ '1a'.islower() }} {{ '12'.islower() }} {{ 'ǅ'.isupper() }} {{ '한글'.isalpha() }} {{ '٣'.isdigit() }}"),
    ("repetition", "{{ [1, 2] * 2 }} {{ 2 * 'ab' }} {{ [1] * 0 }} {{ 'x' * -1 }}|{{ 3 * [none] }}"),
    ("loop changed and depth", "{% for m in msgs %}{% if loop.changed(m.role) %}[{{ m.role }}]{% endif %}{{ loop.depth }}{{ loop.depth0 }}{% endfor %} {% for x in [1, 1, 2, 2, 1] %}{{ loop.changed(x) }}{% endfor %}"),
    ("center", "[{{ 'ab'|center(7) }}][{{ 'ab'|center(6) }}][{{ 'abc'|center(6) }}][{{ 'abc'|center(2) }}][{{ '한'|center(4) }}]"),
    ("truncate", "{{ 'The quick brown fox jumps'|truncate(12) }}|{{ 'The quick brown fox jumps'|truncate(12, true) }}|{{ 'The quick brown fox jumps'|truncate(12, false, '…', 0) }}|{{ 'short'|truncate(3, leeway=2) }}|{{ 'Thequickbrownfox'|truncate(9, leeway=0) }}|{{ 'a b c d e f g'|truncate(8, leeway=0) }}"),
    ("batch", "{{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 'x')|list }} {{ []|batch(3)|list }}"),
    ("slice", "{{ [1, 2, 3, 4, 5]|slice(2)|list }} {{ [1, 2, 3, 4, 5, 6, 7]|slice(3, 0)|list }} {{ [1, 2]|slice(3)|list }} {{ [1, 2, 3]|slice(3, 'x')|list }}"),
    ("format filter", "{{ '%s-%d'|format('a', 3) }}|{{ '%5.2f|%-4d|%04d|%+d|% d'|format(3.14159, 7, -12, 5, 3) }}|{{ '%x %X %o %#x %#o'|format(255, 255, 8, 255, 8) }}|{{ '%e %.3E %g %g %g %G'|format(12345.678, 0.00012, 0.0001, 123456789.0, 1e-5, 1.5e20) }}|{{ '%r %s %a'|format('q', none, 'é') }}|{{ '%(n)s is %(v).1f'|format(n='pi', v=3.14159) }}|{{ '100%%'|format() }}|{{ '%c%c'|format(65, 'b') }}|{{ '%.3s|%5s|%-5s|'|format('abcdef', 'ab', 'ab') }}|{{ '%g %g %#g'|format(100000, 1000000, 1.5) }}"),
    ("min max of strings and empty", "{{ 'bca'|min }} {{ 'bca'|max }} [{{ e|min }}]"),
    ("default", "{{ undefined_var|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} {{ none|default('d') }} {{ 0|d('x', boolean=true) }}"),
    ("raise", "{% if false %}{{ raise_exception('boom') }}{% endif %}ok"),
    ("nested dicts at the tag's end", "{% set d = {'a': {'b': [1, {'c': 2}]}} %}{{ d.a.b[1].c }} {{ {'x': {'y': 1}}|tojson }} {{ {'x': {'y': (1, 2)}}.x.y[1]}}"),
    ("precedence", "{{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ not 1 in [1] }} {{ 1 + 2 * 3 - 4 / 2 }} {{ (1 + 2) * 3 }} {{ 10 // 3 * 3 + 10 % 3 }} {{ 'a' ~ 1 * 2 }} {{ not true or true }} {{ 1 if 0 else 2 if 0 else 3 }}"),
    ("division and modulo", "{{ -7 // 2 }} {{ 7 // -2 }} {{ -7 % 2 }} {{ 7 % -2 }} {{ 7.5 % 2 }} {{ -7.5 // 2 }} {{ 1 / 4 }} {{ 2 ** 0.5 }} {{ 2 ** 62 }} {{ 3 ** 39 }} {{ 3 * 1.0 }} {{ -2 ** 63 }}"),
    ("mixed comparisons", "{{ 1 == 1.0 }} {{ 1 < 1.5 }} {{ true == 1 }} {{ 'a' == 'a' }} {{ [1, 2] < [1, 3] }} {{ none is not none }} {{ 2 > 1 > 0 }} {{ 1 != none }}"),
    ("set unpacking", "{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set c, d = [3, 4] %}{{ c }}{{ d }} {% for x, y in [[1, 'a'], [2, 'b']] %}{{ x }}{{ y }}{% endfor %}"),
    ("macro defaults", "{% macro f(a, b='B') %}{{ a }}{{ b }}{% endmacro %}{{ f(1) }} {{ f(1, 2) }} {{ f(b=3, a=4) }}"),
    ("macro caller", "{% macro box(title) %}[{{ title }}:{{ caller() }}]{% endmacro %}{% call box('t') %}inside {{ 1 + 1 }}{% endcall %}"),
    ("call block with arguments", "{% macro each(items) %}{% for i in items %}{{ caller(i, loop.index) }};{% endfor %}{% endmacro %}{% set sep = '=' %}{% call(x, n) each(['a', 'b']) %}{{ n }}{{ sep }}{{ x }}{% endcall %}"),
    ("caller in a namespace", "{% macro wrap(indent) %}{% set ns = namespace(f=caller()) %}{{ indent }}{{ ns.f|trim }}{% endmacro %}{%- call wrap('  ') %}\n body \n{% endcall %}|"),
    ("macro varargs kwargs", "{% macro f(a, b='B') %}{{ a }}{{ b }}{{ varargs|list }}{{ kwargs }}{% endmacro %}{{ f(1) }} {{ f(1, 2, 3, 4) }} {{ f(1, x=5) }}"),
    ("comments and raw", "a{# a comment {{ x }} #}b{% raw %}{{ not rendered }}{% endraw %}c"),
    ("trailing newline dropped", "line\n"),
    ("CRLF and CR line breaks", "a\r\n{% if true %}\r\nb {{ 'x\r\ny' }}\r\n{% endif %}\rc\r\n"),
    ("trim and lstrip", "<{% if true %}\n  x\n  {% endif %}\n>\n  {%+ if true %}y{% endif %}\n  {%- if true %}z{% endif %}"),
    ("chat-style loop", "{% for m in msgs %}{% if loop.first and m.role != 'system' %}<s>{% endif %}{{ '<|' + m.role + '|>\n' + m.content | trim + '\n' }}{% if not loop.last %}---\n{% endif %}{% endfor %}{% if add_generation_prompt is defined and add_generation_prompt %}<|assistant|>{% endif %}"),
    ("defined chains", "{{ x.y if x is defined else 'nx' }} {{ m.a if m is defined and m.a is defined }} {{ (m.q or 'dflt') }} {{ m['q'] is defined }} {{ msgs[0].content is string }}"),
    ("string escapes in literals", "{{ 'a\\\\b' }} {{ \"it's\" }} {{ 'say \\'hi\\'' }} {{ '\\x41\\u00e9\\U0001F600' }}"),
    ("if elif nesting", "{% for n in [0, 1, 2, 3] %}{% if n == 0 %}zero{% elif n is odd %}{% if n > 2 %}big-odd{% else %}odd{% endif %}{% else %}even{% endif %};{% endfor %}"),
    ("string comparisons and sort stability", "{{ 'B' < 'a' }} {{ 'é' > 'z' }} {{ ['b', 'B', 'a', 'A']|sort }} {{ ['b', 'B', 'a', 'A']|sort(reverse=true) }}"),
    ("join of mixed", "{{ [1, 'a', none, true, 1.5]|join(',') }} {{ [[1, 2], {'k': 1}]|join(';') }}"),
    ("length and count of strings", "{{ '한국어'|length }} {{ 'éa'|length }} {{ '😀'|length }} {{ '한국어'[1] }} {{ '😀a'[1] }}"),
    ("tojson escaping", "{{ '</script>&\\'\"'|tojson }} {{ {'k': 'v\\n\\t'}|tojson }} {{ 'é😀'|tojson }} {{ 1.0|tojson }} {{ 1e20|tojson }} {{ [1, [2, {}]]|tojson(indent=1) }}"),
    ("items of nested", "{% for k, v in {'a': [1], 'b': {'c': 2}}.items() %}{{ k }}={{ v }};{% endfor %}"),
    ("whitespace in expressions", "{{\n  'a'\n  |\n  upper\n}}{%\n  if\n  true\n%}b{% endif %}"),
    ("undefined values in filters and tests", "{{ x is iterable }} {{ x is sequence }} {{ none is iterable }} {{ x is mapping }} {{ x|list }} {{ x|length }} [{{ x|join(',') }}] [{{ x|first }}] {% for a in x %}a{% else %}empty{% endfor %} {{ x|selectattr('a')|list }} {{ x|sort }} {{ x|default(1) }} [{{ x|string }}]"),
    ("none in select and map", "{{ none|selectattr('a')|list }} {{ none|reject|list }} {{ none|map(attribute='a')|list }} {{ none|select('odd')|list }}"),
    ("raise_exception", "{{ raise_exception('roles must alternate') }}"),
    ("concatenation binds tighter than plus", "{{ 'a' ~ 1 + 2 }}"),
    ("escapes", "{{ '\\101\\0\\7'|length }} {{ '\\a\\b\\f\\v'|length }} {{ '\\U0001F600'|length }}"),
    ("set unpacking mismatch", "{% set a, b = [1, 2, 3] %}"),
    ("mismatched bracket", "{{ f(1 }}"),
    ("unclosed bracket", "{{ [1, 2 }}"),
    ("stray closing bracket", "{{ 1) }}"),
]


def main():
    out = []
    for name, src in CASES:
        try:
            want = env.from_string(src).render(**L)
            out.append({"name": name, "src": src, "want": want})
        except Exception as e:  # the case records the error kind only
            out.append({"name": name, "src": src, "error": type(e).__name__ + ": " + str(e)})
    with open("golden.json", "w", encoding="utf-8") as f:
        json.dump({"jinja2": jinja2.__version__, "vars": L, "cases": out}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
