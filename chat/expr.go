package chat

import (
	"strconv"
)

// Expression nodes.
type expr interface{}

type (
	literal  struct{ v value }
	nameExpr struct {
		name string
		line int
	}
	attrExpr struct {
		obj  expr
		name string
	}
	indexExpr struct{ obj, idx expr }
	sliceExpr struct{ obj, lo, hi, step expr }
	kwarg     struct {
		name string
		e    expr
	}
	callExpr struct {
		fn     expr
		args   []expr
		kwargs []kwarg
		line   int
	}
	filterExpr struct {
		arg    expr
		name   string
		args   []expr
		kwargs []kwarg
		line   int
	}
	testExpr struct {
		arg    expr
		name   string
		args   []expr
		negate bool
		line   int
	}
	binExpr struct {
		op   string
		l, r expr
		line int
	}
	unaryExpr struct {
		op   string
		x    expr
		line int
	}
	condExpr struct{ cond, a, b expr }
	listExpr struct{ items []expr }
	dictExpr struct{ keys, vals []expr }
)

// maxChain bounds operator chains (a+b+c...), whose left-nested trees
// evaluate recursively.
const maxChain = 1000

func (p *parser) parseTupleOrExpr() (expr, error) {
	e, err := p.parseExpr()
	if err != nil || !p.isOp(",") {
		return e, err
	}
	items := []expr{e}
	for p.isOp(",") {
		p.next()
		if p.peek().kind == tBlockEnd {
			break
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	return &listExpr{items: items}, nil
}

func (p *parser) parseExpr() (expr, error) {
	defer p.leave()
	if err := p.enter(); err != nil {
		return nil, err
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if !p.isName("if") {
		return e, nil
	}
	p.next()
	cond, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	var els expr
	if p.isName("else") {
		p.next()
		if els, err = p.parseExpr(); err != nil {
			return nil, err
		}
	}
	return &condExpr{cond: cond, a: e, b: els}, nil
}

func (p *parser) parseOr() (expr, error) {
	return p.parseLeft(p.parseAnd, "or")
}

func (p *parser) parseAnd() (expr, error) {
	return p.parseLeft(p.parseNot, "and")
}

// parseLeft parses a left-associative chain of keyword operators.
func (p *parser) parseLeft(sub func() (expr, error), kw string) (expr, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for n := 0; p.isName(kw); n++ {
		if n >= maxChain {
			return nil, p.errf(p.peek(), "more than %d '%s' operators in one expression", maxChain, kw)
		}
		t := p.next()
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = &binExpr{op: kw, l: l, r: r, line: t.line}
	}
	return l, nil
}

func (p *parser) parseNot() (expr, error) {
	defer p.leave()
	if err := p.enter(); err != nil {
		return nil, err
	}
	if p.isName("not") {
		t := p.next()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{op: "not", x: x, line: t.line}, nil
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (expr, error) {
	l, err := p.parseMath1()
	if err != nil {
		return nil, err
	}
	for n := 0; ; n++ {
		if n >= maxChain {
			return nil, p.errf(p.peek(), "more than %d comparisons in one expression", maxChain)
		}
		t := p.peek()
		var op string
		switch {
		case t.kind == tOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == ">" || t.val == "<=" || t.val == ">="):
			op = t.val
			p.next()
		case t.kind == tName && t.val == "in":
			op = "in"
			p.next()
		case t.kind == tName && t.val == "not" && p.toks[p.pos+1].kind == tName && p.toks[p.pos+1].val == "in":
			op = "not in"
			p.next()
			p.next()
		default:
			return l, nil
		}
		r, err := p.parseMath1()
		if err != nil {
			return nil, err
		}
		l = &binExpr{op: op, l: l, r: r, line: t.line}
	}
}

func (p *parser) parseBinary(sub func() (expr, error), opsHere ...string) (expr, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for n := 0; ; n++ {
		if n >= maxChain {
			return nil, p.errf(p.peek(), "more than %d operators in one expression", maxChain)
		}
		t := p.peek()
		found := false
		for _, op := range opsHere {
			if t.kind == tOp && t.val == op {
				found = true
			}
		}
		if !found {
			return l, nil
		}
		p.next()
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = &binExpr{op: t.val, l: l, r: r, line: t.line}
	}
}

func (p *parser) parseMath1() (expr, error) { return p.parseBinary(p.parseConcat, "+", "-") }
func (p *parser) parseConcat() (expr, error) {
	return p.parseBinary(p.parseMath2, "~")
}
func (p *parser) parseMath2() (expr, error) {
	return p.parseBinary(p.parsePow, "*", "/", "//", "%")
}
func (p *parser) parsePow() (expr, error) { return p.parseBinary(p.parseUnary, "**") }

func (p *parser) parseUnary() (expr, error) {
	var x expr
	var err error
	if p.isOp("-") || p.isOp("+") {
		t := p.next()
		inner, err := p.parseUnaryNoFilter()
		if err != nil {
			return nil, err
		}
		x = &unaryExpr{op: t.val, x: inner, line: t.line}
	} else if x, err = p.parsePostfix(); err != nil {
		return nil, err
	}
	return p.parseFilters(x)
}

func (p *parser) parseUnaryNoFilter() (expr, error) {
	defer p.leave()
	if err := p.enter(); err != nil {
		return nil, err
	}
	if p.isOp("-") || p.isOp("+") {
		t := p.next()
		inner, err := p.parseUnaryNoFilter()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{op: t.val, x: inner, line: t.line}, nil
	}
	return p.parsePostfix()
}

// parseFilters parses trailing `| filter(...)` and `is [not] test ...`.
func (p *parser) parseFilters(x expr) (expr, error) {
	for n := 0; ; n++ {
		if n > maxChain {
			return nil, p.errf(p.peek(), "more than %d filters and tests in one expression", maxChain)
		}
		switch {
		case p.isOp("|"):
			p.next()
			t, err := p.expectKind(tName, "a filter name")
			if err != nil {
				return nil, err
			}
			if _, ok := filters[t.val]; !ok {
				return nil, p.errf(t, "unknown filter '%s'", t.val)
			}
			f := &filterExpr{arg: x, name: t.val, line: t.line}
			if p.isOp("(") {
				p.next()
				if f.args, f.kwargs, err = p.parseArgs(); err != nil {
					return nil, err
				}
			}
			x = f
		case p.isName("is"):
			p.next()
			neg := false
			if p.isName("not") {
				p.next()
				neg = true
			}
			t, err := p.expectKind(tName, "a test name")
			if err != nil {
				return nil, err
			}
			if _, ok := tests[t.val]; !ok {
				return nil, p.errf(t, "unknown test '%s'", t.val)
			}
			te := &testExpr{arg: x, name: t.val, negate: neg, line: t.line}
			if p.isOp("(") {
				p.next()
				if te.args, _, err = p.parseArgs(); err != nil {
					return nil, err
				}
			} else if p.testArgFollows() {
				a, err := p.parsePostfix()
				if err != nil {
					return nil, err
				}
				te.args = []expr{a}
			}
			x = te
		default:
			return x, nil
		}
	}
}

// testArgFollows reports whether a parenthesis-free test argument follows,
// as in `x is divisibleby 3` or `x is sameas false`.
func (p *parser) testArgFollows() bool {
	t := p.peek()
	switch t.kind {
	case tString, tInt, tFloat:
		return true
	case tName:
		switch t.val {
		case "else", "or", "and", "if", "in", "is", "not":
			return false
		}
		return true
	}
	return false
}

func (p *parser) parseArgs() ([]expr, []kwarg, error) {
	var args []expr
	var kws []kwarg
	for !p.isOp(")") {
		if p.peek().kind == tName && p.toks[p.pos+1].kind == tOp && p.toks[p.pos+1].val == "=" {
			name := p.next().val
			p.next()
			e, err := p.parseExpr()
			if err != nil {
				return nil, nil, err
			}
			kws = append(kws, kwarg{name: name, e: e})
		} else {
			e, err := p.parseExpr()
			if err != nil {
				return nil, nil, err
			}
			args = append(args, e)
		}
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	return args, kws, p.expectOp(")")
}

func (p *parser) parsePostfix() (expr, error) {
	x, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for n := 0; ; n++ {
		if n > maxChain {
			return nil, p.errf(p.peek(), "more than %d attribute, index and call steps in one expression", maxChain)
		}
		switch {
		case p.isOp("."):
			p.next()
			t := p.next()
			if t.kind != tName && t.kind != tInt {
				return nil, p.errf(t, "expected an attribute name, found %v", t)
			}
			if t.kind == tInt {
				n, _ := strconv.ParseInt(t.val, 10, 64)
				x = &indexExpr{obj: x, idx: &literal{v: n}}
			} else {
				x = &attrExpr{obj: x, name: t.val}
			}
		case p.isOp("["):
			p.next()
			if x, err = p.parseSubscript(x); err != nil {
				return nil, err
			}
		case p.isOp("("):
			t := p.next()
			args, kws, err := p.parseArgs()
			if err != nil {
				return nil, err
			}
			x = &callExpr{fn: x, args: args, kwargs: kws, line: t.line}
		default:
			return x, nil
		}
	}
}

func (p *parser) parseSubscript(obj expr) (expr, error) {
	var parts [3]expr
	n := 0
	isSlice := false
	for {
		if p.isOp(":") {
			p.next()
			isSlice = true
			n++
			if n > 2 {
				return nil, p.errf(p.peek(), "too many ':' in slice")
			}
			continue
		}
		if p.isOp("]") {
			p.next()
			break
		}
		if parts[n] != nil {
			return nil, p.errf(p.peek(), "expected ':' or ']' in subscript, found %v", p.peek())
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		parts[n] = e
	}
	if !isSlice {
		if parts[0] == nil {
			return nil, p.errf(p.peek(), "empty subscript")
		}
		return &indexExpr{obj: obj, idx: parts[0]}, nil
	}
	return &sliceExpr{obj: obj, lo: parts[0], hi: parts[1], step: parts[2]}, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tName:
		switch t.val {
		case "true", "True":
			return &literal{v: true}, nil
		case "false", "False":
			return &literal{v: false}, nil
		case "none", "None":
			return &literal{v: nil}, nil
		}
		return &nameExpr{name: t.val, line: t.line}, nil
	case tString:
		s := t.val
		for p.peek().kind == tString { // adjacent literals concatenate
			s += p.next().val
		}
		return &literal{v: s}, nil
	case tInt:
		n, err := strconv.ParseInt(t.val, 10, 64)
		if err != nil {
			return nil, p.errf(t, "bad integer %s", t.val)
		}
		return &literal{v: n}, nil
	case tFloat:
		f, err := strconv.ParseFloat(t.val, 64)
		if err != nil {
			return nil, p.errf(t, "bad number %s", t.val)
		}
		return &literal{v: f}, nil
	case tOp:
		switch t.val {
		case "(":
			if p.isOp(")") {
				p.next()
				return &listExpr{}, nil
			}
			e, err := p.parseTupleOrExpr()
			if err != nil {
				return nil, err
			}
			return e, p.expectOp(")")
		case "[":
			l := &listExpr{}
			for !p.isOp("]") {
				e, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, e)
				if !p.isOp(",") {
					break
				}
				p.next()
			}
			return l, p.expectOp("]")
		case "{":
			d := &dictExpr{}
			for !p.isOp("}") {
				k, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				if err := p.expectOp(":"); err != nil {
					return nil, err
				}
				v, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				d.keys = append(d.keys, k)
				d.vals = append(d.vals, v)
				if !p.isOp(",") {
					break
				}
				p.next()
			}
			return d, p.expectOp("}")
		}
	}
	return nil, p.errf(t, "unexpected %v in expression", t)
}
