package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/quant"
)

// TestMatMulPackedMatchesReference: the packed kernels give packedRef's
// bits for awkward shapes (one block, odd block counts, rows not a multiple
// of 16, every tile remainder), leave the outputs around them alone, and
// agree with the unpacked MatMul within float rounding.
func TestMatMulPackedMatchesReference(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU (AVX-512 VNNI); the unpacked path serves every type")
	}
	checkPackedReference(t, sweepTypes(packedTypes))
}

// sweepTypes is types for the per-type sweeps: under the race detector
// the i-quants below 4 bits are represented by one type of each record form
// (IQ3_XXS: a multiplier a group, IQ2_XS: one a half group).
func sweepTypes(types []quant.Type) []quant.Type {
	if !raceEnabled {
		return types
	}
	var out []quant.Type
	for _, t := range types {
		if !quant.IQTranscodable(t) || t == quant.IQ3_XXS || t == quant.IQ2_XS {
			out = append(out, t)
		}
	}
	return out
}

// packedTypes are the weight types with packed kernels.
var packedTypes = []quant.Type{quant.Q4_0, quant.Q5_0, quant.Q4_1, quant.Q5_1, quant.Q8_0, quant.Q6_K, quant.Q4_K, quant.Q5_K, quant.Q3_K, quant.Q2_K, quant.IQ4_XS, quant.IQ4_NL,
	quant.IQ2_XXS, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_M, quant.F16, quant.BF16, quant.F32}

func checkPackedReference(t *testing.T, types []quant.Type) {
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(21, 22))
	for _, wt := range types {
		for _, sh := range []struct{ rows, cols int }{{1, 32}, {16, 32}, {17, 96}, {33, 160}, {48, 2048}, {5, 4096}, {300, 256}, {31, 768}, {20, 1280}} {
			if sh.cols%packedQK(wt) != 0 {
				continue
			}
			w := randWeights(rng, wt, sh.rows, sh.cols, true)
			pw, err := PackWeights(p, wt, w, sh.rows, sh.cols)
			if err != nil {
				t.Fatal(err)
			}
			for _, nx := range []int{1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 33} {
				name := fmt.Sprintf("%v/%dx%d/nx=%d", wt, sh.rows, sh.cols, nx)
				x := randFloats(rng, nx*sh.cols, 1)
				got := guardedOutput(nx * sh.rows)
				MatMulPacked(p, got, pw, x, nx)
				want := make([]float32, nx*sh.rows)
				packedRef(wt, w, sh.rows, sh.cols, x, nx, want)
				checkOutput(t, name, got, want, "reference")
				// Against the row kernels: the same integer block dots,
				// summed in another order. Bound: the matmul goldens' 1e-5;
				// observed ≤ 1.4e-6 (Q4_K, whose d·Σ − dmin·Σ cancels),
				// ≤ 5e-7 for the others.
				mm := make([]float32, nx*sh.rows)
				MatMul(p, mm, w, wt, sh.rows, sh.cols, x, nx)
				if rel := testshared.RelRMS(want, mm); rel > 1e-5 {
					t.Fatalf("%s: rel-RMS %.3g against MatMul", name, rel)
				}
			}
		}
	}
}

// TestMatMulPackedStreams: single-row calls and small batches (2-7 rows,
// the tile kernels in sub-tiles of 4, 2 and 1) on the multi-stream kernels
// give packedRef's bits (the one-group kernels' bits) whatever the split:
// group counts that leave 0-3 groups over after the streams, a partial
// last group, one chunk (nil Pool) and a pool's chunks; outputs around the
// result stay untouched.
func TestMatMulPackedStreams(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	checkPackedStreams(t, sweepTypes(packedTypes))
}

func checkPackedStreams(t *testing.T, types []quant.Type) {
	p := NewPool(2)
	defer p.Close()
	// Three threads: two helpers warm their reserved chunks (packedWarm).
	p3 := NewPool(3)
	defer p3.Close()
	rng := rand.New(rand.NewPCG(25, 26))
	tested := 0
	for _, wt := range types {
		if packedSetOf(wt, false).streams == nil {
			continue
		}
		tested++
		for _, sh := range []struct{ rows, cols int }{{64, 32}, {65, 256}, {80, 96}, {112, 64}, {127, 512}, {500, 256}, {2053, 256}, {1024, 2048}} {
			if sh.cols%packedQK(wt) != 0 {
				continue
			}
			w := randWeights(rng, wt, sh.rows, sh.cols, true)
			for _, nx := range []int{1, 2, 3, 4, 7} {
				if !packedSetOf(wt, false).streamsFor(nx) {
					continue
				}
				x := randFloats(rng, nx*sh.cols, 1)
				want := make([]float32, nx*sh.rows)
				packedRef(wt, w, sh.rows, sh.cols, x, nx, want)
				for _, pool := range []*Pool{nil, p, p3} {
					pw, err := PackWeights(pool, wt, w, sh.rows, sh.cols)
					if err != nil {
						t.Fatal(err)
					}
					got := guardedOutput(nx * sh.rows)
					MatMulPacked(pool, got, pw, x, nx)
					checkOutput(t, fmt.Sprintf("%v/%dx%d/nx=%d/threads=%d", wt, sh.rows, sh.cols, nx, pool.Threads()), got, want, "reference")
				}
			}
		}
	}
	if tested == 0 {
		t.Fatal("no weight type has a multi-stream kernel")
	}
}

// TestMatMulPackedStreamStoreAlignment: the single-row stream kernels
// store their outputs non-temporally where the output lines are whole
// cache lines and plainly where not (store_outputs_nt in gen_packed.py);
// both ways give the reference's bits, with and without the residual, and
// write nothing outside the outputs.
func TestMatMulPackedStreamStoreAlignment(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(27, 28))
	const rows, cols = 1024, 256
	tested := 0
	for _, wt := range sweepTypes(packedTypes) {
		if packedSetOf(wt, false).streams == nil || cols%packedQK(wt) != 0 {
			continue
		}
		tested++
		w := randWeights(rng, wt, rows, cols, true)
		pw, err := PackWeights(p, wt, w, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		x := randFloats(rng, cols, 1)
		want := make([]float32, rows)
		packedRef(wt, w, rows, cols, x, 1, want)
		for _, off := range []int{0, 1, 4, 15} {
			name := fmt.Sprintf("%v/offset %d floats", wt, off)
			y := lineAlignedOutput(rows, off)
			MatMulPacked(p, y, pw, x, 1)
			checkOutput(t, name, y, want, "reference")
			res := randFloats(rng, rows, 1)
			before := append([]float32(nil), res...)
			y = lineAlignedOutput(rows, off)
			MatMulPackedResidual(p, res, y, pw, x, 1)
			checkOutput(t, name+"/residual", y, want, "reference")
			for i, v := range want {
				if e := before[i] + v; math.Float32bits(res[i]) != math.Float32bits(e) {
					t.Fatalf("%s: residual[%d] = %g, want %g", name, i, res[i], e)
				}
			}
		}
	}
	if tested == 0 {
		t.Fatal("no weight type has a multi-stream kernel")
	}
}

// lineAlignedOutput returns n floats starting off floats past a 64-byte
// boundary, followed (as guardedOutput's) by outGuard of outSentinel.
func lineAlignedOutput(n, off int) []float32 {
	raw := make([]float32, n+off+16+outGuard)
	skip := (64 - int(uintptr(unsafe.Pointer(&raw[0]))%64)) % 64 / 4
	y := raw[skip+off : skip+off+n+outGuard]
	for i := n; i < len(y); i++ {
		y[i] = outSentinel
	}
	return y[:n]
}

// TestMatMulPackedBatchInvariant: a row's outputs are the same bits alone
// and inside any batch, at any position.
func TestMatMulPackedBatchInvariant(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	checkPackedBatchInvariant(t, packedTypes)
}

func checkPackedBatchInvariant(t *testing.T, types []quant.Type) {
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(23, 24))
	const rows, cols = 70, 512
	for _, wt := range types {
		w := randWeights(rng, wt, rows, cols, true)
		pw, err := PackWeights(p, wt, w, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		const nx = 21
		x := randFloats(rng, nx*cols, 1)
		all := make([]float32, nx*rows)
		MatMulPacked(p, all, pw, x, nx)
		for i := range nx {
			one := make([]float32, rows)
			MatMulPacked(p, one, pw, x[i*cols:(i+1)*cols], 1)
			for r := range rows {
				if math.Float32bits(one[r]) != math.Float32bits(all[i*rows+r]) {
					t.Fatalf("%v: row %d output %d: alone %g, in a batch of %d %g", wt, i, r, one[r], nx, all[i*rows+r])
				}
			}
		}
	}
}

func TestPackWeightsRejectsBadInput(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	if _, err := PackWeights(p, quant.TQ2_0, make([]byte, 66), 1, 256); err == nil {
		t.Error("TQ2_0 packed without error")
	}
	if _, err := PackWeights(p, quant.F16, make([]byte, 2*6), 1, 6); err == nil {
		t.Error("F16 with 6 columns (not a multiple of 4) packed without error")
	}
	if _, err := PackWeights(p, quant.Q4_0, make([]byte, 17), 1, 32); err == nil {
		t.Error("short Q4_0 data packed without error")
	}
}

// TestMatMulPackedShared checks that matrices sharing an input, run in one
// call, give each output exactly MatMulPacked's bits: row counts that end
// in partial groups, batches across tiles, and a nil Pool.
func TestMatMulPackedShared(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(25, 26))
	const cols = 512
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K, quant.F16} {
		rowCounts := []int{48, 21, 16, 70}
		var pws []*PackedWeights
		for _, rows := range rowCounts {
			pw, err := PackWeights(p, wt, randWeights(rng, wt, rows, cols, true), rows, cols)
			if err != nil {
				t.Fatal(err)
			}
			pws = append(pws, pw)
		}
		for _, nx := range []int{1, 3, 9, 17} {
			for _, pool := range []*Pool{p, nil} {
				x := randFloats(rng, nx*cols, 1)
				var ys [][]float32
				for _, rows := range rowCounts {
					ys = append(ys, guardedOutput(nx*rows))
				}
				MatMulPackedShared(pool, ys, pws, x, nx)
				for m, pw := range pws {
					want := make([]float32, nx*pw.Rows)
					MatMulPacked(p, want, pw, x, nx)
					checkOutput(t, fmt.Sprintf("%v nx=%d matrix %d", wt, nx, m), ys[m], want, "alone")
				}
			}
		}
	}
}

// TestMatMulPackedSharedMixed: two K-quant types in one shared call (a
// Q4_K_M layer's q, k and Q6_K v) give every output exactly MatMulPacked's
// bits and the reference's: single rows on the stream kernels with the
// threads stealing across the matrices, small batches on the tile streams,
// batches across tiles; every pair of K-quant types, in either order.
func TestMatMulPackedSharedMixed(t *testing.T) {
	if !CanPack(quant.Q4_K) {
		t.Skip("no packed kernels on this CPU")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(29, 30))
	const cols = 512
	ks := []quant.Type{quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.IQ4_XS, quant.IQ3_XXS, quant.IQ1_S, quant.IQ2_S, quant.IQ1_M}
	for i, a := range ks {
		for j, b := range ks {
			if i == j {
				continue
			}
			types := []quant.Type{a, a, b, a}
			rowCounts := []int{512, 128, 128 + 21, 64}
			var pws []*PackedWeights
			var ws [][]byte
			for m, rows := range rowCounts {
				w := randWeights(rng, types[m], rows, cols, true)
				pw, err := PackWeights(p, types[m], w, rows, cols)
				if err != nil {
					t.Fatal(err)
				}
				pws, ws = append(pws, pw), append(ws, w)
			}
			for rep, nx := range []int{1, 1, 2, 3, 9} {
				x := randFloats(rng, nx*cols, 1)
				var ys [][]float32
				for _, rows := range rowCounts {
					ys = append(ys, guardedOutput(nx*rows))
				}
				pool := p
				if rep == 1 {
					pool = nil
				}
				MatMulPackedShared(pool, ys, pws, x, nx)
				for m, pw := range pws {
					name := fmt.Sprintf("%v+%v nx=%d matrix %d (%v)", a, b, nx, m, types[m])
					want := make([]float32, nx*pw.Rows)
					MatMulPacked(p, want, pw, x, nx)
					checkOutput(t, name, ys[m], want, "alone")
					ref := make([]float32, nx*pw.Rows)
					packedRef(types[m], ws[m], pw.Rows, cols, x, nx, ref)
					checkOutput(t, name, ys[m], ref, "reference")
				}
			}
		}
	}
	// Three types, or a K-quant with another family, do not share.
	mk := func(wt quant.Type) *PackedWeights {
		pw, err := PackWeights(nil, wt, randWeights(rng, wt, 16, 256, true), 16, 256)
		if err != nil {
			t.Fatal(err)
		}
		return pw
	}
	for _, set := range [][]quant.Type{{quant.Q4_K, quant.Q6_K, quant.Q5_K}, {quant.Q4_K, quant.Q8_0}, {quant.Q4_0, quant.Q8_0}} {
		var pws []*PackedWeights
		var ys [][]float32
		for _, wt := range set {
			pws, ys = append(pws, mk(wt)), append(ys, make([]float32, 16))
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%v shared a call", set)
				}
			}()
			MatMulPackedShared(p, ys, pws, randFloats(rng, 256, 1), 1)
		}()
	}
	if SharesInput(quant.Q4_0, quant.Q8_0) || !SharesInput(quant.Q4_K, quant.Q6_K) || !SharesInput(quant.F16, quant.F16) {
		t.Error("SharesInput disagrees with the kernels")
	}
}

// TestPackedGrain: single-row chunks hold whole sets of the multi-stream
// kernel's groups (four, or two for the K-quants) where they hold more than
// one set, so that kernel takes all of a chunk; batched chunks keep their
// byte limit.
func TestPackedGrain(t *testing.T) {
	for _, c := range []struct{ groups, groupBytes, nx, streams, threads, rowChunk, want int }{
		{128, 256 * 288, 1, 4, 2, 0, 16},        // Q4_0 2048×8192: 14 by bytes, rounded to 16
		{1024, 64 * 288, 1, 4, 2, 0, 56},        // Q4_0 gate/up: 56 already whole
		{128, 256 * 544, 1, 4, 2, 0, 8},         // Q8_0 2048×8192: 7 → 8
		{128, 64 * 288, 1, 4, 2, 0, 56},         // single rows: one chunk a thread, up to 1 MiB
		{32, 64 * 288, 1, 4, 2, 0, 16},          // by the per-thread share: one chunk a thread
		{128, 64 * 288, 2, 4, 2, 0, 32},         // two rows: two chunks a thread
		{128, 8 * 3360, 1, 0, 2, 0, 16},         // four a thread without a multi-stream kernel
		{16, 64 * 288, 1, 4, 2, 0, 8},           // two sets of streams
		{8, 64 * 288, 1, 4, 2, 0, 4},            // one set of streams
		{4, 64 * 288, 1, 4, 2, 0, 2},            // too few groups to round
		{128, 256 * 288, 16, 0, 2, 0, 3},        // batched: 256 KiB
		{8016, 8 * 2304, 1, 2, 2, 0, 56},        // a Q4_K output matrix: 56 already whole
		{8016, 8 * 3360, 1, 0, 2, 0, 39},        // 1 MiB without a multi-stream kernel
		{8016, 8 * 3360, 1, 2, 2, 0, 40},        // a Q6_K output matrix: 39 → 40
		{128, 32 * 2304, 1, 2, 2, 0, 14},        // Q4_K 2048×8192: 14 already whole
		{8016, 8 * 3360, 1, 2, 2, 4 << 20, 156}, // Q6_K's 4 MiB: 156 already whole
		{128, 32 * 3360, 1, 2, 2, 4 << 20, 40},  // Q6_K 2048×8192: 39 → 40
		{8016, 8 * 3360, 2, 2, 2, 4 << 20, 40},  // two rows keep 1 MiB
		{128, 256 * 288, 16, 0, 2, 2 << 20, 3},  // batched: 256 KiB
	} {
		if got := packedGrain(c.groups, c.groupBytes, c.nx, c.streams, c.threads, c.rowChunk); got != c.want {
			t.Errorf("packedGrain(%d, %d, %d, %d, %d, %d) = %d, want %d", c.groups, c.groupBytes, c.nx, c.streams, c.threads, c.rowChunk, got, c.want)
		}
	}
}

// TestMatMulPackedSharedStreams: single-row and small-batch shared calls whose chunks
// straddle the matrices (and their partial last groups), on the
// multi-stream kernels, with the threads claiming stream rows from each
// other's chunks; every output is checked against the reference, so a row
// computed by no thread, or into the wrong place, fails.
func TestMatMulPackedSharedStreams(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(27, 28))
	const cols = 256
	rowCounts := []int{517, 256, 1203, 40}
	tested := 0
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_1, quant.Q4_K, quant.Q3_K, quant.F16} {
		if packedSetOf(wt, false).streams == nil {
			continue
		}
		tested++
		var pws []*PackedWeights
		var ws [][]byte
		for _, rows := range rowCounts {
			w := randWeights(rng, wt, rows, cols, true)
			pw, err := PackWeights(p, wt, w, rows, cols)
			if err != nil {
				t.Fatal(err)
			}
			pws, ws = append(pws, pw), append(ws, w)
		}
		for rep := range 20 { // the threads race differently each time
			nx := []int{1, 1, 3, 4}[rep%4] // and small batches on the tile streams
			x := randFloats(rng, nx*cols, 1)
			var ys [][]float32
			for _, rows := range rowCounts {
				ys = append(ys, guardedOutput(nx*rows))
			}
			MatMulPackedShared(p, ys, pws, x, nx)
			for m, rows := range rowCounts {
				want := make([]float32, nx*rows)
				packedRef(wt, ws[m], rows, cols, x, nx, want)
				checkOutput(t, fmt.Sprintf("%v rep %d nx=%d matrix %d", wt, rep, nx, m), ys[m], want, "reference")
			}
		}
	}
	if tested == 0 {
		t.Fatal("no type has a multi-stream kernel")
	}
}

// TestMatMulPackedResidual: the residual gets exactly what MatMulPacked
// followed by a float32 add gives, for every output (stream kernels with
// stolen runs, one-group kernels, partial last groups, batched tiles,
// block counts that leave an unrolled kernel a remainder),
// and nothing past its end.
func TestMatMulPackedResidual(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(27, 28))
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q5_0, quant.Q4_1, quant.Q5_1, quant.Q6_K, quant.Q4_K, quant.F16, quant.IQ4_NL, quant.IQ4_XS, quant.IQ3_S, quant.IQ2_XS} {
		for _, sh := range []struct{ rows, cols, nx int }{{64, 256, 1}, {2053, 256, 1}, {1030, 512, 1}, {1030, 352, 1}, {500, 256, 3}, {200, 256, 9}} {
			if sh.cols%packedQK(wt) != 0 {
				continue
			}
			w := randWeights(rng, wt, sh.rows, sh.cols, true)
			x := randFloats(rng, sh.nx*sh.cols, 1)
			pw, err := PackWeights(p, wt, w, sh.rows, sh.cols)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, sh.nx*sh.rows)
			MatMulPacked(p, want, pw, x, sh.nx)
			for _, pool := range []*Pool{nil, p} {
				for rep := range 5 {
					const guard = 16
					res := randFloats(rng, sh.nx*sh.rows+guard, 1)
					before := append([]float32(nil), res...)
					y := guardedOutput(sh.nx * sh.rows)
					MatMulPackedResidual(pool, res[:sh.nx*sh.rows], y, pw, x, sh.nx)
					name := fmt.Sprintf("%v/%dx%d/nx=%d/pool=%v/rep %d", wt, sh.rows, sh.cols, sh.nx, pool != nil, rep)
					checkOutput(t, name, y, want, "MatMulPacked")
					for i, v := range want {
						if e := before[i] + v; math.Float32bits(res[i]) != math.Float32bits(e) {
							t.Fatalf("%s: residual[%d] = %g, want %g + %g = %g", name, i, res[i], before[i], v, e)
						}
					}
					for i := sh.nx * sh.rows; i < len(res); i++ {
						if res[i] != before[i] {
							t.Fatalf("%s: wrote past the residual at %d", name, i)
						}
					}
				}
			}
		}
	}
}

// outGuard floats holding outSentinel follow every guardedOutput.
const (
	outGuard    = 16
	outSentinel = 777
)

// guardedOutput returns n zeroed floats whose backing array goes on for
// outGuard more, set to outSentinel, for checkOutput to see overruns.
func guardedOutput(n int) []float32 {
	y := make([]float32, n+outGuard)
	for i := n; i < len(y); i++ {
		y[i] = outSentinel
	}
	return y[:n]
}

// checkOutput fails t unless got (from guardedOutput) has want's bits
// (what names the source of want) and the guard past it is untouched.
func checkOutput(t *testing.T, name string, got, want []float32, what string) {
	t.Helper()
	for i, v := range want {
		if math.Float32bits(got[i]) != math.Float32bits(v) {
			t.Fatalf("%s: y[%d] = %g, %s %g", name, i, got[i], what, v)
		}
	}
	for i, v := range got[len(want) : len(want)+outGuard] {
		if v != outSentinel {
			t.Fatalf("%s: wrote past the output at %d", name, len(want)+i)
		}
	}
}

// TestPackedWarmRegions: the regions a helper warms are the stream pieces
// of the chunk reserved for it, each as its streams' bytes side by side,
// inside the matrix; helpers past the last chunk get none.
func TestPackedWarmRegions(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const cols = 256
	var mats []packedMat
	groups := 0
	for _, rows := range []int{2048, 512, 512, 80} {
		pw, err := PackWeights(nil, quant.Q8_0, randWeights(rng, quant.Q8_0, rows, cols, true), rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		mats = append(mats, packedMat{pw: pw, g0: groups, groups: pw.groups()})
		groups += pw.groups()
	}
	for _, c := range []struct{ grain, ns, helpers int }{{32, 4, 1}, {32, 4, 3}, {40, 2, 2}, {100, 4, 7}} {
		for i := range mats {
			mats[i].ns = c.ns
		}
		var sp streamPlan
		sp.plan(mats, c.grain)
		pieces, starts := sp.pieces, sp.chunkPieces
		var w packedWarm
		w.set(pieces, starts, c.helpers)
		chunks := len(starts) - 1
		if want := min(c.helpers, chunks-1); len(w.starts) != want {
			t.Fatalf("%+v: regions for %d helpers, want %d", c, len(w.starts), want)
		}
		lo := 0
		for h := 1; h <= len(w.starts); h++ {
			got := w.regions[lo:w.starts[h-1]]
			want := pieces[starts[h]:starts[h+1]]
			if len(got) != len(want) {
				t.Fatalf("%+v: helper %d warms %d regions, chunk %d has %d pieces", c, h, len(got), h, len(want))
			}
			for i, r := range got {
				pc := want[i]
				pw := pc.m.pw
				o, n := pw.groupAt(pc.lo), pc.q*pw.groupBytes()
				if &r.data[0] != &pw.data[o] || len(r.data) != (c.ns-1)*pc.ws+n || r.run != pc.ws || r.n != n || r.ns != c.ns {
					t.Fatalf("%+v: helper %d region %d is not piece %d (groups %d.., %d a stream)", c, h, i, i, pc.lo, pc.q)
				}
			}
			lo = w.starts[h-1]
		}
		// Every helper's warming returns, stopped or not.
		var stop atomic.Bool
		for h := 1; h <= c.helpers+1; h++ {
			w.runAside(h, &stop)
		}
		stop.Store(true)
		w.runAside(1, &stop)
		w.clear()
		if len(w.regions) != 0 || len(w.starts) != 0 {
			t.Fatal("clear left regions")
		}
	}
}

// TestJoinsShared: which matrix types a shared call takes, one after
// another, and the call's second type after each.
func TestJoinsShared(t *testing.T) {
	cases := []struct {
		first, second, t quant.Type
		want             quant.Type
		ok               bool
	}{
		{quant.Q4_0, quant.Q4_0, quant.Q4_0, quant.Q4_0, true},
		{quant.Q4_0, quant.Q4_0, quant.Q8_0, quant.Q4_0, false}, // different activations
		{quant.Q4_K, quant.Q4_K, quant.Q6_K, quant.Q6_K, true},  // a Q4_K_M layer's v
		{quant.Q4_K, quant.Q6_K, quant.Q4_K, quant.Q6_K, true},
		{quant.Q4_K, quant.Q6_K, quant.Q6_K, quant.Q6_K, true},
		{quant.Q4_K, quant.Q6_K, quant.Q5_K, quant.Q6_K, false}, // a third type
		{quant.Q4_K, quant.Q4_K, quant.Q4_0, quant.Q4_K, false},
	}
	for _, c := range cases {
		got, ok := JoinsShared(c.first, c.second, c.t)
		if got != c.want || ok != c.ok {
			t.Errorf("JoinsShared(%v, %v, %v) = %v, %v; want %v, %v", c.first, c.second, c.t, got, ok, c.want, c.ok)
		}
	}
}

// TestMatMulPackedGrouped: matrices that each multiply their own row of
// the input (a token's experts' down projections) give every output
// MatMulPacked's bits for that row alone: every packed type, rows that
// are not a multiple of the group (a partial last group), inputs of one
// to more than a tile of rows, rows taken in any order and more than once,
// mixed K-quants, and a nil pool.
func TestMatMulPackedGrouped(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(61, 62))
	const cols = 512
	for _, types := range [][]quant.Type{
		{quant.Q4_0}, {quant.Q4_1}, {quant.Q5_0}, {quant.Q5_1}, {quant.Q8_0}, {quant.Q2_K}, {quant.Q3_K}, {quant.Q4_K},
		{quant.Q5_K}, {quant.Q6_K}, {quant.IQ4_XS}, {quant.IQ4_NL}, {quant.F16}, {quant.BF16}, {quant.F32},
		{quant.IQ2_XXS}, {quant.IQ3_XXS}, {quant.IQ3_S}, {quant.IQ1_S}, {quant.IQ2_XS}, {quant.IQ2_S}, {quant.IQ1_M},
		{quant.Q4_K, quant.Q6_K}, {quant.IQ3_S, quant.IQ4_XS},
	} {
		rowCounts := []int{256, 96 + 21, 64, 1024, 8}
		var pws []*PackedWeights
		for m, rows := range rowCounts {
			wt := types[m%len(types)]
			pw, err := PackWeights(p, wt, randWeights(rng, wt, rows, cols, true), rows, cols)
			if err != nil {
				t.Fatal(err)
			}
			pws = append(pws, pw)
		}
		for _, c := range []struct {
			nx   int
			rows []int
		}{
			{1, []int{0, 0, 0, 0, 0}},
			{5, []int{0, 1, 2, 3, 4}},
			{5, []int{4, 2, 2, 0, 1}},
			{11, []int{10, 3, 8, 9, 0}},
		} {
			for _, pool := range []*Pool{p, nil} {
				x := randFloats(rng, c.nx*cols, 1)
				var ys [][]float32
				for _, rows := range rowCounts {
					ys = append(ys, guardedOutput(rows))
				}
				MatMulPackedGrouped(pool, ys, pws, x, c.nx, c.rows)
				for m, pw := range pws {
					want := make([]float32, pw.Rows)
					r := c.rows[m]
					MatMulPacked(p, want, pw, x[r*cols:(r+1)*cols], 1)
					checkOutput(t, fmt.Sprintf("%v nx=%d matrix %d (row %d) pool=%v", pw.Type, c.nx, m, r, pool != nil), ys[m], want, "alone")
				}
			}
		}
	}
}

// TestPackedBytes: packed matrices take the file's bytes, rows padded to
// 16, except the transcoded i-quants, whose records are larger; shapes
// that do not pack take none.
func TestPackedBytes(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	for _, c := range []struct {
		t          quant.Type
		rows, cols int
		want       uint64
	}{
		{quant.Q4_0, 32, 64, 32 * 2 * 18},
		{quant.Q4_0, 17, 64, 32 * 2 * 18}, // padded to two groups
		{quant.Q6_K, 16, 512, 16 * 2 * 210},
		{quant.IQ3_XXS, 16, 256, 2240},
		{quant.IQ2_S, 16, 512, 2 * 2368},
		{quant.Q4_0, 16, 48, 0}, // not whole blocks
		{quant.TQ2_0, 16, 256, 0},
	} {
		if got := PackedBytes(c.t, c.rows, c.cols); got != c.want {
			t.Errorf("PackedBytes(%v, %d, %d) = %d, want %d", c.t, c.rows, c.cols, got, c.want)
		}
	}
	// Every packed type but the transcoded i-quants: exactly the file's
	// bytes (the K-quants' 6-bit scales stay 6-bit).
	for _, wt := range packedTypes {
		if quant.IQTranscodable(wt) {
			continue
		}
		rb, err := wt.RowBytes(512)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := PackedBytes(wt, 32, 512), uint64(32*rb); got != want {
			t.Errorf("PackedBytes(%v, 32, 512) = %d, want the file's %d", wt, got, want)
		}
	}
}

// TestIQAVX2Kernels: under the AVX2 kernel set the transcoded i-quants
// still pack, and their AVX2 kernels (one activation row at a time) give
// packedRef's bits, the AVX-512 kernels' bits: plain, residual and
// shared-input calls, odd row counts and batches.
func TestIQAVX2Kernels(t *testing.T) {
	if !hasIQAVX2 {
		t.Skip("no AVX2 and FMA on this CPU")
	}
	p := NewPool(2)
	defer p.Close()
	p.SetKernelSet(KernelsAVX2)
	rng := rand.New(rand.NewPCG(71, 72))
	types := []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M}
	for _, wt := range types {
		if !p.Packs(wt) || p.WeightKernelName(wt) != wt.String()+"/avx2-x16" {
			t.Fatalf("%v: Packs %v, kernel %s", wt, p.Packs(wt), p.WeightKernelName(wt))
		}
		for _, sh := range []struct{ rows, cols int }{{1, 256}, {16, 256}, {33, 768}, {300, 512}} {
			w := randWeights(rng, wt, sh.rows, sh.cols, false)
			pw, err := PackWeights(p, wt, w, sh.rows, sh.cols)
			if err != nil {
				t.Fatal(err)
			}
			for _, nx := range []int{1, 2, 3, 9, 17} {
				name := fmt.Sprintf("%v/%dx%d/nx=%d", wt, sh.rows, sh.cols, nx)
				x := randFloats(rng, nx*sh.cols, 1)
				want := make([]float32, nx*sh.rows)
				packedRef(wt, w, sh.rows, sh.cols, x, nx, want)
				got := guardedOutput(nx * sh.rows)
				MatMulPacked(p, got, pw, x, nx)
				checkOutput(t, name, got, want, "reference")
				res := guardedOutput(nx * sh.rows)
				copy(res, randFloats(rng, nx*sh.rows, 1))
				wantRes := make([]float32, len(res))
				for i := range res {
					wantRes[i] = res[i] + want[i]
				}
				y := guardedOutput(nx * sh.rows)
				MatMulPackedResidual(p, res, y, pw, x, nx)
				checkOutput(t, name+"/residual", res, wantRes, "reference + residual")
			}
		}
	}
	// Two transcoded types sharing one input.
	const cols = 512
	a, b := randWeights(rng, quant.IQ3_S, 40, cols, false), randWeights(rng, quant.IQ2_XS, 24, cols, false)
	pa, _ := PackWeights(p, quant.IQ3_S, a, 40, cols)
	pb, _ := PackWeights(p, quant.IQ2_XS, b, 24, cols)
	x := randFloats(rng, cols, 1)
	ya, yb := guardedOutput(40), guardedOutput(24)
	MatMulPackedShared(p, [][]float32{ya, yb}, []*PackedWeights{pa, pb}, x, 1)
	wa, wb := make([]float32, 40), make([]float32, 24)
	packedRef(quant.IQ3_S, a, 40, cols, x, 1, wa)
	packedRef(quant.IQ2_XS, b, 24, cols, x, 1, wb)
	checkOutput(t, "shared IQ3_S", ya, wa, "reference")
	checkOutput(t, "shared IQ2_XS", yb, wb, "reference")
}

// TestTailWarmLearnsSuccessors: a pool's single-row calls learn which call
// follows each one, as the chunk heads of that call's plan (chunk c for
// thread c), and the next call's threads run those as their tails; the
// pool's ahead task is the entry of the last call; a call that reserves
// no chunks, or a grouped one, forgets the chain. The tails only
// prefetch: every output keeps its bits.
func TestTailWarmLearnsSuccessors(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	const threads = 2
	p := NewPool(threads) // the best kernels, whatever NURI_KERNELS says: Q4_0 packs only there
	defer p.Close()
	rng := rand.New(rand.NewPCG(73, 74))
	shapes := []struct{ rows, cols int }{{2048, 2048}, {4096, 1024}, {1024, 4096}}
	var pws []*PackedWeights
	var xs [][]float32
	var want [][]float32
	for _, sh := range shapes {
		pw, err := PackWeights(p, quant.Q4_0, randWeights(rng, quant.Q4_0, sh.rows, sh.cols, false), sh.rows, sh.cols)
		if err != nil {
			t.Fatal(err)
		}
		x := randFloats(rng, sh.cols, 1)
		y := make([]float32, sh.rows)
		MatMulPacked(nil, y, pw, x, 1) // one thread: no tails
		pws, xs, want = append(pws, pw), append(xs, x), append(want, y)
	}
	s := &p.pk
	for round := range 3 {
		for i, pw := range pws {
			got := guardedOutput(pw.Rows)
			MatMulPacked(p, got, pw, xs[i], 1)
			checkOutput(t, fmt.Sprintf("round %d, matrix %d", round, i), got, want[i], "one thread")
		}
	}
	if !packedSetOf(quant.Q4_0, false).streamsFor(1) {
		if len(s.succ) != 0 || p.ahead != nil {
			t.Fatal("successors learned without stream kernels, whose calls reserve no chunks")
		}
		return
	}
	for i, pw := range pws {
		next := pws[(i+1)%len(pws)]
		e := s.succ[pw]
		if e == nil {
			t.Fatalf("matrix %d: no successor learned", i)
		}
		// The successor's plan, as its call makes it.
		set := packedSetOf(next.Type, false)
		mats := []packedMat{{pw: next, g0: 0, groups: next.groups(), ns: set.pieceStreams(1)}}
		var sp streamPlan
		sp.plan(mats, packedGrain(next.groups(), next.groupBytes(), 1, set.pieceStreams(1), threads, set.rowChunk))
		if len(sp.chunkPieces) < threads+1 {
			t.Fatalf("matrix %d's successor has %d chunks: the test wants one a thread", i, len(sp.chunkPieces)-1)
		}
		if len(e.starts) != threads+1 {
			t.Fatalf("matrix %d: regions for %d threads, want %d", i, len(e.starts)-1, threads)
		}
		for c := range threads {
			got, pieces := e.regions[e.starts[c]:e.starts[c+1]], sp.pieces[sp.chunkPieces[c]:sp.chunkPieces[c+1]]
			if len(got) != len(pieces) || len(got) == 0 {
				t.Fatalf("matrix %d, thread %d: %d regions, chunk %d of the successor has %d pieces", i, c, len(got), c, len(pieces))
			}
			for k, r := range got {
				pc := pieces[k]
				o, n := next.groupAt(pc.lo), pc.q*next.groupBytes()
				if &r.data[0] != &next.data[o] || r.n != n || r.run != pc.ws || r.ns != mats[0].ns {
					t.Fatalf("matrix %d, thread %d, region %d: not piece %d of the successor's chunk %d", i, c, k, k, c)
				}
			}
		}
	}
	if s.prev != pws[len(pws)-1] || p.ahead != tailTask(s.succ[s.prev]) {
		t.Fatal("the pool's ahead task is not the last call's successor")
	}
	// Sixteen rows, an input too large to prepare while the helpers
	// warm: the call reserves no chunks, and the chain is forgotten.
	const nx = 16
	xn := make([]float32, 0, nx*pws[0].Cols)
	for range nx {
		xn = append(xn, xs[0]...)
	}
	MatMulPacked(p, make([]float32, nx*pws[0].Rows), pws[0], xn, nx)
	if s.prev != nil || p.ahead != nil {
		t.Fatal("a call of sixteen rows kept the chain")
	}
	// A grouped call (the experts a router picked) forgets it too.
	MatMulPacked(p, make([]float32, pws[0].Rows), pws[0], xs[0], 1)
	if s.prev != pws[0] {
		t.Fatal("a single-row call did not start a chain")
	}
	ys := [][]float32{make([]float32, 2*pws[0].Rows), make([]float32, 2*pws[0].Rows)}
	MatMulPackedGrouped(p, ys, []*PackedWeights{pws[0], pws[0]}, xn[:2*pws[0].Cols], 2, []int{0, 1})
	if s.prev != nil || p.ahead != nil {
		t.Fatal("a grouped call kept the chain")
	}
}

// TestMatMulPackedWithoutKernels: a packed call on a pool whose kernel set
// has no kernels for the weights' type (Pool.Packs false; the model never
// packs for it) panics with the type's name on the caller instead of
// spinning for ever.
func TestMatMulPackedWithoutKernels(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	for _, threads := range []int{1, 2} {
		p := NewPool(threads)
		rng := rand.New(rand.NewPCG(75, 76))
		const rows, cols = 64, 256
		pw, err := PackWeights(p, quant.Q4_0, randWeights(rng, quant.Q4_0, rows, cols, false), rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		p.SetKernelSet(KernelsAVX2)
		if p.Packs(quant.Q4_0) {
			t.Fatal("the AVX2 kernel set packs Q4_0: the test needs a type it does not")
		}
		done := make(chan any, 1)
		go func() {
			defer func() { done <- recover() }()
			MatMulPacked(p, make([]float32, rows), pw, randFloats(rng, cols, 1), 1)
		}()
		select {
		case r := <-done:
			p.Close()
			if msg := fmt.Sprint(r); !strings.Contains(msg, "no Q4_0 kernels") {
				t.Fatalf("%d threads: MatMulPacked did not panic with the type's name: %v", threads, r)
			}
		case <-time.After(20 * time.Second):
			// No Close: it would wait on the hung call.
			t.Fatalf("%d threads: MatMulPacked hung", threads)
		}
	}
}

// TestPoolDotTime: with TimeDots on, each packed call adds its dot phase
// to DotTime, a part of the call's own time; off, nothing is added.
func TestPoolDotTime(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels for Q4_0 on this CPU")
	}
	var none *Pool
	none.TimeDots(true) // a nil Pool times nothing
	if none.DotTime() != 0 {
		t.Fatal("nil Pool: DotTime not 0")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(77, 78))
	const rows, cols = 256, 1024
	pw, err := PackWeights(p, quant.Q4_0, randWeights(rng, quant.Q4_0, rows, cols, false), rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	x := randFloats(rng, 4*cols, 1)
	y := make([]float32, 4*rows)
	MatMulPacked(p, y, pw, x, 1)
	if d := p.DotTime(); d != 0 {
		t.Fatalf("DotTime %v before TimeDots", d)
	}
	p.TimeDots(true)
	for _, nx := range []int{1, 4} {
		before := p.DotTime()
		start := time.Now()
		MatMulPacked(p, y, pw, x, nx)
		wall := time.Since(start)
		if d := p.DotTime() - before; d <= 0 || d > wall {
			t.Errorf("nx=%d: dot phase %v of a %v call", nx, d, wall)
		}
	}
	p.TimeDots(false)
	before := p.DotTime()
	MatMulPacked(p, y, pw, x, 1)
	if d := p.DotTime(); d != before {
		t.Errorf("DotTime moved from %v to %v with TimeDots off", before, d)
	}
}
