package model

import (
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/gguf"
)

// LoRA is a low-rank adapter for LoadOptions.LoRA: a GGUF file as
// llama.cpp's convert_lora_to_gguf.py writes it (general.type "adapter",
// adapter.type "lora", adapter.lora.alpha, and for each adapted matrix W
// the tensors "W.lora_a" and "W.lora_b"), applied at run time: a matmul
// with W also adds Scale·(alpha/rank)·B·(A·x), so the base weights stay
// as they are (quantized, shared, mapped) and the adapter is a fraction of
// their size.
//
// An adapter with a Name applies only to the batch rows that ask for it
// (Batch.LoRA; per-request adapters, which need a stream that scales rows
// one by one, backends.RowScaler); one without applies to every row.
type LoRA struct {
	Path  string
	Scale float32 // the adapter's strength: 1 as trained, 0 off
	Name  string  // "": every request; else the requests naming it
}

// AdapterLoader is a Model that takes per-request LoRA adapters while it
// serves (vLLM's /v1/load_lora_adapter). Each call waits for the Forward
// in flight, if any, and runs before the next.
type AdapterLoader interface {
	// LoadLoRA binds adapter ad, which must have a Name, and returns its
	// id for Batch.LoRA: the next after every id given so far (ids are not
	// reused, so an id held by a stale reference never reaches another
	// adapter). Config().LoRA lists it. The name is a label here: the
	// caller decides which requests run with which id, and may load a
	// new version of an adapter under its name while batches still use
	// the old one's id.
	LoadLoRA(ad LoRA) (int32, error)
	// UnloadLoRA removes the adapter of id: a batch row naming it fails
	// with ErrBadBatch from now on, its memory goes back to the device,
	// and Config().LoRA holds "" in its place.
	UnloadLoRA(id int32) error
}

var _ AdapterLoader = (*transformer)(nil)

// boundAdapter is an adapter file the model reads, the id its pairs carry
// and the device memory its tensors took.
type boundAdapter struct {
	file    *gguf.File
	id      int32
	tensors []backends.Tensor
}

// loraPair is one adapter's A (rank×in) and B (out×rank) on one matrix,
// with its scale and its per-request id (0: every row).
type loraPair struct {
	a, b  backends.Tensor
	scale float32
	id    int32
}

// loraTarget is a matrix an adapter may adapt, and where its pairs go.
type loraTarget struct {
	name string
	w    backends.Tensor
	dst  *[]loraPair
}

// loraTargets lists the matrices adapters may adapt: each layer's
// attention and FFN projections (llama.cpp's set for these
// architectures) and the output.
func (m *transformer) loraTargets() []loraTarget {
	var ts []loraTarget
	for il := range m.layers {
		L := &m.layers[il]
		n := func(what string) string { return fmt.Sprintf("blk.%d.%s.weight", il, what) }
		ts = append(ts,
			loraTarget{n("attn_q"), L.wq, &L.lq}, loraTarget{n("attn_k"), L.wk, &L.lk},
			loraTarget{n("attn_v"), L.wv, &L.lv}, loraTarget{n("attn_output"), L.wo, &L.lo},
			loraTarget{n("ffn_gate"), L.gate, &L.lgate}, loraTarget{n("ffn_up"), L.up, &L.lup},
			loraTarget{n("ffn_down"), L.down, &L.ldown})
	}
	return append(ts, loraTarget{"output.weight", m.output, &m.loraOutput})
}

// bindLoRA opens each adapter, checks it against the model and binds its
// pairs. An adapter tensor the model would not apply (one for the token
// embedding, a matrix this architecture lacks) is an error rather than
// silently left out.
func (m *transformer) bindLoRA(adapters []LoRA) error {
	if m.spec.mla && len(adapters) > 0 {
		// Its projections are split and regrouped at load; an adapter's
		// pairs would have to be too.
		return fmt.Errorf("lora adapter %s: adapters on %s (multi-head latent attention) models are not supported", adapters[0].Path, m.spec.name)
	}
	for _, ad := range adapters {
		id := int32(0)
		if ad.Name != "" {
			if slices.Contains(m.hp.LoRA, ad.Name) {
				return fmt.Errorf("lora adapter %s: the name %q is given twice", ad.Path, ad.Name)
			}
			m.setLoRANames(append(m.hp.LoRA, ad.Name))
			id = int32(len(m.hp.LoRA))
		}
		if err := m.bindAdapter(ad, id); err != nil {
			return fmt.Errorf("lora adapter %s: %w", ad.Path, err)
		}
	}
	return nil
}

// setLoRANames replaces the per-request adapters' names that Config
// reports.
func (m *transformer) setLoRANames(names []string) {
	m.cfgMu.Lock()
	m.hp.LoRA = names
	m.cfgMu.Unlock()
}

// LoadLoRA implements AdapterLoader.
func (m *transformer) LoadLoRA(ad LoRA) (int32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return 0, fmt.Errorf("lora adapter %s: model is closed", ad.Path)
	case ad.Name == "":
		return 0, fmt.Errorf("lora adapter %s: an adapter loaded while serving needs a name", ad.Path)
	}
	if _, ok := m.stream.(backends.RowScaler); !ok {
		return 0, fmt.Errorf("lora adapter %s: device %s cannot scale rows one by one: %w", ad.Path, m.dev.Name(), backends.ErrUnsupportedOp)
	}
	id := int32(len(m.hp.LoRA) + 1)
	if err := m.bindAdapter(ad, id); err != nil {
		return 0, errors.Join(fmt.Errorf("lora adapter %s: %w", ad.Path, err), m.dropAdapter(id))
	}
	// A new slice: Config's callers may hold the old one.
	m.setLoRANames(append(slices.Clip(m.hp.LoRA), ad.Name))
	m.log.Info("lora adapter loaded", zap.String("path", ad.Path), zap.Float32("scale", ad.Scale), zap.String("name", ad.Name), zap.Int32("id", id))
	return id, nil
}

// UnloadLoRA implements AdapterLoader.
func (m *transformer) UnloadLoRA(id int32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("unload lora adapter %d: model is closed", id)
	}
	if id < 1 || int(id) > len(m.hp.LoRA) || m.hp.LoRA[id-1] == "" {
		return fmt.Errorf("unload lora adapter %d: no such adapter (ids 1..%d, unloaded ones included)", id, len(m.hp.LoRA))
	}
	name := m.hp.LoRA[id-1]
	names := slices.Clone(m.hp.LoRA)
	names[id-1] = ""
	m.setLoRANames(names)
	if err := m.dropAdapter(id); err != nil {
		return fmt.Errorf("unload lora adapter %q: %w", name, err)
	}
	m.log.Info("lora adapter unloaded", zap.String("name", name), zap.Int32("id", id))
	return nil
}

// dropAdapter removes the pairs of adapter id from every matrix, hands
// its tensors' memory back to the device and unmaps its file. No pass may
// be in flight (m.mu is held).
func (m *transformer) dropAdapter(id int32) error {
	ofID := func(p loraPair) bool { return p.id == id }
	for _, t := range m.loraTargets() {
		*t.dst = slices.DeleteFunc(*t.dst, ofID)
	}
	var errs []error
	m.adapters = slices.DeleteFunc(m.adapters, func(a boundAdapter) bool {
		if a.id != id {
			return false
		}
		if fr, ok := m.dev.(backends.BufferFreer); ok {
			for _, t := range a.tensors {
				errs = append(errs, fr.Free(t.Buf))
			}
		}
		errs = append(errs, a.file.Close())
		return true
	})
	return errors.Join(errs...)
}

// checkRowScaler fails when the model has per-request adapters and its
// stream cannot scale rows one by one.
func (m *transformer) checkRowScaler() error {
	_, ok := m.stream.(backends.RowScaler)
	switch {
	case ok:
	case len(m.hp.LoRA) > 0:
		return fmt.Errorf("per-request LoRA adapters %v: device %s cannot scale rows one by one: %w", m.hp.LoRA, m.dev.Name(), backends.ErrUnsupportedOp)
	case m.hp.NExpert > 0:
		return fmt.Errorf("mixture of experts: device %s cannot scale rows one by one (each expert's output by its weight): %w", m.dev.Name(), backends.ErrUnsupportedOp)
	case m.hp.attnTemp != 0:
		return fmt.Errorf("attention temperature: device %s cannot scale rows one by one (each token's queries): %w", m.dev.Name(), backends.ErrUnsupportedOp)
	}
	return nil
}

func (m *transformer) bindAdapter(ad LoRA, id int32) error {
	l, err := gguf.OpenLoRA(ad.Path)
	if err != nil {
		return err
	}
	// Mapped until the adapter or the model goes: the device may read it
	// in place.
	m.adapters = append(m.adapters, boundAdapter{file: l.File, id: id})
	bound := &m.adapters[len(m.adapters)-1]
	if l.Arch() != m.hp.Arch {
		return fmt.Errorf("adapter for %q, the model is %q", l.Arch(), m.hp.Arch)
	}
	b := newBinder(l.File, m.dev)
	applied := 0
	for _, t := range m.loraTargets() {
		p, ok := l.Pairs[t.name]
		if !ok {
			continue
		}
		if p.In != t.w.Cols || p.Out != t.w.Rows {
			return fmt.Errorf("%s.lora_a and lora_b make a %dx%d matrix, %s is %dx%d: %w", t.name, p.Out, p.In, t.name, t.w.Rows, t.w.Cols, ErrBadShape)
		}
		a, err := b.weight(t.name+".lora_a", p.In, p.Rank)
		if err != nil {
			return err
		}
		bound.tensors = append(bound.tensors, a)
		bt, err := b.weight(t.name+".lora_b", p.Rank, p.Out)
		if err != nil {
			return err
		}
		bound.tensors = append(bound.tensors, bt)
		*t.dst = append(*t.dst, loraPair{a: a, b: bt, scale: l.Scale(ad.Scale, p.Rank), id: id})
		m.loraRank = max(m.loraRank, p.Rank)
		m.loraOut = max(m.loraOut, p.Out)
		applied++
	}
	if applied < len(l.Pairs) {
		var left []string
		for _, n := range l.Names() {
			if !b.used[n+".lora_a"] {
				left = append(left, n)
			}
		}
		return fmt.Errorf("adapts %v, which Nuri does not apply (LoRA on the attention and FFN projections and the output)", left)
	}
	return nil
}

// closeAdapters unmaps the adapters' files.
func (m *transformer) closeAdapters() error {
	var errs []error
	for _, a := range m.adapters {
		errs = append(errs, a.file.Close())
	}
	m.adapters = nil
	return errors.Join(errs...)
}

// loraAdd adds each pair's Scale·B·(A·in) to dst (the matmul of in with the
// pairs' base matrix), through the stream's ops; a per-request pair only
// to the rows that ask for it, and not at all when none does.
func (m *transformer) loraAdd(s backends.Stream, dst, in backends.Tensor, pairs []loraPair) {
	for _, p := range pairs {
		scales, used := m.rowScales(p, in.Rows)
		if !used {
			continue
		}
		t := reshape(m.acts.loraT, in.Rows, p.a.Rows)
		s.MatMul(t, p.a, in)
		if scales == nil {
			s.Scale(t, t, p.scale)
		} else {
			s.(backends.RowScaler).ScaleRows(t, t, scales)
		}
		d := reshape(m.acts.loraD, in.Rows, p.b.Rows)
		s.MatMul(d, p.b, t)
		s.Add(dst, dst, d)
	}
}

// rowScales returns the per-row scales of pair p over rows batch rows
// (all of them, or the output rows), nil when every row takes p's scale,
// and whether any row takes the pair at all.
func (m *transformer) rowScales(p loraPair, rows int) ([]float32, bool) {
	pl := &m.pl
	if p.id == 0 {
		return nil, true
	}
	ids := pl.lora
	if rows != pl.n {
		ids = pl.loraOut
	}
	n := 0
	for _, id := range ids {
		if id == p.id {
			n++
		}
	}
	switch n {
	case 0:
		return nil, false
	case rows:
		return nil, true
	}
	// A buffer of its own for each call of the pass: the stream may read
	// it until the pass's Sync (backends.RowScaler).
	if m.loraCalls == len(m.loraScales) {
		m.loraScales = append(m.loraScales, nil)
	}
	sc := grow(m.loraScales[m.loraCalls], rows)
	m.loraScales[m.loraCalls] = sc
	m.loraCalls++
	for i, id := range ids {
		sc[i] = 0
		if id == p.id {
			sc[i] = p.scale
		}
	}
	return sc, true
}
