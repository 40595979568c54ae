package inproc

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// TestTiledWeights: the tiled matrix is valid data of its type (finite when
// dequantized) and repeats its first 64 rows.
func TestTiledWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q6_K, quant.F16} {
		const rows, cols = 150, 256
		buf, err := tiledWeights(rng, typ, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		w := buf.Bytes()
		rb, _ := typ.RowBytes(cols)
		if len(w) != rows*rb {
			t.Fatalf("%v: %d bytes, want %d", typ, len(w), rows*rb)
		}
		f := make([]float32, rows*cols)
		if err := quant.Dequantize(typ, w, f); err != nil {
			t.Fatal(err)
		}
		var nonzero bool
		for i, v := range f {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%v: element %d is %v", typ, i, v)
			}
			nonzero = nonzero || v != 0
		}
		if !nonzero || string(w[100*rb:101*rb]) != string(w[36*rb:37*rb]) {
			t.Errorf("%v: not a tiling of 64 random rows", typ)
		}
		runtime.KeepAlive(buf)
	}
}

func TestRunKernelsSmall(t *testing.T) {
	cfg := DefaultKernelsConfig()
	cfg.Types, cfg.Rows, cfg.Cols, cfg.Batch = []string{"Q4_0", "Q5_K"}, 40, 512, []int{1, 3}
	cfg.MinTime, cfg.MinReps, cfg.BandwidthMiB, cfg.Threads = 0, 2, 8, 2
	res, err := RunKernels(context.Background(), cfg, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cases) != 4 || len(res.Memory.SamplesGBs) != 2*samplesPerPoint || res.Memory.BestGBs <= 0 || res.Threads != 2 {
		t.Fatalf("results %+v", res)
	}
	for _, c := range res.Cases {
		rb, _ := quant.Q4_0.RowBytes(512)
		if c.Type == "Q5_K" {
			rb, _ = quant.Q5_K.RowBytes(512)
		}
		wantGOPS := 2 * 40 * 512 * float64(c.NX) / c.AvgSeconds / 1e9
		if len(c.Seconds) < 2 || c.WeightBytes != 40*rb || math.Abs(c.GOPS-wantGOPS) > 1e-9*wantGOPS ||
			math.Abs(c.GBs-float64(40*rb)/c.AvgSeconds/1e9) > 1e-9*c.GBs {
			t.Errorf("case %+v", c)
		}
		if c.MinSeconds > c.AvgSeconds || c.BestGBs < c.GBs || c.BestGOPS < c.GOPS {
			t.Errorf("%s nx=%d: best call slower than the mean: %+v", c.Type, c.NX, c)
		}
		gemv := c.BandwidthRatio > 0 && c.BestBandwidthRatio >= c.BandwidthRatio
		none := c.BandwidthRatio == 0 && c.BestBandwidthRatio == 0
		if (c.NX == 1 && !gemv) || (c.NX != 1 && !none) {
			t.Errorf("%s nx=%d: bandwidth ratio %v", c.Type, c.NX, c.BandwidthRatio)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RunKernels(ctx, cfg, RunOptions{}); err == nil {
		t.Error("a cancelled run succeeded")
	}
}

// TestBeyondCache: the floor, or twice the last-level cache rounded up to
// whole 64 MiB where that is larger.
func TestBeyondCache(t *testing.T) {
	for _, c := range []struct {
		floor int
		llc   int64
		want  int
	}{
		{256, 0, 256},            // cache size unknown
		{256, 32 << 20, 256},     // a desktop L3
		{256, 200 << 20, 448},    // 400 MiB → 448
		{256, 480 << 20, 960},    // the Intel Xeon VM's shared L3
		{1024, 480 << 20, 1024},  // the probe's floor is larger
		{1024, 1152 << 20, 2304}, // a 1.1 GiB L3
	} {
		if got := beyondCache(c.floor, c.llc); got != c.want {
			t.Errorf("beyondCache(%d, %d MiB) = %d, want %d", c.floor, c.llc>>20, got, c.want)
		}
	}
}
