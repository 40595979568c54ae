package inproc

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nuri-ai/nuri/bench"
)

func sortKernelUses(ks []KernelUse) {
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].Bytes != ks[j].Bytes {
			return ks[i].Bytes > ks[j].Bytes
		}
		return ks[i].Type < ks[j].Type
	})
}

// formatSize writes bytes as llama-bench does: MiB below 1 GiB, else GiB.
func formatSize(b uint64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
}

// formatParams writes a parameter count as llama-bench does: "1.24 B",
// with M and K for small models.
func formatParams(n uint64) string {
	switch v := float64(n); {
	case v >= 1e9:
		return fmt.Sprintf("%.2f B", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	default:
		return fmt.Sprintf("%.2f K", v/1e3)
	}
}

// formatBytes writes a byte count in decimal units (GB, MB), the units of
// bandwidth.
func formatBytes(b float64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.3f GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.2f MB", b/1e6)
	default:
		return fmt.Sprintf("%.1f kB", b/1e3)
	}
}

func tps(mean, std float64) string { return fmt.Sprintf("%.2f ± %.2f", mean, std) }

func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// testTable is llama-bench's table: model, size, params, backend, threads,
// test, t/s; with the cache's type_k and type_v after threads where either
// is not f16, as llama-bench shows them when they are not its defaults.
func testTable(res *ModelResults) bench.Table {
	t := bench.Table{Columns: []string{"model", "size", "params", "backend", "threads", "test", "t/s"}}
	kv := (res.TypeK != "" && res.TypeK != "f16") || (res.TypeV != "" && res.TypeV != "f16")
	if kv {
		t.Columns = slices.Insert(t.Columns, 5, "type_k", "type_v")
	}
	for _, tr := range res.Tests {
		row := []string{res.Model.Name, formatSize(res.Model.SizeBytes), formatParams(res.Model.Params),
			res.Backend, strconv.Itoa(res.Threads), tr.Name, tps(tr.AvgTPS, tr.StdTPS)}
		if kv {
			row = slices.Insert(row, 5, res.TypeK, res.TypeV)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// rightAligned is the columns of t that llama-bench aligns right.
func rightAligned(t bench.Table) map[int]bool {
	right := map[int]bool{}
	for i, c := range t.Columns {
		switch c {
		case "size", "params", "threads", "test", "t/s":
			right[i] = true
		}
	}
	return right
}

func batchedTable(res *ModelResults) bench.Table {
	t := bench.Table{Columns: []string{"B", "prompt", "gen", "t/s (all sequences)", "t/s per sequence", "GOP/s", "roofline t/s", "of roofline", "fastest step of roofline", "CPU share", "waited for a CPU", "host steal"}}
	sim := len(res.Batched) > 0 && res.Batched[0].SimTPS > 0
	if sim {
		t.Columns = append(t.Columns, "simulated t/s (all sequences)")
	}
	for _, b := range res.Batched {
		row := []string{strconv.Itoa(b.B), strconv.Itoa(b.Prompt), strconv.Itoa(b.Gen), tps(b.AvgTPS, b.StdTPS),
			f2(b.AvgTPS / float64(b.B)), fmt.Sprintf("%.1f", b.GOPS), "-", "-", "-", pct(b.CPUShare), waitPct(b.CPUWait), waitPct(b.HostSteal)}
		if b.Roofline != nil {
			row[6], row[7], row[8] = f2(b.Roofline.RooflineTPS), pct(b.Roofline.Ratio), pct(b.Roofline.FastestStepRatio)
		}
		if sim {
			row = append(row, f2(b.SimTPS))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// rooflineLine is the one-line summary of a generation test against the
// memory roofline.
func rooflineLine(tr TestResult, mem Bandwidth, threads int) string {
	rl := tr.Roofline
	return fmt.Sprintf("roofline: %s %.2f t/s = %s of %.2f t/s (%s %.2f GB/s measured in this run; "+
		"%s read per token: weights %s + KV %s); best repetition %.2f t/s = %s%s%s%s",
		tr.Name, tr.AvgTPS, pct(rl.Ratio), rl.RooflineTPS, bandwidthName(mem), rl.BandwidthGBs,
		formatBytes(rl.BytesPerStep), formatBytes(rl.WeightBytes), formatBytes(rl.KVBytes),
		tr.BestTPS, pct(rl.BestRatio), stepNote(tr.Steps, rl), pairedNote(tr, rl), cpuNote(tr.CPUShare, tr.CPUWait, tr.HostSteal, threads))
}

// pairedNote gives the paired ratio: each repetition against the bandwidth
// measured just before it.
func pairedNote(tr TestResult, rl *Roofline) string {
	if rl.PairedRatio == 0 {
		return ""
	}
	lo, hi := slices.Min(tr.ProbeGBs), slices.Max(tr.ProbeGBs)
	return fmt.Sprintf("; paired with a bandwidth probe before each repetition (%.1f-%.1f GB/s; up to %d untimed steps after it): median %s", lo, hi, settleSteps, pct(rl.PairedRatio))
}

// bandwidthName says whose read bandwidth the roofline uses.
func bandwidthName(mem Bandwidth) string {
	if mem.Where == "host" {
		return "read bandwidth"
	}
	return mem.Where + " memory read bandwidth"
}

// genLine is a generation test without a roofline (a device that cannot
// measure its memory).
func genLine(tr TestResult, dev string, threads int) string {
	s := fmt.Sprintf("generation: %s %.2f t/s; best repetition %.2f t/s", tr.Name, tr.AvgTPS, tr.BestTPS)
	if st := tr.Steps; st != nil {
		s += fmt.Sprintf("; steps: fastest %.2f t/s, median %.2f t/s", st.FastestTPS, st.MedianTPS) + stallNote(st)
	}
	return s + fmt.Sprintf("; no roofline: %s cannot measure its memory bandwidth", dev) + cpuNote(tr.CPUShare, tr.CPUWait, tr.HostSteal, threads)
}

// transcodedNote says how much of the weights' bytes the transcoded
// i-quant records add to the file's.
func transcodedNote(res *ModelResults) string {
	if res.TranscodedBytes == 0 {
		return ""
	}
	return fmt.Sprintf("; the weights count the i-quants as transcoded at load, %s more than the file's %s",
		formatBytes(float64(res.TranscodedBytes)), formatBytes(float64(res.Model.DecodeWeightBytes)))
}

// testLine is one test's summary line.
func testLine(tr TestResult, res *ModelResults) string {
	switch {
	case tr.Roofline != nil:
		return rooflineLine(tr, res.Memory, res.Threads) + transcodedNote(res) + simNote(tr, res.Device)
	case tr.Steps != nil:
		return genLine(tr, res.Device, res.Threads) + simNote(tr, res.Device)
	}
	return prefillLine(tr, res.Model, res.Threads) + simNote(tr, res.Device)
}

// simNote gives a simulator's rate in its own device time: the figure a
// simulated chip is judged by (the wall clock measures the simulation).
func simNote(tr TestResult, dev string) string {
	if tr.SimTPS <= 0 {
		return ""
	}
	mean, _ := bench.MeanStd(tr.SimSeconds)
	return fmt.Sprintf("; simulated on %s: %.2f t/s of device time (%.3f ms a repetition)", dev, tr.SimTPS, mean*1e3)
}

func prefillLine(tr TestResult, m ModelInfo, threads int) string {
	params := formatParams(m.ActiveParams) + " params"
	if m.ActiveParams != m.Params {
		params = formatParams(m.ActiveParams) + " active params"
	}
	return fmt.Sprintf("prefill: %s %.2f t/s = %.1f GOP/s (2 × %s × tokens); best repetition %.2f t/s%s",
		tr.Name, tr.AvgTPS, tr.GOPS, params, tr.BestTPS, cpuNote(tr.CPUShare, tr.CPUWait, tr.HostSteal, threads))
}

// stepNote gives the fastest and median single steps against the roofline.
func stepNote(st *StepStats, rl *Roofline) string {
	if st == nil {
		return ""
	}
	s := fmt.Sprintf("; steps: fastest %.2f t/s = %s, median %.2f t/s = %s",
		st.FastestTPS, pct(rl.FastestStepRatio), st.MedianTPS, pct(rl.of(st.MedianTPS)))
	return s + stallNote(st)
}

// stallNote counts the steps that stalled (over stallFactor medians) and
// what they cost: on a shared machine a few such steps can move a
// repetition's mean by several percent.
func stallNote(st *StepStats) string {
	if st == nil || st.Stalled == 0 {
		return ""
	}
	return fmt.Sprintf(", %d of %d stalled (over %d× the median; %.0f ms lost, slowest %.0f ms)",
		st.Stalled, st.N, stallFactor, 1e3*st.StalledSeconds, 1e3*st.MaxSeconds)
}

// cpuNote says how much of its threads' time the process got, and how
// much they spent waiting while other tasks had the cores: on a shared
// machine those, not the code, can be what limits a figure (a worker that
// loses its core holds the others up at the end of the op).
//
// steal is the time the hypervisor took from the machine's CPUs, said
// only where some was taken: on bare metal it is always zero.
func cpuNote(share float64, wait, steal *float64, threads int) string {
	s := ""
	if share > 0 {
		s = fmt.Sprintf("; CPU share %s of %d threads", pct(share), threads)
	}
	if wait != nil {
		s += fmt.Sprintf("; waited for a CPU %s of the time", pct(*wait))
	}
	if steal != nil && *steal > 0 {
		s += fmt.Sprintf("; the host took %s of the CPUs' time (steal)", pct(*steal))
	}
	return s
}

// waitPct is a CPUWait or HostSteal for a table ("-" when unknown).
func waitPct(w *float64) string {
	if w == nil {
		return "-"
	}
	return pct(*w)
}

func kernelsLine(res *ModelResults) string {
	if len(res.Kernels) == 0 {
		return "device: " + res.Device + ": " + strings.Join(res.DeviceInfo, "; ")
	}
	parts := make([]string, len(res.Kernels))
	for i, k := range res.Kernels {
		parts[i] = k.Type + " → " + k.Kernel
	}
	line := "kernels: " + strings.Join(parts, ", ")
	if res.VectorOps != "" {
		line += "; vector loops " + res.VectorOps
	}
	switch {
	case res.Prefetch == "auto":
		line += "; single-row prefetch measured (near or far for each kind of call, starting " + res.PrefetchStart +
			" for " + res.PrefetchStartFor + "; NURI_PREFETCH=near|far fixes it)"
	case res.Prefetch != "":
		line += "; single-row prefetch " + res.Prefetch + " (fixed by NURI_PREFETCH)"
	}
	return line
}

// pacingLine says which form of the single-row stream kernels each kind of
// call ran at the end, and what the last measurement of each pair of
// forms found.
func pacingLine(uses []PaceUse) string {
	parts := make([]string, len(uses))
	for i, u := range uses {
		parts[i] = strings.Join(u.Types, "+") + " " + u.Sizes + " " + u.Form
		if len(u.Trials) > 0 {
			trials := make([]string, len(u.Trials))
			for j, t := range u.Trials {
				trials[j] = fmt.Sprintf("%s/%s time %.3f over %d pairs", t.Form, t.Against, t.Ratio, t.Pairs)
			}
			rounds := "rounds"
			if u.Rounds == 1 {
				rounds = "round"
			}
			parts[i] += fmt.Sprintf(" (%s; %d %s)", strings.Join(trials, ", "), u.Rounds, rounds)
		}
	}
	return "stream kernel forms (measured as they ran; NURI_PACING=off|on and NURI_PREFETCH=near|far fix them): " + strings.Join(parts, ", ")
}

func bandwidthLine(res *ModelResults) string {
	if res.Memory.Where == "" {
		return fmt.Sprintf("read bandwidth: not measured (%s cannot measure its memory: no roofline)", res.Device)
	}
	s := make([]string, len(res.Memory.SamplesGBs))
	for i, v := range res.Memory.SamplesGBs {
		s[i] = f2(v)
	}
	who := fmt.Sprintf("%d threads, each sample the best of %d read loops", res.Threads, res.Memory.Loops)
	if res.Memory.Where != "host" {
		who = "in " + res.Memory.Where + " memory"
	}
	return fmt.Sprintf("%s: %.2f GB/s, best of %s (%d MiB buffer, %s; measured before the tests, before each tg repetition, after tg and after the batched runs)%s",
		bandwidthName(res.Memory), res.Memory.BestGBs, strings.Join(s, ", "), res.Memory.BufferBytes>>20, who, spreadNote(res.Memory))
}

// bandwidthSpread: a run whose lowest probe reads less than this share of
// its best says so. On a quiet machine the probes agree within a few per
// cent; on the shared 2-core VMs one run's probes have ranged from 38 to
// 64 GB/s.
const bandwidthSpread = 0.85

// spreadNote warns that the memory's speed moved during the run: the
// roofline takes the best probe, so its ratios are then lower bounds, and
// the paired ratio (each repetition against the probe just before it) is
// the like-for-like figure.
func spreadNote(mem Bandwidth) string {
	if len(mem.SamplesGBs) < 2 || mem.BestGBs <= 0 {
		return ""
	}
	lo := slices.Min(mem.SamplesGBs)
	if lo >= bandwidthSpread*mem.BestGBs {
		return ""
	}
	return fmt.Sprintf("; the probes ranged %.2f-%.2f GB/s (the lowest %.0f%% below the best): other work shared the memory, "+
		"so the ratios against the best are lower bounds and the paired ratio is the like-for-like one", lo, mem.BestGBs, 100*(1-lo/mem.BestGBs))
}

func outputLine(res *ModelResults) string {
	what := "output matrix"
	if res.Model.Tied {
		what = "output matrix (tied to the embedding)"
	}
	return fmt.Sprintf("decode reads %s of weights per step, including the %s %s; KV %s per position",
		formatBytes(float64(res.Model.DecodeWeightBytes)), formatBytes(float64(res.Model.OutputBytes)), what,
		formatBytes(float64(res.KVBytes)))
}

func prefillSummary(p *PrefillResult) string {
	return fmt.Sprintf("batched prefill: %d sequences × %d tokens = %d tokens in %.2f s = %.2f t/s",
		p.Sequences, p.Tokens/p.Sequences, p.Tokens, p.Seconds, p.TPS)
}

// WriteModelText prints the results the way llama-bench does (a markdown
// table) followed by the roofline, prefill and batched lines.
func WriteModelText(w io.Writer, res *ModelResults) error {
	bw := bufio.NewWriter(w)
	if len(res.Tests) > 0 {
		t := testTable(res)
		writeAligned(bw, t, rightAligned(t))
		fmt.Fprintln(bw)
	}
	for _, tr := range res.Tests {
		fmt.Fprintln(bw, testLine(tr, res))
	}
	if res.Encoder {
		fmt.Fprintln(bw, "encoder: each ppP repetition embeds one P-token input in one pass (every token's hidden state, attention both ways); generation tests do not apply")
	}
	if len(res.Batched) > 0 {
		fmt.Fprintln(bw)
		// Every column of the batched table is a number.
		bt := batchedTable(res)
		right := make(map[int]bool, len(bt.Columns))
		for i := range bt.Columns {
			right[i] = true
		}
		writeAligned(bw, bt, right)
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, prefillSummary(res.BatchPrefill))
	}
	fmt.Fprintln(bw, bandwidthLine(res))
	if !res.Encoder { // an encoder decodes nothing
		fmt.Fprintln(bw, outputLine(res))
	}
	fmt.Fprintln(bw, kernelsLine(res))
	if len(res.Pacing) > 0 {
		fmt.Fprintln(bw, pacingLine(res.Pacing))
	}
	for _, tr := range res.Tests {
		if len(tr.OpProfile) > 0 {
			fmt.Fprintln(bw)
			fmt.Fprintf(bw, "op profile: where a %s decode step went (mean over %d steps)\n", tr.Name, tr.Tokens*len(tr.TPS))
			writeAligned(bw, opTable(tr), map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true})
		}
	}
	return bw.Flush()
}

// opTable lists a generation test's op profile per decode step, with the
// step time no op accounts for (model code, scheduling) as the last row.
// Ops that read weights give the rate they read them at and, where the
// test has a roofline, that rate over the run's bandwidth; matmuls whose
// device times their dot phase (OpStep.DotUS) give that part of their
// time and its rate over the bandwidth too.
func opTable(tr TestResult) bench.Table {
	t := bench.Table{Title: fmt.Sprintf("Op profile, %s (per decode step)", tr.Name),
		Columns: []string{"op", "calls", "µs", "share", "weights GB/s", "of bandwidth", "dot µs", "dot of bandwidth"}}
	bw := 0.0
	if tr.Roofline != nil {
		bw = tr.Roofline.BandwidthGBs
	}
	share := 0.0
	for _, op := range tr.OpProfile {
		gbs, of, dot, dotOf := "", "", "", ""
		if op.WeightGBs > 0 {
			gbs = f2(op.WeightGBs)
			if bw > 0 {
				of = pct(op.WeightGBs / bw)
			}
		}
		if op.DotUS > 0 {
			dot = f2(op.DotUS)
			if op.DotGBs > 0 && bw > 0 {
				dotOf = pct(op.DotGBs / bw)
			}
		}
		t.Rows = append(t.Rows, []string{op.Name, strconv.FormatFloat(op.Calls, 'f', -1, 64), f2(op.US), pct(op.Share), gbs, of, dot, dotOf})
		share += op.Share
	}
	if share < 1 {
		t.Rows = append(t.Rows, []string{"(outside ops)", "", f2(tr.stepSeconds() * 1e6 * (1 - share)), pct(1 - share), "", "", "", ""})
	}
	return t
}

// writeAligned writes t as a padded markdown table; right marks the
// right-aligned columns (llama-bench aligns numbers right).
func writeAligned(w io.Writer, t bench.Table, right map[int]bool) {
	width := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		width[i] = max(len([]rune(c)), 3)
	}
	for _, r := range t.Rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cells []string) {
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if right[i] {
				fmt.Fprintf(w, "| %s%s ", pad, c)
			} else {
				fmt.Fprintf(w, "| %s%s ", c, pad)
			}
		}
		fmt.Fprintln(w, "|")
	}
	line(t.Columns)
	for i := range t.Columns {
		dash := strings.Repeat("-", width[i])
		if right[i] {
			dash = dash[1:] + ":"
		}
		fmt.Fprintf(w, "| %s ", dash)
	}
	fmt.Fprintln(w, "|")
	for _, r := range t.Rows {
		line(r)
	}
}

// BuildModelReport turns a run into the shared report: headline metrics
// for `nuri bench compare`, the tables, and charts for report.html.
func BuildModelReport(env bench.Environment, cfg ModelConfig, res *ModelResults) *bench.Report {
	r := bench.NewReport("model", "Model benchmark: "+res.Model.Name, env)
	r.Label = res.Model.Name
	r.Config, r.Results = cfg, res
	if res.Memory.BestGBs > 0 {
		r.AddMetric("memory", "read_bandwidth", "GB/s", bench.Neutral, res.Memory.BestGBs)
	}
	var lines []string
	for _, tr := range res.Tests {
		r.AddMetric(tr.Name, "t/s", "t/s", bench.HigherIsBetter, tr.AvgTPS)
		r.AddMetric(tr.Name, "GOP/s", "GOP/s", bench.HigherIsBetter, tr.GOPS)
		if tr.SimTPS > 0 {
			r.AddMetric(tr.Name, "sim_t/s", "t/s", bench.HigherIsBetter, tr.SimTPS)
		}
		if tr.Roofline != nil {
			r.AddMetric(tr.Name, "roofline_ratio", "", bench.HigherIsBetter, tr.Roofline.Ratio)
			r.AddMetric(tr.Name, "best_roofline_ratio", "", bench.HigherIsBetter, tr.Roofline.BestRatio)
			r.AddMetric(tr.Name, "fastest_step_roofline_ratio", "", bench.HigherIsBetter, tr.Roofline.FastestStepRatio)
			if tr.Roofline.PairedRatio > 0 {
				r.AddMetric(tr.Name, "paired_roofline_ratio", "", bench.HigherIsBetter, tr.Roofline.PairedRatio)
			}
			r.AddMetric(tr.Name, "bytes_per_token", "B", bench.Neutral, tr.Roofline.BytesPerStep)
		}
		lines = append(lines, testLine(tr, res))
	}
	for _, b := range res.Batched {
		g := fmt.Sprintf("batch %d", b.B)
		r.AddMetric(g, "aggregate_t/s", "t/s", bench.HigherIsBetter, b.AvgTPS)
		r.AddMetric(g, "GOP/s", "GOP/s", bench.HigherIsBetter, b.GOPS)
		if b.SimTPS > 0 {
			r.AddMetric(g, "sim_aggregate_t/s", "t/s", bench.HigherIsBetter, b.SimTPS)
		}
	}
	lines = append(lines, bandwidthLine(res), outputLine(res), kernelsLine(res))
	if len(res.Tests) > 0 {
		r.AddSection(bench.Section{Title: "Results (llama-bench columns)", Tables: []bench.Table{testTable(res)},
			Paragraphs: lines, Charts: testCharts(res)})
	} else {
		r.AddSection(bench.Section{Title: "Run", Paragraphs: lines})
	}
	for _, tr := range res.Tests {
		if len(tr.OpProfile) > 0 {
			r.AddSection(bench.Section{Title: "Op profile", Tables: []bench.Table{opTable(tr)},
				Paragraphs: []string{"Every backend op of the generation test's timed steps, timed on the device (--op-profile); the clock reads add a little to each step."}})
		}
	}
	if len(res.Batched) > 0 {
		r.AddSection(bench.Section{Title: "Batched decode (llama-batched-bench style)",
			Paragraphs: []string{prefillSummary(res.BatchPrefill),
				"Aggregate t/s counts every sequence's tokens: B × gen ÷ decode time. The roofline reads the weights once per step and every sequence's KV."},
			Tables: []bench.Table{batchedTable(res)}, Charts: batchedCharts(res)})
	}
	return r
}

func testCharts(res *ModelResults) []bench.Chart {
	c := &bench.BarChart{Title: "Tokens per second", YLabel: "t/s"}
	measured := bench.BarSeries{Name: "measured"}
	roof := bench.BarSeries{Name: "memory roofline"}
	for _, tr := range res.Tests {
		c.Categories = append(c.Categories, tr.Name)
		measured.Values = append(measured.Values, tr.AvgTPS)
		if tr.Roofline != nil {
			roof.Values = append(roof.Values, tr.Roofline.RooflineTPS)
		} else {
			roof.Values = append(roof.Values, math.NaN())
		}
	}
	c.Series = []bench.BarSeries{measured, roof}
	return []bench.Chart{c}
}

func batchedCharts(res *ModelResults) []bench.Chart {
	agg := bench.Series{Name: "aggregate t/s"}
	roof := bench.Series{Name: "memory roofline"}
	for _, b := range res.Batched {
		agg.Points = append(agg.Points, bench.Point{X: float64(b.B), Y: b.AvgTPS})
		if b.Roofline != nil {
			roof.Points = append(roof.Points, bench.Point{X: float64(b.B), Y: b.Roofline.RooflineTPS})
		}
	}
	return []bench.Chart{&bench.LineChart{Title: "Batched decode throughput", XLabel: "sequences (B)", YLabel: "t/s",
		Series: []bench.Series{agg, roof}, LogX: true, YFrom0: true}}
}
