package inproc

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/bench"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/quant"
)

// KernelsConfig is every setting of a kernels benchmark.
type KernelsConfig struct {
	Types []string `json:"types"`
	// Rows × Cols is the weight matrix. Rows 0 sizes the single-row (GEMV)
	// matrix to MatrixMiB, so its weights stream from DRAM as in decode,
	// and gives batched cases BatchRows rows (a feed-forward matrix of a 1B
	// model), which keeps their operation count, not the matrix, large.
	Rows      int               `json:"rows"`
	Cols      int               `json:"cols"`
	MatrixMiB int               `json:"matrix_mib"`
	BatchRows int               `json:"batch_rows"`
	Batch     []int             `json:"batch"` // activation rows per MatMul
	Threads   int               `json:"threads"`
	MinTime   float64           `json:"min_seconds"` // per case, after a warm-up call
	MinReps   int               `json:"min_reps"`
	Kernels   kernels.KernelSet `json:"kernels"` // NURI_KERNELS
	// BandwidthMiB is the buffer the read-bandwidth roofline is measured over.
	BandwidthMiB int    `json:"bandwidth_buffer_mib"`
	Seed         uint64 `json:"seed"`
}

// DefaultKernelsConfig returns the default kernel benchmark: the weight
// types of the common quantizations, GEMV on a 256 MiB matrix and batches
// of 4, 16 and 64 rows. The GEMV matrix and the bandwidth buffer grow to
// twice the last-level cache where that is larger (beyondCache).
func DefaultKernelsConfig() KernelsConfig {
	llc := kernels.LastLevelCache()
	return KernelsConfig{Types: []string{"Q4_0", "Q8_0", "Q4_K", "Q6_K", "F16"}, Cols: 2048,
		MatrixMiB: beyondCache(256, llc), BatchRows: 8192, Batch: []int{1, 4, 16, 64}, MinTime: 1, MinReps: 3,
		BandwidthMiB: beyondCache(1024, llc), Seed: 1}
}

// beyondCache is floor MiB, or twice a last-level cache of llc bytes
// (kernels.LastLevelCache) rounded up to whole 64 MiB where that is more:
// a buffer read back to back must come from memory, not from the cache.
// On the 2-core Intel Xeon VM (480 MiB of shared L3) a 256 MiB GEMV matrix
// read at 1.04-1.07 of the 1 GiB probe, and a 1 GiB one at 0.91-0.94.
func beyondCache(floor int, llc int64) int {
	const step = 64 << 20
	need := (2*llc + step - 1) / step * step
	return max(floor, int(need>>20))
}

// Validate reports the first invalid setting.
func (c KernelsConfig) Validate() error {
	switch {
	case len(c.Types) == 0:
		return fmt.Errorf("no weight types")
	case c.Cols < 1 || c.Rows < 0 || c.MatrixMiB < 1 || c.BatchRows < 1:
		return fmt.Errorf("bad matrix: rows %d, cols %d, %d MiB, batch rows %d", c.Rows, c.Cols, c.MatrixMiB, c.BatchRows)
	case len(c.Batch) == 0:
		return fmt.Errorf("no batch sizes")
	case c.MinReps < 1 || c.MinTime < 0:
		return fmt.Errorf("min reps %d and min time %g", c.MinReps, c.MinTime)
	case c.BandwidthMiB < 1:
		return fmt.Errorf("bandwidth buffer of %d MiB", c.BandwidthMiB)
	}
	for _, b := range c.Batch {
		if b < 1 {
			return fmt.Errorf("batch size %d must be at least 1", b)
		}
	}
	for _, name := range c.Types {
		t, err := quant.ParseType(name)
		if err != nil {
			return err
		}
		if err := checkType(t, c.Cols); err != nil {
			return err
		}
	}
	return nil
}

// checkType asks CheckMatMul about a one-row matrix of t with cols columns,
// with buffers of the right size, so only the type and the width are judged.
func checkType(t quant.Type, cols int) error {
	rb, err := t.RowBytes(cols)
	if err != nil {
		return fmt.Errorf("type %v with %d columns: %w", t, cols, err)
	}
	if err := kernels.CheckMatMul(make([]float32, 1), make([]byte, rb), t, 1, cols, make([]float32, cols), 1); err != nil {
		return fmt.Errorf("type %v: %w", t, err)
	}
	return nil
}

// KernelCase is one weight type at one batch size.
type KernelCase struct {
	Type        string    `json:"type"`
	Kernel      string    `json:"kernel"`
	Rows        int       `json:"rows"`
	Cols        int       `json:"cols"`
	NX          int       `json:"nx"` // activation rows
	WeightBytes int       `json:"weight_bytes"`
	Seconds     []float64 `json:"seconds"` // per call
	AvgSeconds  float64   `json:"avg_seconds"`
	StdSeconds  float64   `json:"stddev_seconds"`
	MinSeconds  float64   `json:"min_seconds"`
	// GBs is weight bytes read per second at the mean time.
	GBs float64 `json:"gbs"`
	// GOPS is 2 × rows × cols × nx operations per second at the mean time.
	GOPS float64 `json:"gops"`
	// BestGBs and BestGOPS are the same at the fastest call: on a shared
	// machine, what the kernel does when it has the cores.
	BestGBs  float64 `json:"best_gbs"`
	BestGOPS float64 `json:"best_gops"`
	// BandwidthRatio is GBs ÷ the measured read bandwidth (GEMV only: a
	// single activation row makes the kernel memory-bound).
	BandwidthRatio     float64 `json:"bandwidth_ratio,omitempty"`
	BestBandwidthRatio float64 `json:"best_bandwidth_ratio,omitempty"`
}

// KernelsResults is everything a kernels benchmark measured.
type KernelsResults struct {
	Threads int          `json:"threads"`
	Memory  Bandwidth    `json:"read_bandwidth"`
	Cases   []KernelCase `json:"cases"`
	// PeakNote says what the batched figures are compared with.
	PeakNote string `json:"peak_note"`
}

// peakNote: package kernels exposes no int8 dot-product peak, so batched
// cases report GOP/s alone.
const peakNote = "no int8 dot-product peak is measured (package kernels exposes none): batched cases report GOP/s only"

// RunKernels measures kernels.MatMul for each type and batch size against
// the read bandwidth measured in the same run (before and after the cases;
// the best is the roofline).
func RunKernels(ctx context.Context, cfg KernelsConfig, opt RunOptions) (*KernelsResults, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pool := kernels.NewPool(cfg.Threads)
	defer pool.Close()
	pool.SetKernelSet(cfg.Kernels)
	res := &KernelsResults{Threads: pool.Threads(), PeakNote: peakNote}
	res.Memory.BufferBytes = cfg.BandwidthMiB << 20
	res.Memory.useHost(pool)
	if err := res.Memory.measure(); err != nil {
		return nil, err
	}
	prog := bench.NewProgress(opt.Progress, opt.Interactive, "bench kernels", len(cfg.Types)*len(cfg.Batch))
	defer prog.Finish()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6b65726e))
	for _, name := range cfg.Types {
		t, _ := quant.ParseType(name)
		rb, _ := t.RowBytes(cfg.Cols)
		gemvRows := cfg.Rows
		if gemvRows == 0 {
			gemvRows = max(1, cfg.MatrixMiB<<20/rb)
		}
		batchRows := cfg.Rows
		if batchRows == 0 {
			batchRows = min(cfg.BatchRows, gemvRows)
		}
		wb, err := tiledWeights(rng, t, max(gemvRows, batchRows), cfg.Cols)
		if err != nil {
			return nil, err
		}
		w := wb.Bytes()
		for _, nx := range cfg.Batch {
			rows := batchRows
			if nx == 1 {
				rows = gemvRows
			}
			c, err := runCase(ctx, pool, cfg, rng, t, w[:rows*rb], rows, nx)
			if err != nil {
				return nil, err
			}
			res.Cases = append(res.Cases, c)
			prog.Add(true)
		}
		runtime.KeepAlive(wb) // w is its memory
	}
	if err := res.Memory.measure(); err != nil {
		return nil, err
	}
	for i := range res.Cases {
		if c := &res.Cases[i]; c.NX == 1 {
			c.BandwidthRatio, c.BestBandwidthRatio = c.GBs/res.Memory.BestGBs, c.BestGBs/res.Memory.BestGBs
		}
	}
	return res, nil
}

// tiledWeights fills rows×cols weights of type t with up to 64 distinct
// quantized random rows repeated: valid blocks (finite scales) without
// quantizing hundreds of MiB; speed does not depend on the values. They
// are in a host buffer, on huge pages as a loaded model's weights and the
// bandwidth probe are; the bytes stay valid while the buffer is reachable.
func tiledWeights(rng *rand.Rand, t quant.Type, rows, cols int) (*backends.HostBuffer, error) {
	rb, err := t.RowBytes(cols)
	if err != nil {
		return nil, err
	}
	distinct := min(rows, 64)
	src := make([]float32, distinct*cols)
	for i := range src {
		src[i] = float32(rng.NormFloat64())
	}
	buf := backends.NewHostBuffer(rows * rb)
	w := buf.Bytes()
	if err := quant.Quantize(t, src, w[:distinct*rb]); err != nil {
		return nil, fmt.Errorf("quantize %v weights: %w", t, err)
	}
	for off := distinct * rb; off < len(w); off += distinct * rb {
		copy(w[off:], w[:distinct*rb])
	}
	return buf, nil
}

// runCase times MatMul after one warm-up call, for at least MinReps calls
// and MinTime seconds.
func runCase(ctx context.Context, p *kernels.Pool, cfg KernelsConfig, rng *rand.Rand, t quant.Type, w []byte, rows, nx int) (KernelCase, error) {
	c := KernelCase{Type: t.String(), Kernel: p.KernelName(t), Rows: rows, Cols: cfg.Cols, NX: nx, WeightBytes: len(w)}
	x := make([]float32, nx*cfg.Cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, nx*rows)
	if err := kernels.CheckMatMul(y, w, t, rows, cfg.Cols, x, nx); err != nil {
		return c, err
	}
	// Packable types run as the CPU backend runs them: repacked once.
	mm := func() { kernels.MatMul(p, y, w, t, rows, cfg.Cols, x, nx) }
	if kernels.PackableShape(t, cfg.Cols) && p.Packs(t) {
		pw, err := kernels.PackWeights(p, t, w, rows, cfg.Cols)
		if err != nil {
			return c, err
		}
		c.Kernel = p.WeightKernelName(t)
		mm = func() { kernels.MatMulPacked(p, y, pw, x, nx) }
	}
	mm()
	total := 0.0
	for len(c.Seconds) < cfg.MinReps || total < cfg.MinTime {
		if err := ctx.Err(); err != nil {
			return c, err
		}
		start := time.Now()
		mm()
		s := time.Since(start).Seconds()
		c.Seconds = append(c.Seconds, s)
		total += s
		if len(c.Seconds) >= 10000 {
			break
		}
	}
	c.AvgSeconds, c.StdSeconds = bench.MeanStd(c.Seconds)
	c.MinSeconds = slices.Min(c.Seconds)
	ops := 2 * float64(rows) * float64(cfg.Cols) * float64(nx)
	c.GBs, c.GOPS = float64(len(w))/c.AvgSeconds/1e9, ops/c.AvgSeconds/1e9
	c.BestGBs, c.BestGOPS = float64(len(w))/c.MinSeconds/1e9, ops/c.MinSeconds/1e9
	return c, nil
}

func kernelsTable(res *KernelsResults) bench.Table {
	t := bench.Table{Columns: []string{"type", "kernel", "rows × cols", "nx", "weights", "ms/call", "GB/s", "GOP/s", "of bandwidth",
		"best GB/s", "best GOP/s", "best of bandwidth"}}
	for _, c := range res.Cases {
		ratio, best := "-", "-"
		if c.NX == 1 {
			ratio, best = pct(c.BandwidthRatio), pct(c.BestBandwidthRatio)
		}
		t.Rows = append(t.Rows, []string{c.Type, c.Kernel, fmt.Sprintf("%d × %d", c.Rows, c.Cols), fmt.Sprint(c.NX),
			formatSize(uint64(c.WeightBytes)), fmt.Sprintf("%.3f ± %.3f", 1e3*c.AvgSeconds, 1e3*c.StdSeconds),
			f2(c.GBs), f2(c.GOPS), ratio, f2(c.BestGBs), f2(c.BestGOPS), best})
	}
	return t
}

func kernelsBandwidthLine(res *KernelsResults) string {
	s := make([]string, len(res.Memory.SamplesGBs))
	for i, v := range res.Memory.SamplesGBs {
		s[i] = f2(v)
	}
	return fmt.Sprintf("read bandwidth: %.2f GB/s, best of %s (%d MiB buffer, %d threads, each sample the best of %d read loops, before and after the cases)",
		res.Memory.BestGBs, strings.Join(s, ", "), res.Memory.BufferBytes>>20, res.Threads, res.Memory.Loops)
}

// WriteKernelsText prints the kernel table and the bandwidth it is set
// against.
func WriteKernelsText(w io.Writer, res *KernelsResults) error {
	writeAligned(w, kernelsTable(res), map[int]bool{2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true,
		9: true, 10: true, 11: true})
	_, err := fmt.Fprintf(w, "\n%s\n%s\n", kernelsBandwidthLine(res), res.PeakNote)
	return err
}

// BuildKernelsReport turns a kernels run into the shared report.
func BuildKernelsReport(env bench.Environment, cfg KernelsConfig, res *KernelsResults) *bench.Report {
	r := bench.NewReport("kernels", "Kernel benchmark: quantized matmul", env)
	r.Config, r.Results = cfg, res
	r.AddMetric("memory", "read_bandwidth", "GB/s", bench.Neutral, res.Memory.BestGBs)
	series := map[string]*bench.Series{}
	var order []string
	for _, c := range res.Cases {
		g := fmt.Sprintf("%s nx=%d", c.Type, c.NX)
		r.AddMetric(g, "GB/s", "GB/s", bench.HigherIsBetter, c.GBs)
		r.AddMetric(g, "GOP/s", "GOP/s", bench.HigherIsBetter, c.GOPS)
		r.AddMetric(g, "best_GOP/s", "GOP/s", bench.HigherIsBetter, c.BestGOPS)
		if c.NX == 1 {
			r.AddMetric(g, "bandwidth_ratio", "", bench.HigherIsBetter, c.BandwidthRatio)
			r.AddMetric(g, "best_bandwidth_ratio", "", bench.HigherIsBetter, c.BestBandwidthRatio)
		}
		s, ok := series[c.Type]
		if !ok {
			s = &bench.Series{Name: c.Type}
			series[c.Type] = s
			order = append(order, c.Type)
		}
		s.Points = append(s.Points, bench.Point{X: float64(c.NX), Y: c.GOPS})
	}
	chart := &bench.LineChart{Title: "GOP/s against activation rows", XLabel: "activation rows (nx)", YLabel: "GOP/s",
		LogX: true, YFrom0: true}
	for _, name := range order {
		chart.Series = append(chart.Series, *series[name])
	}
	r.AddSection(bench.Section{Title: "MatMul kernels", Tables: []bench.Table{kernelsTable(res)},
		Paragraphs: []string{kernelsBandwidthLine(res), res.PeakNote,
			"GB/s is weight bytes read per second; GOP/s counts 2 × rows × cols × nx; both at the mean time per call, and \"best\" at the fastest call. Single-row (GEMV) cases stream a DRAM-sized matrix and are set against the read bandwidth."},
		Charts: []bench.Chart{chart}})
	return r
}
