package bench

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Comparison is one metric seen in two reports.
type Comparison struct {
	Group, Name, Unit string
	Better            Better
	A, B              float64
	HasA, HasB        bool
}

// Ratio is B/A; ok is false when either side is missing or A is zero.
func (c Comparison) Ratio() (ratio float64, ok bool) {
	if !c.HasA || !c.HasB || c.A == 0 {
		return 0, false
	}
	return c.B / c.A, true
}

// sameBand is how close a ratio must be to 1 to be called "same": closer than
// run-to-run noise on a shared machine usually is.
const sameBand = 0.02

// Verdict says whether B improved on A for this metric: "better", "worse",
// "same" (within 2%), or "" when the metric has no direction or a side is
// missing.
func (c Comparison) Verdict() string {
	r, ok := c.Ratio()
	if !ok || c.Better == Neutral {
		return ""
	}
	switch {
	case r > 1-sameBand && r < 1+sameBand:
		return "same"
	case (r > 1) == (c.Better == HigherIsBetter):
		return "better"
	default:
		return "worse"
	}
}

// Compare pairs the metrics of a and b by (group, name), in a's order first
// and then the metrics only b has.
func Compare(a, b *Report) []Comparison {
	type key struct{ g, n string }
	idx := map[key]int{}
	var out []Comparison
	for _, m := range a.Metrics {
		k := key{m.Group, m.Name}
		if _, dup := idx[k]; dup {
			continue
		}
		idx[k] = len(out)
		out = append(out, Comparison{Group: m.Group, Name: m.Name, Unit: m.Unit, Better: m.Better, A: m.Value, HasA: true})
	}
	for _, m := range b.Metrics {
		k := key{m.Group, m.Name}
		if i, ok := idx[k]; ok {
			if !out[i].HasB {
				out[i].B, out[i].HasB = m.Value, true
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, Comparison{Group: m.Group, Name: m.Name, Unit: m.Unit, Better: m.Better, B: m.Value, HasB: true})
	}
	return out
}

// WriteComparison prints the two reports side by side with B/A ratios.
func WriteComparison(w io.Writer, nameA, nameB string, a, b *Report) error {
	fmt.Fprintf(w, "A: %s\n   %s\n", nameA, describe(a))
	fmt.Fprintf(w, "B: %s\n   %s\n", nameB, describe(b))
	if a.Kind != b.Kind {
		fmt.Fprintf(w, "warning: comparing a %q report with a %q report\n", a.Kind, b.Kind)
	}
	fmt.Fprintln(w)
	rows := [][]string{{"group", "metric", "unit", "A", "B", "B/A", "verdict"}}
	group := "\x00"
	for _, c := range Compare(a, b) {
		g := c.Group
		if g == group {
			g = ""
		} else {
			group = c.Group
		}
		ratio := "-"
		if r, ok := c.Ratio(); ok {
			ratio = fmt.Sprintf("%.3fx", r)
		}
		rows = append(rows, []string{g, c.Name, c.Unit, side(c.A, c.HasA), side(c.B, c.HasB), ratio, c.Verdict()})
	}
	return writeAligned(w, rows, 3)
}

// writeAligned prints rows as columns separated by two spaces; the first
// nLeft columns are left-aligned (names), the rest right-aligned (numbers).
func writeAligned(w io.Writer, rows [][]string, nLeft int) error {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	var sb strings.Builder
	for _, row := range rows {
		sb.Reset()
		for i, cell := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			if i > 0 {
				sb.WriteString("  ")
			}
			if i < nLeft {
				sb.WriteString(cell + pad)
			} else {
				sb.WriteString(pad + cell)
			}
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(sb.String(), " ")); err != nil {
			return fmt.Errorf("write comparison: %w", err)
		}
	}
	return nil
}

func side(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return formatFigure(v)
}

func describe(r *Report) string {
	s := fmt.Sprintf("%s, %s", r.Kind, r.Created.UTC().Format("2006-01-02 15:04:05Z"))
	if r.Label != "" {
		s = r.Label + ": " + s
	}
	if r.Env.CPUModel != "" {
		s += ", " + r.Env.CPUModel
	}
	if r.Env.Commit != "" {
		c := r.Env.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += ", commit " + c
	}
	return s
}
