package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// ServerCounters are a level's changes in the server's own counters, read
// from its Prometheus /metrics before and after the level: what a client
// cannot see. The names are vLLM's, which Nuri serves too; a server that
// lacks one reports zero for it. Other clients' traffic in the same
// seconds counts too.
type ServerCounters struct {
	PrefixQueries      float64 `json:"prefix_cache_queries"` // prompt tokens looked up
	PrefixHits         float64 `json:"prefix_cache_hits"`    // of them served from the cache
	Preemptions        float64 `json:"preemptions"`
	SpecDrafts         float64 `json:"spec_drafts"` // a sequence's draft tokens of one step
	SpecDraftTokens    float64 `json:"spec_draft_tokens"`
	SpecAcceptedTokens float64 `json:"spec_accepted_tokens"`
}

// serverCounterNames maps each counter to its Prometheus name.
var serverCounterNames = []struct {
	name string
	get  func(*ServerCounters) *float64
}{
	{"vllm:prefix_cache_queries_total", func(c *ServerCounters) *float64 { return &c.PrefixQueries }},
	{"vllm:prefix_cache_hits_total", func(c *ServerCounters) *float64 { return &c.PrefixHits }},
	{"vllm:num_preemptions_total", func(c *ServerCounters) *float64 { return &c.Preemptions }},
	{"vllm:spec_decode_num_drafts_total", func(c *ServerCounters) *float64 { return &c.SpecDrafts }},
	{"vllm:spec_decode_num_draft_tokens_total", func(c *ServerCounters) *float64 { return &c.SpecDraftTokens }},
	{"vllm:spec_decode_num_accepted_tokens_total", func(c *ServerCounters) *float64 { return &c.SpecAcceptedTokens }},
}

// PrefixHitRate is the share of looked-up prompt tokens served from the
// prefix cache (0 when none was looked up).
func (c ServerCounters) PrefixHitRate() float64 { return ratio(c.PrefixHits, c.PrefixQueries) }

// AcceptanceRate is the share of draft tokens kept.
func (c ServerCounters) AcceptanceRate() float64 {
	return ratio(c.SpecAcceptedTokens, c.SpecDraftTokens)
}

// AcceptanceLength is the tokens a drafting sequence's step emits on
// average: its kept drafts and the one it samples (vLLM's figure).
func (c ServerCounters) AcceptanceLength() float64 {
	if c.SpecDrafts == 0 {
		return 0
	}
	return 1 + c.SpecAcceptedTokens/c.SpecDrafts
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// sub returns c − before, counter by counter.
func (c ServerCounters) sub(before ServerCounters) ServerCounters {
	for _, n := range serverCounterNames {
		*n.get(&c) -= *n.get(&before)
	}
	return c
}

// ServerCounters reads the server's /metrics (beside its /v1 routes) and
// returns the counters it has, each summed over its label sets, and
// whether it has any. A server without /metrics (most hosted APIs) is not
// an error: ok is false.
func (c *Client) ServerCounters(ctx context.Context) (ServerCounters, bool, error) {
	var out ServerCounters
	url := strings.TrimSuffix(c.api, "/v1") + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return out, false, err
	}
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return out, false, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return out, false, nil
	}
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := parseSample(sc.Text())
		if !ok {
			continue
		}
		for _, n := range serverCounterNames {
			if n.name == name {
				*n.get(&out) += v
				found = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return out, false, fmt.Errorf("read %s: %w", url, err)
	}
	return out, found, nil
}

// parseSample reads one sample line of Prometheus's text format: a name,
// optional {labels} and a value (a timestamp after it is ignored). A
// non-finite value is no sample here: the counters are summed.
func parseSample(line string) (string, float64, bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", 0, false
	}
	name, rest := line, ""
	if i := strings.IndexAny(line, "{ "); i >= 0 {
		name, rest = line[:i], line[i:]
	}
	if strings.HasPrefix(rest, "{") {
		// Label values may hold spaces and braces inside quotes.
		inQuote, end := false, -1
		for i := 1; i < len(rest) && end < 0; i++ {
			switch {
			case rest[i] == '\\' && inQuote:
				i++
			case rest[i] == '"':
				inQuote = !inQuote
			case rest[i] == '}' && !inQuote:
				end = i
			}
		}
		if end < 0 {
			return "", 0, false
		}
		rest = rest[end+1:]
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return "", 0, false
	}
	return name, v, true
}
