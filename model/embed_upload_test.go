package model_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// recordingCPU is the CPU device, noting which weights went through
// Upload and which through UploadLookup.
type recordingCPU struct {
	*cpu.Device
	mu              sync.Mutex
	uploads, lookup []string
}

func (r *recordingCPU) Upload(name string, t quant.Type, rows, cols int, data []byte) (_ backends.Tensor, err error) {
	r.mu.Lock()
	r.uploads = append(r.uploads, name)
	r.mu.Unlock()
	return r.Device.Upload(name, t, rows, cols, data)
}

func (r *recordingCPU) UploadLookup(name string, t quant.Type, rows, cols int, data []byte) (_ backends.Tensor, err error) {
	r.mu.Lock()
	r.lookup = append(r.lookup, name)
	r.mu.Unlock()
	return r.Device.UploadLookup(name, t, rows, cols, data)
}

// TestEmbeddingUploadedForLookupOnly: an untied token embedding is only
// read by row lookups, so the loader asks the device not to repack it; a
// tied one is the lm_head too and goes through Upload.
func TestEmbeddingUploadedForLookupOnly(t *testing.T) {
	for _, tied := range []bool{false, true} {
		path := writeTiny(t, "Q8_0", tied, 3)
		dev := &recordingCPU{Device: cpu.New(1)}
		m, err := model.Load(path, model.LoadOptions{Device: dev})
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		dev.Close()
		inLookup := slices.Contains(dev.lookup, "token_embd.weight")
		inUpload := slices.Contains(dev.uploads, "token_embd.weight")
		if inLookup == tied || inUpload != tied {
			t.Errorf("tied=%v: token_embd via UploadLookup %v, via Upload %v", tied, inLookup, inUpload)
		}
		if len(dev.lookup) > 1 {
			t.Errorf("tied=%v: more than the embedding uploaded for lookups: %v", tied, dev.lookup)
		}
	}
}
