package server

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// GaugeSource supplies extra gauges for /metrics, read at every scrape.
// The server cannot import the device layer, so cmd wires a device's
// telemetry (memory, utilization, temperature, power, clocks) in through
// this interface. Gauges is called from the HTTP handler goroutine while
// the engine runs, so it must be safe for concurrent use and quick.
type GaugeSource interface {
	Gauges() []Gauge
}

// GaugeFunc adapts a function to a GaugeSource.
type GaugeFunc func() []Gauge

// Gauges calls f.
func (f GaugeFunc) Gauges() []Gauge { return f() }

// Gauge is one metric family: a Prometheus name such as
// "nuri:device_memory_used_bytes", its help text and its samples. A family
// with no samples is left out (a field the device cannot read).
type Gauge struct {
	Name, Help string
	Samples    []GaugeSample
}

// GaugeSample is one labelled value of a Gauge.
type GaugeSample struct {
	Labels []Label
	Value  float64
}

// Label is one name="value" pair of a sample.
type Label struct {
	Name, Value string
}

// validMetricName reports whether s is a Prometheus metric name
// ([a-zA-Z_:][a-zA-Z0-9_:]*); labelName is the same without colons.
func validMetricName(s string) bool { return validName(s, true) }

func validLabelName(s string) bool { return validName(s, false) && !strings.HasPrefix(s, "__") }

func validName(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c == ':' && colon:
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// builtinName reports whether name belongs to a metric the server writes
// itself, which a source must not redefine (a duplicate family makes
// Prometheus reject the whole scrape).
func builtinName(name string) bool {
	return strings.HasPrefix(name, "vllm:") || strings.HasPrefix(name, "go_") ||
		strings.HasPrefix(name, "process_") || name == paddedTokensName
}

// writeGauges renders the source's gauges after the built-in metrics.
// Families with an invalid or duplicate name, or a sample with an invalid
// label name, are left out so one bad source cannot break the scrape
// that autoscalers depend on; they come back in skipped, for the log. err
// is the writer's error.
func writeGauges(w io.Writer, gs []Gauge) (skipped, err error) {
	p := &promWriter{w: w}
	var bad []string
	seen := map[string]bool{}
	for _, g := range gs {
		if len(g.Samples) == 0 {
			continue
		}
		if !validMetricName(g.Name) || seen[g.Name] || builtinName(g.Name) {
			bad = append(bad, fmt.Sprintf("%q: invalid or duplicate name", g.Name))
			continue
		}
		lines := make([]string, 0, len(g.Samples))
		ok := true
		for _, s := range g.Samples {
			pairs := make([]string, 0, len(s.Labels))
			for _, l := range s.Labels {
				if !validLabelName(l.Name) {
					bad = append(bad, fmt.Sprintf("%s: invalid label name %q", g.Name, l.Name))
					ok = false
					break
				}
				pairs = append(pairs, l.Name+`="`+escapeLabel(l.Value)+`"`)
			}
			if !ok {
				break
			}
			sort.Strings(pairs) // stable output whatever order the source uses
			if len(pairs) == 0 {
				lines = append(lines, g.Name+" "+fmtFloat(s.Value)+"\n")
			} else {
				lines = append(lines, g.Name+"{"+strings.Join(pairs, ",")+"} "+fmtFloat(s.Value)+"\n")
			}
		}
		if !ok {
			continue
		}
		seen[g.Name] = true
		help := g.Help
		if help == "" {
			help = g.Name
		}
		p.header(g.Name, "gauge", escapeHelp(help))
		for _, l := range lines {
			p.printf("%s", l)
		}
	}
	if len(bad) > 0 {
		skipped = fmt.Errorf("extra gauges left out: %s", strings.Join(bad, "; "))
	}
	return skipped, p.err
}

// escapeHelp escapes a HELP text as the text format requires.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}
