package server

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nuri-ai/nuri/engine"
)

// paddedTokensName is Nuri's own counter of wasted bucket rows.
const paddedTokensName = "nuri:padded_tokens_total"

// Histogram buckets, in seconds, as vLLM uses them.
var (
	ttftBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560}
	itlBuckets  = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80}
	e2eBuckets  = []float64{0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680}
)

type histogram struct {
	mu      sync.Mutex
	buckets []float64
	counts  []uint64 // per bucket, not cumulative
	sum     float64
	count   uint64
}

func newHistogram(b []float64) *histogram {
	return &histogram{buckets: b, counts: make([]uint64, len(b))}
}

func (h *histogram) observe(v float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := sort.SearchFloat64s(h.buckets, v) // first bucket with le >= v
	if i < len(h.counts) {
		h.counts[i]++
	}
	h.sum += v
	h.count++
}

// Metrics holds the server's counters and the scheduler's latency
// histograms. It implements engine.Observer, so cmd wires it into
// engine.Config.Observer.
type Metrics struct {
	model string
	start time.Time

	ttft, itl, e2e, queue *histogram

	promptTokens, generationTokens atomic.Int64
	success                        [3]atomic.Int64 // stop, length, abort

	mu        sync.Mutex
	cacheInfo map[string]string
}

// NewMetrics returns metrics labelled with the served model name.
func NewMetrics(modelName string) *Metrics {
	return &Metrics{
		model: modelName, start: time.Now(),
		ttft: newHistogram(ttftBuckets), itl: newHistogram(itlBuckets),
		e2e: newHistogram(e2eBuckets), queue: newHistogram(e2eBuckets),
	}
}

func (m *Metrics) ObserveQueue(d time.Duration) { m.queue.observe(d.Seconds()) }
func (m *Metrics) ObserveTTFT(d time.Duration)  { m.ttft.observe(d.Seconds()) }
func (m *Metrics) ObserveITL(d time.Duration)   { m.itl.observe(d.Seconds()) }
func (m *Metrics) ObserveE2E(d time.Duration)   { m.e2e.observe(d.Seconds()) }

var _ engine.Observer = (*Metrics)(nil)

// SetCacheInfo sets the labels of vllm:cache_config_info.
func (m *Metrics) SetCacheInfo(labels map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cacheInfo = labels
}

// finished counts one finished sequence (one choice) and its tokens.
func (m *Metrics) finished(r engine.FinishReason, promptTokens, completionTokens int) {
	m.promptTokens.Add(int64(promptTokens))
	m.generationTokens.Add(int64(completionTokens))
	switch r {
	case engine.FinishStop:
		m.success[0].Add(1)
	case engine.FinishLength:
		m.success[1].Add(1)
	default:
		m.success[2].Add(1)
	}
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

func fmtFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

type promWriter struct {
	w     io.Writer
	model string // the model_name label, already escaped
	err   error
}

func (p *promWriter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *promWriter) header(name, typ, help string) {
	p.printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (p *promWriter) sample(name, extra string, v float64) {
	labels := `model_name="` + p.model + `"`
	if extra != "" {
		labels += "," + extra
	}
	p.printf("%s{%s} %s\n", name, labels, fmtFloat(v))
}

func (p *promWriter) gauge(name, help string, v float64) {
	p.header(name, "gauge", help)
	p.sample(name, "", v)
}

func (p *promWriter) counter(name, help string, v float64) {
	p.header(name, "counter", help)
	p.sample(name, "", v)
}

func (p *promWriter) histogram(name, help string, h *histogram) {
	h.mu.Lock()
	counts := append([]uint64(nil), h.counts...)
	sum, count := h.sum, h.count
	h.mu.Unlock()
	p.header(name, "histogram", help)
	var cum uint64
	for i, le := range h.buckets {
		cum += counts[i]
		p.sample(name+"_bucket", `le="`+fmtFloat(le)+`"`, float64(cum))
	}
	p.sample(name+"_bucket", `le="+Inf"`, float64(count))
	p.sample(name+"_sum", "", sum)
	p.sample(name+"_count", "", float64(count))
}

// write renders every metric in Prometheus text format 0.0.4.
func (m *Metrics) write(w io.Writer, st engine.Stats) error {
	p := &promWriter{w: w, model: escapeLabel(m.model)}
	p.gauge("vllm:num_requests_running", "Number of requests in model execution batches.", float64(st.Running))
	p.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", float64(st.Waiting))
	p.gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", st.KVUsage)

	m.mu.Lock()
	info := make([]string, 0, len(m.cacheInfo))
	for k, v := range m.cacheInfo {
		info = append(info, k+`="`+escapeLabel(v)+`"`)
	}
	m.mu.Unlock()
	sort.Strings(info)
	p.header("vllm:cache_config_info", "gauge", "Information of the KV cache configuration.")
	p.sample("vllm:cache_config_info", strings.Join(info, ","), 1)

	if st.LoRALoaded > 0 || len(st.LoRARunning) > 0 || len(st.LoRAWaiting) > 0 {
		// vLLM's form: the adapters as labels, the time as the value (the
		// newest sample is the current one). Nuri batches every loaded
		// adapter, so max_lora is their number.
		p.header("vllm:lora_requests_info", "gauge", "Running stats on lora requests.")
		p.sample("vllm:lora_requests_info", fmt.Sprintf(`max_lora="%d",running_lora_adapters="%s",waiting_lora_adapters="%s"`,
			st.LoRALoaded, escapeLabel(strings.Join(st.LoRARunning, ",")), escapeLabel(strings.Join(st.LoRAWaiting, ","))),
			float64(time.Now().UnixNano())/1e9)
	}
	p.counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.", float64(m.promptTokens.Load()))
	p.counter("vllm:generation_tokens_total", "Number of generation tokens processed.", float64(m.generationTokens.Load()))
	p.header("vllm:request_success_total", "counter", "Count of successfully processed requests.")
	for i, r := range []string{"stop", "length", "abort"} {
		p.sample("vllm:request_success_total", `finished_reason="`+r+`"`, float64(m.success[i].Load()))
	}
	p.histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", m.ttft)
	p.histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", m.itl)
	p.histogram("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", m.e2e)
	p.histogram("vllm:request_queue_time_seconds", "Histogram of time spent in the waiting queue in seconds.", m.queue)
	p.counter("vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.", float64(st.PrefixQueries))
	p.counter("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.", float64(st.PrefixHits))
	p.counter("vllm:num_preemptions_total", "Cumulative number of preemptions from the engine.", float64(st.Preemptions))
	p.counter("vllm:spec_decode_num_drafts_total", "Number of spec decoding drafts (a sequence's draft tokens of one step).", float64(st.SpecDrafts))
	p.counter("vllm:spec_decode_num_draft_tokens_total", "Number of draft tokens (speculative decoding: n-gram, prediction or draft model).", float64(st.SpecDraftTokens))
	p.counter("vllm:spec_decode_num_accepted_tokens_total", "Number of accepted draft tokens.", float64(st.SpecAcceptedTokens))
	p.counter("nuri:draft_model_passes_total", "Forward passes of the draft model (--draft-model).", float64(st.DraftPasses))
	p.counter("nuri:draft_model_tokens_total", "Tokens the draft model ran: catching up on sequences' tokens and feeding its drafts.", float64(st.DraftTokens))
	p.counter(paddedTokensName, "Rows a static-shape device ran beyond the scheduled tokens (shape-bucket padding; 0 on other devices).", float64(st.PaddedTokens))
	m.writeProcess(p)
	return p.err
}

// writeProcess adds the Go runtime and process metrics (no model label).
func (m *Metrics) writeProcess(p *promWriter) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	plain := func(name, typ, help string, v float64) {
		p.header(name, typ, help)
		p.printf("%s %s\n", name, fmtFloat(v))
	}
	p.header("go_info", "gauge", "Information about the Go environment.")
	p.printf("go_info{version=%q} 1\n", runtime.Version())
	plain("go_goroutines", "gauge", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine()))
	plain("go_memstats_alloc_bytes", "gauge", "Number of bytes allocated and still in use.", float64(ms.Alloc))
	plain("go_memstats_sys_bytes", "gauge", "Number of bytes obtained from system.", float64(ms.Sys))
	plain("go_memstats_heap_inuse_bytes", "gauge", "Number of heap bytes that are in use.", float64(ms.HeapInuse))
	plain("go_memstats_heap_objects", "gauge", "Number of allocated objects.", float64(ms.HeapObjects))
	plain("go_gc_cycles_total", "counter", "Number of completed GC cycles.", float64(ms.NumGC))
	plain("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", float64(m.start.UnixNano())/1e9)
	if cpu, ok := processCPUSeconds(); ok {
		plain("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu)
	}
	if rss, ok := processRSS(); ok {
		plain("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", float64(rss))
	}
}
