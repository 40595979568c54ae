package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// TestEvictKeepsViewsValid: evicting a tensor's pages from a mapped file
// leaves its view readable with the same bytes (they fault back in from the
// page cache); evicting bytes that are not the file's, or from a file held
// in memory, does nothing.
func TestEvictKeepsViewsValid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "evict.gguf")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3 << 20 // several pages, not page-aligned inside the file
	if err := w.AddTensor("big", quant.F32, n/4); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*13 + i>>12)
	}
	if err := w.WriteTensor("big", data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ti, _ := f.Tensor("big")
	view := f.TensorData(ti)
	if !bytes.Equal(view, data) {
		t.Fatal("view differs before eviction")
	}
	f.Evict(view)
	f.Evict(view[1000:5000])
	f.Evict(make([]byte, 10)) // not the file's: ignored
	if !bytes.Equal(view, data) {
		t.Fatal("view differs after eviction")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := OpenBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	ti, _ = mf.Tensor("big")
	mv := mf.TensorData(ti)
	mf.Evict(mv) // heap image: must not be touched
	if !bytes.Equal(mv, data) {
		t.Fatal("in-memory image changed by Evict")
	}
}
