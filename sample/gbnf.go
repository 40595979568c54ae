package sample

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CompileGBNF compiles a grammar in GBNF, llama.cpp's grammar format
// (grammars/README.md there), which llama.cpp's `grammar` parameter and
// vLLM's xgrammar backend take:
//
//	root   ::= answer ("," ws answer)*
//	answer ::= "예" | "아니요" | [0-9]+
//	ws     ::= [ \t\n]*   # a comment
//
// Rules are `name ::= alternatives`; elements are "literals", character
// classes [a-z가-힣] and [^...], `.` for any character, tokens (<[id]>,
// <text> such as <think>, and !<…> for any other token; Grammar.Bind
// resolves them against a vocabulary), rule names and (groups), each
// optionally followed by *, +, ?, {m}, {m,}, {m,n} or {,n}. Literals and classes take the escapes \n \r \t \\ \" \[ \] \xHH
// \uHHHH \UHHHHHHHH. A rule ends at the end of its line, except inside
// parentheses and where the next line starts with |. The output must be
// one string of the rule named root. A rule that reaches itself before
// any character (left recursion) is refused, as llama.cpp refuses it.
func CompileGBNF(src string) (*Grammar, error) {
	p := &gbnfParser{src: src, ids: map[string]int32{}, defined: map[int32]bool{}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	root, ok := p.ids["root"]
	if !ok || !p.defined[root] {
		return nil, fmt.Errorf("%w: no rule named root", ErrGrammar)
	}
	for name, id := range p.ids {
		if !p.defined[id] {
			return nil, fmt.Errorf("%w: rule %q is used but not defined", ErrGrammar, name)
		}
	}
	return p.b.finish(root)
}

type gbnfParser struct {
	src     string
	pos     int
	b       gbuild
	ids     map[string]int32
	defined map[int32]bool // named rules with a definition
	rule    string         // the rule being parsed, for errors and group names
	groups  int
	depth   int // open parentheses
}

// maxGBNFNesting bounds parenthesis nesting: a grammar comes from a
// request, and each level is a call of the parser.
const maxGBNFNesting = 256

func (p *gbnfParser) errorf(format string, args ...any) error {
	line := 1 + strings.Count(p.src[:p.pos], "\n")
	col := p.pos - strings.LastIndexByte(p.src[:p.pos], '\n')
	return fmt.Errorf("%w: line %d, column %d: %s", ErrGrammar, line, col, fmt.Sprintf(format, args...))
}

// id is the rule called name, made on first mention.
func (p *gbnfParser) id(name string) int32 {
	if id, ok := p.ids[name]; ok {
		return id
	}
	id := p.b.newRule(name)
	p.ids[name] = id
	return id
}

func (p *gbnfParser) parse() error {
	p.space(true)
	for p.pos < len(p.src) {
		name := p.name()
		if name == "" {
			return p.errorf("expected a rule name, found %q", p.peekText())
		}
		p.space(false)
		if !strings.HasPrefix(p.src[p.pos:], "::=") {
			return p.errorf("expected ::= after %s", name)
		}
		p.pos += 3
		p.space(true)
		id := p.id(name)
		if p.defined[id] {
			return p.errorf("rule %q is defined twice", name)
		}
		p.rule, p.groups = name, 0
		alts, err := p.alternates(false)
		if err != nil {
			return err
		}
		if err := p.b.define(id, alts); err != nil {
			return err
		}
		p.defined[id] = true
		p.space(true)
	}
	return nil
}

// alternates parses sequences separated by |; nested: inside
// parentheses, where line breaks are space.
func (p *gbnfParser) alternates(nested bool) ([][]gElem, error) {
	var alts [][]gElem
	for {
		seq, err := p.sequence(nested)
		if err != nil {
			return nil, err
		}
		alts = append(alts, seq)
		if !nested {
			// A top-level rule goes on where the next line starts with |.
			save := p.pos
			p.space(true)
			if p.pos >= len(p.src) || p.src[p.pos] != '|' {
				p.pos = save
			}
		}
		if p.pos >= len(p.src) || p.src[p.pos] != '|' {
			return alts, nil
		}
		p.pos++
		p.space(true)
	}
}

// sequence parses elements up to |, ), or (outside parentheses) the end
// of the line.
func (p *gbnfParser) sequence(nested bool) ([]gElem, error) {
	var seq []gElem
	last := -1 // where the last element's run starts: operators apply to it
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			last = len(seq)
			lit, err := p.literal()
			if err != nil {
				return nil, err
			}
			seq = append(seq, lit...)
		case c == '[':
			last = len(seq)
			class, err := p.class()
			if err != nil {
				return nil, err
			}
			seq = append(seq, class)
		case c == '.':
			p.pos++
			last = len(seq)
			seq = append(seq, charsElem([]runeRange{{0, utf8.MaxRune}}))
		case c == '<' || c == '!':
			tok, err := p.token()
			if err != nil {
				return nil, err
			}
			last = len(seq)
			seq = append(seq, tok)
		case c == '(':
			if p.depth++; p.depth > maxGBNFNesting {
				return nil, p.errorf("groups nested deeper than %d", maxGBNFNesting)
			}
			p.pos++
			p.space(true)
			alts, err := p.alternates(true)
			if err != nil {
				return nil, err
			}
			if p.pos >= len(p.src) || p.src[p.pos] != ')' {
				return nil, p.errorf("expected )")
			}
			p.pos++
			p.depth--
			ref, err := p.b.group(p.groupName(), alts)
			if err != nil {
				return nil, err
			}
			last = len(seq)
			seq = append(seq, ref)
		case isWordByte(c):
			name := p.name()
			last = len(seq)
			seq = append(seq, ruleRef(p.id(name)))
		case c == '*' || c == '+' || c == '?' || c == '{':
			if last < 0 {
				return nil, p.errorf("%c without anything before it to repeat", c)
			}
			lo, hi, err := p.repetition()
			if err != nil {
				return nil, err
			}
			rep, err := p.b.repeat(p.groupName(), seq[last:], lo, hi)
			if err != nil {
				return nil, err
			}
			seq = append(seq[:last], rep...)
			last = -1 // "a"** is an error, as in llama.cpp
		case c == '|' || c == ')':
			return seq, nil
		case c == '\n' || c == '\r':
			if !nested {
				return seq, nil
			}
			p.pos++
		default:
			return nil, p.errorf("unexpected %q", p.peekText())
		}
		p.space(nested)
	}
	return seq, nil
}

// token parses a token element: <[id]> or <text> (the token whose text
// is "<text>", found by Grammar.Bind), either negated by a leading !
// (any token but that one), as llama.cpp's GBNF has them.
func (p *gbnfParser) token() (gElem, error) {
	not := p.src[p.pos] == '!'
	if not {
		p.pos++
	}
	if p.pos >= len(p.src) || p.src[p.pos] != '<' {
		return gElem{}, p.errorf("expected < after !")
	}
	start := p.pos
	if strings.HasPrefix(p.src[p.pos:], "<[") {
		p.pos += 2
		digits := p.pos
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		id, err := strconv.ParseInt(p.src[digits:p.pos], 10, 32)
		if err != nil || !strings.HasPrefix(p.src[p.pos:], "]>") {
			p.pos = start
			return gElem{}, p.errorf("expected a token id: <[123]>")
		}
		p.pos += 2
		return tokenElem(int32(id), "", not), nil
	}
	end := strings.IndexAny(p.src[p.pos+1:], ">\n")
	if end < 0 || p.src[p.pos+1+end] != '>' || end == 0 {
		return gElem{}, p.errorf("expected a token: <text> on one line")
	}
	p.pos += end + 2
	return tokenElem(-1, p.src[start:p.pos], not), nil
}

// literal parses a "string": one element a character.
func (p *gbnfParser) literal() ([]gElem, error) {
	p.pos++
	var seq []gElem
	for {
		if p.pos >= len(p.src) || p.src[p.pos] == '\n' {
			return nil, p.errorf("unterminated string")
		}
		if p.src[p.pos] == '"' {
			p.pos++
			return seq, nil
		}
		r, err := p.char()
		if err != nil {
			return nil, err
		}
		seq = append(seq, charsElem([]runeRange{{r, r}}))
	}
}

// class parses a [character class], negated by a leading ^.
func (p *gbnfParser) class() (gElem, error) {
	p.pos++
	negate := p.pos < len(p.src) && p.src[p.pos] == '^'
	if negate {
		p.pos++
	}
	var rs []runeRange
	for {
		if p.pos >= len(p.src) {
			return gElem{}, p.errorf("unterminated character class")
		}
		if p.src[p.pos] == ']' {
			p.pos++
			return charsElem(normalize(rs, negate)), nil
		}
		lo, err := p.char()
		if err != nil {
			return gElem{}, err
		}
		hi := lo
		if p.pos+1 < len(p.src) && p.src[p.pos] == '-' && p.src[p.pos+1] != ']' {
			p.pos++
			if hi, err = p.char(); err != nil {
				return gElem{}, err
			}
			if hi < lo {
				return gElem{}, p.errorf("character range %q-%q is backwards", lo, hi)
			}
		}
		rs = append(rs, runeRange{lo, hi})
	}
}

func (p *gbnfParser) groupName() string {
	p.groups++
	return fmt.Sprintf("%s_%d", p.rule, p.groups)
}

// repetition parses *, +, ? or {m}, {m,}, {m,n}, {,n}; hi < 0: no bound.
func (p *gbnfParser) repetition() (lo, hi int, err error) {
	c := p.src[p.pos]
	p.pos++
	switch c {
	case '*':
		return 0, -1, nil
	case '+':
		return 1, -1, nil
	case '?':
		return 0, 1, nil
	}
	end := strings.IndexByte(p.src[p.pos:], '}')
	if end < 0 {
		return 0, 0, p.errorf("unterminated {")
	}
	body := strings.TrimSpace(p.src[p.pos : p.pos+end])
	num := func(s string, dflt int) (int, error) {
		s = strings.TrimSpace(s)
		if s == "" && dflt >= -1 {
			return dflt, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, p.errorf("bad repetition count %q", s)
		}
		return n, nil
	}
	if a, b, ok := strings.Cut(body, ","); ok {
		if lo, err = num(a, 0); err == nil {
			hi, err = num(b, -1)
		}
	} else if lo, err = num(body, -2); err == nil {
		hi = lo
	}
	p.pos += end + 1
	return lo, hi, err
}

// char parses one character of a literal or class, escapes included.
func (p *gbnfParser) char() (rune, error) {
	if p.src[p.pos] != '\\' {
		r, size := utf8.DecodeRuneInString(p.src[p.pos:])
		if r == utf8.RuneError && size <= 1 {
			return 0, p.errorf("invalid UTF-8")
		}
		p.pos += size
		return r, nil
	}
	if p.pos+1 >= len(p.src) {
		return 0, p.errorf("unterminated escape")
	}
	c := p.src[p.pos+1]
	p.pos += 2
	switch c {
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case '\\', '"', '[', ']', '-', '^':
		return rune(c), nil
	case 'x', 'u', 'U':
		n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		if p.pos+n > len(p.src) {
			return 0, p.errorf("\\%c needs %d hex digits", c, n)
		}
		v, err := strconv.ParseUint(p.src[p.pos:p.pos+n], 16, 32)
		if err != nil || v > utf8.MaxRune {
			return 0, p.errorf("bad escape \\%c%s", c, p.src[p.pos:p.pos+n])
		}
		p.pos += n
		return rune(v), nil
	}
	return 0, p.errorf("unknown escape \\%c", c)
}

func (p *gbnfParser) name() string {
	start := p.pos
	for p.pos < len(p.src) && isWordByte(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// space skips blanks and # comments, and line breaks where newlines.
func (p *gbnfParser) space(newlines bool) {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		case (c == '\n' || c == '\r') && newlines:
			p.pos++
		default:
			return
		}
	}
}

func (p *gbnfParser) peekText() string {
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return string(r)
}
