package chat

import (
	"fmt"
	"strings"
)

// Statement nodes of a parsed template.
type node interface{}

type (
	textNode   struct{ s string }
	outputNode struct{ e expr }
	ifNode     struct {
		conds  []expr
		bodies [][]node
		els    []node
	}
	forNode struct {
		targets []string
		iter    expr
		cond    expr // inline `if` filter, may be nil
		body    []node
		els     []node
	}
	setNode struct {
		target string
		more   []string // set a, b = ...: the targets after the first
		attr   string   // set ns.attr = ...
		value  expr
		body   []node // block set: {% set x %}...{% endset %}
	}
	// callBlockNode is {% call(params) m(args) %}body{% endcall %}: m is
	// called with caller, a macro of params whose body is the block's.
	callBlockNode struct {
		caller *macroNode
		call   *callExpr
	}
	macroNode struct {
		name     string
		params   []string
		defaults []expr // parallel to params; nil when none
		body     []node
	}
	// filterNode is {% filter f(args)|g %}...{% endfilter %}: the body
	// rendered, then passed through the chain (each filter's arg is
	// ignored: the text comes first).
	filterNode struct {
		chain []*filterExpr
		body  []node
	}
	breakNode    struct{}
	continueNode struct{}
)

type parser struct {
	toks  []token
	pos   int
	depth int // nesting of expressions and blocks, bounded by maxDepth
}

// maxDepth bounds nesting so a hostile template cannot exhaust the stack
// (Go aborts the process on stack overflow; it cannot be recovered).
const maxDepth = 200

// enter counts one nesting level; the caller defers p.leave().
func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errf(p.peek(), "template nested more than %d levels deep", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if p.pos < len(p.toks)-1 {
		p.pos++
	}
	return t
}

func (p *parser) errf(t token, format string, args ...any) error {
	return fmt.Errorf("line %d: %s", t.line, fmt.Sprintf(format, args...))
}

func (p *parser) isOp(op string) bool {
	t := p.peek()
	return t.kind == tOp && t.val == op
}

func (p *parser) isName(n string) bool {
	t := p.peek()
	return t.kind == tName && t.val == n
}

func (p *parser) expectOp(op string) error {
	t := p.next()
	if t.kind != tOp || t.val != op {
		return p.errf(t, "expected '%s', found %v", op, t)
	}
	return nil
}

func (p *parser) expectKind(k tokKind, what string) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, p.errf(t, "expected %s, found %v", what, t)
	}
	return t, nil
}

func (p *parser) expectName() (string, error) {
	t, err := p.expectKind(tName, "a name")
	return t.val, err
}

// parseBody parses nodes until one of the end tags (a block whose first
// word is in ends) and returns the body and the tag word found, with the
// parser positioned after that word. At top level ends is empty and the
// body runs to EOF.
func (p *parser) parseBody(opener string, openLine int, ends ...string) ([]node, string, error) {
	var body []node
	for {
		t := p.next()
		switch t.kind {
		case tEOF:
			if len(ends) == 0 {
				return body, "", nil
			}
			return nil, "", fmt.Errorf("line %d: unexpected end of template: '%s' opened at line %d is not closed (expected %s)",
				t.line, opener, openLine, strings.Join(ends, " or "))
		case tText:
			body = append(body, &textNode{s: t.val})
		case tVarBegin:
			e, err := p.parseExpr()
			if err != nil {
				return nil, "", err
			}
			if _, err := p.expectKind(tVarEnd, "'}}'"); err != nil {
				return nil, "", err
			}
			body = append(body, &outputNode{e: e})
		case tBlockBegin:
			kw, err := p.expectKind(tName, "a statement name")
			if err != nil {
				return nil, "", err
			}
			for _, e := range ends {
				if kw.val == e {
					return body, kw.val, nil
				}
			}
			n, err := p.parseStatement(kw)
			if err != nil {
				return nil, "", err
			}
			if n != nil {
				body = append(body, n)
			}
		default:
			return nil, "", p.errf(t, "unexpected %v", t)
		}
	}
}

func (p *parser) endTag() error {
	_, err := p.expectKind(tBlockEnd, "'%}'")
	return err
}

func (p *parser) parseStatement(kw token) (node, error) {
	defer p.leave()
	if err := p.enter(); err != nil {
		return nil, err
	}
	switch kw.val {
	case "if":
		return p.parseIf(kw)
	case "for":
		return p.parseFor(kw)
	case "set":
		return p.parseSet(kw)
	case "macro":
		return p.parseMacro(kw)
	case "call":
		return p.parseCallBlock(kw)
	case "filter":
		return p.parseFilterBlock(kw)
	case "break":
		return &breakNode{}, p.endTag()
	case "continue":
		return &continueNode{}, p.endTag()
	case "generation":
		// transformers' marker for assistant masks: render the body as is.
		if err := p.endTag(); err != nil {
			return nil, err
		}
		body, _, err := p.parseBody("generation", kw.line, "endgeneration")
		if err != nil {
			return nil, err
		}
		return &ifNode{conds: []expr{&literal{v: true}}, bodies: [][]node{body}}, p.endTag()
	case "endif", "endfor", "endset", "endmacro", "endfilter", "else", "elif", "endgeneration", "endcall":
		return nil, p.errf(kw, "unexpected '%s' without a matching opening tag", kw.val)
	}
	return nil, p.errf(kw, "unknown statement '%s'", kw.val)
}

func (p *parser) parseIf(kw token) (node, error) {
	n := &ifNode{}
	cond, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	for {
		if err := p.endTag(); err != nil {
			return nil, err
		}
		body, end, err := p.parseBody("if", kw.line, "elif", "else", "endif")
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch end {
		case "elif":
			if cond, err = p.parseExpr(); err != nil {
				return nil, err
			}
			continue
		case "else":
			if err := p.endTag(); err != nil {
				return nil, err
			}
			if n.els, _, err = p.parseBody("if", kw.line, "endif"); err != nil {
				return nil, err
			}
		}
		return n, p.endTag()
	}
}

func (p *parser) parseFor(kw token) (node, error) {
	n := &forNode{}
	for {
		name, err := p.expectName()
		if err != nil {
			return nil, err
		}
		n.targets = append(n.targets, name)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	if t := p.next(); t.kind != tName || t.val != "in" {
		return nil, p.errf(t, "expected 'in' in for loop, found %v", t)
	}
	// The iterable stops before an inline `if`, so parse it without the
	// conditional-expression level.
	iter, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	n.iter = iter
	if p.isName("if") {
		p.next()
		if n.cond, err = p.parseExpr(); err != nil {
			return nil, err
		}
	}
	if p.isName("recursive") {
		return nil, p.errf(p.peek(), "recursive loops are not supported")
	}
	if err := p.endTag(); err != nil {
		return nil, err
	}
	body, end, err := p.parseBody("for", kw.line, "else", "endfor")
	if err != nil {
		return nil, err
	}
	n.body = body
	if end == "else" {
		if err := p.endTag(); err != nil {
			return nil, err
		}
		if n.els, _, err = p.parseBody("for", kw.line, "endfor"); err != nil {
			return nil, err
		}
	}
	return n, p.endTag()
}

func (p *parser) parseSet(kw token) (node, error) {
	name, err := p.expectName()
	if err != nil {
		return nil, err
	}
	n := &setNode{target: name}
	if p.isOp(".") {
		p.next()
		if n.attr, err = p.expectName(); err != nil {
			return nil, err
		}
	}
	for n.attr == "" && p.isOp(",") {
		p.next()
		t, err := p.expectName()
		if err != nil {
			return nil, err
		}
		n.more = append(n.more, t)
	}
	if len(n.more) > 0 && p.peek().kind == tBlockEnd {
		return nil, p.errf(p.peek(), "a block set takes one name")
	}
	if p.peek().kind == tBlockEnd {
		p.next()
		if n.body, _, err = p.parseBody("set", kw.line, "endset"); err != nil {
			return nil, err
		}
		return n, p.endTag()
	}
	if err := p.expectOp("="); err != nil {
		return nil, err
	}
	if n.value, err = p.parseTupleOrExpr(); err != nil {
		return nil, err
	}
	return n, p.endTag()
}

// parseFilterBlock reads {% filter name(args)|name2 %}body{% endfilter %}.
func (p *parser) parseFilterBlock(kw token) (node, error) {
	n := &filterNode{}
	for {
		t, err := p.expectKind(tName, "a filter name")
		if err != nil {
			return nil, err
		}
		if _, ok := filters[t.val]; !ok {
			return nil, p.errf(t, "unknown filter '%s'", t.val)
		}
		f := &filterExpr{name: t.val, line: t.line}
		if p.isOp("(") {
			p.next()
			if f.args, f.kwargs, err = p.parseArgs(); err != nil {
				return nil, err
			}
		}
		n.chain = append(n.chain, f)
		if len(n.chain) > maxChain {
			return nil, p.errf(t, "more than %d filters in one filter block", maxChain)
		}
		if !p.isOp("|") {
			break
		}
		p.next()
	}
	if err := p.endTag(); err != nil {
		return nil, err
	}
	var err error
	if n.body, _, err = p.parseBody("filter", kw.line, "endfilter"); err != nil {
		return nil, err
	}
	return n, p.endTag()
}

// parseParams reads a macro's (name, name=default, ...) into n.
func (p *parser) parseParams(n *macroNode) error {
	if err := p.expectOp("("); err != nil {
		return err
	}
	for !p.isOp(")") {
		pn, err := p.expectName()
		if err != nil {
			return err
		}
		var def expr
		if p.isOp("=") {
			p.next()
			if def, err = p.parseExpr(); err != nil {
				return err
			}
		}
		n.params = append(n.params, pn)
		n.defaults = append(n.defaults, def)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	return p.expectOp(")")
}

// parseCallBlock reads {% call m(args) %} or {% call(params) m(args) %},
// the body up to {% endcall %}.
func (p *parser) parseCallBlock(kw token) (node, error) {
	n := &callBlockNode{caller: &macroNode{name: "caller"}}
	if p.isOp("(") {
		if err := p.parseParams(n.caller); err != nil {
			return nil, err
		}
	}
	t := p.peek()
	e, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	call, ok := e.(*callExpr)
	if !ok {
		return nil, p.errf(t, "call block needs a macro call, as in {%% call m() %%}")
	}
	n.call = call
	if err := p.endTag(); err != nil {
		return nil, err
	}
	if n.caller.body, _, err = p.parseBody("call", kw.line, "endcall"); err != nil {
		return nil, err
	}
	return n, p.endTag()
}

func (p *parser) parseMacro(kw token) (node, error) {
	name, err := p.expectName()
	if err != nil {
		return nil, err
	}
	n := &macroNode{name: name}
	if err := p.parseParams(n); err != nil {
		return nil, err
	}
	if err := p.endTag(); err != nil {
		return nil, err
	}
	if n.body, _, err = p.parseBody("macro", kw.line, "endmacro"); err != nil {
		return nil, err
	}
	// {% endmacro name %} is allowed
	if p.peek().kind == tName {
		p.next()
	}
	return n, p.endTag()
}
