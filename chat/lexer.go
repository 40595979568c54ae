package chat

import (
	"fmt"
	"strings"
	"unicode"
)

type tokKind int

const (
	tEOF tokKind = iota
	tText
	tVarBegin   // {{
	tVarEnd     // }}
	tBlockBegin // {%
	tBlockEnd   // %}
	tName
	tString
	tInt
	tFloat
	tOp
)

type token struct {
	kind tokKind
	val  string
	line int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of template"
	case tText:
		return "text"
	case tVarBegin:
		return "'{{'"
	case tVarEnd:
		return "'}}'"
	case tBlockBegin:
		return "'{%'"
	case tBlockEnd:
		return "'%}'"
	case tString:
		return fmt.Sprintf("string %q", t.val)
	}
	return fmt.Sprintf("%q", t.val)
}

// lexer turns template source into tokens. Whitespace control is applied
// here, the way Jinja's lexer does it: `-` on a tag strips all whitespace
// on that side, trim_blocks drops the first newline after a block or
// comment tag, lstrip_blocks drops spaces and tabs between a line start and
// a block or comment tag (unless the tag opens with `+`).
type lexer struct {
	src  string
	pos  int
	line int
	toks []token
	// what the text following the last tag must lose at its start
	stripNext   bool // `-` closed the last tag
	newlineNext bool // trim_blocks after a block/comment tag
	afterTag    bool // a tag has been seen (text is no longer at template start)
}

const maxTemplateLen = 1 << 20

func lex(src string) ([]token, error) {
	if len(src) > maxTemplateLen {
		return nil, fmt.Errorf("template is %d bytes, over the %d limit", len(src), maxTemplateLen)
	}
	lx := &lexer{src: src, line: 1}
	if err := lx.run(); err != nil {
		return nil, err
	}
	return lx.toks, nil
}

func (lx *lexer) errf(format string, args ...any) error {
	return fmt.Errorf("line %d: %s", lx.line, fmt.Sprintf(format, args...))
}

func (lx *lexer) emit(k tokKind, v string) {
	lx.toks = append(lx.toks, token{kind: k, val: v, line: lx.line})
}

func (lx *lexer) run() error {
	for lx.pos < len(lx.src) {
		i := nextTagStart(lx.src, lx.pos)
		text := lx.src[lx.pos:i]
		if i == len(lx.src) {
			lx.emitText(text, false, false)
			lx.advance(i)
			break
		}
		kind := lx.src[i+1]
		mod := byte(0)
		if i+2 < len(lx.src) && (lx.src[i+2] == '-' || lx.src[i+2] == '+') {
			mod = lx.src[i+2]
		}
		isBlock := kind == '%' || kind == '#'
		lx.emitText(text, mod == '-', isBlock && mod != '+')
		lx.advance(i)
		lx.afterTag = true
		start := i + 2
		if mod != 0 {
			start++
		}
		lx.advance(start)
		var err error
		switch kind {
		case '#':
			err = lx.comment()
		case '{':
			lx.emit(tVarBegin, "{{")
			err = lx.expr("}}", tVarEnd)
		default:
			lx.emit(tBlockBegin, "{%")
			err = lx.expr("%}", tBlockEnd)
			if err == nil {
				err = lx.maybeRaw()
			}
		}
		if err != nil {
			return err
		}
	}
	lx.emit(tEOF, "")
	return nil
}

// nextTagStart returns the index of the next "{{", "{%" or "{#" at or after
// from, or len(s).
func nextTagStart(s string, from int) int {
	for i := from; i+1 < len(s); i++ {
		if s[i] == '{' && (s[i+1] == '{' || s[i+1] == '%' || s[i+1] == '#') {
			return i
		}
	}
	return len(s)
}

func (lx *lexer) advance(to int) {
	lx.line += strings.Count(lx.src[lx.pos:to], "\n")
	lx.pos = to
}

// emitText applies the pending start-of-text trims and the end-of-text trim
// asked for by the tag that follows, then emits what is left.
func (lx *lexer) emitText(text string, stripRight, lstrip bool) {
	// lstrip_blocks looks at the source line, before any start trim.
	cut := 0
	if !stripRight && lstrip {
		trimmed := strings.TrimRight(text, " \t")
		if strings.HasSuffix(trimmed, "\n") || (trimmed == "" && !lx.afterTag) {
			cut = len(text) - len(trimmed)
		}
	}
	if lx.stripNext {
		text = strings.TrimLeft(text, " \t\n\r\v\f")
	} else if lx.newlineNext {
		if strings.HasPrefix(text, "\r\n") {
			text = text[2:]
		} else if strings.HasPrefix(text, "\n") {
			text = text[1:]
		}
	}
	lx.stripNext, lx.newlineNext = false, false
	if stripRight {
		text = strings.TrimRight(text, " \t\n\r\v\f")
	} else {
		text = text[:len(text)-min(cut, len(text))]
	}
	if text != "" {
		lx.emit(tText, text)
	}
}

// closeTag records how the text after a tag must be trimmed.
func (lx *lexer) closeTag(minus bool, block bool) {
	lx.stripNext = minus
	lx.newlineNext = block && !minus
}

func (lx *lexer) comment() error {
	for i := lx.pos; i+1 < len(lx.src); i++ {
		if lx.src[i] == '#' && lx.src[i+1] == '}' {
			minus := i > lx.pos && lx.src[i-1] == '-'
			lx.advance(i + 2)
			lx.closeTag(minus, true)
			return nil
		}
	}
	return lx.errf("unterminated comment")
}

// maybeRaw handles {% raw %}: everything up to {% endraw %} is text.
func (lx *lexer) maybeRaw() error {
	n := len(lx.toks)
	if n < 3 || lx.toks[n-2].kind != tName || lx.toks[n-2].val != "raw" || lx.toks[n-3].kind != tBlockBegin {
		return nil
	}
	lx.toks = lx.toks[:n-3]
	for i := lx.pos; i+1 < len(lx.src); i++ {
		if lx.src[i] != '{' || lx.src[i+1] != '%' {
			continue
		}
		j := i + 2
		minusL := j < len(lx.src) && lx.src[j] == '-'
		if j < len(lx.src) && (lx.src[j] == '-' || lx.src[j] == '+') {
			j++
		}
		rest := strings.TrimLeft(lx.src[j:], " \t\n\r")
		if !strings.HasPrefix(rest, "endraw") {
			continue
		}
		k := len(lx.src) - len(rest) + len("endraw")
		rest2 := strings.TrimLeft(lx.src[k:], " \t\n\r")
		k = len(lx.src) - len(rest2)
		minusR := strings.HasPrefix(rest2, "-%}")
		if !minusR && !strings.HasPrefix(rest2, "%}") {
			continue
		}
		end := k + 2
		if minusR {
			end++
		}
		lx.emitText(lx.src[lx.pos:i], minusL, !minusL)
		lx.advance(end)
		lx.closeTag(minusR, true)
		return nil
	}
	return lx.errf("unterminated raw block: missing {%% endraw %%}")
}

// closingBracket is the bracket that closes each opening one.
var closingBracket = map[string]string{"(": ")", "[": "]", "{": "}"}

// expr lexes expression tokens up to the closing delimiter.
func (lx *lexer) expr(closer string, closeKind tokKind) error {
	openLine := lx.line
	// open holds the closing brackets the tag still expects: as in Jinja's
	// lexer, the closer ends the tag only outside brackets, so
	// {{ {'a': {'b': 1}} }} closes its dicts before the tag, and a closing
	// bracket that is not the one expected is an error there.
	var open []string
	for {
		// skip whitespace
		for lx.pos < len(lx.src) && strings.IndexByte(" \t\n\r", lx.src[lx.pos]) >= 0 {
			lx.advance(lx.pos + 1)
		}
		if lx.pos >= len(lx.src) {
			return fmt.Errorf("line %d: unterminated tag: missing %q", openLine, closer)
		}
		rest := lx.src[lx.pos:]
		if len(open) == 0 && (strings.HasPrefix(rest, closer) || strings.HasPrefix(rest, "-"+closer) || strings.HasPrefix(rest, "+"+closer)) {
			minus := rest[0] == '-'
			n := len(closer)
			if rest[0] == '-' || rest[0] == '+' {
				n++
			}
			lx.emit(closeKind, closer)
			lx.advance(lx.pos + n)
			lx.closeTag(minus, closeKind == tBlockEnd)
			return nil
		}
		c := rest[0]
		switch {
		case c == '\'' || c == '"':
			s, n, err := unquote(rest)
			if err != nil {
				return lx.errf("%v", err)
			}
			lx.emit(tString, s)
			lx.advance(lx.pos + n)
		case isDigit(c):
			n, isFloat := scanNumber(rest)
			k := tInt
			if isFloat {
				k = tFloat
			}
			lx.emit(k, strings.ReplaceAll(rest[:n], "_", ""))
			lx.advance(lx.pos + n)
		case isNameStart(c):
			n := 1
			for n < len(rest) && isNameChar(rest[n]) {
				n++
			}
			lx.emit(tName, rest[:n])
			lx.advance(lx.pos + n)
		default:
			op := scanOp(rest)
			if op == "" {
				return lx.errf("unexpected character %q in tag", rune(c))
			}
			switch op {
			case "(", "[", "{":
				if len(open) == maxDepth {
					return lx.errf("brackets nested more than %d levels deep", maxDepth)
				}
				open = append(open, closingBracket[op])
			case ")", "]", "}":
				switch {
				case len(open) == 0:
					return lx.errf("unexpected '%s'", op)
				case open[len(open)-1] != op:
					return lx.errf("unexpected '%s', expected '%s'", op, open[len(open)-1])
				}
				open = open[:len(open)-1]
			}
			lx.emit(tOp, op)
			lx.advance(lx.pos + len(op))
		}
	}
}

var ops = []string{"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "="}

func scanOp(s string) string {
	for _, op := range ops {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	return ""
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isNameStart(c byte) bool { return c == '_' || (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isNameChar(c byte) bool  { return isNameStart(c) || isDigit(c) }

func scanNumber(s string) (n int, isFloat bool) {
	for n < len(s) && (isDigit(s[n]) || s[n] == '_') {
		n++
	}
	if n+1 < len(s) && s[n] == '.' && isDigit(s[n+1]) {
		isFloat = true
		n++
		for n < len(s) && (isDigit(s[n]) || s[n] == '_') {
			n++
		}
	}
	if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
		m := n + 1
		if m < len(s) && (s[m] == '+' || s[m] == '-') {
			m++
		}
		if m < len(s) && isDigit(s[m]) {
			isFloat = true
			n = m
			for n < len(s) && isDigit(s[n]) {
				n++
			}
		}
	}
	return n, isFloat
}

// unquote reads a Python string literal at the start of s and returns its
// value and length in s.
func unquote(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'v':
				b.WriteByte('\v')
			case '0', '1', '2', '3', '4', '5', '6', '7':
				// Up to three octal digits, as Python's \ooo.
				r := rune(e - '0')
				for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
					i++
					r = r<<3 | rune(s[i]-'0')
				}
				b.WriteRune(r)
			case '\\', '\'', '"':
				b.WriteByte(e)
			case '\n':
				// line continuation
			case 'u', 'x', 'U':
				n := 2 // \xhh
				switch e {
				case 'u':
					n = 4
				case 'U':
					n = 8
				}
				if i+n >= len(s) {
					return "", 0, fmt.Errorf("bad \\%c escape in string", e)
				}
				var r rune
				for _, h := range s[i+1 : i+1+n] {
					d := hexVal(h)
					if d < 0 {
						return "", 0, fmt.Errorf("bad \\%c escape in string", e)
					}
					r = r<<4 | rune(d)
				}
				if r > unicode.MaxRune {
					return "", 0, fmt.Errorf("bad \\%c escape in string: %X is not a character", e, r)
				}
				b.WriteRune(r)
				i += n
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated string literal")
}

func hexVal(c rune) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
