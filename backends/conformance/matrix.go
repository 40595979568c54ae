package conformance

import (
	"fmt"
	"io"
	"strings"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/quant"
)

// Status is the verdict for one op and type.
type Status int

// Verdicts.
const (
	Pass        Status = iota // every case within its limits
	Fail                      // a case failed (wrong result, guard, error)
	Unsupported               // the device does not support it and refused cleanly
)

// Symbol returns the matrix cell: ✔, ✘ or "—".
func (s Status) Symbol() string {
	switch s {
	case Pass:
		return "✔"
	case Fail:
		return "✘"
	}
	return "—"
}

func (s Status) String() string {
	return [...]string{"pass", "fail", "unsupported"}[s]
}

// Result is the verdict for one op on one type, over all its cases.
type Result struct {
	Op       backends.Op
	Type     quant.Type
	Status   Status
	Cases    int
	Worst    Metric   // worst error over the cases that ran to a comparison
	Limit    Limit    // the limit applied
	Failures []string // one line per failed case
	Note     string   // why unsupported
}

// Option configures Matrix and Run.
type Option func(*config)

type config struct {
	limits  Limits
	ref     backends.Device
	threads int
	filter  func(op backends.Op, t quant.Type) bool
}

// WithLimits replaces the limits LimitsFor picks.
func WithLimits(l Limits) Option { return func(c *config) { c.limits = l } }

// WithReference compares against ref instead of a fresh CPU device.
func WithReference(ref backends.Device) Option { return func(c *config) { c.ref = ref } }

// WithThreads sets the fresh CPU reference's worker count (default 2).
func WithThreads(n int) Option { return func(c *config) { c.threads = n } }

// Only restricts the kit to the ops and types keep accepts.
func Only(keep func(op backends.Op, t quant.Type) bool) Option {
	return func(c *config) { c.filter = keep }
}

func allCases() []testCase {
	var cs []testCase
	cs = append(cs, getRowsCases()...)
	cs = append(cs, matmulCases()...)
	cs = append(cs, fusedCases()...)
	cs = append(cs, floatCases()...)
	return append(cs, kvCases()...)
}

// Matrix runs every case on dev and returns one Result per op and type,
// in op order. It fails only when the kit cannot run at all.
func Matrix(dev backends.Device, opts ...Option) ([]Result, error) {
	c := config{limits: LimitsFor(dev), threads: 2}
	for _, o := range opts {
		o(&c)
	}
	ref := c.ref
	if ref == nil {
		r := cpu.New(c.threads)
		defer r.Close()
		ref = r
	}
	rs, err := newSide(ref)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	ds, err := newSide(dev)
	if err != nil {
		return nil, err
	}
	type key struct {
		op backends.Op
		t  quant.Type
	}
	idx := map[key]int{}
	var out []Result
	for _, tc := range allCases() {
		if (c.filter != nil && !c.filter(tc.op, tc.typ)) || (tc.needs != nil && !tc.needs(ds.s)) ||
			(tc.needsDevice != nil && !tc.needsDevice(dev)) {
			continue
		}
		k := key{tc.op, tc.typ}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Result{Op: tc.op, Type: tc.typ, Limit: c.limits(tc.op, tc.typ)})
		}
		r := &out[i]
		m, refused, err := runCase(rs, ds, c.limits, tc)
		r.Cases++
		r.Worst = r.Worst.worse(m)
		switch {
		case err != nil:
			r.Failures = append(r.Failures, err.Error())
		case refused && r.Note == "":
			r.Note = fmt.Sprintf("%s does not support %v on %v", dev.Name(), tc.op, tc.typ)
		}
	}
	for i := range out {
		r := &out[i]
		switch {
		case len(r.Failures) > 0:
			r.Status = Fail
		case r.Note != "":
			r.Status = Unsupported
		}
	}
	sortResults(out)
	return out, nil
}

// sortResults orders by op, then by the type columns' order.
func sortResults(rs []Result) {
	col := map[quant.Type]int{}
	for i, t := range Columns() {
		col[t] = i
	}
	less := func(a, b Result) bool {
		if a.Op != b.Op {
			return a.Op < b.Op
		}
		return col[a.Type] < col[b.Type]
	}
	for i := 1; i < len(rs); i++ { // insertion sort: a few dozen results
		for j := i; j > 0 && less(rs[j], rs[j-1]); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// Columns are the type columns of the matrix.
func Columns() []quant.Type {
	return []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1,
		quant.Q8_0, quant.Q8_1, quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.Q8_K,
		quant.IQ4_NL, quant.IQ4_XS, quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S,
		quant.IQ1_S, quant.IQ1_M}
}

// WriteMatrix prints results as a markdown table, op × type, like ggml's
// ops.md, followed by the failures.
func WriteMatrix(w io.Writer, device string, rs []Result) error {
	cols := Columns()
	var b strings.Builder
	fmt.Fprintf(&b, "conformance of %s against the CPU reference (✔ pass, ✘ fail, — unsupported and refused cleanly, blank: not applicable)\n\n", device)
	b.WriteString("| op |")
	for _, t := range cols {
		fmt.Fprintf(&b, " %s |", t)
	}
	b.WriteString("\n|---|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	var ops []backends.Op
	cell := map[backends.Op]map[quant.Type]Status{}
	for _, r := range rs {
		if cell[r.Op] == nil {
			cell[r.Op] = map[quant.Type]Status{}
			ops = append(ops, r.Op)
		}
		cell[r.Op][r.Type] = r.Status
	}
	for _, op := range ops {
		fmt.Fprintf(&b, "| %v |", op)
		for _, t := range cols {
			s, ok := cell[op][t]
			if !ok {
				b.WriteString("  |")
				continue
			}
			fmt.Fprintf(&b, " %s |", s.Symbol())
		}
		b.WriteString("\n")
	}
	nPass, nFail, nUns := 0, 0, 0
	for _, r := range rs {
		switch r.Status {
		case Pass:
			nPass++
		case Fail:
			nFail++
		default:
			nUns++
		}
	}
	fmt.Fprintf(&b, "\n%d pass, %d fail, %d unsupported\n", nPass, nFail, nUns)
	for _, r := range rs {
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "FAIL %v %v: %s\n", r.Op, r.Type, f)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteDetails prints one line per op and type: cases, worst error and
// limit.
func WriteDetails(w io.Writer, rs []Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s %-5s %-11s %5s %12s %12s %12s %12s\n", "op", "type", "status", "cases", "rel-RMS", "limit", "max", "limit")
	for _, r := range rs {
		fmt.Fprintf(&b, "%-10v %-5v %-11v %5d %12.3g %12.3g %12.3g %12.3g\n", r.Op, r.Type, r.Status, r.Cases,
			r.Worst.RelRMS, r.Limit.RelRMS, r.Worst.MaxNorm, r.Limit.MaxNorm)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
