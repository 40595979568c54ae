package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// blockWidth is the width of vLLM's result block rules.
const blockWidth = 50

// rule centres title in a line of fill characters, as vLLM's block does.
func rule(title string, fill byte) string {
	if title != "" {
		title = " " + title + " "
	}
	if len(title) >= blockWidth {
		return title
	}
	pad := blockWidth - len(title)
	left := pad / 2
	return strings.Repeat(string(fill), left) + title + strings.Repeat(string(fill), pad-left)
}

// WriteServeSummary prints one level in the layout of vLLM's "Serving
// Benchmark Result" block, with the lines vLLM lacks (failures by status,
// P90, token accounting) added in the same style.
func WriteServeSummary(w io.Writer, lr LevelResult) error {
	var sb strings.Builder
	s := lr.Summary
	intLine := func(label string, v int) { fmt.Fprintf(&sb, "%-40s %-10d\n", label, v) }
	fltLine := func(label string, v float64) { fmt.Fprintf(&sb, "%-40s %-10.2f\n", label, v) }
	sb.WriteString(rule("Serving Benchmark Result", '=') + "\n")
	if lr.Level.RequestRate > 0 {
		fltLine("Request rate (req/s):", lr.Level.RequestRate)
		if lr.Level.Burstiness > 0 {
			fltLine("Burstiness:", lr.Level.Burstiness)
		}
	}
	if lr.Level.Concurrency > 0 {
		intLine("Maximum request concurrency:", lr.Level.Concurrency)
	}
	intLine("Successful requests:", s.Completed)
	intLine("Failed requests:", s.Failed)
	fltLine("Benchmark duration (s):", s.DurationS)
	intLine("Total input tokens:", s.TotalInputTokens)
	intLine("Total generated tokens:", s.TotalOutputTokens)
	fltLine("Request throughput (req/s):", s.RequestThroughput)
	if s.Goodput != nil {
		fltLine("Request goodput (req/s):", s.Goodput.Rate)
	}
	fltLine("Output token throughput (tok/s):", s.OutputThroughput)
	fltLine("Peak output token throughput (tok/s):", s.PeakOutputThroughput)
	intLine("Peak concurrent requests:", s.PeakConcurrency)
	fltLine("Total Token throughput (tok/s):", s.TotalTokenThroughput)
	for _, m := range []struct {
		header, short string
		st            LatencyStats
	}{
		{"Time to First Token", "TTFT", s.TTFT},
		{"Time per Output Token (excl. 1st token)", "TPOT", s.TPOT},
		{"Inter-token Latency", "ITL", s.ITL},
		{"End-to-end Latency", "E2EL", s.E2EL},
	} {
		sb.WriteString(rule(m.header, '-') + "\n")
		fltLine("Mean "+m.short+" (ms):", m.st.Mean)
		fltLine("Median "+m.short+" (ms):", m.st.Median)
		fltLine("P90 "+m.short+" (ms):", m.st.P90)
		fltLine("P99 "+m.short+" (ms):", m.st.P99)
	}
	if c := lr.Server; c != nil {
		sb.WriteString(rule("Server counters (/metrics)", '-') + "\n")
		fltLine("Prefix cache hit rate (%):", 100*c.PrefixHitRate())
		intLine("Preemptions:", int(c.Preemptions))
		if c.SpecDraftTokens > 0 {
			sb.WriteString(rule("Speculative Decoding", '-') + "\n")
			fltLine("Acceptance rate (%):", 100*c.AcceptanceRate())
			fltLine("Acceptance length:", c.AcceptanceLength())
			intLine("Drafts:", int(c.SpecDrafts))
			intLine("Draft tokens:", int(c.SpecDraftTokens))
			intLine("Accepted tokens:", int(c.SpecAcceptedTokens))
		}
	}
	if len(s.Failures) > 0 {
		sb.WriteString(rule("Failures", '-') + "\n")
		for _, k := range sortedKeys(s.Failures) {
			intLine(k+":", s.Failures[k])
		}
	}
	sb.WriteString(rule("Token counts", '-') + "\n")
	fmt.Fprintf(&sb, "%-40s %d/%d\n", "Output tokens from server usage:", s.OutputTokensFromUsage, s.Completed)
	sb.WriteString(rule("", '=') + "\n")
	_, err := io.WriteString(w, sb.String())
	if err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
