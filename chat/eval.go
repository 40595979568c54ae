package chat

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Limits that keep a hostile or broken template from exhausting memory or
// time: chat prompts are far below them.
const (
	maxOutput     = 64 << 20
	maxSteps      = 10_000_000
	maxCallDepth  = 64
	maxRangeItems = 1_000_000
)

var (
	errBreak    = errors.New("break outside a loop")
	errContinue = errors.New("continue outside a loop")
)

// RaiseError is raise_exception() called by the template itself, usually
// to reject a conversation shape (for example roles not alternating).
type RaiseError struct{ Msg string }

func (e *RaiseError) Error() string { return "chat template raised: " + e.Msg }

type scope struct {
	vars   map[string]value
	parent *scope
}

func newScope(parent *scope) *scope { return &scope{vars: map[string]value{}, parent: parent} }

func (sc *scope) lookup(name string) (value, bool) {
	for s := sc; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

type state struct {
	steps int
	depth int
}

func (s *state) tick() error {
	s.steps++
	if s.steps > maxSteps {
		return fmt.Errorf("template ran over %d steps", maxSteps)
	}
	return nil
}

func (s *state) execBody(w *strings.Builder, sc *scope, body []node) error {
	for _, n := range body {
		if err := s.exec(w, sc, n); err != nil {
			return err
		}
		if w.Len() > maxOutput {
			return fmt.Errorf("template output over %d bytes", maxOutput)
		}
	}
	return nil
}

func (s *state) exec(w *strings.Builder, sc *scope, n node) error {
	if err := s.tick(); err != nil {
		return err
	}
	switch n := n.(type) {
	case *textNode:
		w.WriteString(n.s)
	case *outputNode:
		v, err := s.eval(sc, n.e)
		if err != nil {
			return err
		}
		w.WriteString(str(v))
	case *ifNode:
		for i, c := range n.conds {
			v, err := s.eval(sc, c)
			if err != nil {
				return err
			}
			if truthy(v) {
				return s.execBody(w, sc, n.bodies[i])
			}
		}
		return s.execBody(w, sc, n.els)
	case *forNode:
		return s.execFor(w, sc, n)
	case *setNode:
		return s.execSet(sc, n)
	case *macroNode:
		sc.vars[n.name] = s.makeMacro(sc, n)
	case *callBlockNode:
		return s.execCallBlock(w, sc, n)
	case *filterNode:
		return s.execFilter(w, sc, n)
	case *breakNode:
		return errBreak
	case *continueNode:
		return errContinue
	default:
		return fmt.Errorf("internal: unknown node %T", n)
	}
	return nil
}

// execFilter renders a filter block's body and writes it through the
// block's filters.
func (s *state) execFilter(w *strings.Builder, sc *scope, n *filterNode) error {
	var b strings.Builder
	if err := s.execBody(&b, sc, n.body); err != nil {
		return err
	}
	var v value = b.String()
	for _, f := range n.chain {
		args, kw, err := s.evalArgs(sc, f.args, f.kwargs)
		if err != nil {
			return err
		}
		if v, err = filters[f.name](s, v, args, kw); err != nil {
			return fmt.Errorf("line %d: filter %s: %w", f.line, f.name, err)
		}
	}
	w.WriteString(str(v))
	return nil
}

func (s *state) execSet(sc *scope, n *setNode) error {
	var v value
	if n.body != nil {
		var b strings.Builder
		if err := s.execBody(&b, sc, n.body); err != nil {
			return err
		}
		v = b.String()
	} else {
		var err error
		if v, err = s.eval(sc, n.value); err != nil {
			return err
		}
	}
	if len(n.more) > 0 {
		return bindTargets(sc, append([]string{n.target}, n.more...), v)
	}
	if n.attr == "" {
		sc.vars[n.target] = v
		return nil
	}
	obj, _ := sc.lookup(n.target)
	ns, ok := obj.(*namespace)
	if !ok {
		return fmt.Errorf("cannot set attribute '%s' on %s '%s': only namespace() objects can be changed", n.attr, typeName(obj), n.target)
	}
	ns.d.set(n.attr, v)
	return nil
}

func (s *state) execFor(w *strings.Builder, sc *scope, n *forNode) error {
	it, err := s.eval(sc, n.iter)
	if err != nil {
		return err
	}
	all, err := iterate(it)
	if err != nil {
		return err
	}
	if d, ok := it.(*dict); ok && len(n.targets) == 2 {
		// for k, v in dict: iterate pairs, as dict.items() would
		all = pairs(d)
	}
	inner := newScope(sc)
	items := all
	if n.cond != nil { // the inline filter decides what loop.length counts
		items = nil
		for _, item := range all {
			if err := bindTargets(inner, n.targets, item); err != nil {
				return err
			}
			ok, err := s.eval(inner, n.cond)
			if err != nil {
				return err
			}
			if truthy(ok) {
				items = append(items, item)
			}
		}
	}
	if len(items) == 0 {
		return s.execBody(w, sc, n.els)
	}
	changed := &loopChanged{}
	for i, item := range items {
		inner = newScope(sc)
		if err := bindTargets(inner, n.targets, item); err != nil {
			return err
		}
		inner.vars["loop"] = loopVar(items, i, changed)
		err := s.execBody(w, inner, n.body)
		if errors.Is(err, errBreak) {
			break
		}
		if err != nil && !errors.Is(err, errContinue) {
			return err
		}
	}
	return nil
}

func pairs(d *dict) []value {
	out := make([]value, len(d.keys))
	for i, k := range d.keys {
		out[i] = []value{d.key(k), d.m[k]}
	}
	return out
}

func bindTargets(sc *scope, targets []string, item value) error {
	if len(targets) == 1 {
		sc.vars[targets[0]] = item
		return nil
	}
	tuple, ok := item.([]value)
	if !ok || len(tuple) != len(targets) {
		return fmt.Errorf("cannot unpack %s into %d loop variables", typeName(item), len(targets))
	}
	for i, t := range targets {
		sc.vars[t] = tuple[i]
	}
	return nil
}

// loopChanged is what loop.changed compares against: the arguments of
// its last call in this loop, none before the first.
type loopChanged struct {
	last value
	set  bool
}

func loopVar(items []value, i int, changed *loopChanged) *dict {
	d := newDict()
	n := len(items)
	d.set("depth", int64(1))
	d.set("depth0", int64(0))
	d.set("changed", callable(func(_ *state, args []value, _ map[string]value) (value, error) {
		now := value(append([]value{}, args...))
		if changed.set && equal(changed.last, now) {
			return false, nil
		}
		changed.last, changed.set = now, true
		return true, nil
	}))
	d.set("index", int64(i+1))
	d.set("index0", int64(i))
	d.set("revindex", int64(n-i))
	d.set("revindex0", int64(n-i-1))
	d.set("first", i == 0)
	d.set("last", i == n-1)
	d.set("length", int64(n))
	if i > 0 {
		d.set("previtem", items[i-1])
	} else {
		d.set("previtem", undefined{"previtem"})
	}
	if i+1 < n {
		d.set("nextitem", items[i+1])
	} else {
		d.set("nextitem", undefined{"nextitem"})
	}
	d.set("cycle", callable(func(_ *state, args []value, _ map[string]value) (value, error) {
		if len(args) == 0 {
			return nil, fmt.Errorf("loop.cycle needs at least one argument")
		}
		return args[i%len(args)], nil
	}))
	return d
}

// call evaluates a call expression; caller, when not nil, goes to the
// callee as the keyword argument caller (a call block's body).
func (s *state) call(sc *scope, e *callExpr, caller callable) (value, error) {
	fn, err := s.eval(sc, e.fn)
	if err != nil {
		return nil, err
	}
	f, ok := fn.(callable)
	if !ok {
		return nil, fmt.Errorf("line %d: %s is not callable", e.line, describe(e.fn, fn))
	}
	args, kw, err := s.evalArgs(sc, e.args, e.kwargs)
	if err != nil {
		return nil, err
	}
	if caller != nil {
		if kw == nil {
			kw = map[string]value{}
		}
		kw["caller"] = caller
	}
	v, err := f(s, args, kw)
	if err != nil {
		var re *RaiseError
		if errors.As(err, &re) {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: %w", e.line, err)
	}
	return v, nil
}

// execCallBlock calls the block's macro with caller, a macro of the
// block's body defined where the block stands, and writes the result.
func (s *state) execCallBlock(w *strings.Builder, sc *scope, n *callBlockNode) error {
	v, err := s.call(sc, n.call, s.makeMacro(sc, n.caller))
	if err != nil {
		return err
	}
	w.WriteString(str(v))
	return nil
}

func (s *state) makeMacro(defScope *scope, n *macroNode) callable {
	return func(s *state, args []value, kw map[string]value) (value, error) {
		if s.depth >= maxCallDepth {
			return nil, fmt.Errorf("macro '%s': calls nested over %d deep", n.name, maxCallDepth)
		}
		// Arguments beyond the parameters are varargs, keywords that name
		// none are kwargs, and caller is a call block's body, as in Jinja
		// (which also refuses them where the body never reads them).
		sc := newScope(defScope)
		varargs := []value{}
		if len(args) > len(n.params) {
			varargs = append(varargs, args[len(n.params):]...)
		}
		sc.vars["varargs"] = varargs
		kwargs := newDict()
		for _, k := range sortedKeys(kw) {
			switch {
			case k == "caller":
				sc.vars["caller"] = kw[k]
			case !slices.Contains(n.params, k):
				kwargs.set(k, kw[k])
			}
		}
		sc.vars["kwargs"] = kwargs
		for i, p := range n.params {
			switch v, ok := kw[p]; {
			case i < len(args):
				sc.vars[p] = args[i]
			case ok:
				sc.vars[p] = v
			case n.defaults[i] != nil:
				d, err := s.eval(sc, n.defaults[i])
				if err != nil {
					return nil, err
				}
				sc.vars[p] = d
			default:
				sc.vars[p] = undefined{p}
			}
		}
		s.depth++
		defer func() { s.depth-- }()
		var b strings.Builder
		if err := s.execBody(&b, sc, n.body); err != nil {
			return nil, err
		}
		return b.String(), nil
	}
}

func (s *state) evalArgs(sc *scope, args []expr, kws []kwarg) ([]value, map[string]value, error) {
	vals := make([]value, len(args))
	for i, a := range args {
		v, err := s.eval(sc, a)
		if err != nil {
			return nil, nil, err
		}
		vals[i] = v
	}
	var kw map[string]value
	if len(kws) > 0 {
		kw = make(map[string]value, len(kws))
		for _, k := range kws {
			v, err := s.eval(sc, k.e)
			if err != nil {
				return nil, nil, err
			}
			kw[k.name] = v
		}
	}
	return vals, kw, nil
}

func (s *state) eval(sc *scope, e expr) (value, error) {
	if err := s.tick(); err != nil {
		return nil, err
	}
	switch e := e.(type) {
	case *literal:
		return e.v, nil
	case *nameExpr:
		if v, ok := sc.lookup(e.name); ok {
			return v, nil
		}
		if f, ok := globals[e.name]; ok {
			return f, nil
		}
		return undefined{e.name}, nil
	case *attrExpr:
		obj, err := s.eval(sc, e.obj)
		if err != nil {
			return nil, err
		}
		if l, ok := obj.([]value); ok {
			if m := s.listMutator(sc, e.obj, l, e.name); m != nil {
				return m, nil
			}
		}
		return getAttr(obj, e.name), nil
	case *indexExpr:
		obj, err := s.eval(sc, e.obj)
		if err != nil {
			return nil, err
		}
		idx, err := s.eval(sc, e.idx)
		if err != nil {
			return nil, err
		}
		return getItem(obj, idx)
	case *sliceExpr:
		return s.evalSlice(sc, e)
	case *callExpr:
		return s.call(sc, e, nil)
	case *filterExpr:
		x, err := s.eval(sc, e.arg)
		if err != nil {
			return nil, err
		}
		args, kw, err := s.evalArgs(sc, e.args, e.kwargs)
		if err != nil {
			return nil, err
		}
		v, err := filters[e.name](s, x, args, kw)
		if err != nil {
			return nil, fmt.Errorf("line %d: filter %s: %w", e.line, e.name, err)
		}
		return v, nil
	case *testExpr:
		x, err := s.eval(sc, e.arg)
		if err != nil {
			return nil, err
		}
		args, _, err := s.evalArgs(sc, e.args, nil)
		if err != nil {
			return nil, err
		}
		ok, err := tests[e.name](x, args)
		if err != nil {
			return nil, fmt.Errorf("line %d: test %s: %w", e.line, e.name, err)
		}
		return ok != e.negate, nil
	case *binExpr:
		return s.evalBinary(sc, e)
	case *unaryExpr:
		x, err := s.eval(sc, e.x)
		if err != nil {
			return nil, err
		}
		return unary(e, x)
	case *condExpr:
		c, err := s.eval(sc, e.cond)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return s.eval(sc, e.a)
		}
		if e.b == nil {
			return undefined{}, nil
		}
		return s.eval(sc, e.b)
	case *listExpr:
		out := make([]value, len(e.items))
		for i, it := range e.items {
			v, err := s.eval(sc, it)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *dictExpr:
		d := newDict()
		for i := range e.keys {
			k, err := s.eval(sc, e.keys[i])
			if err != nil {
				return nil, err
			}
			v, err := s.eval(sc, e.vals[i])
			if err != nil {
				return nil, err
			}
			d.setKey(k, v)
		}
		return d, nil
	}
	return nil, fmt.Errorf("internal: unknown expression %T", e)
}

func describe(e expr, v value) string {
	if n, ok := e.(*nameExpr); ok {
		if _, u := v.(undefined); u {
			return fmt.Sprintf("'%s' (undefined)", n.name)
		}
		return fmt.Sprintf("'%s'", n.name)
	}
	if a, ok := e.(*attrExpr); ok {
		return fmt.Sprintf("attribute '%s' (%s)", a.name, typeName(v))
	}
	return typeName(v)
}

func unary(e *unaryExpr, x value) (value, error) {
	switch e.op {
	case "not":
		return !truthy(x), nil
	case "-":
		switch n := x.(type) {
		case int64:
			return -n, nil
		case float64:
			return -n, nil
		}
	case "+":
		switch x.(type) {
		case int64, float64:
			return x, nil
		}
	}
	return nil, fmt.Errorf("line %d: bad operand type for unary %s: %s", e.line, e.op, typeName(x))
}

func (s *state) evalBinary(sc *scope, e *binExpr) (value, error) {
	l, err := s.eval(sc, e.l)
	if err != nil {
		return nil, err
	}
	switch e.op { // short-circuit, returning the deciding operand like Python
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return s.eval(sc, e.r)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return s.eval(sc, e.r)
	}
	r, err := s.eval(sc, e.r)
	if err != nil {
		return nil, err
	}
	v, err := binary(e.op, l, r)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", e.line, err)
	}
	return v, nil
}

// listMutator is a list's append, extend, insert or pop bound to where the
// list came from (a variable, a namespace attribute, a dict key): lists
// are values here, so the changed list is stored back there, which is what
// Python's in-place change looks like to a template (Kimi K2's
// `ns.ids.append(x)`). A list from anywhere else changes nowhere.
func (s *state) listMutator(sc *scope, from expr, l []value, name string) callable {
	store := func(v []value) error {
		switch o := from.(type) {
		case *nameExpr:
			for t := sc; t != nil; t = t.parent {
				if _, ok := t.vars[o.name]; ok {
					t.vars[o.name] = v
					return nil
				}
			}
		case *attrExpr:
			owner, err := s.eval(sc, o.obj)
			if err != nil {
				return err
			}
			switch w := owner.(type) {
			case *namespace:
				w.d.set(o.name, v)
			case *dict:
				w.set(o.name, v)
			}
		case *indexExpr:
			owner, err := s.eval(sc, o.obj)
			if err != nil {
				return err
			}
			if d, ok := owner.(*dict); ok {
				k, err := s.eval(sc, o.idx)
				if err != nil {
					return err
				}
				d.setKey(k, v)
			}
		}
		return nil
	}
	switch name {
	case "append":
		return func(_ *state, args []value, _ map[string]value) (value, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("append takes one argument")
			}
			return nil, store(append(l[:len(l):len(l)], args[0]))
		}
	case "extend":
		return func(_ *state, args []value, _ map[string]value) (value, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("extend takes one argument")
			}
			more, err := iterate(args[0])
			if err != nil {
				return nil, err
			}
			return nil, store(append(l[:len(l):len(l)], more...))
		}
	case "insert":
		return func(_ *state, args []value, _ map[string]value) (value, error) {
			i, ok := argInt(args, 0)
			if len(args) != 2 || !ok {
				return nil, fmt.Errorf("insert takes an index and a value")
			}
			i = clampIndex(i, len(l))
			out := append(append(append(make([]value, 0, len(l)+1), l[:i]...), args[1]), l[i:]...)
			return nil, store(out)
		}
	case "pop":
		return func(_ *state, args []value, _ map[string]value) (value, error) {
			if len(l) == 0 {
				return nil, fmt.Errorf("pop from empty list")
			}
			i := len(l) - 1
			if len(args) > 0 {
				n, ok := argInt(args, 0)
				if !ok {
					return nil, fmt.Errorf("pop index must be an integer")
				}
				if n < 0 {
					n += len(l)
				}
				if n < 0 || n >= len(l) {
					return nil, fmt.Errorf("pop index out of range")
				}
				i = n
			}
			v := l[i]
			out := append(append(make([]value, 0, len(l)-1), l[:i]...), l[i+1:]...)
			return v, store(out)
		}
	}
	return nil
}

// argInt is args[i] as an int.
func argInt(args []value, i int) (int, bool) {
	if i >= len(args) {
		return 0, false
	}
	n, ok := args[i].(int64)
	return int(n), ok
}

// clampIndex is Python's list.insert index: negative from the end,
// clamped to the list.
func clampIndex(i, n int) int {
	if i < 0 {
		i += n
	}
	return max(0, min(i, n))
}
