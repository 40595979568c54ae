package bench

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/bench/benchtest"
)

func korean(t *testing.T, n int) []Prompt {
	t.Helper()
	ds, err := LoadDataset("korean", RandomSpec{}, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	return SamplePrompts(ds, n, 1)
}

func baseConfig(url string) ServeConfig {
	return ServeConfig{BaseURL: url, Model: "fake-model", Endpoint: EndpointChat, Dataset: "korean",
		NumPrompts: 20, MaxTokens: 6, Timeout: Duration(10 * time.Second), Concurrency: []int{1, 4}}
}

func TestRunServeConcurrency(t *testing.T) {
	srv := benchtest.New(benchtest.Config{Variant: benchtest.VLLM, Tokens: 6, FirstDelay: 2 * time.Millisecond, TokenDelay: time.Millisecond})
	defer srv.Close()
	c := newTestClient(t, srv.URL, EndpointChat)
	cfg := baseConfig(srv.URL)
	cfg.Goodput = Goodput{TTFTMS: 10000}
	var seen []string
	res, err := RunServe(context.Background(), c, cfg, korean(t, 20), ServeOptions{OnLevel: func(l LevelResult) { seen = append(seen, l.Name) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Levels) != 2 || strings.Join(seen, ";") != "concurrency 1;concurrency 4" {
		t.Fatalf("levels %v", seen)
	}
	if got := len(srv.Requests()); got != 40 {
		t.Errorf("server saw %d requests, want 40", got)
	}
	for _, l := range res.Levels {
		s := l.Summary
		if s.Completed != 20 || s.Failed != 0 || len(s.Failures) != 0 || len(l.Requests) != 20 {
			t.Errorf("%s: %d ok, %d failed %v", l.Name, s.Completed, s.Failed, s.Failures)
		}
		if s.TotalOutputTokens != 120 || s.OutputTokensFromUsage != 20 || s.TotalInputTokens <= 20 {
			t.Errorf("%s: tokens in %d out %d, %d from usage", l.Name, s.TotalInputTokens, s.TotalOutputTokens, s.OutputTokensFromUsage)
		}
		if s.PeakConcurrency < 1 || s.PeakConcurrency > l.Level.Concurrency {
			t.Errorf("%s: peak concurrency %d", l.Name, s.PeakConcurrency)
		}
		if s.TTFT.N != 20 || s.TPOT.N != 20 || s.ITL.N != 100 || s.E2EL.N != 20 {
			t.Errorf("%s: sample sizes %d %d %d %d", l.Name, s.TTFT.N, s.TPOT.N, s.ITL.N, s.E2EL.N)
		}
		if !(s.TTFT.Mean > 0 && s.TTFT.Mean <= s.E2EL.Mean && s.TTFT.P99 <= s.E2EL.Max && s.TPOT.Mean > 0) {
			t.Errorf("%s: TTFT %+v E2EL %+v TPOT %+v", l.Name, s.TTFT, s.E2EL, s.TPOT)
		}
		wantRate := float64(s.Completed) / s.DurationS
		if s.RequestThroughput != wantRate || s.OutputThroughput != float64(s.TotalOutputTokens)/s.DurationS {
			t.Errorf("%s: throughput %g req/s %g tok/s over %g s", l.Name, s.RequestThroughput, s.OutputThroughput, s.DurationS)
		}
		if s.PeakOutputThroughput <= 0 || s.PeakOutputThroughput > float64(s.TotalOutputTokens) {
			t.Errorf("%s: peak output throughput %g", l.Name, s.PeakOutputThroughput)
		}
		if s.Goodput == nil || s.Goodput.Good != 20 {
			t.Errorf("%s: goodput %+v", l.Name, s.Goodput)
		}
		for i, r := range l.Requests {
			if r.Index != i || r.StartMS < 0 || r.StartMS > s.DurationS*1000 {
				t.Errorf("%s: request %d has index %d, start %g ms", l.Name, i, r.Index, r.StartMS)
			}
			checkTiming(t, l.Name, r)
		}
	}
	if res.Levels[0].Summary.PeakConcurrency != 1 {
		t.Errorf("concurrency 1 ran %d at once", res.Levels[0].Summary.PeakConcurrency)
	}
	if !strings.HasPrefix(res.TokenCounting, "usage") {
		t.Errorf("token counting %q", res.TokenCounting)
	}
}

func TestRunServeRequestRate(t *testing.T) {
	srv := benchtest.New(benchtest.Config{Variant: benchtest.LlamaCpp, Tokens: 3})
	defer srv.Close()
	c := newTestClient(t, srv.URL, EndpointChat)
	cfg := baseConfig(srv.URL)
	cfg.Concurrency, cfg.RequestRates, cfg.Burstiness, cfg.MaxConcurrency = nil, []float64{100}, 1, 3
	cfg.Seed = 5
	res, err := RunServe(context.Background(), c, cfg, korean(t, 20), ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l := res.Levels[0]
	if l.Name != "rate 100 max 3" || l.Summary.Completed != 20 || l.Summary.PeakConcurrency > 3 {
		t.Errorf("%s: %+v", l.Name, l.Summary)
	}
	// Requests go out no earlier than their scheduled arrival.
	offs, _ := ArrivalOffsets(20, 100, 1, 5)
	for i, r := range l.Requests {
		if r.StartMS+1 < ms(offs[i]) {
			t.Errorf("request %d sent at %g ms, scheduled %g ms", i, r.StartMS, ms(offs[i]))
		}
	}
}

func TestRunServeFailuresCounted(t *testing.T) {
	for _, f := range []benchtest.Failure{benchtest.Fail500, benchtest.FailAbort, benchtest.FailCleanEOF, benchtest.FailStreamError} {
		srv := benchtest.New(benchtest.Config{Variant: benchtest.Ollama, Tokens: 4, FailEvery: 3, Failure: f})
		c := newTestClient(t, srv.URL, EndpointChat)
		cfg := baseConfig(srv.URL)
		cfg.Concurrency = []int{2}
		res, err := RunServe(context.Background(), c, cfg, korean(t, 20), ServeOptions{})
		srv.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		s := res.Levels[0].Summary
		// Requests 3, 6, …, 18 fail: six of twenty.
		if s.Completed != 14 || s.Failed != 6 || len(s.Failures) != 1 || s.TTFT.N != 14 {
			t.Errorf("%s: %d ok, %d failed %v, TTFT n=%d", f, s.Completed, s.Failed, s.Failures, s.TTFT.N)
		}
	}
}

func TestRunServeInterrupted(t *testing.T) {
	srv := benchtest.New(benchtest.Config{Tokens: 50, TokenDelay: 10 * time.Millisecond})
	defer srv.Close()
	c := newTestClient(t, srv.URL, EndpointChat)
	cfg := baseConfig(srv.URL)
	cfg.MaxTokens = 50
	// Cancel as Ctrl-C does (a deadline on the whole run would read as
	// per-request timeouts instead).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel)
	res, err := RunServe(ctx, c, cfg, korean(t, 20), ServeOptions{})
	if err == nil || res == nil || !res.Interrupted || len(res.Levels) != 1 {
		t.Fatalf("interrupted run: err %v, results %+v", err, res)
	}
	s := res.Levels[0].Summary
	if s.Failures["cancelled"] != 1 || len(res.Levels[0].Requests) >= 20 {
		t.Errorf("interrupted level: %d requests, failures %v", len(res.Levels[0].Requests), s.Failures)
	}
}

func TestServeConfigValidate(t *testing.T) {
	ok := baseConfig("http://h")
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*ServeConfig){
		func(c *ServeConfig) { c.NumPrompts = 0 },
		func(c *ServeConfig) { c.Concurrency = nil },
		func(c *ServeConfig) { c.RequestRates = []float64{1} },
		func(c *ServeConfig) { c.Concurrency = []int{0} },
		func(c *ServeConfig) { c.Concurrency, c.RequestRates = nil, []float64{-1} },
		func(c *ServeConfig) { c.Concurrency, c.RequestRates, c.Burstiness = nil, []float64{1}, 0 },
		func(c *ServeConfig) { c.Timeout = 0 },
		func(c *ServeConfig) { c.MaxTokens = -1 },
	}
	for i, mod := range bad {
		c := baseConfig("http://h")
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("case %d: no error for %+v", i, c)
		}
	}
}

func TestParseGoodput(t *testing.T) {
	g, err := ParseGoodput("ttft:300, tpot=50 e2el:2000")
	if err != nil || g != (Goodput{TTFTMS: 300, TPOTMS: 50, E2ELMS: 2000}) {
		t.Errorf("got %+v, %v", g, err)
	}
	if g, err := ParseGoodput(""); err != nil || g.Enabled() {
		t.Errorf("empty: %+v %v", g, err)
	}
	for _, bad := range []string{"ttft", "ttft:abc", "ttft:-1", "itl:5", "ttft:inf"} {
		if _, err := ParseGoodput(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	g = Goodput{TTFTMS: 100, TPOTMS: 10}
	for _, tc := range []struct {
		r    RequestRecord
		want bool
	}{
		{RequestRecord{OK: true, TTFTMS: 90, TPOTMS: 9}, true},
		{RequestRecord{OK: true, TTFTMS: 110, TPOTMS: 9}, false},
		{RequestRecord{OK: true, TTFTMS: 90, TPOTMS: 11}, false},
		{RequestRecord{OK: false, TTFTMS: 1, TPOTMS: 1}, false},
	} {
		if g.Meets(tc.r) != tc.want {
			t.Errorf("Meets(%+v) != %v", tc.r, tc.want)
		}
	}
}

// A level reads the server's /metrics before and after: its counters'
// changes over the level's requests alone (each summed over its label
// sets), in the summary block and the report; a server without /metrics
// leaves them out.
func TestRunServeServerCounters(t *testing.T) {
	srv := benchtest.New(benchtest.Config{Variant: benchtest.VLLM, Tokens: 4, Metrics: true})
	defer srv.Close()
	c := newTestClient(t, srv.URL, EndpointChat)
	cfg := baseConfig(srv.URL)
	cfg.Warmup = 3
	res, err := RunServe(context.Background(), c, cfg, korean(t, 20), ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	from := cfg.Warmup
	for _, l := range res.Levels {
		want := benchtest.CountersFor(reqs[:from+len(l.Requests)])
		prev := benchtest.CountersFor(reqs[:from])
		from += len(l.Requests)
		got := l.Server
		if got == nil {
			t.Fatalf("%s: no server counters", l.Name)
		}
		exp := ServerCounters{
			PrefixQueries: float64(want.PrefixQueries - prev.PrefixQueries), PrefixHits: float64(want.PrefixHits - prev.PrefixHits),
			Preemptions: float64(want.Preemptions - prev.Preemptions), SpecDrafts: float64(want.Drafts - prev.Drafts),
			SpecDraftTokens: float64(want.DraftTokens - prev.DraftTokens), SpecAcceptedTokens: float64(want.Accepted - prev.Accepted),
		}
		if *got != exp {
			t.Errorf("%s: counters %+v, want %+v", l.Name, *got, exp)
		}
		if got.AcceptanceRate() != 4.0/6 || got.AcceptanceLength() != 3 {
			t.Errorf("%s: acceptance %g, length %g", l.Name, got.AcceptanceRate(), got.AcceptanceLength())
		}
		var sb strings.Builder
		if err := WriteServeSummary(&sb, l); err != nil || !strings.Contains(sb.String(), "Acceptance length:") || !strings.Contains(sb.String(), "Prefix cache hit rate (%):") {
			t.Errorf("%s: summary block %v:\n%s", l.Name, err, sb.String())
		}
	}
	r := BuildServeReport(Environment{}, cfg, res)
	if b, err := json.Marshal(r); err != nil || !strings.Contains(string(b), `"spec_acceptance_rate"`) || !strings.Contains(string(b), `"server_counters"`) {
		t.Errorf("the report has no acceptance rate metric or server counters: %v", err)
	}

	plain := benchtest.New(benchtest.Config{Variant: benchtest.VLLM, Tokens: 4})
	defer plain.Close()
	cfg = baseConfig(plain.URL)
	cfg.Concurrency = []int{2}
	res, err = RunServe(context.Background(), newTestClient(t, plain.URL, EndpointChat), cfg, korean(t, 20), ServeOptions{})
	if err != nil || res.Levels[0].Server != nil {
		t.Fatalf("a server without /metrics: %v, counters %+v", err, res.Levels[0].Server)
	}
}

func TestParseSample(t *testing.T) {
	for _, tc := range []struct {
		line string
		name string
		v    float64
		ok   bool
	}{
		{`vllm:x_total{model_name="m"} 12`, "vllm:x_total", 12, true},
		{`vllm:x_total 3.5 1700000000000`, "vllm:x_total", 3.5, true},
		{`a{l="x } y",k="q\"}"} 7`, "a", 7, true},
		{`# HELP a A counter.`, "", 0, false},
		{`a{l="unterminated} 1`, "", 0, false},
		{`a NaN`, "a", 0, false},
		{``, "", 0, false},
	} {
		name, v, ok := parseSample(tc.line)
		if ok != tc.ok || (ok && (name != tc.name || v != tc.v)) {
			t.Errorf("%q: %q %v %v", tc.line, name, v, ok)
		}
	}
}
