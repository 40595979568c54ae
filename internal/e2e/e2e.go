package e2e

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/conformance"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

// Prompt is one golden prompt: its tokens and llama.cpp's logits file.
type Prompt struct {
	Tokens []int32 `json:"tokens"`
	Logits string  `json:"logits"`
}

// Case is one case of the golden manifest.
type Case struct {
	Name    string   `json:"name"`
	Model   string   `json:"model"`
	NVocab  int      `json:"n_vocab"`
	Prompts []Prompt `json:"prompts"`
	dir     string
}

// ModelPath returns the case's GGUF file.
func (c Case) ModelPath() string { return filepath.Join(c.dir, c.Model) }

// LoadCase reads case name from the manifest at path.
func LoadCase(manifest, name string) (Case, error) {
	raw, err := os.ReadFile(manifest)
	if err != nil {
		return Case{}, err
	}
	var m struct {
		Cases []Case `json:"cases"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return Case{}, fmt.Errorf("%s: %w", manifest, err)
	}
	for _, c := range m.Cases {
		if c.Name == name {
			c.dir = filepath.Dir(manifest)
			return c, nil
		}
	}
	return Case{}, fmt.Errorf("%s: no case %q", manifest, name)
}

// Golden reads prompt i's llama.cpp logits (one row per position).
func (c Case) Golden(i int) ([]float32, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, c.Prompts[i].Logits))
	if err != nil {
		return nil, err
	}
	if len(b) != 4*len(c.Prompts[i].Tokens)*c.NVocab {
		return nil, fmt.Errorf("%s: %d bytes, want %d rows of %d logits", c.Prompts[i].Logits, len(b), len(c.Prompts[i].Tokens), c.NVocab)
	}
	v := make([]float32, len(b)/4)
	for j := range v {
		v[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
	}
	return v, nil
}

// PromptLogits runs tokens through m in one batch over a fresh F16 cache on
// dev and returns the logits of every position.
func PromptLogits(m model.Model, dev backends.Device, tokens []int32) ([]float32, error) {
	cfg := m.Config()
	const blockSize = 16
	nb := (len(tokens) + blockSize - 1) / blockSize
	kv, err := model.NewKVCacheOn(dev, cfg, nb, blockSize, model.SameKV(quant.F16))
	if err != nil {
		return nil, err
	}
	table := make([]int32, nb)
	for i := range table {
		table[i] = int32(i)
	}
	n := len(tokens)
	b := &model.Batch{Tokens: tokens, Pos: make([]int32, n), Seq: make([]int32, n), Logits: make([]bool, n)}
	for i := range tokens {
		b.Pos[i], b.Logits[i] = int32(i), true
	}
	out := make([]float32, n*cfg.NVocab)
	if err := m.Forward(b, model.KVView{Cache: kv, Tables: [][]int32{table}}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Report is a model's agreement on a device with the CPU device and with
// llama.cpp, pooled over the case's prompts.
type Report struct {
	Device   string
	VsCPU    conformance.LogitsReport
	VsGolden conformance.LogitsReport
	// CPUVsGolden is the CPU device's own agreement with llama.cpp, the
	// baseline the device is judged beside.
	CPUVsGolden conformance.LogitsReport
}

func (r Report) String() string {
	return fmt.Sprintf("%s vs CPU: %v; vs llama.cpp: %v; CPU vs llama.cpp: %v", r.Device, r.VsCPU, r.VsGolden, r.CPUVsGolden)
}

// Compare loads c's model on dev and on a fresh CPU device, runs every
// prompt on both and compares the logits. dev stays open (the caller owns
// it).
func Compare(c Case, dev backends.Device, threads int) (rep Report, err error) {
	rep.Device = dev.Name()
	md, err := model.Load(c.ModelPath(), model.LoadOptions{Device: dev, Threads: threads})
	if err != nil {
		return rep, fmt.Errorf("load on %s: %w", dev.Name(), err)
	}
	defer func() { err = errors.Join(err, md.Close()) }()
	host := cpu.New(threads)
	defer host.Close()
	mc, err := model.Load(c.ModelPath(), model.LoadOptions{Device: host, Threads: threads})
	if err != nil {
		return rep, fmt.Errorf("load on cpu: %w", err)
	}
	defer func() { err = errors.Join(err, mc.Close()) }()
	var gold, ref, got []float32
	for i, p := range c.Prompts {
		g, err := c.Golden(i)
		if err != nil {
			return rep, err
		}
		r, err := PromptLogits(mc, host, p.Tokens)
		if err != nil {
			return rep, fmt.Errorf("prompt %d on cpu: %w", i, err)
		}
		d, err := PromptLogits(md, dev, p.Tokens)
		if err != nil {
			return rep, fmt.Errorf("prompt %d on %s: %w", i, dev.Name(), err)
		}
		gold, ref, got = append(gold, g...), append(ref, r...), append(got, d...)
	}
	if rep.VsCPU, err = conformance.CompareLogits(ref, got, c.NVocab); err != nil {
		return rep, err
	}
	if rep.VsGolden, err = conformance.CompareLogits(gold, got, c.NVocab); err != nil {
		return rep, err
	}
	rep.CPUVsGolden, err = conformance.CompareLogits(gold, ref, c.NVocab)
	return rep, err
}
