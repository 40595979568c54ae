package kernels

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// Benchmarks report, per MatMul:
//
//	GB/s   weight bytes read per second (the decode roofline metric),
//	GOP/s  2·rows·cols·nx operations per second (the prefill metric).
//
// The GEMV cases use a weight matrix of NURI_BENCH_MB MiB (default 256) so
// the weights come from DRAM, as in decode, not from cache.
//
//	go test -run '^$' -bench . -benchtime 20x ./kernels
func BenchmarkMatMul(b *testing.B) {
	mb := benchMB()
	p := NewPool(0)
	defer p.Close()
	p.SetKernelSet(testKernels)
	rng := rand.New(rand.NewPCG(9, 10))
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K, quant.Q5_K, quant.Q3_K, quant.Q2_K,
		quant.Q5_0, quant.Q4_1, quant.Q5_1, quant.IQ4_NL, quant.IQ4_XS, quant.F16, quant.BF16, quant.F32} {
		const cols = 2048
		rb, _ := wt.RowBytes(cols)
		big := max(2048, mb<<20/rb/64*64) // decode: a DRAM-sized matrix
		w := randWeights(rng, wt, big, cols, false)
		for _, c := range []struct{ rows, nx int }{{big, 1}, {2048, 4}, {2048, 16}, {2048, 64}} {
			x := randFloats(rng, c.nx*cols, 1)
			y := make([]float32, c.nx*c.rows)
			b.Run(fmt.Sprintf("%v/%dx%d/nx=%d", wt, c.rows, cols, c.nx), func(b *testing.B) {
				MatMul(p, y, w, wt, c.rows, cols, x, c.nx)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					MatMul(p, y, w, wt, c.rows, cols, x, c.nx)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(c.rows*rb)/sec/1e9, "GB/s")
				b.ReportMetric(2*float64(c.rows)*cols*float64(c.nx)/sec/1e9, "GOP/s")
			})
		}
	}
}

// benchMB is the size of the DRAM-bound benchmark matrices: NURI_BENCH_MB
// or 256 MiB.
func benchMB() int {
	if s := os.Getenv("NURI_BENCH_MB"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			return v
		}
	}
	return 256
}

// BenchmarkKernelCompute times the kernels on one thread with a 256×2048
// weight matrix that stays in L2, so the figure is the kernel's compute
// rate (plus activation quantization), free of DRAM and thread effects. On a
// shared machine take the best of several runs:
//
//	go test -run '^$' -bench KernelCompute -benchtime 300x -count 5 ./kernels
func BenchmarkKernelCompute(b *testing.B) {
	p := NewPool(1)
	defer p.Close()
	p.SetKernelSet(testKernels)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K, quant.Q5_K, quant.Q3_K, quant.Q2_K,
		quant.Q5_0, quant.Q4_1, quant.Q5_1, quant.IQ4_NL, quant.IQ4_XS, quant.F16} {
		const rows, cols = 256, 2048
		rb, _ := wt.RowBytes(cols)
		w := randWeights(rng, wt, rows, cols, false)
		for _, nx := range []int{1, 4, 16, 64} {
			x := randFloats(rng, nx*cols, 1)
			y := make([]float32, nx*rows)
			b.Run(fmt.Sprintf("%v/nx=%d", wt, nx), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					MatMul(p, y, w, wt, rows, cols, x, nx)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(rows*rb)/sec/1e9, "GB/s")
				b.ReportMetric(2*float64(rows)*cols*float64(nx)/sec/1e9, "GOP/s")
			})
		}
	}
}

// BenchmarkPackedCompute is BenchmarkKernelCompute for MatMulPacked.
func BenchmarkPackedCompute(b *testing.B) {
	if !CanPack(quant.Q4_0) {
		b.Skip("no packed kernels on this CPU")
	}
	p := NewPool(1)
	defer p.Close()
	rng := rand.New(rand.NewPCG(11, 12))
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q6_K, quant.Q4_K, quant.Q5_K, quant.Q3_K, quant.Q2_K, quant.IQ4_NL, quant.IQ4_XS, quant.F16, quant.BF16, quant.F32} {
		const rows, cols = 256, 2048
		rb, _ := wt.RowBytes(cols)
		w := randWeights(rng, wt, rows, cols, false)
		pw, err := PackWeights(p, wt, w, rows, cols)
		if err != nil {
			b.Fatal(err)
		}
		for _, nx := range []int{1, 4, 16, 64} {
			x := randFloats(rng, nx*cols, 1)
			y := make([]float32, nx*rows)
			b.Run(fmt.Sprintf("%v/nx=%d", wt, nx), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					MatMulPacked(p, y, pw, x, nx)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(rows*rb)/sec/1e9, "GB/s")
				b.ReportMetric(2*float64(rows)*cols*float64(nx)/sec/1e9, "GOP/s")
			})
		}
	}
}

// BenchmarkReadBandwidth measures the roofline the GEMV figures compare to
// (GB/s, all threads) and, alternating with it over one 1 GiB probe, what
// one thread reads alone (1thread-GB/s), each the median over b.N rounds.
// Where one thread reads about half of what all read, each core's own
// misses in flight are the limit, and a step loses bandwidth whenever only
// one core streams (a serial op, a dispatch, the end of a call); where one
// thread reads nearly all of it, the memory itself is (other tenants).
// It also reports each of the probe's read loops on all threads, a pass
// each a round, as a share of the one-part loop's pass in the same round
// (loop2/loop1, loop4/loop1, loop4pf/loop1 for the prefetching one: what
// the roofline gains by taking the best).
//
//	go test -run '^$' -bench ReadBandwidth -benchtime 8x ./kernels
func BenchmarkReadBandwidth(b *testing.B) {
	p, one := NewPool(0), NewPool(1)
	defer p.Close()
	defer one.Close()
	probe := NewBandwidthProbe(1 << 30)
	var all, single []float64
	rel := make([][]float64, len(probeLoops)-1) // the other loops ÷ loop 1
	for i := 0; i < b.N; i++ {
		all = append(all, probe.Measure(p))
		single = append(single, probe.Measure(one))
		base := probe.pass(p, probeLoops[0])
		for j, l := range probeLoops[1:] {
			rel[j] = append(rel[j], probe.pass(p, l)/base)
		}
	}
	b.ReportMetric(median(all), "GB/s")
	b.ReportMetric(median(single), "1thread-GB/s")
	for j, l := range probeLoops[1:] {
		name := fmt.Sprintf("loop%d", l.parts)
		if l.prefetch {
			name += "pf"
		}
		b.ReportMetric(median(rel[j]), name+"/loop1")
	}
}

// median is the middle value of v (the upper one of an even count; 0 for
// none); v is not changed.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	w := slices.Clone(v)
	slices.Sort(w)
	return w[len(w)/2]
}

// BenchmarkRowKernels times each row kernel this CPU runs (every variant,
// the AVX2 ones included) alone on one activation row already quantized:
// decode's call of MatMul without the activation quantizer and the pool,
// as ggml's vec_dot is timed. 256 rows of 2048 weights stay in L2, so the
// figure is the kernel's arithmetic, not the memory's.
func BenchmarkRowKernels(b *testing.B) {
	p := NewPool(1)
	defer p.Close()
	rng := rand.New(rand.NewPCG(47, 48))
	variants := kernelVariants()
	types := slices.SortedFunc(maps.Keys(variants), func(a, b quant.Type) int { return int(a) - int(b) })
	for _, wt := range types {
		for _, k := range variants[wt] {
			if k.fn == nil {
				continue // the pair and float kernels take other layouts
			}
			const rows, cols = 256, 2048
			rb, _ := wt.RowBytes(cols)
			w := randWeights(rng, wt, rows, cols, true)
			y := make([]float32, rows)
			matMulKernel(p, y, w, wt, rows, cols, randFloats(rng, cols, 1), 1, k)
			s := &p.mm // the call's quantized row
			qs, d := slices.Clone(s.qs), slices.Clone(s.d)
			var bs *int16
			if k.bsums {
				bs = &slices.Clone(s.bs)[0]
			}
			fn := k.fn
			if k.one != nil {
				fn = k.one
			}
			nb := cols / wt.BlockSize()
			b.Run(k.name, func(b *testing.B) {
				for range b.N {
					for r := range rows {
						fn(&w[r*rb], nb, &qs[0], &d[0], bs, 1, &y[r], 4)
					}
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(rows*rb)/sec/1e9, "GB/s")
				b.ReportMetric(float64(rows*cols)/sec/1e9, "Gw/s")
			})
			if k.oneRows == nil {
				continue
			}
			// What MatMul runs for one activation row: the rows side by side.
			b.Run(k.name+"/rows", func(b *testing.B) {
				for range b.N {
					k.oneRows(&w[0], rb, rows, nb, &qs[0], &d[0], bs, 1, &y[0], 4)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(rows*rb)/sec/1e9, "GB/s")
				b.ReportMetric(float64(rows*cols)/sec/1e9, "Gw/s")
			})
		}
	}
}
