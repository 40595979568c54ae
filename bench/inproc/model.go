package inproc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/bench"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// ModelConfig is every setting of a model benchmark; it is recorded in
// results.json as is.
type ModelConfig struct {
	Model string `json:"model"`
	// Device names the device the model runs on ("cpu", "cuda:0", ...);
	// any but the CPU is opened by the caller (RunOptions.Device).
	Device string `json:"device"`
	// Prompts is llama-bench's -p: a ppP test for each P (0: none).
	Prompts []int `json:"n_prompt"`
	// Gens is llama-bench's -n: a tgN test for each N (0: none). The first
	// N above 0 is also the decode steps of each batched run.
	Gens []int `json:"n_gen"`
	// Depths is llama-bench's -d: the ppP and tgN tests run after each
	// depth's tokens already in the cache (prefilled once a depth, not
	// timed), so their attention reads a context that long, as a
	// conversation's later turns do (none or 0: an empty cache).
	Depths  []int `json:"n_depth,omitempty"`
	Reps    int   `json:"repetitions"`
	Threads int   `json:"threads"` // <= 0: one per CPU
	// UBatch caps the tokens of one forward pass during prefill (llama.cpp's
	// n_ubatch): a longer prompt is processed in several passes.
	UBatch int `json:"n_ubatch"`
	// Batch lists the sequence counts of the batched-decode runs (empty:
	// none). Each sequence first prefills BatchPrompt tokens.
	Batch       []int `json:"batch,omitempty"`
	BatchPrompt int   `json:"batch_prompt,omitempty"`
	// KVType is the cache's K and V type, KVTypeV V's where it differs
	// (model.KVCacheTypes' names).
	KVType    string `json:"kv_type"`
	KVTypeV   string `json:"kv_type_v,omitempty"`
	BlockSize int    `json:"kv_block_size"`
	// Kernels narrows the CPU kernels (NURI_KERNELS=avx2 or generic).
	Kernels kernels.KernelSet `json:"kernels"`
	// Pacing fixes the CPU's single-row stream kernels to their plain or
	// paced forms (NURI_PACING=off or on) instead of measuring which is
	// faster while the model runs.
	Pacing kernels.Pacing `json:"pacing"`
	// Prefetch fixes the prefetch distances of the CPU's single-row
	// stream kernels (NURI_PREFETCH=near or far) instead of measuring
	// which is faster while the model runs.
	Prefetch kernels.Prefetch `json:"prefetch"`
	// BandwidthMiB is the buffer the read bandwidth is measured over; it
	// should be far beyond the last-level cache (default 1 GiB, or twice
	// that cache where it is larger: beyondCache).
	BandwidthMiB int    `json:"bandwidth_buffer_mib"`
	Seed         uint64 `json:"seed"`
	// OpProfile times every backend op during the generation test's
	// repetitions (backends.OpProfiler) and reports them per step.
	OpProfile bool `json:"op_profile,omitempty"`
}

// DefaultModelConfig returns llama-bench's defaults (-p 512 -n 128 -r 5)
// and the batched prompt of the project's acceptance run (128 tokens).
func DefaultModelConfig() ModelConfig {
	return ModelConfig{Device: "cpu", Prompts: []int{512}, Gens: []int{128}, Reps: 5, UBatch: 512, BatchPrompt: 128,
		KVType: "F16", BlockSize: 16, BandwidthMiB: beyondCache(1024, kernels.LastLevelCache()), Seed: 1}
}

// Validate reports the first invalid setting.
func (c ModelConfig) Validate() error {
	switch {
	case c.Model == "":
		return fmt.Errorf("no model")
	case slices.Min(append([]int{0}, slices.Concat(c.Prompts, c.Gens, c.Depths)...)) < 0:
		return fmt.Errorf("-p %v, -n %v and -d %v must not be negative", c.Prompts, c.Gens, c.Depths)
	case c.longestTest() == 0 && len(c.Batch) == 0:
		return fmt.Errorf("nothing to run: -p and -n are 0 and no --batch")
	case c.Reps < 1:
		return fmt.Errorf("repetitions %d must be at least 1", c.Reps)
	case c.UBatch < 1:
		return fmt.Errorf("ubatch %d must be at least 1", c.UBatch)
	case c.BlockSize < 1:
		return fmt.Errorf("KV block size %d must be at least 1", c.BlockSize)
	case c.BandwidthMiB < 1:
		return fmt.Errorf("bandwidth buffer of %d MiB", c.BandwidthMiB)
	case len(c.Batch) > 0 && (c.batchGen() < 1 || c.BatchPrompt < 1):
		return fmt.Errorf("--batch needs -n ≥ 1 and a batch prompt ≥ 1 (have %d, %d)", c.batchGen(), c.BatchPrompt)
	}
	for _, b := range c.Batch {
		if b < 1 {
			return fmt.Errorf("batch size %d must be at least 1", b)
		}
	}
	if _, err := c.kvType(); err != nil {
		return err
	}
	return nil
}

// longestTest is the most tokens a ppP or tgN test takes (0: none).
func (c ModelConfig) longestTest() int {
	return slices.Max(append([]int{0}, slices.Concat(c.Prompts, c.Gens)...))
}

// depths are the cache depths the ppP and tgN tests run at, each once,
// in the order given ({0} when none is given).
func (c ModelConfig) depths() []int {
	if len(c.Depths) == 0 {
		return []int{0}
	}
	return distinct(c.Depths, 0)
}

// distinct is list without repeats, in its order, each value at least
// least: a test given twice is one test (its name and metrics are one).
func distinct(list []int, least int) []int {
	var out []int
	for _, v := range list {
		if v >= least && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// batchGen is the decode steps of each batched run: the first -n value
// above 0 (0: none).
func (c ModelConfig) batchGen() int {
	if g := distinct(c.Gens, 1); len(g) > 0 {
		return g[0]
	}
	return 0
}

func (c ModelConfig) kvType() (model.KVTypes, error) {
	return model.ParseKVTypes(c.KVType, c.KVTypeV)
}

// RunOptions are the parts of a run that are not results: where progress
// goes.
type RunOptions struct {
	Progress    io.Writer // nil: no progress
	Interactive bool      // redraw one line (a terminal) instead of quarter lines
	// Device is the opened device named by ModelConfig.Device when that is
	// not the CPU (the caller closes it); nil: a CPU device of
	// ModelConfig.Threads threads.
	Device backends.Device
}

// ModelResults is everything a model benchmark measured.
type ModelResults struct {
	Model   ModelInfo   `json:"model"`
	Backend string      `json:"backend"`
	Device  string      `json:"device"`
	Threads int         `json:"threads"`
	Kernels []KernelUse `json:"kernels"` // the CPU's matmul kernels
	// VectorOps names the CPU's vector loops (attention, norms, SiLU):
	// kernels.VecOps.Name.
	VectorOps string `json:"vector_ops,omitempty"`
	// DeviceInfo describes a device other than the CPU (backends.Describer).
	DeviceInfo []string `json:"device_info,omitempty"`
	KVBytes    int      `json:"kv_bytes_per_position"` // all layers, K and V
	// TypeK and TypeV are the cache's K and V types (llama-bench's type_k
	// and type_v: "f16", "q8_0", ...).
	TypeK string `json:"type_k"`
	TypeV string `json:"type_v"`
	// TranscodedBytes is the part of the roofline's weight bytes that the
	// transcoded i-quant records add to the file's (ModelInfo).
	TranscodedBytes uint64       `json:"transcoded_bytes,omitempty"`
	Memory          Bandwidth    `json:"read_bandwidth"`
	Tests           []TestResult `json:"tests"`
	// BatchPrefill is the prefill that precedes the batched runs (the
	// largest batch's sequences, all prefilled once and shared by every
	// batch size).
	BatchPrefill *PrefillResult  `json:"batch_prefill,omitempty"`
	Batched      []BatchedResult `json:"batched,omitempty"`
	// Encoder: the model is an encoder (model.Config.Encoder), so ppP is
	// one embedding pass over a P-token input and nothing is generated.
	Encoder bool `json:"encoder,omitempty"`
	// Pacing is what the CPU chose among the forms of its single-row
	// stream kernels (far, near, paced) by the end of the run, per kind
	// of call, where Pacing or Prefetch left it more than one.
	Pacing []PaceUse `json:"pacing,omitempty"`
	// Prefetch is the CPU's single-row prefetch mode: "auto" (measured,
	// Pacing says what was chosen), "near" or "far" (NURI_PREFETCH).
	// Under "auto", PrefetchStart is the distance the calls started on,
	// and that calls nobody measures keep, and PrefetchStartFor the CPU
	// vendor it was chosen for ("this CPU" where it has no vendor string).
	Prefetch         string `json:"prefetch,omitempty"`
	PrefetchStart    string `json:"prefetch_start,omitempty"`
	PrefetchStartFor string `json:"prefetch_start_for,omitempty"`
}

// PaceUse is one kind of single-row call's form (kernels.PaceChoice).
type PaceUse struct {
	Types []string `json:"types"`
	// Sizes is the calls' size class ("16-32 MiB": their weights' total).
	Sizes string `json:"sizes"`
	// Form is the kernels the calls ran at the end: "far" (plain), "near"
	// or "paced".
	Form string `json:"form"`
	// Trials are each measured pair of forms' last result; Rounds counts
	// the measurements.
	Trials []PaceTrial `json:"trials,omitempty"`
	Rounds int         `json:"rounds"`
}

// PaceTrial is one measurement: the median time of Form ÷ Against over
// Pairs pairs of calls (kernels.PaceTrial).
type PaceTrial struct {
	Form    string  `json:"form"`
	Against string  `json:"against"`
	Ratio   float64 `json:"ratio"`
	Pairs   int     `json:"pairs"`
}

// paceUses converts a pool's PacingReport.
func paceUses(r []kernels.PaceChoice) []PaceUse {
	var out []PaceUse
	for _, c := range r {
		u := PaceUse{Sizes: kernels.SizeClassLabel(c.SizeClass), Form: c.Form, Rounds: c.Rounds}
		for _, t := range c.Types {
			u.Types = append(u.Types, t.String())
		}
		for _, t := range c.Trials {
			u.Trials = append(u.Trials, PaceTrial{Form: t.Form, Against: t.Against, Ratio: t.Ratio, Pairs: t.Pairs})
		}
		out = append(out, u)
	}
	return out
}

// KernelUse is the matmul implementation chosen for one weight type.
type KernelUse struct {
	Type   string `json:"type"`
	Kernel string `json:"kernel"`
	Bytes  uint64 `json:"bytes"`
}

// Bandwidth is the memory read bandwidth measured in the run: of the host
// for the CPU, of the device's own memory for others (backends.
// BandwidthMeter). The roofline uses the best measurement, so the ratios it
// gives are conservative.
type Bandwidth struct {
	// Where says whose memory was read: "host" or the device's name.
	// Empty when the device cannot measure its memory: then there is no
	// roofline.
	Where       string `json:"measured_on,omitempty"`
	BufferBytes int    `json:"buffer_bytes"`
	// Loops is how many read loops each host sample is the best of
	// (kernels.ProbeLoops); 0 for a device's own meter.
	Loops int `json:"read_loops,omitempty"`
	// SamplesGBs: before the tests, before each generation repetition,
	// after tg and after the batched runs.
	SamplesGBs []float64 `json:"samples_gbs"`
	BestGBs    float64   `json:"best_gbs"`
	// read takes one measurement (nil: none can be taken).
	read func() (float64, error)
}

func (b *Bandwidth) add(gbs float64) {
	b.SamplesGBs = append(b.SamplesGBs, gbs)
	b.BestGBs = max(b.BestGBs, gbs)
}

// samplesPerPoint is how many measurements are taken at each point of a
// run. One (itself the best of several passes) can land in a burst of other
// work on a shared machine; on the 2-core machines a single measurement
// has been seen anywhere between 24 and 63 GB/s within a minute.
const samplesPerPoint = 2

// useHost makes b measure host memory with p's threads (the best of two
// passes in each of kernels.BandwidthProbe's read loops, over a probe
// buffer of b.BufferBytes allocated on first use and kept for the run).
func (b *Bandwidth) useHost(p *kernels.Pool) {
	var probe *kernels.BandwidthProbe
	b.Where, b.Loops = "host", kernels.ProbeLoops()
	b.read = func() (float64, error) {
		if probe == nil {
			probe = kernels.NewBandwidthProbe(b.BufferBytes)
		}
		return probe.Measure(p), nil
	}
}

// measure takes samplesPerPoint measurements.
func (b *Bandwidth) measure() error {
	for range samplesPerPoint {
		if _, err := b.sample(); err != nil {
			return err
		}
	}
	return nil
}

// sample takes one measurement and returns it (0 without a meter).
func (b *Bandwidth) sample() (float64, error) {
	if b.read == nil {
		return 0, nil
	}
	gbs, err := b.read()
	if err != nil {
		return 0, fmt.Errorf("read bandwidth: %w", err)
	}
	b.add(gbs)
	return gbs, nil
}

// TestResult is one llama-bench test (ppP or tgN) over its repetitions.
type TestResult struct {
	Name   string `json:"name"` // "pp512", "tg128", "tg128 @ d4096"
	Tokens int    `json:"n_tokens"`
	Depth  int    `json:"n_depth,omitempty"` // tokens in the cache before the test's own
	// Time is when the test started (its warm-up), llama-bench's test_time.
	Time time.Time `json:"test_time"`

	Seconds []float64 `json:"seconds"`
	TPS     []float64 `json:"tps"`
	AvgTPS  float64   `json:"avg_ts"`
	StdTPS  float64   `json:"stddev_ts"`
	// GOPS is 2 × params × tokens per second at the mean t/s: the nominal
	// operation rate (PERFORMANCE.md's prefill measure); a mixture of
	// experts counts the parameters a token computes with.
	GOPS    float64 `json:"gops"`
	BestTPS float64 `json:"best_ts"` // the fastest repetition
	// CPUShare is the process's CPU time during the repetitions ÷ (wall
	// time × threads): below 1 on a shared machine when other work took
	// the cores (spinning workers count as busy).
	CPUShare float64 `json:"cpu_share,omitempty"`
	// CPUWait is the time the process's threads spent runnable but waiting
	// for a CPU during the repetitions (other tasks had it) ÷ (wall time ×
	// threads), from Linux's per-thread schedstat; nil where unknown. A
	// thread that loses its core stalls the other at the end of the op.
	CPUWait *float64 `json:"cpu_wait,omitempty"`
	// HostSteal is the time the hypervisor took from the machine's CPUs
	// during the repetitions (Linux's steal time) ÷ (wall time × CPUs);
	// nil where unknown. It counts in 10 ms ticks.
	HostSteal *float64 `json:"host_steal,omitempty"`
	// SimSeconds and SimTPS are a simulator's device time per repetition
	// and the mean rate in it (backends.Simulated: what the simulated chip
	// would take, as opposed to the wall clock of the simulation).
	SimSeconds []float64 `json:"sim_seconds,omitempty"`
	SimTPS     float64   `json:"sim_ts,omitempty"`
	// ProbeGBs is the read bandwidth measured just before each
	// repetition of a generation test, for the paired roofline ratio.
	ProbeGBs []float64 `json:"probe_gbs,omitempty"`
	// Steps are the single decode steps of a generation test.
	Steps *StepStats `json:"steps,omitempty"`
	// OpProfile is where a generation test's decode steps went (with
	// ModelConfig.OpProfile), largest first.
	OpProfile []OpStep  `json:"op_profile,omitempty"`
	Roofline  *Roofline `json:"roofline,omitempty"` // generation tests
	cpu       reps
}

// OpStep is one kind of backend op's share of a decode step.
type OpStep struct {
	Name  string  `json:"name"`
	Calls float64 `json:"calls_per_step"`
	US    float64 `json:"us_per_step"`
	Share float64 `json:"share"` // of the mean step's time
	// WeightGBs is the rate the op read its weights at (their bytes over
	// its time, GB/s), for ops that read weights: set against the run's
	// bandwidth, it shows which calls a step's roofline ratio loses in.
	WeightGBs float64 `json:"weight_gb_per_s,omitempty"`
	// DotUS is the part of US a matmul spent streaming its weights (its
	// dot phase, backends.OpTime.DotTime), and DotGBs the rate it read
	// them at in that part: against WeightGBs it splits what the op loses
	// between the streaming and the serial work around it (building and
	// quantizing the input, the threads' hand-offs).
	DotUS  float64 `json:"dot_us_per_step,omitempty"`
	DotGBs float64 `json:"dot_weight_gb_per_s,omitempty"`
}

// opSteps turns an op profile over steps decode steps of stepSec seconds
// each (mean) into per-step figures.
func opSteps(ops []backends.OpTime, steps int, stepSec float64) []OpStep {
	out := make([]OpStep, len(ops))
	for i, op := range ops {
		us := op.Time.Seconds() * 1e6 / float64(steps)
		out[i] = OpStep{Name: op.Name, Calls: float64(op.Calls) / float64(steps), US: us}
		if op.WeightBytes > 0 && op.Time > 0 {
			out[i].WeightGBs = float64(op.WeightBytes) / op.Time.Seconds() / 1e9
		}
		if op.DotTime > 0 {
			out[i].DotUS = op.DotTime.Seconds() * 1e6 / float64(steps)
			if op.WeightBytes > 0 {
				out[i].DotGBs = float64(op.WeightBytes) / op.DotTime.Seconds() / 1e9
			}
		}
		if stepSec > 0 {
			out[i].Share = us / (stepSec * 1e6)
		}
	}
	return out
}

// Roofline sets a decode rate against memory bandwidth: a step cannot be
// faster than reading everything it needs once.
type Roofline struct {
	BandwidthGBs float64 `json:"bandwidth_gbs"`
	WeightBytes  float64 `json:"weight_bytes_per_step"`
	KVBytes      float64 `json:"kv_bytes_per_step"` // mean over the steps
	BytesPerStep float64 `json:"bytes_per_step"`
	TokensPer    int     `json:"tokens_per_step"`
	// RooflineTPS is TokensPer × bandwidth ÷ BytesPerStep.
	RooflineTPS float64 `json:"roofline_tps"`
	Ratio       float64 `json:"ratio"`      // mean t/s ÷ RooflineTPS
	BestRatio   float64 `json:"best_ratio"` // fastest repetition's t/s ÷ RooflineTPS
	// FastestStepRatio is the fastest single step's rate ÷ RooflineTPS: on
	// a shared machine, what the code reaches when it has the cores.
	FastestStepRatio float64 `json:"fastest_step_ratio"`
	// PairedRatio is the median over the repetitions of each one's t/s ÷
	// the roofline of the bandwidth measured just before it. The machine's
	// bandwidth drifts by tens of percent within a run, and Ratio sets the
	// mean rate against the run's best moment; the paired ratio compares
	// each repetition with what the machine gave just then.
	PairedRatio float64 `json:"paired_ratio,omitempty"`
}

func newRoofline(bwGBs, weightBytes, kvBytes float64, tokensPer int) *Roofline {
	r := &Roofline{BandwidthGBs: bwGBs, WeightBytes: weightBytes, KVBytes: kvBytes,
		BytesPerStep: weightBytes + kvBytes, TokensPer: tokensPer}
	if r.BytesPerStep > 0 {
		r.RooflineTPS = float64(tokensPer) * bwGBs * 1e9 / r.BytesPerStep
	}
	return r
}

// of returns tps ÷ the roofline rate (0 without a roofline).
func (r *Roofline) of(tps float64) float64 {
	if r.RooflineTPS <= 0 {
		return 0
	}
	return tps / r.RooflineTPS
}

// set fills the ratios for a measured mean, best repetition and steps.
func (r *Roofline) set(avg, best float64, steps *StepStats) *Roofline {
	r.Ratio, r.BestRatio = r.of(avg), r.of(best)
	if steps != nil {
		r.FastestStepRatio = r.of(steps.FastestTPS)
	}
	return r
}

// pair sets PairedRatio from each repetition's t/s and the bandwidth
// measured before it.
func (r *Roofline) pair(tps, probeGBs []float64) *Roofline {
	if len(tps) == 0 || len(tps) != len(probeGBs) || r.BytesPerStep <= 0 {
		return r
	}
	ratios := make([]float64, len(tps))
	for i, v := range tps {
		ratios[i] = v / (float64(r.TokensPer) * probeGBs[i] * 1e9 / r.BytesPerStep)
	}
	slices.Sort(ratios)
	r.PairedRatio = bench.PercentileSorted(ratios, 50)
	return r
}

// runner holds what every test of one run shares.
type runner struct {
	cfg     ModelConfig
	kvType  model.KVTypes
	m       model.Model
	dev     backends.Device // where the model and its caches live
	mc      model.Config
	mem     *Bandwidth
	prof    backends.OpProfiler // nil unless ModelConfig.OpProfile
	sim     backends.Simulated  // nil unless the device is a simulator
	threads int
	rng     *rand.Rand
	logits  []float32
	prog    *bench.Progress
	ctx     context.Context
}

// RunModel loads the model and runs the configured tests: ppP, tgN and the
// batched decode runs, each with a warm-up pass before its timed
// repetitions, and the read bandwidth before the tests, before each
// generation repetition, after the generation test and after the batched
// runs.
func RunModel(ctx context.Context, cfg ModelConfig, opt RunOptions) (*ModelResults, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	info, err := InspectModel(cfg.Model)
	if err != nil {
		return nil, err
	}
	kvType, _ := cfg.kvType()
	dev := opt.Device
	if dev == nil {
		if !IsCPU(cfg.Device) {
			return nil, fmt.Errorf("device %s: not opened (RunOptions.Device)", cfg.Device)
		}
		c := cpu.New(cfg.Threads)
		defer c.Close()
		c.SetKernelSet(cfg.Kernels)
		c.SetPacing(cfg.Pacing)
		c.SetPrefetch(cfg.Prefetch)
		dev = c
	}
	res := &ModelResults{Model: info, Backend: backendLabel(dev), Device: dev.Name(), Threads: cfg.Threads}
	cpuDev, onCPU := dev.(*cpu.Device)
	if onCPU {
		res.Threads = cpuDev.Threads()
	} else if d, ok := backends.As[backends.Describer](dev); ok {
		res.DeviceInfo = d.Describe()
	}
	res.Memory.BufferBytes = cfg.BandwidthMiB << 20
	if onCPU {
		pool := kernels.NewPool(res.Threads) // the host probe and the kernel names
		defer pool.Close()
		pool.SetKernelSet(cfg.Kernels)
		res.Kernels = kernelUses(info, pool)
		res.VectorOps = pool.VecOps().Name()
		mode, start := cpuDev.Prefetch()
		res.Prefetch = mode.String()
		if mode == kernels.PrefetchAuto {
			res.PrefetchStart = start.String()
			res.PrefetchStartFor = kernels.CPUVendor()
			if res.PrefetchStartFor == "" {
				res.PrefetchStartFor = "this CPU"
			}
		}
		res.Memory.useHost(pool)
	} else if bm, ok := backends.As[backends.BandwidthMeter](dev); ok {
		res.Memory.Where = dev.Name()
		res.Memory.read = func() (float64, error) { return bm.MeasureReadBandwidth(res.Memory.BufferBytes) }
	}
	var prof backends.OpProfiler
	if cfg.OpProfile {
		p, ok := backends.As[backends.OpProfiler](dev)
		if !ok {
			return nil, fmt.Errorf("op profile: device %s cannot time its ops", dev.Name())
		}
		prof = p
	}

	m, err := model.Load(cfg.Model, model.LoadOptions{Device: dev, Threads: res.Threads})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	mc := m.Config()
	if mc.Encoder {
		// An encoder embeds whole inputs: ppP is its test; it generates
		// nothing and keeps no cache between inputs.
		if slices.Max(cfg.depths()) > 0 || len(cfg.Batch) > 0 {
			return nil, fmt.Errorf("%s is an encoder: -d and --batch (generation) do not apply", cfg.Model)
		}
		if p := slices.Max(append([]int{0}, cfg.Prompts...)); p > mc.NCtxTrain {
			return nil, fmt.Errorf("%s is an encoder of %d positions: -p %d is longer", cfg.Model, mc.NCtxTrain, p)
		}
		cfg.Gens, res.Encoder = nil, true
	}
	res.TypeK, res.TypeV = strings.ToLower(kvType.K.String()), strings.ToLower(kvType.V.String())
	if res.KVBytes, err = model.KVBytesPerPosition(mc, kvType, dev); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, kvType: kvType, m: m, dev: dev, mc: mc, mem: &res.Memory, prof: prof, threads: res.Threads, ctx: ctx,
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x6e757269))}
	if sim, ok := backends.As[backends.Simulated](dev); ok {
		r.sim = sim
	}
	units := 0
	if tests := len(distinct(cfg.Prompts, 1)) + len(distinct(cfg.Gens, 1)); tests > 0 {
		for _, d := range cfg.depths() {
			units += tests * cfg.Reps
			if d > 0 {
				units++ // the depth prefill its tests share
			}
		}
	}
	units += len(cfg.Batch) * cfg.Reps
	if len(cfg.Batch) > 0 {
		units++ // the shared prefill
	}
	r.prog = bench.NewProgress(opt.Progress, opt.Interactive, "bench model", units)
	defer r.prog.Finish()

	if err := res.Memory.measure(); err != nil {
		return nil, err
	}
	if err := r.llamaTests(info, res); err != nil {
		return nil, err
	}
	if len(cfg.Batch) > 0 {
		if err := r.batched(info, res); err != nil {
			return nil, err
		}
		if err := res.Memory.measure(); err != nil {
			return nil, err
		}
	}
	if onCPU {
		res.Pacing = paceUses(cpuDev.PacingReport())
	}
	if res.Memory.BestGBs <= 0 {
		return res, nil // no roofline: the device cannot measure its memory
	}
	// Roofline ratios use the best bandwidth of the whole run, and the
	// bytes the kernels read: transcoded records where the CPU packs them
	// (on the best kernels and on AVX2's).
	weights := float64(info.DecodeWeightBytes)
	if onCPU && cfg.Kernels != kernels.KernelsGeneric {
		weights += float64(info.DecodeTranscodedBytes)
		res.TranscodedBytes = info.DecodeTranscodedBytes
	}
	for i := range res.Tests {
		if t := &res.Tests[i]; t.Steps != nil {
			// Step i reads positions 0..Depth+i (a windowed layer its
			// window of them).
			kv, err := meanKVRead(mc, kvType, dev, t.Depth, t.Tokens)
			if err != nil {
				return nil, err
			}
			t.Roofline = newRoofline(res.Memory.BestGBs, weights, kv, 1).set(t.AvgTPS, t.BestTPS, t.Steps).pair(t.TPS, t.ProbeGBs)
		}
	}
	for i := range res.Batched {
		b := &res.Batched[i]
		// Every sequence reads its prompt and the steps so far.
		kv, err := meanKVRead(mc, kvType, dev, b.Prompt, b.Gen)
		if err != nil {
			return nil, err
		}
		kv *= float64(b.B)
		b.Roofline = newRoofline(res.Memory.BestGBs, weights, kv, b.B).set(b.AvgTPS, b.BestTPS, b.Steps)
	}
	return res, nil
}

// meanKVRead is the cache a decode step reads on average over gen steps
// after a context of start positions: step i's query at position
// start+i reads positions 0..start+i, a windowed layer its window.
func meanKVRead(mc model.Config, t model.KVTypes, dev backends.Device, start, gen int) (float64, error) {
	var sum float64
	for i := range max(gen, 1) {
		n, err := model.KVBytesRead(mc, t, dev, start+i)
		if err != nil {
			return 0, err
		}
		sum += float64(n)
	}
	return sum / float64(max(gen, 1)), nil
}

// IsCPU reports whether a device name ("", "cpu", "CPU") is the CPU.
func IsCPU(name string) bool { return name == "" || strings.EqualFold(name, "cpu") }

// backendLabel is llama-bench's backend column: CPU, CUDA, NPU.
func backendLabel(dev backends.Device) string {
	if _, ok := dev.(*cpu.Device); ok {
		return "CPU"
	}
	kind, _, _ := strings.Cut(dev.Name(), ":")
	return strings.ToUpper(kind)
}

// kernelUses lists the matmul implementation of each stored weight type
// with at least one matrix, largest share first.
func kernelUses(info ModelInfo, p *kernels.Pool) []KernelUse {
	var out []KernelUse
	for name, n := range info.TypeBytes {
		t, err := quant.ParseType(name)
		if err != nil || t == quant.F32 && n < info.SizeBytes/100 { // norms
			continue
		}
		out = append(out, KernelUse{Type: name, Kernel: p.WeightKernelName(t), Bytes: n})
	}
	sortKernelUses(out)
	return out
}

// randomTokens draws n token ids uniformly, as llama-bench does (it only
// needs valid ids: speed does not depend on them).
func (r *runner) randomTokens(n int) []int32 {
	ts := make([]int32, n)
	for i := range ts {
		ts[i] = int32(r.rng.IntN(r.mc.NVocab))
	}
	return ts
}

// forward runs one pass and checks for cancellation first.
func (r *runner) forward(b *model.Batch, kv model.KVView) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	if need := b.NumLogits() * b.OutWidth(r.mc); len(r.logits) < need {
		r.logits = make([]float32, need)
	}
	if err := r.m.Forward(b, kv, r.logits); err != nil {
		return err
	}
	return nil
}

// prefill runs tokens of sequence 0 from position start in passes of at
// most UBatch tokens, with logits for each pass's last token (llama-bench's
// llama_batch_get_one does the same). An encoder takes them in one pass,
// every token's hidden state out, as an embedding of mean pooling reads.
func (r *runner) prefill(kv model.KVView, start int, tokens []int32) error {
	pass := r.cfg.UBatch
	if r.mc.Encoder {
		pass = len(tokens)
	}
	for lo := 0; lo < len(tokens); lo += pass {
		hi := min(lo+pass, len(tokens))
		b := &model.Batch{Tokens: tokens[lo:hi], Pos: make([]int32, hi-lo), Seq: make([]int32, hi-lo)}
		if r.mc.Encoder {
			b.Hidden, b.Logits = true, make([]bool, hi-lo)
			for i := range b.Logits {
				b.Logits[i] = true
			}
		}
		for i := range b.Pos {
			b.Pos[i] = int32(start + lo + i)
		}
		if err := r.forward(b, kv); err != nil {
			return fmt.Errorf("prefill: %w", err)
		}
	}
	return nil
}

// testName is llama-bench's name of a test: "pp512", "tg128 @ d4096".
func testName(kind string, n, depth int) string {
	if depth > 0 {
		return fmt.Sprintf("%s%d @ d%d", kind, n, depth)
	}
	return fmt.Sprintf("%s%d", kind, n)
}

// llamaTests runs the configured ppP and tgN tests at each depth, and the
// bandwidth measurement after each tgN.
func (r *runner) llamaTests(info ModelInfo, res *ModelResults) error {
	prompts, gens := distinct(r.cfg.Prompts, 1), distinct(r.cfg.Gens, 1)
	if len(prompts)+len(gens) == 0 {
		return nil
	}
	for _, d := range r.cfg.depths() {
		if err := r.testsAt(info, res, d, prompts, gens); err != nil {
			return err
		}
	}
	return nil
}

// testsAt runs the ppP tests and then the tgN tests after depth tokens,
// as llama-bench orders them, on one sequence cache of depth + the longest
// test's positions whose first depth are filled once by a prefill of
// random tokens (not timed). Each repetition rewrites positions depth..
// only: attention reads no position past a token's own, so the prefix
// stays as it was, and what a longer test left past a shorter one's end is
// never read by it.
func (r *runner) testsAt(info ModelInfo, res *ModelResults, depth int, prompts, gens []int) (err error) {
	c := r.cfg
	// Passes of at most UBatch tokens (prefill) or one (tg): windowed
	// layers keep a ring of their window's blocks, as the engine's pool.
	kv, err := model.NewWindowedSequenceView(r.dev, r.mc, depth+c.longestTest(), c.UBatch, c.BlockSize, r.kvType)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, kv.Cache.Free()) }()
	if depth > 0 {
		if err := r.prefill(kv, 0, r.randomTokens(depth)); err != nil {
			return fmt.Errorf("depth %d: %w", depth, err)
		}
		r.prog.Add(true)
	}
	for _, p := range prompts {
		t, err := r.promptTest(info, kv, p, depth)
		if err != nil {
			return err
		}
		res.Tests = append(res.Tests, t)
	}
	for _, n := range gens {
		t, err := r.genTest(info, kv, n, depth)
		if err != nil {
			return err
		}
		if err := res.Memory.measure(); err != nil {
			return err
		}
		res.Tests = append(res.Tests, t)
	}
	return nil
}

// promptTest is llama-bench's ppP: one prefill of p tokens after the
// cache's d positions per repetition (see testsAt).
func (r *runner) promptTest(info ModelInfo, kv model.KVView, p, d int) (TestResult, error) {
	t := TestResult{Name: testName("pp", p, d), Tokens: p, Depth: d, Time: time.Now()}
	tokens := r.randomTokens(p)
	if err := r.prefill(kv, d, tokens); err != nil { // warm-up: also faults the weights in
		return t, fmt.Errorf("%s warm-up: %w", t.Name, err)
	}
	for range r.cfg.Reps {
		sp, sim := startSpan(), r.simStart()
		if err := r.prefill(kv, d, tokens); err != nil {
			return t, fmt.Errorf("%s: %w", t.Name, err)
		}
		t.addRep(sp)
		r.simStop(&t.SimSeconds, sim)
		r.prog.Add(true)
	}
	t.finish(info, r.threads)
	return t, nil
}

// genTest is llama-bench's tgN: n single-token decode steps after the
// cache's d positions per repetition (see testsAt), each feeding a random
// token and computing its logits. The warm-up is one step, as in
// llama-bench.
func (r *runner) genTest(info ModelInfo, kv model.KVView, n, d int) (TestResult, error) {
	t := TestResult{Name: testName("tg", n, d), Tokens: n, Depth: d, Time: time.Now()}
	tokens := r.randomTokens(n)
	b := &model.Batch{Tokens: make([]int32, 1), Pos: make([]int32, 1), Seq: make([]int32, 1)}
	step := func(i int) error {
		b.Tokens[0], b.Pos[0] = tokens[i], int32(d+i)
		return r.forward(b, kv)
	}
	if err := step(0); err != nil {
		return t, fmt.Errorf("%s warm-up: %w", t.Name, err)
	}
	var steps stepTimer
	var ops opTotals
	for range r.cfg.Reps {
		gbs, err := r.mem.sample()
		if err != nil {
			return t, err
		}
		if gbs > 0 {
			t.ProbeGBs = append(t.ProbeGBs, gbs)
			if err := settleAfterProbe(step, n); err != nil {
				return t, fmt.Errorf("%s steps after the bandwidth probe: %w", t.Name, err)
			}
		}
		if r.prof != nil {
			r.prof.ProfileOps(true)
		}
		sp, sim := startSpan(), r.simStart()
		for i := range n {
			steps.start()
			if err := step(i); err != nil {
				return t, fmt.Errorf("%s step %d: %w", t.Name, i, err)
			}
			steps.stop()
		}
		t.addRep(sp)
		r.simStop(&t.SimSeconds, sim)
		if r.prof != nil {
			r.prof.ProfileOps(false)
			ops.add(r.prof.OpProfile())
		}
		r.prog.Add(true)
	}
	t.finish(info, r.threads)
	t.Steps = steps.stats(1)
	if r.prof != nil {
		t.OpProfile = opSteps(ops.list(), n*r.cfg.Reps, t.stepSeconds())
	}
	return t, nil
}

// Untimed decode steps after each bandwidth probe: the probe reads a
// buffer of twice the last-level cache or more (1 GiB), which evicts what
// the weights' steady stream keeps there, and the steps after it run slow
// until the cache holds that again. On the 2-core Intel Xeon VM (480 MiB
// L3), llama-1b Q4_0: the first step after a probe took 1.07-1.09 times
// the steady step, and the excess faded over about 16 steps; in one
// process with the probe before every other repetition (12 repetitions
// of 32 steps), the repetitions after a probe took 1.013 times as long as
// their neighbours without (20.53 against 20.26 ms a step;
// docs/performance.md, round 56). llama-bench runs its repetitions back
// to back, with no probe between them, so its tgN is the steady rate;
// these steps give ours the same. They stop at settleSteps steps or after
// settleTime, whichever comes first.
const (
	settleSteps = 16
	settleTime  = time.Second
)

// settleAfterProbe runs the untimed steps after a probe (at the test's
// own positions: each timed step rewrites its position before it reads
// it).
func settleAfterProbe(step func(i int) error, n int) error {
	start := time.Now()
	for i := 0; i < settleSteps && time.Since(start) < settleTime; i++ {
		if err := step(i % n); err != nil {
			return err
		}
	}
	return nil
}

// opTotals sums op profiles taken over several spans (the timed steps of
// each repetition) by op name, in the order the names first came.
type opTotals struct {
	ops   []backends.OpTime
	index map[string]int
}

func (o *opTotals) add(ops []backends.OpTime) {
	if o.index == nil {
		o.index = map[string]int{}
	}
	for _, op := range ops {
		i, ok := o.index[op.Name]
		if !ok {
			i = len(o.ops)
			o.index[op.Name] = i
			o.ops = append(o.ops, backends.OpTime{Name: op.Name})
		}
		o.ops[i].Calls += op.Calls
		o.ops[i].Time += op.Time
		o.ops[i].WeightBytes += op.WeightBytes
		o.ops[i].DotTime += op.DotTime
	}
}

// list returns the totals, largest time first (OpProfiler.OpProfile's
// order).
func (o *opTotals) list() []backends.OpTime {
	out := slices.Clone(o.ops)
	slices.SortStableFunc(out, func(a, b backends.OpTime) int { return cmp.Compare(b.Time, a.Time) })
	return out
}

// stepSeconds is a generation test's mean decode step.
func (t *TestResult) stepSeconds() float64 {
	mean, _ := bench.MeanStd(t.Seconds)
	return mean / float64(t.Tokens)
}

// simStart reads the simulator's clock (0 on other devices).
func (r *runner) simStart() time.Duration {
	if r.sim == nil {
		return 0
	}
	return r.sim.SimTime()
}

// simStop appends the device time a repetition took on a simulator to
// secs (nothing on other devices).
func (r *runner) simStop(secs *[]float64, start time.Duration) {
	if r.sim == nil {
		return
	}
	*secs = append(*secs, (r.sim.SimTime() - start).Seconds())
}

func (t *TestResult) addRep(sp span) {
	sec := t.cpu.add(sp)
	t.Seconds = append(t.Seconds, sec)
	t.TPS = append(t.TPS, float64(t.Tokens)/sec)
}

func (t *TestResult) finish(info ModelInfo, threads int) {
	t.AvgTPS, t.StdTPS = bench.MeanStd(t.TPS)
	t.BestTPS = slices.Max(t.TPS)
	t.GOPS = 2 * float64(info.ActiveParams) * t.AvgTPS / 1e9
	t.CPUShare, t.CPUWait, t.HostSteal = t.cpu.share(threads), t.cpu.waitShare(threads), t.cpu.stealShare()
	t.SimTPS = simRate(t.SimSeconds, t.Tokens)
}

// simRate is the mean rate of tokens per repetition over a simulator's
// device times (0 without them).
func simRate(secs []float64, tokens int) float64 {
	if len(secs) == 0 || slices.Min(secs) <= 0 {
		return 0
	}
	rates := make([]float64, len(secs))
	for i, sec := range secs {
		rates[i] = float64(tokens) / sec
	}
	mean, _ := bench.MeanStd(rates)
	return mean
}
