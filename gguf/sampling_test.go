package gguf

import (
	"path/filepath"
	"slices"
	"testing"
)

// The recommended sampler settings are read whatever numeric type holds
// them; the samplers Nuri lacks are listed, bad values left out.
func TestSamplingDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.gguf")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]Value{
		"general.architecture":            String("llama"),
		"general.sampling.temp":           Float32(0.6),
		"general.sampling.top_p":          Float64(0.95),
		"general.sampling.top_k":          Uint32(20),
		"general.sampling.penalty_last_n": Int32(-1),
		"general.sampling.penalty_repeat": Int32(1),
		"general.sampling.min_p":          String("0.05"),
		"general.sampling.penalty_freq":   Float32(3),
		"general.sampling.xtc_threshold":  Float32(0.1),
		"general.sampling.sequence":       String("kpt"),
	} {
		if err := w.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := f.SamplingDefaults()
	if !d.Any() || d.Temp == nil || *d.Temp != 0.6 || d.TopP == nil || *d.TopP != 0.95 || d.TopK == nil || *d.TopK != 20 ||
		d.PenaltyLastN == nil || *d.PenaltyLastN != -1 || d.PenaltyRepeat == nil || *d.PenaltyRepeat != 1 {
		t.Fatalf("defaults %+v", d)
	}
	if d.MinP != nil || d.PenaltyFreq != nil || d.PenaltyPresent != nil || len(d.Invalid) != 2 {
		t.Errorf("bad values kept or not reported: %+v", d)
	}
	if want := []string{"general.sampling.sequence", "general.sampling.xtc_threshold"}; !slices.Equal(d.Unused, want) {
		t.Errorf("unused %q, want %q", d.Unused, want)
	}
	t.Logf("invalid: %q", d.Invalid)
}
