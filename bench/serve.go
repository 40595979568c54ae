package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Duration is a time.Duration that reads and writes JSON as "1m30s".
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// ServeConfig is one `nuri bench serve` run. It is recorded in results.json
// (without the API key).
type ServeConfig struct {
	BaseURL    string     `json:"base_url"`
	Model      string     `json:"model"`
	Endpoint   Endpoint   `json:"endpoint"`
	Dataset    string     `json:"dataset"`
	Random     RandomSpec `json:"random,omitzero"`
	NumPrompts int        `json:"num_prompts"`
	// Concurrency lists closed-loop levels: at most c requests in flight, the
	// next sent as soon as one finishes.
	Concurrency []int `json:"concurrency,omitempty"`
	// RequestRates lists open-loop levels in requests per second, with
	// gamma-distributed gaps of shape Burstiness (1 = Poisson), capped at
	// MaxConcurrency in flight when that is positive.
	RequestRates   []float64 `json:"request_rates,omitempty"`
	Burstiness     float64   `json:"burstiness,omitempty"`
	MaxConcurrency int       `json:"max_concurrency,omitempty"`
	MaxTokens      int       `json:"max_tokens,omitempty"` // 0: each prompt's own
	Temperature    float64   `json:"temperature"`
	IgnoreEOS      bool      `json:"ignore_eos"`
	Goodput        Goodput   `json:"goodput,omitzero"`
	Seed           uint64    `json:"seed"`
	Timeout        Duration  `json:"timeout"`
	Warmup         int       `json:"warmup"`
}

// LevelSpec is one load level of a run.
type LevelSpec struct {
	Concurrency int     `json:"concurrency"`  // in-flight cap; 0: none
	RequestRate float64 `json:"request_rate"` // req/s; 0: send all at once
	Burstiness  float64 `json:"burstiness,omitempty"`
}

// Name labels the level in tables, charts and metric groups.
func (l LevelSpec) Name() string {
	if l.RequestRate > 0 {
		s := "rate " + strconv.FormatFloat(l.RequestRate, 'g', -1, 64)
		if l.Concurrency > 0 {
			s += " max " + strconv.Itoa(l.Concurrency)
		}
		return s
	}
	return "concurrency " + strconv.Itoa(l.Concurrency)
}

// Levels expands the configuration into load levels, in order.
func (c ServeConfig) Levels() []LevelSpec {
	var out []LevelSpec
	if len(c.RequestRates) > 0 {
		for _, r := range c.RequestRates {
			out = append(out, LevelSpec{Concurrency: c.MaxConcurrency, RequestRate: r, Burstiness: c.Burstiness})
		}
		return out
	}
	for _, n := range c.Concurrency {
		out = append(out, LevelSpec{Concurrency: n})
	}
	return out
}

// Validate checks the run's shape before anything is sent.
func (c ServeConfig) Validate() error {
	switch {
	case c.NumPrompts < 1:
		return fmt.Errorf("num-prompts must be ≥ 1")
	case len(c.Concurrency) > 0 && len(c.RequestRates) > 0:
		return fmt.Errorf("give either concurrency levels or request rates, not both")
	case len(c.Concurrency) == 0 && len(c.RequestRates) == 0:
		return fmt.Errorf("give concurrency levels or request rates")
	case c.MaxTokens < 0:
		return fmt.Errorf("max-tokens must be ≥ 0")
	case c.Timeout <= 0:
		return fmt.Errorf("timeout must be positive")
	}
	for _, n := range c.Concurrency {
		if n < 1 {
			return fmt.Errorf("concurrency %d must be ≥ 1", n)
		}
	}
	for _, r := range c.RequestRates {
		if !(r > 0) || math.IsInf(r, 0) {
			return fmt.Errorf("request rate %g must be positive and finite", r)
		}
	}
	if len(c.RequestRates) > 0 && !(c.Burstiness > 0) {
		return fmt.Errorf("burstiness %g must be positive", c.Burstiness)
	}
	return nil
}

// LevelResult is one level's summary and every request it sent.
type LevelResult struct {
	Level    LevelSpec       `json:"level"`
	Name     string          `json:"name"`
	Summary  LevelSummary    `json:"summary"`
	Requests []RequestRecord `json:"requests"`
	// Server is what the server's /metrics counted during the level
	// (nil: it has none).
	Server *ServerCounters `json:"server_counters,omitempty"`
}

// ServeResults is the Results payload of a "serve" report.
type ServeResults struct {
	Levels        []LevelResult `json:"levels"`
	WarmupFailed  int           `json:"warmup_failed"`
	Interrupted   bool          `json:"interrupted,omitempty"`
	TokenCounting string        `json:"token_counting"` // how token counts were obtained
}

// ServeOptions are the run's side channels.
type ServeOptions struct {
	Progress    io.Writer // nil: no progress output
	Interactive bool      // Progress is a terminal
	// OnLevel, when set, is called as each level finishes (to print it).
	OnLevel func(LevelResult)
}

// RunServe runs every level of cfg against the client with the same prompts,
// one level after another. Request failures are recorded, never returned;
// the error is non-nil only when ctx ends the run early, in which case the
// levels finished so far (and the interrupted one) are still returned.
func RunServe(ctx context.Context, c *Client, cfg ServeConfig, prompts []Prompt, opt ServeOptions) (*ServeResults, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(prompts) == 0 {
		return nil, fmt.Errorf("no prompts")
	}
	res := &ServeResults{Levels: []LevelResult{}}
	for i := 0; i < cfg.Warmup && ctx.Err() == nil; i++ {
		rec := c.Stream(ctx, prompts[i%len(prompts)], maxTokensFor(cfg, prompts[i%len(prompts)]))
		if !rec.OK {
			res.WarmupFailed++
		}
	}
	for _, lvl := range cfg.Levels() {
		if ctx.Err() != nil {
			break
		}
		lr, err := runLevel(ctx, c, cfg, lvl, prompts, opt)
		if err != nil {
			return nil, err
		}
		res.Levels = append(res.Levels, lr)
		if opt.OnLevel != nil {
			opt.OnLevel(lr)
		}
	}
	res.TokenCounting = tokenCountingNote(res.Levels)
	if err := ctx.Err(); err != nil {
		res.Interrupted = true
		return res, fmt.Errorf("run interrupted: %w", err)
	}
	return res, nil
}

func maxTokensFor(cfg ServeConfig, p Prompt) int {
	switch {
	case cfg.MaxTokens > 0:
		return cfg.MaxTokens
	case p.MaxTokens > 0:
		return p.MaxTokens
	default:
		return DefaultMaxTokens
	}
}

// inflight counts requests in flight and remembers the peak.
type inflight struct {
	mu        sync.Mutex
	now, peak int
}

func (f *inflight) inc() {
	f.mu.Lock()
	f.now++
	f.peak = max(f.peak, f.now)
	f.mu.Unlock()
}

func (f *inflight) dec() {
	f.mu.Lock()
	f.now--
	f.mu.Unlock()
}

// runLevel sends every prompt once at the level's load and waits for all.
func runLevel(ctx context.Context, c *Client, cfg ServeConfig, lvl LevelSpec, prompts []Prompt, opt ServeOptions) (LevelResult, error) {
	var arrivals []time.Duration
	if lvl.RequestRate > 0 {
		var err error
		if arrivals, err = ArrivalOffsets(len(prompts), lvl.RequestRate, lvl.Burstiness, cfg.Seed); err != nil {
			return LevelResult{}, err
		}
	}
	var sem chan struct{}
	if lvl.Concurrency > 0 {
		sem = make(chan struct{}, lvl.Concurrency)
	}
	// The server's own counters before and after; a server without
	// /metrics, or one that fails to answer, leaves them out.
	before, counted, _ := c.ServerCounters(ctx)
	prog := NewProgress(opt.Progress, opt.Interactive, lvl.Name(), len(prompts))
	records := make([]RequestRecord, len(prompts))
	var flight inflight
	var wg sync.WaitGroup
	start := time.Now()
	sent := 0
send:
	for i, p := range prompts {
		if arrivals != nil {
			if !sleepUntil(ctx, start.Add(arrivals[i])) {
				break send
			}
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break send
			}
		}
		sent++
		wg.Add(1)
		go func(i int, p Prompt) {
			defer wg.Done()
			flight.inc()
			rctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.Timeout))
			rec := c.Stream(rctx, p, maxTokensFor(cfg, p))
			cancel()
			flight.dec()
			if sem != nil {
				<-sem
			}
			rec.Index = i
			if !rec.started.IsZero() {
				rec.StartMS = ms(rec.started.Sub(start))
			}
			records[i] = rec
			prog.Add(rec.OK)
		}(i, p)
	}
	wg.Wait()
	duration := time.Since(start)
	prog.Finish()
	records = records[:sent]
	lr := LevelResult{
		Level:    lvl,
		Name:     lvl.Name(),
		Summary:  summarizeLevel(records, duration, flight.peak, cfg.Goodput),
		Requests: records,
	}
	if counted {
		if after, ok, _ := c.ServerCounters(ctx); ok {
			d := after.sub(before)
			lr.Server = &d
		}
	}
	return lr, nil
}

// sleepUntil waits for t or for ctx; it reports whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func tokenCountingNote(levels []LevelResult) string {
	usage, chunks := 0, 0
	for _, l := range levels {
		usage += l.Summary.OutputTokensFromUsage
		chunks += l.Summary.OutputTokensFromChunks
	}
	switch {
	case usage+chunks == 0:
		return "no successful requests"
	case chunks == 0:
		return "usage: every token count came from the server's usage report"
	case usage == 0:
		return "chunks: the server sent no usage; output tokens counted as text chunks, input tokens estimated"
	default:
		return fmt.Sprintf("mixed: %d requests counted from usage, %d from chunks", usage, chunks)
	}
}

// Goodput holds service-level objectives in milliseconds; zero means unset.
// A request counts toward goodput when it succeeded and meets every set one.
type Goodput struct {
	TTFTMS float64 `json:"ttft_ms,omitempty"`
	TPOTMS float64 `json:"tpot_ms,omitempty"`
	E2ELMS float64 `json:"e2el_ms,omitempty"`
}

// Enabled reports whether any objective is set.
func (g Goodput) Enabled() bool { return g.TTFTMS > 0 || g.TPOTMS > 0 || g.E2ELMS > 0 }

// Meets reports whether a successful request meets every objective.
func (g Goodput) Meets(r RequestRecord) bool {
	return r.OK &&
		(g.TTFTMS <= 0 || r.TTFTMS <= g.TTFTMS) &&
		(g.TPOTMS <= 0 || r.TPOTMS <= g.TPOTMS) &&
		(g.E2ELMS <= 0 || r.E2ELMS <= g.E2ELMS)
}

// ParseGoodput reads "ttft:300,tpot:50,e2el:2000" (milliseconds; commas or
// spaces between items, ':' or '=' inside them).
func ParseGoodput(s string) (Goodput, error) {
	var g Goodput
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		k, v, ok := strings.Cut(item, ":")
		if !ok {
			k, v, ok = strings.Cut(item, "=")
		}
		if !ok {
			return g, fmt.Errorf("goodput %q: want name:milliseconds", item)
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(x > 0) || math.IsInf(x, 0) {
			return g, fmt.Errorf("goodput %q: milliseconds must be a positive number", item)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "ttft":
			g.TTFTMS = x
		case "tpot":
			g.TPOTMS = x
		case "e2el":
			g.E2ELMS = x
		default:
			return g, fmt.Errorf("goodput %q: unknown objective (want ttft, tpot or e2el)", item)
		}
	}
	return g, nil
}
