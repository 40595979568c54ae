package kernels

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// TestSpread: the least distance within a page between the offsets of ns
// streams stride bytes apart.
func TestSpread(t *testing.T) {
	cases := []struct{ stride, ns, want int }{
		{4096 * 18, 4, 0},         // page-aligned runs
		{4096*18 + 1024, 4, 1024}, // an even spread
		{4096*18 + 3072, 4, 1024}, // the same, the other way round
		{4096*4 + 2048, 4, 0},     // two pairs: streams 0 and 2 together
		{4096*4 + 960, 4, 960},    // 960, 1920, 2880
		{4096*4 + 2048, 2, 2048},  // two streams half a page apart
		{4096*4 + 64, 4, 64},      // nearly aligned
		{294912 + 1152, 4, 640},   // 1152, 2304, 3456: the last 640 short of a page
	}
	for _, c := range cases {
		if got := spread(c.stride, c.ns); got != c.want {
			t.Errorf("spread(%d, %d) = %d, want %d", c.stride, c.ns, got, c.want)
		}
	}
}

// TestPackRuns: the runs are as long as a single-row call's streams (or
// shortened to divide the matrix into whole blocks), their padding is the
// least that spreads the streams evenly, and no layout is made where the
// padding would be a large share of a run or the kernel has two streams.
func TestPackRuns(t *testing.T) {
	cases := []struct {
		name                              string
		gb, groups, ns, rowChunk, threads int
		run, pad                          int
	}{
		// llama-1b's Q4_0 layers on two threads (1.5 MiB chunks).
		{"o 2048x2048", 18432, 128, 4, 3 << 19, 2, 16, 1024},
		{"ffn_down 2048x8192", 73728, 128, 4, 3 << 19, 2, 4, 1024},
		{"gate 8192x2048: 21 a stream, 16 divides", 18432, 512, 4, 3 << 19, 2, 16, 1024},
		{"output 128256x2048: 21, none divides", 18432, 8016, 4, 3 << 19, 2, 21, 1024},
		// Already spread: 9 KiB groups, 5 a run, 45 KiB runs (1 KiB past 11 pages).
		{"no padding needed", 9216, 40, 4, 180 << 10, 2, 5, 0},
		{"two streams", 18944, 128, 2, 3 << 19, 2, 0, 0},
		{"too few groups", 18432, 2, 4, 3 << 19, 2, 0, 0},
		// One 2 KiB group a run: 1 KiB of padding is half the run.
		{"padding too large a share", 2048, 64, 4, 8 << 10, 2, 0, 0},
	}
	for _, c := range cases {
		run, stride := packRuns(c.gb, c.groups, c.ns, c.rowChunk, c.threads)
		pad := stride - run*c.gb
		if run == 0 {
			pad = 0
		}
		if run != c.run || pad != c.pad {
			t.Errorf("%s: run %d, padding %d; want %d, %d", c.name, run, pad, c.run, c.pad)
		}
	}
}

// TestRunLayouts: matrices laid out in padded runs, with groups after the
// runs and without, give the reference's bits through every path that
// walks them: single rows and small batches on one to three threads, the
// one-group kernels for larger batches, residual and shared calls, and
// Row.
func TestRunLayouts(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	pools := []*Pool{nil, NewPool(2), NewPool(3)}
	defer pools[1].Close()
	defer pools[2].Close()
	rng := rand.New(rand.NewPCG(60, 61))
	shapes := []struct{ rows, cols int }{{1024, 2048}, {2048, 256}, {1040, 512}, {4096, 64}}
	if raceEnabled {
		shapes = shapes[1:3]
	}
	padded, tails := 0, 0
	for _, wt := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q5_1, quant.Q4_K} {
		for _, sh := range shapes {
			if sh.cols%packedQK(wt) != 0 {
				continue
			}
			w := randWeights(rng, wt, sh.rows, sh.cols, true)
			rb, err := wt.RowBytes(sh.cols)
			if err != nil {
				t.Fatal(err)
			}
			for _, pool := range pools {
				pw, err := PackWeights(pool, wt, w, sh.rows, sh.cols)
				if err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprintf("%v/%dx%d/threads=%d/run=%d", wt, sh.rows, sh.cols, pool.Threads(), pw.run)
				if pw.run > 0 {
					if pw.runStride > pw.run*pw.gb {
						padded++
					}
					if pw.runEnd < pw.groups() {
						tails++
					}
				}
				row := make([]byte, rb)
				for r := 0; r < sh.rows; r += 97 {
					if err := pw.Row(r, row); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(row, w[r*rb:(r+1)*rb]) {
						t.Fatalf("%s: Row(%d) differs from the matrix", name, r)
					}
				}
				for _, nx := range []int{1, 2, 3, 9} {
					x := randFloats(rng, nx*sh.cols, 1)
					want := make([]float32, nx*sh.rows)
					packedRef(wt, w, sh.rows, sh.cols, x, nx, want)
					got := guardedOutput(nx * sh.rows)
					MatMulPacked(pool, got, pw, x, nx)
					checkOutput(t, fmt.Sprintf("%s/nx=%d", name, nx), got, want, "reference")
					res := randFloats(rng, nx*sh.rows, 1)
					wantRes := append([]float32(nil), res...)
					for i := range wantRes {
						wantRes[i] += want[i]
					}
					got = guardedOutput(nx * sh.rows)
					MatMulPackedResidual(pool, res, got, pw, x, nx)
					checkOutput(t, fmt.Sprintf("%s/nx=%d/residual", name, nx), got, want, "reference")
					for i, v := range wantRes {
						if math.Float32bits(res[i]) != math.Float32bits(v) {
							t.Fatalf("%s/nx=%d: residual[%d] = %g, want %g", name, nx, i, res[i], v)
						}
					}
				}
				// Shared with a matrix of other runs (a third of the rows).
				r2 := sh.rows / 3 / packGroup * packGroup
				w2 := randWeights(rng, wt, r2, sh.cols, true)
				pw2, err := PackWeights(pool, wt, w2, r2, sh.cols)
				if err != nil {
					t.Fatal(err)
				}
				x := randFloats(rng, sh.cols, 1)
				want, want2 := make([]float32, sh.rows), make([]float32, r2)
				packedRef(wt, w, sh.rows, sh.cols, x, 1, want)
				packedRef(wt, w2, r2, sh.cols, x, 1, want2)
				got, got2 := guardedOutput(sh.rows), guardedOutput(r2)
				MatMulPackedShared(pool, [][]float32{got, got2}, []*PackedWeights{pw, pw2}, x, 1)
				checkOutput(t, name+"/shared 0", got, want, "reference")
				checkOutput(t, name+"/shared 1", got2, want2, "reference")
			}
		}
	}
	if padded == 0 || tails == 0 {
		t.Fatalf("%d padded layouts, %d with groups after the runs: the shapes no longer test both", padded, tails)
	}
}

// TestStreamPlanCoverage: a call's plan covers every group of every
// matrix exactly once, between its stream pieces (ns streams of q groups,
// the streams' records ws bytes apart, as the layout lays them) and the
// ranges left to the one-group kernels, whatever the stream count against
// the run layout's: the layout's own, fewer (a batch's two-stream tiles
// over four-stream runs) or one that does not divide it.
func TestStreamPlanCoverage(t *testing.T) {
	// Layouts as PackWeights makes them for four-stream kernels on two
	// threads (only the layout matters here, not the weights).
	var mats []packedMat
	runs := 0
	for _, sh := range []struct{ rows, gb, rowChunk int }{
		{2048, 18 * 16 * 64, 3 << 19},  // Q4_0 2048 columns
		{8192, 2304 * 8, 3 << 19},      // Q4_K 2048 columns
		{1048, 34 * 16 * 8, 0},         // Q8_0 256 columns: a partial last group, no runs
		{2048, 18 * 16 * 256, 3 << 19}, // Q4_0 8192 columns
		{512, 3360 * 32, 4 << 20},      // Q6_K 8192 columns
	} {
		pw := &PackedWeights{Rows: sh.rows, gb: sh.gb}
		if sh.rows%packGroup == 0 {
			pw.layRuns(4, sh.rowChunk, 2)
		}
		if pw.run > 0 {
			runs++
		}
		mats = append(mats, packedMat{pw: pw, groups: pw.groups()})
	}
	if runs < 3 {
		t.Fatalf("%d matrices laid out in runs, want at least 3", runs)
	}
	for _, ns := range []int{4, 2, 3, 1} {
		for _, grain := range []int{1, 16, 40, 1000} {
			for i := range mats {
				mats[i].ns = ns
			}
			var sp streamPlan
			sp.plan(mats, grain)
			name := fmt.Sprintf("ns=%d/grain=%d", ns, grain)
			if len(sp.chunkPieces) != len(sp.chunkLefts) || sp.chunks() < 1 {
				t.Fatalf("%s: %d chunk starts for pieces, %d for ranges", name, len(sp.chunkPieces), len(sp.chunkLefts))
			}
			seen := make([][]int, len(mats))
			for i := range mats {
				seen[i] = make([]int, mats[i].groups)
			}
			index := func(m *packedMat) int {
				for i := range mats {
					if &mats[i] == m {
						return i
					}
				}
				t.Fatalf("%s: a piece of a matrix not in the call", name)
				return -1
			}
			for _, pc := range sp.pieces {
				i := index(pc.m)
				pw := pc.m.pw
				for s := range ns {
					for k := range pc.q {
						g := pc.lo + s*pc.q + k
						// The kernels find stream s's k-th group ws·s + gb·k
						// bytes after the piece's first.
						if want, got := pw.groupAt(g), pw.groupAt(pc.lo)+s*pc.ws+k*pw.gb; want != got {
							t.Fatalf("%s: matrix %d piece at %d: group %d is at byte %d, the kernels read %d", name, i, pc.lo, g, want, got)
						}
						seen[i][g]++
					}
				}
			}
			for _, r := range sp.lefts {
				i := index(r.m)
				for g := r.lo; g < r.hi; g++ {
					seen[i][g]++
				}
			}
			for i := range seen {
				for g, n := range seen[i] {
					if n != 1 {
						t.Fatalf("%s: matrix %d group %d covered %d times", name, i, g, n)
					}
				}
			}
		}
	}
}
