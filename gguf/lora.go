package gguf

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// LoRA is an open LoRA adapter in llama.cpp's GGUF form (what
// convert_lora_to_gguf.py writes): general.type "adapter", adapter.type
// "lora", adapter.lora.alpha, and for each adapted matrix W of ggml shape
// [in, out] the tensors "W.lora_a" [in, rank] and "W.lora_b" [rank, out].
// Applied with strength s it adds s·alpha/rank·B·A to W (s alone without
// an alpha).
type LoRA struct {
	*File
	Alpha float32 // adapter.lora.alpha; 0: none given
	// Pairs maps each adapted matrix's name to its A and B.
	Pairs map[string]LoRAPair
}

// LoRAPair is one matrix's A and B.
type LoRAPair struct {
	A, B *TensorInfo
	Rank int
	In   int // columns of the adapted matrix (ggml dims[0])
	Out  int // its rows (dims[1])
}

// Scale is the factor B·A is added with at strength s.
func (l *LoRA) Scale(s float32, rank int) float32 {
	if l.Alpha == 0 {
		return s
	}
	return s * l.Alpha / float32(rank)
}

// Names lists the adapted matrices, sorted.
func (l *LoRA) Names() []string {
	names := make([]string, 0, len(l.Pairs))
	for n := range l.Pairs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// OpenLoRA opens an adapter file and checks its form: the keys that make
// it a LoRA adapter, and every tensor one of a pair whose shapes fit
// together. Whether the pairs fit a model is the caller's to check.
func OpenLoRA(path string) (*LoRA, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	l, err := readLoRA(f)
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return l, nil
}

func readLoRA(f *File) (*LoRA, error) {
	if t, ok := f.String("general.type"); ok && t != "adapter" {
		return nil, fmt.Errorf("general.type is %q, not \"adapter\"", t)
	}
	if t, _ := f.String("adapter.type"); t != "lora" {
		return nil, fmt.Errorf("adapter.type is %q, not \"lora\"", t)
	}
	l := &LoRA{File: f, Pairs: map[string]LoRAPair{}}
	l.Alpha, _ = f.Float32("adapter.lora.alpha")
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		base, ok := strings.CutSuffix(ti.Name, ".lora_a")
		if !ok {
			if b, isB := strings.CutSuffix(ti.Name, ".lora_b"); isB {
				if _, hasA := f.Tensor(b + ".lora_a"); hasA {
					continue // seen with its A
				}
				return nil, fmt.Errorf("%s has lora_b but no lora_a", b)
			}
			return nil, fmt.Errorf("tensor %s is not a LoRA pair's (NAME.lora_a, NAME.lora_b)", ti.Name)
		}
		tb, ok := f.Tensor(base + ".lora_b")
		if !ok {
			return nil, fmt.Errorf("%s has lora_a but no lora_b", base)
		}
		if len(ti.Dims) != 2 || len(tb.Dims) != 2 || ti.Dims[1] == 0 || ti.Dims[1] != tb.Dims[0] || ti.Dims[1] > 1<<20 {
			return nil, fmt.Errorf("%s: lora_a %v and lora_b %v are not [in, rank] and [rank, out]", base, ti.Dims, tb.Dims)
		}
		l.Pairs[base] = LoRAPair{A: ti, B: tb, Rank: int(ti.Dims[1]), In: int(ti.Dims[0]), Out: int(tb.Dims[1])}
	}
	return l, nil
}
