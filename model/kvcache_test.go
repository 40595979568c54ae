package model_test

import (
	"math"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/internal/testgguf"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// hostAllocOnly allocates host memory and has none of the optional
// capabilities: a device whose cache keeps V apart.
type hostAllocOnly struct{ backends.Device }

func (hostAllocOnly) Alloc(n int, _ backends.Usage) (backends.Buffer, error) {
	return backends.NewHostBuffer(n), nil
}

// TestLatentCacheVInK: a multi-head latent attention model stores each
// position's latent once (V read inside K) where the device takes it, and
// its logits are the same bits as with V stored apart, for every cache
// type; the cache is smaller by V's share.
func TestLatentCacheVInK(t *testing.T) {
	path := testgguf.Synth(t, "kanana2-tiny", "Q8_0", 5)
	m := loadModel(t, path)
	cfg := m.Config()
	if !cfg.VInK {
		t.Fatalf("latent attention model without VInK: %+v", cfg)
	}
	prompt := synthGoldenPrompt[:24]
	for _, kt := range []quant.Type{quant.F16, quant.Q8_0, quant.F32} {
		shared, err := model.NewSequenceView(cfg, len(prompt), 16, model.SameKV(kt))
		if err != nil {
			t.Fatal(err)
		}
		apart, err := model.NewSequenceViewOn(hostAllocOnly{}, cfg, len(prompt), 16, model.SameKV(kt))
		if err != nil {
			t.Fatal(err)
		}
		k, _ := kt.RowBytes(cfg.HeadDimK)
		v, _ := kt.RowBytes(cfg.HeadDimV)
		if got, want := shared.Cache.BytesPerBlock()*(k+v), apart.Cache.BytesPerBlock()*k; got != want {
			t.Errorf("%v: %d bytes a block with V in K, %d apart; want the ratio %d/%d", kt, shared.Cache.BytesPerBlock(), apart.Cache.BytesPerBlock(), k, k+v)
		}
		if n, err := model.KVBytesPerPosition(cfg, model.SameKV(kt), nil); err != nil || n*16 != shared.Cache.BytesPerBlock() {
			t.Errorf("%v: KVBytesPerPosition %d, %v; the cache takes %d a block of 16", kt, n, err, shared.Cache.BytesPerBlock())
		}
		// A prefill chunk then single steps, so both stores and reads of
		// earlier positions are compared.
		var logits [2][]float32
		for i, kv := range []model.KVView{shared, apart} {
			s := &session{m: m, kv: kv}
			for _, chunk := range [][]int32{prompt[:9], prompt[9:10], prompt[10:11], prompt[11:]} {
				out, err := s.feed(chunk, true)
				if err != nil {
					t.Fatal(err)
				}
				logits[i] = append(logits[i], out...)
			}
		}
		for j := range logits[0] {
			if math.Float32bits(logits[0][j]) != math.Float32bits(logits[1][j]) {
				t.Fatalf("%v: logit %d: %g with V in K, %g apart", kt, j, logits[0][j], logits[1][j])
			}
		}
	}
}

func TestKVBytesPerPosition(t *testing.T) {
	cfg := model.Config{NLayer: 16, NHeadKV: 8, HeadDimK: 64, HeadDimV: 64}
	latent := model.Config{NLayer: 2, NHeadKV: 1, HeadDimK: 576, HeadDimV: 512, VInK: true}
	for _, tc := range []struct {
		cfg  model.Config
		dev  backends.Device
		t    model.KVTypes
		want int
	}{
		{cfg, nil, model.SameKV(quant.F16), 16 * 8 * 256},
		{cfg, nil, model.SameKV(quant.F32), 16 * 8 * 512},
		{cfg, nil, model.SameKV(quant.Q8_0), 16 * 8 * 136},
		{latent, nil, model.SameKV(quant.F16), 2 * 1152},
		{latent, hostAllocOnly{}, model.SameKV(quant.F16), 2 * (1152 + 1024)}, // a device without VInKCache
		{latent, nil, model.SameKV(quant.Q8_0), 2 * 18 * 34},
		// K and V apart: a row of 64 is 68 bytes in Q8_0, 36 in Q4_0, 48 in Q5_1.
		{cfg, nil, model.KVTypes{K: quant.Q8_0, V: quant.Q4_0}, 16 * 8 * (68 + 36)},
		{cfg, nil, model.KVTypes{K: quant.F16, V: quant.Q5_1}, 16 * 8 * (128 + 48)},
		{latent, hostAllocOnly{}, model.KVTypes{K: quant.F16, V: quant.Q8_0}, 2 * (1152 + 16*34)},
	} {
		got, err := model.KVBytesPerPosition(tc.cfg, tc.t, tc.dev)
		if err != nil || got != tc.want {
			t.Errorf("%+v on %T, %v: %d, %v; want %d", tc.cfg, tc.dev, tc.t, got, err, tc.want)
		}
	}
	if _, err := model.KVBytesPerPosition(model.Config{NLayer: 1, NHeadKV: 1, HeadDimK: 20, HeadDimV: 20}, model.SameKV(quant.Q8_0), nil); err == nil {
		t.Error("Q8_0 rows of 20 accepted")
	}
	// A latent cache read with V inside K cannot give V a type of its own.
	if _, err := model.KVBytesPerPosition(latent, model.KVTypes{K: quant.F16, V: quant.Q8_0}, nil); err == nil {
		t.Error("V inside K with a type of its own accepted")
	}
}

// TestKVTypes: the K and V types parse from the flags' names, name
// themselves as the flags do, and make caches of the two row sizes, which
// the cache reports; types outside KVCacheTypes and a V type of its own
// inside K are refused.
func TestKVTypes(t *testing.T) {
	for _, tc := range []struct {
		k, v string
		want model.KVTypes
		name string
	}{
		{"f16", "", model.SameKV(quant.F16), "f16"},
		{"Q8_0", "q8_0", model.SameKV(quant.Q8_0), "q8_0"},
		{"q8_0", "q4_0", model.KVTypes{K: quant.Q8_0, V: quant.Q4_0}, "q8_0/q4_0"},
		{"iq4_nl", "F32", model.KVTypes{K: quant.IQ4_NL, V: quant.F32}, "iq4_nl/f32"},
	} {
		got, err := model.ParseKVTypes(tc.k, tc.v)
		if err != nil || got != tc.want || got.String() != tc.name {
			t.Errorf("ParseKVTypes(%q, %q) = %v (%q), %v; want %v (%q)", tc.k, tc.v, got, got.String(), err, tc.want, tc.name)
		}
	}
	for _, tc := range []struct{ k, v, side string }{{"bf16", "", "K"}, {"q8_0", "q4_k", "V"}, {"", "f16", "K"}} {
		if _, err := model.ParseKVTypes(tc.k, tc.v); err == nil || !strings.HasPrefix(err.Error(), "the "+tc.side+" cache type") {
			t.Errorf("ParseKVTypes(%q, %q): %v; want an error about %s", tc.k, tc.v, err, tc.side)
		}
	}
	cfg := model.Config{NLayer: 3, NHeadKV: 2, HeadDimK: 64, HeadDimV: 32}
	kvt := model.KVTypes{K: quant.Q8_0, V: quant.Q4_1}
	c, err := model.NewKVCache(cfg, 5, 4, kvt)
	if err != nil {
		t.Fatal(err)
	}
	// K rows of 64 in Q8_0 (68 bytes) and V rows of 32 in Q4_1 (20), two
	// KV heads and four positions a block, three layers.
	if want := 3 * 2 * 4 * (68 + 20); c.BytesPerBlock() != want || c.Types() != kvt || c.Bytes() != int64(5*want) {
		t.Errorf("cache of %v: %d bytes a block (%d in all), types %v; want %d, %v", kvt, c.BytesPerBlock(), c.Bytes(), c.Types(), want, kvt)
	}
	if _, err := model.NewKVCache(cfg, 5, 4, model.KVTypes{K: quant.Q8_0, V: quant.Q4_K}); err == nil || !strings.Contains(err.Error(), "V type") {
		t.Errorf("a Q4_K V cache: %v; want refused", err)
	}
	latent := model.Config{NLayer: 1, NHeadKV: 1, HeadDimK: 96, HeadDimV: 64, VInK: true}
	if _, err := model.NewKVCache(latent, 2, 4, model.KVTypes{K: quant.F16, V: quant.Q8_0}); err == nil || !strings.Contains(err.Error(), "inside K") {
		t.Errorf("V inside K with a type of its own: %v; want refused", err)
	}
	if _, err := model.NewKVCacheOn(hostAllocOnly{}, latent, 2, 4, model.KVTypes{K: quant.F16, V: quant.Q8_0}); err != nil {
		t.Errorf("a latent cache with V apart and a type of its own: %v", err)
	}
}

// TestKVBytesWindowed checks the split of a position's bytes between the
// pools of a windowed cache and what a query reads: a windowed layer at
// most its window, a layer reading another's cache nothing of its own;
// and which models a windowed cache can keep apart.
func TestKVBytesWindowed(t *testing.T) {
	row := 2 * 64 * 2 // F16 K and V of one head of 64
	cfg := model.Config{NLayer: 4, NHeadKV: 1, HeadDimK: 64, HeadDimV: 64, Windows: []int{8, 0, 8, 0}}
	shared := cfg
	shared.Attn = []model.LayerAttn{{1, 64, 64, 0}, {1, 64, 64, 1}, {1, 64, 64, 0}, {1, 64, 64, 1}}
	for _, tc := range []struct {
		name                string
		cfg                 model.Config
		window              int
		full, windowed      int
		read3, read8, read9 int64 // bytes read at positions 3, 8, 99
	}{
		{"hybrid", cfg, 8, 2 * row, 2 * row, int64(4 * 4 * row), int64((2*8 + 2*9) * row), int64((2*8 + 2*100) * row)},
		{"shared layers", shared, 8, row, row, int64(2 * 4 * row), int64((8 + 9) * row), int64((8 + 100) * row)},
		{"no windows", model.Config{NLayer: 4, NHeadKV: 1, HeadDimK: 64, HeadDimV: 64}, 0, 4 * row, 0, int64(4 * 4 * row), int64(4 * 9 * row), int64(4 * 100 * row)},
	} {
		if w := model.SlidingWindow(tc.cfg); w != tc.window {
			t.Errorf("%s: window %d, want %d", tc.name, w, tc.window)
		}
		full, windowed, err := model.KVBytesPerPositionWindowed(tc.cfg, model.SameKV(quant.F16), nil)
		if err != nil || full != tc.full || windowed != tc.windowed {
			t.Errorf("%s: %d + %d bytes a position (%v), want %d + %d", tc.name, full, windowed, err, tc.full, tc.windowed)
		}
		for _, c := range []struct {
			pos  int
			want int64
		}{{3, tc.read3}, {8, tc.read8}, {99, tc.read9}} {
			if got, err := model.KVBytesRead(tc.cfg, model.SameKV(quant.F16), nil, c.pos); err != nil || got != c.want {
				t.Errorf("%s: position %d reads %d (%v), want %d", tc.name, c.pos, got, err, c.want)
			}
		}
	}
	// A layer reading a windowed layer's cache without a window (or with
	// a wider one) would need positions the pool gave back.
	mixed := shared
	mixed.Windows = []int{8, 0, 0, 0}
	if w := model.SlidingWindow(mixed); w != 0 {
		t.Errorf("a global layer reading a windowed cache: window %d", w)
	}
	if _, err := model.NewWindowedKVCache(nil, mixed, 4, 4, 16, model.SameKV(quant.F16)); err == nil {
		t.Error("a windowed pool for a model whose windows cannot keep one")
	}
}
