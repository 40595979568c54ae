package engine

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

var errFakeDevice = errors.New("fake device runs no ops")

// fakeDevice is a device with its own memory accounting and no ops: the
// engine only allocates the KV cache on it (the fake model computes).
type fakeDevice struct {
	free    uint64
	kvBytes int // allocated with UsageKV
	other   int // allocated with any other usage
}

func (d *fakeDevice) Name() string                          { return "fake:0" }
func (d *fakeDevice) Memory() (free, total uint64)          { return d.free, d.free }
func (d *fakeDevice) Supports(backends.Op, quant.Type) bool { return false }
func (d *fakeDevice) NewStream() (backends.Stream, error)   { return nil, errFakeDevice }
func (d *fakeDevice) Close() error                          { return nil }
func (d *fakeDevice) Upload(string, quant.Type, int, int, []byte) (backends.Tensor, error) {
	return backends.Tensor{}, errFakeDevice
}

func (d *fakeDevice) Alloc(n int, u backends.Usage) (backends.Buffer, error) {
	if u == backends.UsageKV {
		d.kvBytes += n
	} else {
		d.other += n
	}
	return backends.NewHostBuffer(n), nil
}

// fakeBucketer is a fakeDevice that only runs static shapes.
type fakeBucketer struct {
	fakeDevice
	b backends.Buckets
}

func (d *fakeBucketer) Buckets() backends.Buckets { return d.b }

// fakeWrapper wraps a device like backends.WithFallback does.
type fakeWrapper struct {
	fakeDevice
	inner backends.Device
}

func (w *fakeWrapper) Unwrap() backends.Device { return w.inner }

// npuBuckets are the shapes of the simulated NPU (backends/npu).
var npuBuckets = backends.Buckets{BatchSizes: []int{1, 2, 4, 8, 16}, TokenMultiple: 64}

// sizeRecorder records each forward pass's token count.
type sizeRecorder struct {
	*fakeModel
	sizes []int
}

func (r *sizeRecorder) Forward(b *model.Batch, kv model.KVView, out []float32) error {
	r.sizes = append(r.sizes, len(b.Tokens))
	return r.fakeModel.Forward(b, kv, out)
}

func TestFloorBucket(t *testing.T) {
	for _, tc := range []struct {
		b       backends.Buckets
		n, want int
	}{
		{npuBuckets, 512, 512},
		{npuBuckets, 100, 64},
		{npuBuckets, 127, 64},
		{npuBuckets, 128, 128},
		{npuBuckets, 63, 16},
		{npuBuckets, 17, 16},
		{npuBuckets, 16, 16},
		{npuBuckets, 7, 4},
		{npuBuckets, 1, 1},
		{backends.Buckets{BatchSizes: []int{4, 8}}, 3, 3},     // below the smallest shape: kept
		{backends.Buckets{BatchSizes: []int{4, 8}}, 100, 100}, // no multiple: any count above 8 runs as is
		{backends.Buckets{TokenMultiple: 32}, 100, 96},
	} {
		if got := floorBucket(tc.b, tc.n); got != tc.want {
			t.Errorf("floorBucket(%v, %d) = %d, want %d", tc.b, tc.n, got, tc.want)
		}
	}
}

// TestStaticShapeBuckets runs mixed prompts and decodes on a device with
// the NPU's buckets and a token budget (100) that is not a shape: no step
// may run at a padded shape above the largest shape within the budget
// (64), the padding is counted, the output is the reference's (batch
// invariance) and the KV cache lives in the device's memory.
func TestStaticShapeBuckets(t *testing.T) {
	dev := &fakeBucketer{b: npuBuckets}
	rec := &sizeRecorder{fakeModel: newFakeModel(512)}
	e, err := New(Config{NumBlocks: 128, MaxNumBatchedTokens: 100, MaxNumSeqs: 8, Device: dev},
		rec, fakeTokenizer{}, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	if err != nil {
		t.Fatal(err)
	}
	if e.bucket.budget != 64 {
		t.Fatalf("step token budget %d, want 64", e.bucket.budget)
	}
	var seqs []*Sequence
	var want [][]int32
	for i, n := range []int{1, 3, 70, 150, 9, 200, 33, 64, 65, 2} {
		p := prompt(100+i, n)
		seqs = append(seqs, submit(t, e, Request{ID: fmt.Sprint("b", i), Prompt: p, MaxTokens: 20, Sampling: greedyParams()}))
		want = append(want, reference(p, greedyParams(), 20, 512, false))
	}
	outs := drive(t, e, seqs, 2000)
	for i, o := range outs {
		if !slices.Equal(o.tokens, want[i]) {
			t.Errorf("request %d: tokens %v, want %v", i, o.tokens, want[i])
		}
	}
	if rec.bad != nil {
		t.Fatal(rec.bad)
	}
	var pad int64
	full := 0
	for _, n := range rec.sizes {
		p := npuBuckets.Pad(n)
		if p > 64 {
			t.Errorf("a step of %d tokens runs at shape %d > budget 64", n, p)
		}
		if n == 64 {
			full++
		}
		pad += int64(p - n)
	}
	if full == 0 {
		t.Errorf("no step filled the 64-token bucket (sizes %v)", rec.sizes)
	}
	if st := e.Stats(); st.PaddedTokens != pad || st.Steps != int64(len(rec.sizes)) {
		t.Errorf("stats: %d padded tokens over %d steps, want %d over %d", st.PaddedTokens, st.Steps, pad, len(rec.sizes))
	}
	if wantKV := e.kv.BytesPerBlock() * e.kv.NumBlocks(); dev.kvBytes != wantKV || dev.other != 0 {
		t.Errorf("device holds %d KV bytes and %d other, want %d and 0", dev.kvBytes, dev.other, wantKV)
	}
	assertAllFree(t, e)
}

func TestDeviceBudgets(t *testing.T) {
	mc := newFakeModel(256).cfg
	perBlock, err := kvBytesPerBlock(mc, DefaultBlockSize, model.SameKV(quant.F16), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		dev        backends.Device
		budget     int
		wantBudget int
		wantBucket bool
	}{
		{"host", nil, 100, 100, false},
		{"plain device", &fakeDevice{free: uint64(perBlock) * 40}, 100, 100, false},
		{"bucketer", &fakeBucketer{fakeDevice: fakeDevice{free: uint64(perBlock) * 40}, b: npuBuckets}, 100, 64, true},
		{"wrapped bucketer", &fakeWrapper{fakeDevice: fakeDevice{free: uint64(perBlock) * 40},
			inner: &fakeBucketer{b: npuBuckets}}, 600, 576, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// No explicit budget: a quarter of the device's free memory
			// (40 blocks) is 10 blocks, below the 16 sequences' cap.
			e, err := New(Config{MaxNumBatchedTokens: tc.budget, Device: tc.dev}, newFakeModel(256), fakeTokenizer{}, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			if e.bucket.budget != tc.wantBudget || e.bucket.on != tc.wantBucket {
				t.Errorf("budget %d bucketed %v, want %d %v", e.bucket.budget, e.bucket.on, tc.wantBudget, tc.wantBucket)
			}
			if tc.dev != nil {
				if got := e.Stats().KVBlocks; got != 10 {
					t.Errorf("%d KV blocks from the device's free memory, want 10", got)
				}
			}
		})
	}
}
