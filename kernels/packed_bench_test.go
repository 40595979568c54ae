package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/quant"
)

// BenchmarkMatMulPacked is BenchmarkMatMul's decode case for packed
// weights: a DRAM-sized matrix (NURI_BENCH_MB, default 256 MiB) on all
// threads, reported as GB/s of weights read, next to the machine's read
// bandwidth (BenchmarkReadBandwidth) for the roofline ratio.
//
//	go test -run '^$' -bench 'MatMulPacked|ReadBandwidth' -benchtime 20x ./kernels
func BenchmarkMatMulPacked(b *testing.B) {
	if !CanPack(quant.Q4_0) {
		b.Skip("no packed kernels on this CPU")
	}
	mb := benchMB()
	p := NewPool(0)
	defer p.Close()
	rng := rand.New(rand.NewPCG(9, 10))
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q5_0, quant.Q4_1, quant.Q5_1, quant.Q8_0, quant.Q6_K, quant.Q4_K, quant.Q5_K, quant.Q3_K, quant.Q2_K, quant.IQ4_NL, quant.IQ4_XS, quant.F16, quant.BF16, quant.F32} {
		const cols = 2048
		rb, _ := wt.RowBytes(cols)
		rows := max(2048, mb<<20/rb/64*64)
		w := randWeights(rng, wt, rows, cols, false)
		pw, err := PackWeights(p, wt, w, rows, cols)
		if err != nil {
			b.Fatal(err)
		}
		w = nil
		for _, nx := range []int{1, 16} {
			x := randFloats(rng, nx*cols, 1)
			y := make([]float32, nx*rows)
			b.Run(fmt.Sprintf("%v/%dx%d/nx=%d", wt, rows, cols, nx), func(b *testing.B) {
				MatMulPacked(p, y, pw, x, nx)
				b.ResetTimer()
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

// BenchmarkPackedShapes times batched MatMulPacked on the llama-1b FFN
// shapes, gate/up (8192×2048) and down (2048×8192), to show what the
// column count costs per operation; best of b.N rounds:
//
//	go test -run '^$' -bench PackedShapes -benchtime 20x ./kernels
func BenchmarkPackedShapes(b *testing.B) {
	if !CanPack(quant.Q4_0) {
		b.Skip("no packed kernels on this CPU")
	}
	p := NewPool(0)
	defer p.Close()
	rng := rand.New(rand.NewPCG(31, 32))
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K} {
		for _, shape := range [][2]int{{8192, 2048}, {2048, 8192}} {
			rows, cols := shape[0], shape[1]
			w := randWeights(rng, wt, rows, cols, false)
			pw, err := PackWeights(p, wt, w, rows, cols)
			if err != nil {
				b.Fatal(err)
			}
			for _, nx := range []int{8, 16} {
				x := randFloats(rng, nx*cols, 1)
				y := make([]float32, nx*rows)
				b.Run(fmt.Sprintf("%v/%dx%d/nx=%d", wt, rows, cols, nx), func(b *testing.B) {
					var best time.Duration
					for range b.N {
						start := time.Now()
						MatMulPacked(p, y, pw, x, nx)
						if el := time.Since(start); best == 0 || el < best {
							best = el
						}
					}
					b.ReportMetric(2*float64(rows)*float64(cols)*float64(nx)/best.Seconds()/1e9, "GOP/s")
				})
			}
		}
	}
}

// BenchmarkDecodeStreams runs the weight matmuls of one llama-1b decode
// step (16 layers of q/k/v, o, gate/up and down, then the Q6_K output
// matrix; NURI_BENCH_TYPE sets the layers' type, default Q4_0) with the
// multi-stream GEMV kernels and without, alternating step by step. Before
// every step a 256 MiB read-bandwidth probe runs, and each step's GB/s is
// divided by its own probe: the machine's bandwidth drifts by tens of
// percent within seconds, and the paired ratio follows what the step had
// available. It reports the median paired ratio of each variant, and of
// the layers alone (the output matrix is Q6_K, on its own kernels):
//
//	go test -run '^$' -bench DecodeStreams -benchtime 40x ./kernels
func BenchmarkDecodeStreams(b *testing.B) {
	wt := benchPackType(b)
	p := NewPool(0)
	defer p.Close()
	rng := rand.New(rand.NewPCG(31, 32))
	pack := func(t quant.Type, rows, cols int) *PackedWeights {
		pw, err := PackWeights(p, t, randWeights(rng, t, rows, cols, false), rows, cols)
		if err != nil {
			b.Fatal(err)
		}
		return pw
	}
	type layer struct {
		qkv, gateUp []*PackedWeights
		o, down     *PackedWeights
	}
	var layers []layer
	layerBytes := 0
	for range 16 {
		l := layer{qkv: []*PackedWeights{pack(wt, 2048, 2048), pack(wt, 512, 2048), pack(wt, 512, 2048)},
			o: pack(wt, 2048, 2048), gateUp: []*PackedWeights{pack(wt, 8192, 2048), pack(wt, 8192, 2048)}, down: pack(wt, 2048, 8192)}
		for _, pw := range append(append([]*PackedWeights{l.o, l.down}, l.qkv...), l.gateUp...) {
			layerBytes += pw.Bytes()
		}
		layers = append(layers, l)
	}
	out := pack(quant.Q6_K, 128256, 2048)
	x := randFloats(rng, 8192, 1)
	ys := [][]float32{make([]float32, 128256), make([]float32, 8192), make([]float32, 8192)}
	// On huge pages, as the packed weights; the probe owns the mapping, so
	// it is kept, not just its bytes.
	probe := NewBandwidthProbe(256 << 20)
	var ratios, layerRatios [2][]float64
	for i := 0; i < b.N; i++ {
		one := i%2 == 1
		bw := probe.loops(p) * 1e9
		p.mu.Lock()
		p.pk.oneStream = one
		p.mu.Unlock()
		start := time.Now()
		for _, l := range layers {
			MatMulPackedShared(p, ys, l.qkv, x[:2048], 1)
			MatMulPacked(p, ys[0], l.o, x[:2048], 1)
			MatMulPackedShared(p, ys[:2], l.gateUp, x[:2048], 1)
			MatMulPacked(p, ys[0], l.down, x, 1)
		}
		layerTime := time.Since(start)
		MatMulPacked(p, ys[0], out, x[:2048], 1)
		stepTime := time.Since(start)
		v := 0
		if one {
			v = 1
		}
		ratios[v] = append(ratios[v], float64(layerBytes+out.Bytes())/stepTime.Seconds()/bw)
		layerRatios[v] = append(layerRatios[v], float64(layerBytes)/layerTime.Seconds()/bw)
	}
	p.mu.Lock()
	p.pk.oneStream = false
	p.mu.Unlock()
	b.ReportMetric(median(ratios[0]), "streams-roof")
	b.ReportMetric(median(ratios[1]), "one-roof")
	b.ReportMetric(median(layerRatios[0]), "streams-layers-roof")
	b.ReportMetric(median(layerRatios[1]), "one-layers-roof")
}

// BenchmarkStreamTypes sets the single-row kernels of several weight types
// side by side on the same work: a stack of llama-1b gate-shaped matrices
// (8192×2048, 16 of each type, 150-290 MB), run one type after the other
// in every round, after a read-bandwidth probe. The memory swings by tens
// of percent between rounds but little within one, so each round's ratios
// of one type's GB/s to another's are what to compare; it reports their
// medians over the rounds (<type>/Q8_0) and each type's median GB/s ÷ the
// round's probe (<type>-roof).
//
//	go test -run '^$' -bench StreamTypes -benchtime 20x ./kernels
func BenchmarkStreamTypes(b *testing.B) {
	types := []quant.Type{quant.Q8_0, quant.Q4_0, quant.Q6_K, quant.Q4_K}
	for _, wt := range types {
		if !CanPack(wt) {
			b.Skip("no packed kernels for", wt)
		}
	}
	p := NewPool(0)
	defer p.Close()
	rng := rand.New(rand.NewPCG(41, 42))
	const rows, cols, stack = 8192, 2048, 16
	mats := make([][]*PackedWeights, len(types))
	bytes := make([]int, len(types))
	for i, wt := range types {
		for range stack {
			pw, err := PackWeights(p, wt, randWeights(rng, wt, rows, cols, false), rows, cols)
			if err != nil {
				b.Fatal(err)
			}
			mats[i] = append(mats[i], pw)
			bytes[i] += pw.Bytes()
		}
	}
	x := randFloats(rng, cols, 1)
	y := make([]float32, rows)
	probe := NewBandwidthProbe(256 << 20)
	roof := make([][]float64, len(types))
	rel := make([][]float64, len(types))
	for range b.N {
		bw := probe.Measure(p)
		gbs := make([]float64, len(types))
		for i := range types {
			start := time.Now()
			for _, pw := range mats[i] {
				MatMulPacked(p, y, pw, x, 1)
			}
			gbs[i] = float64(bytes[i]) / time.Since(start).Seconds() / 1e9
			roof[i] = append(roof[i], gbs[i]/bw)
		}
		for i := range types {
			rel[i] = append(rel[i], gbs[i]/gbs[0])
		}
	}
	for i, wt := range types {
		b.ReportMetric(median(roof[i]), wt.String()+"-roof")
		if i > 0 {
			b.ReportMetric(median(rel[i]), wt.String()+"/"+types[0].String())
		}
	}
}

// BenchmarkSingleRowKernels times the kernel a one-row (decode) call runs
// for each type, called directly on one thread over up to 256 rows of 2048
// columns (512 KiB at most, so they stay in L2), the activation row
// quantized once beforehand: the kernel's own rate with no DRAM, dispatch
// or quantizer in it. Against what one core reads from DRAM
// (BenchmarkReadBandwidth's 1thread-GB/s) it is the compute headroom a
// decode step has per core. On the 2-core Zen 5 VM:
// Q8_0 145-148 GB/s, Q4_K 110, Q6_K 106-108, Q4_0 104-107, Q2_K 56, Q3_K
// 59, against 29-39 GB/s that one core reads from DRAM (docs/performance.md,
// round 15): Q2_K and Q3_K have the least to spare.
//
//	go test -run '^$' -bench SingleRowKernels -benchtime 20000x ./kernels
func BenchmarkSingleRowKernels(b *testing.B) {
	p := NewPool(1)
	defer p.Close()
	rng := rand.New(rand.NewPCG(43, 44))
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0, quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.F16, quant.BF16, quant.F32} {
		if !CanPack(wt) {
			continue
		}
		const cols = 2048
		rb, _ := wt.RowBytes(cols)
		rows := min(256, 512<<10/rb/64*64)
		pw, err := PackWeights(p, wt, randWeights(rng, wt, rows, cols, false), rows, cols)
		if err != nil {
			b.Fatal(err)
		}
		y := make([]float32, rows)
		MatMulPacked(p, y, pw, randFloats(rng, cols, 1), 1)
		a := p.pk.shape // the call's quantized row, copied out of the pool's scratch
		a.qs, a.d, a.corr = append([]byte(nil), a.qs...), append([]float32(nil), a.d...), append([]int32(nil), a.corr...)
		ks := packedSetOf(wt, false)
		gb := a.nb * packedBlockBytes(wt)
		groups := rows / packGroup
		bytes := groups * gb
		run := func() {
			for g := 0; g < groups; g++ {
				ks.tiles[1](&pw.data[g*gb], a.nb, &a.qs[0], a.qk*a.es, &a.d[0], &a.corr[0], 4, &y[g*packGroup], rows*4)
			}
		}
		if ks.streams != nil && ks.single {
			q := groups / ks.ns
			bytes = q * ks.ns * gb // the kernel's streams: whole groups of each
			run = func() {
				ks.streams(&pw.data[0], q*gb, a.nb, &a.qs[0], a.qk*a.es, &a.d[0], &a.corr[0], 4, &y[0], q*packGroup*4, q)
			}
		}
		b.Run(wt.String(), func(b *testing.B) {
			for range b.N {
				run()
			}
			b.ReportMetric(float64(bytes)/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GB/s")
		})
	}
}

// BenchmarkLoneCalls reads cold single-row calls of the llama-1b layer
// shapes one call after another, with one thread and with two, against a
// read probe with the same threads, and reports each median ratio by
// packed bytes (t<threads>-<rows>x<cols>-roof). It is the harness behind
// round 59 in docs/performance.md: one thread reads a 2048x2048 Q4_0 call
// as well as an 8192x2048 one (0.92-0.99 of its probe on the 2-core Intel
// Xeon VM), two threads read it at 0.76-0.83. It avoids two traps. The
// matrices are in an Arena, on huge pages as the model's (below 4 MiB,
// PackWeights alone gives 4 KiB pages, which read 15-20 % less). Each
// setting has matrices of its own, run in an order that rotates round by
// round (the setting run second after a probe read 2-3 % more, whichever
// it was). NURI_BENCH_TYPE picks the weight type (default Q4_0).
//
//	go test -run '^$' -bench LoneCalls -benchtime 20x ./kernels
func BenchmarkLoneCalls(b *testing.B) {
	wt := benchPackType(b)
	type setting struct {
		threads, rows, cols int
		mats                []*PackedWeights
		bytes               int
		roof                []float64
	}
	var settings []*setting
	pools := map[int]*Pool{}
	for _, threads := range []int{1, 2} {
		pools[threads] = NewPool(threads)
		defer pools[threads].Close()
	}
	rng := rand.New(rand.NewPCG(59, 60))
	arena := NewArena()
	const setBytes = 64 << 20 // each setting's matrices: cold again by its next turn
	for _, threads := range []int{1, 2} {
		for _, shape := range [][2]int{{2048, 2048}, {8192, 2048}, {2048, 8192}} {
			s := &setting{threads: threads, rows: shape[0], cols: shape[1]}
			for s.bytes < setBytes {
				pw, err := PackWeightsIn(pools[threads], arena, wt, randWeights(rng, wt, s.rows, s.cols, false), s.rows, s.cols)
				if err != nil {
					b.Fatal(err)
				}
				s.mats = append(s.mats, pw)
				s.bytes += pw.Bytes()
			}
			settings = append(settings, s)
		}
	}
	x := randFloats(rng, 8192, 1)
	y := make([]float32, 8192)
	probe := NewBandwidthProbe(1024 << 20)
	b.ResetTimer()
	for round := range b.N {
		bw := map[int]float64{1: probe.loops(pools[1]) * 1e9, 2: probe.loops(pools[2]) * 1e9}
		for k := range settings {
			s := settings[(k+round)%len(settings)]
			p := pools[s.threads]
			start := time.Now()
			for _, pw := range s.mats {
				MatMulPacked(p, y[:s.rows], pw, x[:s.cols], 1)
			}
			s.roof = append(s.roof, float64(s.bytes)/time.Since(start).Seconds()/bw[s.threads])
		}
	}
	for _, s := range settings {
		b.ReportMetric(median(s.roof), fmt.Sprintf("t%d-%dx%d-roof", s.threads, s.rows, s.cols))
	}
}

// benchPackType is the weight type a benchmark packs: NURI_BENCH_TYPE, or
// Q4_0. It skips the benchmark where that type has no packed kernels.
func benchPackType(b *testing.B) quant.Type {
	wt := quant.Q4_0
	if s := os.Getenv("NURI_BENCH_TYPE"); s != "" {
		t, err := quant.ParseType(s)
		if err != nil {
			b.Fatal(err)
		}
		wt = t
	}
	if !CanPack(wt) {
		b.Skip("no packed kernels for", wt)
	}
	return wt
}
