package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
)

// svgShapes parses an SVG strictly and returns its element counts and every
// numeric x/y/cx/cy coordinate, to check that nothing is drawn off the canvas.
func svgShapes(t *testing.T, doc []byte) (map[string]int, []float64) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	counts := map[string]int{}
	var coords []float64
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("svg not well-formed: %v\n%s", err, doc)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "x", "y", "cx", "cy", "x1", "x2", "y1", "y2":
					v, err := strconv.ParseFloat(a.Value, 64)
					if err != nil {
						t.Fatalf("<%s %s=%q>", se.Name.Local, a.Name.Local, a.Value)
					}
					coords = append(coords, v)
				}
			}
		}
	}
	return counts, coords
}

func TestLineChart(t *testing.T) {
	cases := []struct {
		name    string
		chart   *LineChart
		circles int
		noData  bool
	}{
		{"two series", &LineChart{Title: "t", Series: []Series{
			{Name: "a", Points: []Point{{1, 10}, {4, 30}, {16, 25}}},
			{Name: "b", Points: []Point{{1, 5}, {4, 6}, {16, 7}}}}, LogX: true, YFrom0: true}, 6, false},
		{"single point", &LineChart{Title: "t", Series: []Series{{Name: "a", Points: []Point{{3, 3}}}}}, 1, false},
		{"constant zero", &LineChart{Title: "t", Series: []Series{{Name: "a", Points: []Point{{1, 0}, {2, 0}}}}, YFrom0: true}, 2, false},
		{"NaN and Inf skipped", &LineChart{Title: "t", Series: []Series{{Name: "a",
			Points: []Point{{1, math.NaN()}, {2, 2}, {math.Inf(1), 3}, {3, 1}}}}}, 2, false},
		{"log axis drops x ≤ 0", &LineChart{Title: "t", LogX: true, Series: []Series{{Name: "a", Points: []Point{{0, 1}, {2, 2}}}}}, 1, false},
		{"step CDF has no markers", &LineChart{Title: "t", Step: true, YFrom0: true, Series: []Series{{Name: "a",
			Points: []Point{{1, 0.25}, {2, 0.5}, {5, 0.75}, {9, 1}}}}}, 0, false},
		{"empty", &LineChart{Title: "t"}, 0, true},
		{"negative values", &LineChart{Title: "t", Series: []Series{{Name: "a", Points: []Point{{-5, -2}, {5, 3}}}}}, 2, false},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		if err := tc.chart.WriteSVG(&buf); err != nil {
			t.Fatal(err)
		}
		counts, coords := svgShapes(t, buf.Bytes())
		if counts["svg"] != 1 || counts["circle"] != tc.circles {
			t.Errorf("%s: %v", tc.name, counts)
		}
		if strings.Contains(buf.String(), "no data") != tc.noData {
			t.Errorf("%s: no-data label mismatch", tc.name)
		}
		for _, v := range coords {
			if v < 0 || v > svgW || math.IsNaN(v) {
				t.Errorf("%s: coordinate %g off the canvas", tc.name, v)
			}
		}
	}
}

func TestBarChart(t *testing.T) {
	c := &BarChart{Title: "b", YLabel: "GB/s", Categories: []string{"Q4_0", "Q8_0", "a very long category name"},
		Series: []BarSeries{{Name: "x", Values: []float64{1, 2, math.NaN()}}, {Name: "y", Values: []float64{3, 4, 5}}}}
	var buf bytes.Buffer
	if err := c.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	counts, coords := svgShapes(t, buf.Bytes())
	// 5 bars (one NaN skipped), 2 legend swatches, 1 background.
	if counts["rect"] != 8 {
		t.Errorf("%d rects", counts["rect"])
	}
	for _, v := range coords {
		if v < 0 || v > svgW {
			t.Errorf("coordinate %g off the canvas", v)
		}
	}
	var empty bytes.Buffer
	if err := (&BarChart{Title: "e"}).WriteSVG(&empty); err != nil || !strings.Contains(empty.String(), "no data") {
		t.Errorf("empty bar chart: %v", err)
	}
}

func TestNiceAxis(t *testing.T) {
	a := newLinearAxis([]float64{3, 97}, true, 0, 100)
	if a.lo != 0 || a.hi != 100 || len(a.ticks) != 6 || a.tickLabels[1] != "20" {
		t.Errorf("axis %+v", a)
	}
	b := newLinearAxis([]float64{0.012, 0.049}, false, 0, 100)
	if b.tickLabels[0] != "0.01" || b.tickLabels[4] != "0.05" || b.lo > 0.012 || b.hi < 0.049 {
		t.Errorf("small axis %+v", b)
	}
	for _, tc := range []struct{ raw, want float64 }{{0.7, 1}, {1.5, 2}, {3, 5}, {7, 10}, {0.03, 0.05}, {0, 1}} {
		if got := niceStep(tc.raw); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("niceStep(%g) = %g, want %g", tc.raw, got, tc.want)
		}
	}
	if got := fmtValue(12345.6); got != "12346" {
		t.Errorf("fmtValue = %s", got)
	}
}
