package bench

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// BuildServeReport turns a serving run into a Report: headline metrics per
// level, the summary and percentile tables, charts, failures, the vLLM-style
// blocks and the configuration.
func BuildServeReport(env Environment, cfg ServeConfig, res *ServeResults) *Report {
	title := "Serving benchmark: " + cfg.Model
	if cfg.Model == "" {
		title = "Serving benchmark"
	}
	r := NewReport("serve", title, env)
	r.Config = cfg
	r.Results = res
	for _, l := range res.Levels {
		addServeMetrics(r, l, cfg.Goodput.Enabled())
	}
	r.AddSection(serveSummarySection(cfg, res))
	r.AddSection(Section{Title: "Charts", Charts: serveCharts(cfg, res)})
	r.AddSection(Section{Title: "Latency percentiles (ms)", Tables: []Table{percentileTable(res)}})
	if t := serverTimingsTable(res); len(t.Rows) > 0 {
		r.AddSection(Section{
			Title: "Server-reported timings",
			Paragraphs: []string{"What the server said of each request in its replies' `timings` (llama-server's object, which Nuri sends too): " +
				"its own time to the first token and its prompt and decode rates, per request, without the network and the client. " +
				"Cached tokens are the prompt tokens its prefix cache served."},
			Tables: []Table{t},
		})
	}
	if t := serverCounterTable(res); len(t.Rows) > 0 {
		r.AddSection(Section{
			Title: "Server counters (/metrics)",
			Paragraphs: []string{"What the server's own counters (vLLM's names) moved by during each level, read before and after it: " +
				"the prefix cache's hits among the prompt tokens it looked up, preemptions, and speculative decoding's drafts. " +
				"Other clients' requests in the same seconds count too."},
			Tables: []Table{t},
		})
	}
	if f := failureTable(res); len(f.Rows) > 0 {
		r.AddSection(Section{
			Title:      "Failures",
			Paragraphs: []string{"Failed requests are excluded from every latency and throughput figure above."},
			Tables:     []Table{f},
		})
	}
	var blocks strings.Builder
	for _, l := range res.Levels {
		blocks.WriteString(l.Name + "\n")
		_ = WriteServeSummary(&blocks, l) // a strings.Builder cannot fail
		blocks.WriteString("\n")
	}
	r.AddSection(Section{Title: "Result blocks (vLLM layout)", Preformatted: blocks.String()})
	r.AddSection(Section{Title: "Configuration", Tables: []Table{configTable(cfg)}})
	return r
}

func addServeMetrics(r *Report, l LevelResult, goodput bool) {
	g, s := l.Name, l.Summary
	r.AddMetric(g, "completed", "req", Neutral, float64(s.Completed))
	r.AddMetric(g, "failed", "req", LowerIsBetter, float64(s.Failed))
	r.AddMetric(g, "duration", "s", LowerIsBetter, s.DurationS)
	r.AddMetric(g, "request_throughput", "req/s", HigherIsBetter, s.RequestThroughput)
	if goodput && s.Goodput != nil {
		r.AddMetric(g, "goodput", "req/s", HigherIsBetter, s.Goodput.Rate)
	}
	r.AddMetric(g, "output_throughput", "tok/s", HigherIsBetter, s.OutputThroughput)
	r.AddMetric(g, "total_token_throughput", "tok/s", HigherIsBetter, s.TotalTokenThroughput)
	r.AddMetric(g, "peak_output_throughput", "tok/s", HigherIsBetter, s.PeakOutputThroughput)
	r.AddMetric(g, "peak_concurrency", "req", Neutral, float64(s.PeakConcurrency))
	if c := l.Server; c != nil {
		r.AddMetric(g, "prefix_cache_hit_rate", "%", HigherIsBetter, 100*c.PrefixHitRate())
		r.AddMetric(g, "preemptions", "", LowerIsBetter, c.Preemptions)
		if c.SpecDraftTokens > 0 {
			r.AddMetric(g, "spec_acceptance_rate", "%", HigherIsBetter, 100*c.AcceptanceRate())
			r.AddMetric(g, "spec_acceptance_length", "tok", HigherIsBetter, c.AcceptanceLength())
		}
	}
	for _, m := range []struct {
		name string
		st   LatencyStats
	}{{"ttft", s.TTFT}, {"tpot", s.TPOT}, {"itl", s.ITL}, {"e2el", s.E2EL}} {
		r.AddMetric(g, m.name+"_mean", "ms", LowerIsBetter, m.st.Mean)
		r.AddMetric(g, m.name+"_median", "ms", LowerIsBetter, m.st.Median)
		r.AddMetric(g, m.name+"_p90", "ms", LowerIsBetter, m.st.P90)
		r.AddMetric(g, m.name+"_p99", "ms", LowerIsBetter, m.st.P99)
	}
}

func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// serverTimingsTable has a row for each level whose replies carried
// timings.
func serverTimingsTable(res *ServeResults) Table {
	t := Table{Columns: []string{"level", "requests", "prompt ms median", "prompt ms p99", "prompt tok/s median",
		"decode tok/s median", "decode tok/s min", "cached tokens %"}}
	for _, l := range res.Levels {
		st := l.Summary.ServerTimings
		if st == nil {
			continue
		}
		cached := 0.0
		if n := st.CachedTokens + st.PromptTokens; n > 0 {
			cached = 100 * float64(st.CachedTokens) / float64(n)
		}
		t.Rows = append(t.Rows, []string{l.Name, strconv.Itoa(st.Requests), f2(st.PromptMS.Median), f2(st.PromptMS.P99),
			f2(st.PromptPerSecond.Median), f2(st.PredictedPerSecond.Median), f2(st.PredictedPerSecond.Min), f2(cached)})
	}
	return t
}

// serverCounterTable has a row for each level with server counters.
func serverCounterTable(res *ServeResults) Table {
	t := Table{Columns: []string{"level", "prefix cache hit %", "preemptions", "drafts", "draft tokens", "accepted", "acceptance %", "acceptance length"}}
	for _, l := range res.Levels {
		c := l.Server
		if c == nil {
			continue
		}
		t.Rows = append(t.Rows, []string{l.Name, f2(100 * c.PrefixHitRate()), strconv.Itoa(int(c.Preemptions)),
			strconv.Itoa(int(c.SpecDrafts)), strconv.Itoa(int(c.SpecDraftTokens)), strconv.Itoa(int(c.SpecAcceptedTokens)),
			f2(100 * c.AcceptanceRate()), f2(c.AcceptanceLength())})
	}
	return t
}

func serveSummarySection(cfg ServeConfig, res *ServeResults) Section {
	dataset := cfg.Dataset
	if dataset == "random" {
		dataset = fmt.Sprintf("random (input ≈ %d words, output %d tokens, range ±%g)",
			cfg.Random.InputLen, cfg.Random.OutputLen, cfg.Random.RangeRatio)
	}
	paras := []string{
		fmt.Sprintf("Server %s, model %q, endpoint %s, dataset %s, %d prompts per level.",
			cfg.BaseURL, cfg.Model, cfg.Endpoint, dataset, cfg.NumPrompts),
		"Token counting: " + res.TokenCounting + ".",
	}
	if res.Interrupted {
		paras = append(paras, "The run was interrupted; the last level may be incomplete.")
	}
	if res.WarmupFailed > 0 {
		paras = append(paras, fmt.Sprintf("%d of %d warm-up requests failed.", res.WarmupFailed, cfg.Warmup))
	}
	cols := []string{"level", "ok", "failed", "duration s", "req/s", "out tok/s", "total tok/s",
		"peak conc", "TTFT mean", "TTFT p99", "TPOT mean", "TPOT p99", "ITL mean", "E2EL mean", "E2EL p99"}
	if cfg.Goodput.Enabled() {
		cols = append(cols, "goodput req/s")
	}
	t := Table{Title: "Per level (latencies in ms)", Columns: cols}
	for _, l := range res.Levels {
		s := l.Summary
		row := []string{l.Name, strconv.Itoa(s.Completed), strconv.Itoa(s.Failed), f2(s.DurationS),
			f2(s.RequestThroughput), f2(s.OutputThroughput), f2(s.TotalTokenThroughput),
			strconv.Itoa(s.PeakConcurrency), f2(s.TTFT.Mean), f2(s.TTFT.P99), f2(s.TPOT.Mean),
			f2(s.TPOT.P99), f2(s.ITL.Mean), f2(s.E2EL.Mean), f2(s.E2EL.P99)}
		if cfg.Goodput.Enabled() {
			g := "-"
			if s.Goodput != nil {
				g = f2(s.Goodput.Rate)
			}
			row = append(row, g)
		}
		t.Rows = append(t.Rows, row)
	}
	return Section{Title: "Summary", Paragraphs: paras, Tables: []Table{t}}
}

func percentileTable(res *ServeResults) Table {
	t := Table{Columns: []string{"level", "metric", "n", "mean", "median", "p90", "p99", "min", "max", "std"}}
	for _, l := range res.Levels {
		s := l.Summary
		for _, m := range []struct {
			name string
			st   LatencyStats
		}{{"TTFT", s.TTFT}, {"TPOT", s.TPOT}, {"ITL", s.ITL}, {"E2EL", s.E2EL}} {
			t.Rows = append(t.Rows, []string{l.Name, m.name, strconv.Itoa(m.st.N), f2(m.st.Mean), f2(m.st.Median),
				f2(m.st.P90), f2(m.st.P99), f2(m.st.Min), f2(m.st.Max), f2(m.st.Std)})
		}
	}
	return t
}

// failureTable lists failures by level and status with the first error
// message seen, which is usually enough to tell what went wrong.
func failureTable(res *ServeResults) Table {
	t := Table{Columns: []string{"level", "status", "count", "first error"}}
	for _, l := range res.Levels {
		first := map[string]string{}
		for _, r := range l.Requests {
			if !r.OK {
				if _, ok := first[r.Status]; !ok {
					first[r.Status] = shorten(r.Error, 160)
				}
			}
		}
		for _, k := range sortedKeys(l.Summary.Failures) {
			t.Rows = append(t.Rows, []string{l.Name, k, strconv.Itoa(l.Summary.Failures[k]), first[k]})
		}
	}
	return t
}

func configTable(cfg ServeConfig) Table {
	t := Table{Columns: []string{"setting", "value"}}
	add := func(k, v string) { t.Rows = append(t.Rows, []string{k, v}) }
	add("base URL", cfg.BaseURL)
	add("model", cfg.Model)
	add("endpoint", string(cfg.Endpoint))
	add("dataset", cfg.Dataset)
	add("prompts per level", strconv.Itoa(cfg.NumPrompts))
	if len(cfg.RequestRates) > 0 {
		add("request rates (req/s)", joinFloats(cfg.RequestRates))
		add("burstiness", strconv.FormatFloat(cfg.Burstiness, 'g', -1, 64))
		if cfg.MaxConcurrency > 0 {
			add("max concurrency", strconv.Itoa(cfg.MaxConcurrency))
		}
	} else {
		add("concurrency", joinInts(cfg.Concurrency))
	}
	mt := "per prompt"
	if cfg.MaxTokens > 0 {
		mt = strconv.Itoa(cfg.MaxTokens)
	}
	add("max tokens", mt)
	add("temperature", strconv.FormatFloat(cfg.Temperature, 'g', -1, 64))
	add("ignore EOS", strconv.FormatBool(cfg.IgnoreEOS))
	if cfg.Goodput.Enabled() {
		add("goodput objectives (ms)", fmt.Sprintf("ttft ≤ %g, tpot ≤ %g, e2el ≤ %g (0: unset)",
			cfg.Goodput.TTFTMS, cfg.Goodput.TPOTMS, cfg.Goodput.E2ELMS))
	}
	add("seed", strconv.FormatUint(cfg.Seed, 10))
	add("timeout", time2s(cfg.Timeout))
	add("warm-up requests", strconv.Itoa(cfg.Warmup))
	return t
}

func time2s(d Duration) string { b, _ := d.MarshalJSON(); return strings.Trim(string(b), `"`) }

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func joinFloats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

// serveCharts draws throughput and latency percentiles against the load
// (concurrency or request rate) and the latency CDFs of every level.
func serveCharts(cfg ServeConfig, res *ServeResults) []Chart {
	xLabel := "concurrency (requests in flight)"
	xOf := func(l LevelResult) float64 { return float64(l.Level.Concurrency) }
	if len(cfg.RequestRates) > 0 {
		xLabel = "request rate (req/s)"
		xOf = func(l LevelResult) float64 { return l.Level.RequestRate }
	}
	var xs []float64
	for _, l := range res.Levels {
		xs = append(xs, xOf(l))
	}
	lo, hi := minMax(xs)
	logX := len(xs) > 1 && lo > 0 && hi/lo >= 8
	series := func(name string, f func(LevelSummary) float64) Series {
		s := Series{Name: name}
		for _, l := range res.Levels {
			s.Points = append(s.Points, Point{X: xOf(l), Y: f(l.Summary)})
		}
		return s
	}
	pctl := func(title string, get func(LevelSummary) LatencyStats) Chart {
		return &LineChart{Title: title, XLabel: xLabel, YLabel: "milliseconds", LogX: logX, YFrom0: true,
			Series: []Series{
				series("mean", func(s LevelSummary) float64 { return get(s).Mean }),
				series("median", func(s LevelSummary) float64 { return get(s).Median }),
				series("p90", func(s LevelSummary) float64 { return get(s).P90 }),
				series("p99", func(s LevelSummary) float64 { return get(s).P99 }),
			}}
	}
	reqSeries := []Series{series("completed req/s", func(s LevelSummary) float64 { return s.RequestThroughput })}
	if cfg.Goodput.Enabled() {
		reqSeries = append(reqSeries, series("goodput req/s", func(s LevelSummary) float64 {
			if s.Goodput == nil {
				return 0
			}
			return s.Goodput.Rate
		}))
	}
	return []Chart{
		&LineChart{Title: "Token throughput vs load", XLabel: xLabel, YLabel: "tokens per second", LogX: logX, YFrom0: true,
			Series: []Series{
				series("output tok/s", func(s LevelSummary) float64 { return s.OutputThroughput }),
				series("total tok/s", func(s LevelSummary) float64 { return s.TotalTokenThroughput }),
			}},
		&LineChart{Title: "Request throughput vs load", XLabel: xLabel, YLabel: "requests per second",
			LogX: logX, YFrom0: true, Series: reqSeries},
		pctl("TTFT percentiles vs load", func(s LevelSummary) LatencyStats { return s.TTFT }),
		pctl("TPOT percentiles vs load", func(s LevelSummary) LatencyStats { return s.TPOT }),
		cdfChart("E2EL distribution (CDF)", "end-to-end latency (ms)", res, func(r RequestRecord) float64 { return r.E2ELMS }),
		cdfChart("TTFT distribution (CDF)", "time to first token (ms)", res, func(r RequestRecord) float64 { return r.TTFTMS }),
	}
}

func cdfChart(title, xLabel string, res *ServeResults, get func(RequestRecord) float64) Chart {
	c := &LineChart{Title: title, XLabel: xLabel, YLabel: "fraction of requests", Step: true, YFrom0: true}
	for _, l := range res.Levels {
		var vs []float64
		for _, r := range l.Requests {
			if r.OK {
				vs = append(vs, get(r))
			}
		}
		sort.Float64s(vs)
		s := Series{Name: l.Name}
		for i, v := range vs {
			s.Points = append(s.Points, Point{X: v, Y: float64(i+1) / float64(len(vs))})
		}
		c.Series = append(c.Series, s)
	}
	return c
}
