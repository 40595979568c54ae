package bench

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strconv"
)

// Chart geometry, in SVG user units. The plot sits left, the legend right.
const (
	svgW       = 760.0
	svgH       = 380.0
	plotLeft   = 72.0
	plotRight  = 580.0
	plotTop    = 40.0
	plotBottom = 320.0
	legendX    = 596.0
)

// color picks the i-th colour of a colour-blind friendly palette that also
// prints acceptably in grey.
func color(i int) string {
	switch i % 10 {
	case 0:
		return "#1f77b4"
	case 1:
		return "#ff7f0e"
	case 2:
		return "#2ca02c"
	case 3:
		return "#d62728"
	case 4:
		return "#9467bd"
	case 5:
		return "#8c564b"
	case 6:
		return "#e377c2"
	case 7:
		return "#7f7f7f"
	case 8:
		return "#bcbd22"
	default:
		return "#17becf"
	}
}

// Point is one (x, y) sample of a series.
type Point struct{ X, Y float64 }

// Series is a named sequence of points, drawn in the given order.
type Series struct {
	Name   string
	Points []Point
}

// LineChart draws one or more series against numeric axes.
type LineChart struct {
	Title  string
	XLabel string
	YLabel string
	Series []Series
	// LogX uses a logarithmic x axis (all x must be > 0), with ticks at the
	// data's x values; suits concurrency levels 1, 4, 16, 64.
	LogX bool
	// Step draws each series as a right-continuous step function (a CDF)
	// without markers.
	Step bool
	// YFrom0 anchors the y axis at zero (throughputs, latencies).
	YFrom0 bool
}

// ChartTitle implements Chart.
func (c *LineChart) ChartTitle() string { return c.Title }

// WriteSVG implements Chart.
func (c *LineChart) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	svgOpen(bw, c.Title)
	pts := c.finitePoints()
	if len(pts) == 0 {
		svgNoData(bw)
		return svgClose(bw)
	}
	xs, ys := make([]float64, 0, len(pts)), make([]float64, 0, len(pts))
	for _, p := range pts {
		xs = append(xs, p.X)
		ys = append(ys, p.Y)
	}
	var xa axis
	if c.LogX {
		xa = newLogAxis(xs, plotLeft, plotRight)
	} else {
		xa = newLinearAxis(xs, false, plotLeft, plotRight)
	}
	ya := newLinearAxis(ys, c.YFrom0, plotBottom, plotTop)
	drawAxes(bw, xa, ya, c.XLabel, c.YLabel)
	for i, s := range c.Series {
		c.drawSeries(bw, i, s, xa, ya)
	}
	drawLegend(bw, c.seriesNames())
	return svgClose(bw)
}

func (c *LineChart) finitePoints() []Point {
	var out []Point
	for _, s := range c.Series {
		for _, p := range s.Points {
			if finite(p.X) && finite(p.Y) && (!c.LogX || p.X > 0) {
				out = append(out, p)
			}
		}
	}
	return out
}

func (c *LineChart) seriesNames() []string {
	names := make([]string, len(c.Series))
	for i, s := range c.Series {
		names[i] = s.Name
	}
	return names
}

func (c *LineChart) drawSeries(w *bufio.Writer, i int, s Series, xa, ya axis) {
	var pts []Point
	for _, p := range s.Points {
		if finite(p.X) && finite(p.Y) && (!c.LogX || p.X > 0) {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 {
		return
	}
	col := color(i)
	fmt.Fprintf(w, `<path fill="none" stroke="%s" stroke-width="2" d="`, col)
	if c.Step {
		// Start on the axis so the first jump is visible.
		fmt.Fprintf(w, "M%s,%s", num(xa.pos(pts[0].X)), num(ya.pos(ya.lo)))
		for _, p := range pts {
			fmt.Fprintf(w, " H%s V%s", num(xa.pos(p.X)), num(ya.pos(p.Y)))
		}
	} else {
		for j, p := range pts {
			cmd := " L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(w, "%s%s,%s", cmd, num(xa.pos(p.X)), num(ya.pos(p.Y)))
		}
	}
	fmt.Fprint(w, "\"/>\n")
	if c.Step {
		return
	}
	for _, p := range pts {
		fmt.Fprintf(w, `<circle cx="%s" cy="%s" r="3.5" fill="%s"><title>%s: x=%s, y=%s</title></circle>`+"\n",
			num(xa.pos(p.X)), num(ya.pos(p.Y)), col, esc(s.Name), fmtValue(p.X), fmtValue(p.Y))
	}
}

// BarChart draws grouped bars: one group per category, one bar per series.
type BarChart struct {
	Title      string
	YLabel     string
	Categories []string
	Series     []BarSeries
}

// BarSeries holds one value per category (NaN: no bar).
type BarSeries struct {
	Name   string
	Values []float64
}

// ChartTitle implements Chart.
func (c *BarChart) ChartTitle() string { return c.Title }

// WriteSVG implements Chart.
func (c *BarChart) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	svgOpen(bw, c.Title)
	var ys []float64
	for _, s := range c.Series {
		for _, v := range s.Values {
			if finite(v) {
				ys = append(ys, v)
			}
		}
	}
	if len(ys) == 0 || len(c.Categories) == 0 || len(c.Series) == 0 {
		svgNoData(bw)
		return svgClose(bw)
	}
	ya := newLinearAxis(ys, true, plotBottom, plotTop)
	drawYAxis(bw, ya, c.YLabel)
	fmt.Fprintf(bw, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`+"\n",
		num(plotLeft), num(plotBottom), num(plotRight), num(plotBottom))
	groupW := (plotRight - plotLeft) / float64(len(c.Categories))
	barW := groupW * 0.8 / float64(len(c.Series))
	for ci, cat := range c.Categories {
		gx := plotLeft + groupW*float64(ci) + groupW*0.1
		for si, s := range c.Series {
			if ci >= len(s.Values) || !finite(s.Values[ci]) {
				continue
			}
			v := s.Values[ci]
			y0, y1 := ya.pos(math.Max(ya.lo, 0)), ya.pos(v)
			top, h := math.Min(y0, y1), math.Abs(y0-y1)
			fmt.Fprintf(bw, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s / %s: %s</title></rect>`+"\n",
				num(gx+barW*float64(si)), num(top), num(barW), num(h), color(si), esc(cat), esc(s.Name), fmtValue(v))
		}
		fmt.Fprintf(bw, `<text x="%s" y="%s" text-anchor="middle" font-size="11">%s</text>`+"\n",
			num(plotLeft+groupW*(float64(ci)+0.5)), num(plotBottom+16), esc(shorten(cat, int(groupW/6.5))))
	}
	names := make([]string, len(c.Series))
	for i, s := range c.Series {
		names[i] = s.Name
	}
	drawLegend(bw, names)
	return svgClose(bw)
}

// axis maps data values to SVG coordinates.
type axis struct {
	lo, hi     float64 // data range shown
	from, to   float64 // SVG coordinates of lo and hi
	log        bool
	ticks      []float64
	tickLabels []string
}

func (a axis) pos(v float64) float64 {
	var t float64
	if a.log {
		t = (math.Log(v) - math.Log(a.lo)) / (math.Log(a.hi) - math.Log(a.lo))
	} else {
		t = (v - a.lo) / (a.hi - a.lo)
	}
	return a.from + t*(a.to-a.from)
}

func newLinearAxis(vals []float64, from0 bool, from, to float64) axis {
	lo, hi := minMax(vals)
	if from0 && lo > 0 {
		lo = 0
	}
	if from0 && hi < 0 {
		hi = 0
	}
	if hi == lo {
		// A single value: give it room on both sides (or above zero).
		pad := math.Max(math.Abs(hi)*0.5, 1)
		if lo == 0 {
			hi = pad
		} else {
			lo, hi = lo-pad, hi+pad
		}
		if from0 && lo < 0 && hi > 0 {
			lo = 0
		}
	}
	step := niceStep((hi - lo) / 5)
	lo = math.Floor(lo/step) * step
	hi = math.Ceil(hi/step) * step
	a := axis{lo: lo, hi: hi, from: from, to: to}
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	for i := 0; ; i++ {
		v := lo + float64(i)*step // multiply, not accumulate, so ticks do not drift
		if v > hi+step*1e-6 {
			break
		}
		a.ticks = append(a.ticks, v)
		a.tickLabels = append(a.tickLabels, strconv.FormatFloat(v, 'f', decimals, 64))
	}
	return a
}

func newLogAxis(vals []float64, from, to float64) axis {
	lo, hi := minMax(vals)
	if hi == lo {
		lo, hi = lo/2, hi*2
	}
	a := axis{lo: lo / 1.25, hi: hi * 1.25, from: from, to: to, log: true}
	distinct := uniqueSorted(vals)
	if len(distinct) <= 12 {
		a.ticks = distinct
	} else {
		for d := math.Pow(10, math.Floor(math.Log10(lo))); d <= hi; d *= 10 {
			if d >= a.lo {
				a.ticks = append(a.ticks, d)
			}
		}
	}
	for _, t := range a.ticks {
		a.tickLabels = append(a.tickLabels, fmtValue(t))
	}
	return a
}

// niceStep rounds a raw tick step to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || !finite(raw) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch n := raw / mag; {
	case n <= 1:
		return mag
	case n <= 2:
		return 2 * mag
	case n <= 5:
		return 5 * mag
	default:
		return 10 * mag
	}
}

func drawAxes(w *bufio.Writer, xa, ya axis, xLabel, yLabel string) {
	drawYAxis(w, ya, yLabel)
	fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`+"\n",
		num(plotLeft), num(plotBottom), num(plotRight), num(plotBottom))
	for i, t := range xa.ticks {
		x := xa.pos(t)
		fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`+"\n",
			num(x), num(plotBottom), num(x), num(plotBottom+5))
		fmt.Fprintf(w, `<text x="%s" y="%s" text-anchor="middle" font-size="11">%s</text>`+"\n",
			num(x), num(plotBottom+18), esc(xa.tickLabels[i]))
	}
	fmt.Fprintf(w, `<text x="%s" y="%s" text-anchor="middle" font-size="12">%s</text>`+"\n",
		num((plotLeft+plotRight)/2), num(plotBottom+40), esc(xLabel))
}

func drawYAxis(w *bufio.Writer, ya axis, label string) {
	fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`+"\n",
		num(plotLeft), num(plotTop), num(plotLeft), num(plotBottom))
	for i, t := range ya.ticks {
		y := ya.pos(t)
		fmt.Fprintf(w, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e3e3e3"/>`+"\n",
			num(plotLeft), num(y), num(plotRight), num(y))
		fmt.Fprintf(w, `<text x="%s" y="%s" text-anchor="end" font-size="11">%s</text>`+"\n",
			num(plotLeft-6), num(y+4), esc(ya.tickLabels[i]))
	}
	fmt.Fprintf(w, `<text transform="translate(16,%s) rotate(-90)" text-anchor="middle" font-size="12">%s</text>`+"\n",
		num((plotTop+plotBottom)/2), esc(label))
}

func drawLegend(w *bufio.Writer, names []string) {
	for i, n := range names {
		y := plotTop + 6 + float64(i)*18
		fmt.Fprintf(w, `<rect x="%s" y="%s" width="12" height="12" fill="%s"/>`+"\n", num(legendX), num(y-10), color(i))
		fmt.Fprintf(w, `<text x="%s" y="%s" font-size="12">%s</text>`+"\n", num(legendX+18), num(y), esc(shorten(n, 24)))
	}
}

func svgOpen(w *bufio.Writer, title string) {
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-label="%s" font-family="sans-serif">`+"\n",
		num(svgW), num(svgH), num(svgW), num(svgH), esc(title))
	fmt.Fprintf(w, `<title>%s</title>`+"\n", esc(title))
	fmt.Fprintf(w, `<rect x="0" y="0" width="%s" height="%s" fill="#fff"/>`+"\n", num(svgW), num(svgH))
	fmt.Fprintf(w, `<text x="%s" y="24" text-anchor="middle" font-size="15" font-weight="bold">%s</text>`+"\n",
		num(svgW/2), esc(title))
}

func svgNoData(w *bufio.Writer) {
	fmt.Fprintf(w, `<text x="%s" y="%s" text-anchor="middle" font-size="14" fill="#777">no data</text>`+"\n",
		num(svgW/2), num(svgH/2))
}

func svgClose(w *bufio.Writer) error {
	fmt.Fprint(w, "</svg>\n")
	return w.Flush()
}

func minMax(vals []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return lo, hi
}

func uniqueSorted(vals []float64) []float64 {
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// num prints an SVG coordinate compactly.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// fmtValue prints a data value readably: whole numbers from 1000 up, two
// decimals from 1, three significant digits below.
func fmtValue(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1 || a == 0:
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func esc(s string) string { return html.EscapeString(s) }

func shorten(s string, n int) string {
	r := []rune(s)
	if n < 4 || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
