package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/sample"
)

// fakeModel is a deterministic stand-in for a network. Every cache slot it
// writes holds a hash of the sequence's whole history up to that position,
// chained through the previous slot read back via the block table, so the
// next token depends on every earlier token exactly as attention does: a
// wrong, stale or shared-and-overwritten block changes the output. Before
// each pass it also verifies the tables it is handed (see check) and
// remembers the first inconsistency.
type fakeModel struct {
	cfg      model.Config
	slots    []fakeSlot // [nBlocks*bs]
	bs       int
	forwards int
	rows     int   // batch rows computed, all passes
	maxRows  int   // largest batch seen
	bad      error // first inconsistency seen
	failNext error // returned by the next Forward
	delay    time.Duration
	// markov: the logits depend on the last token alone (the slots still
	// chain the whole history, and are still checked), so outputs repeat
	// and speculative drafts get accepted.
	markov bool
	// window > 0 (newFakeWindowedEngine): a windowed layer too, whose
	// slots (wslots, through KVView.WinTables) must hold each token's
	// last window of history whenever the cache keeps a windowed pool.
	window int
	wslots []fakeSlot

	adMu      sync.Mutex // guards cfg.LoRA, which LoadLoRA and UnloadLoRA change
	loraPaths []string   // the path each adapter id was loaded from
}

type fakeSlot struct {
	valid bool
	pos   int32
	tok   int32
	h     uint64
}

const (
	fakeVocab = 64
	fakeEOS   = 0
	fakeRoot  = uint64(0x243f6a8885a308d3)
)

func newFakeModel(nCtx int) *fakeModel {
	return &fakeModel{cfg: model.Config{
		Arch: "fake", NVocab: fakeVocab, NCtxTrain: nCtx, NEmbd: 32,
		NLayer: 1, NHead: 1, NHeadKV: 1, HeadDimK: 32, HeadDimV: 32, NFF: 32,
	}}
}

// fakeRootFor is the hash a sequence's history starts from: its
// per-request adapter (model.Batch.LoRA) changes every later hash, as an
// adapter changes every K/V.
func fakeRootFor(lora int32) uint64 {
	if lora == 0 {
		return fakeRoot
	}
	return mix(fakeRoot, -lora)
}

func loraOf(b *model.Batch, i int) int32 {
	if b.LoRA == nil {
		return 0
	}
	return b.LoRA[i]
}

func mix(h uint64, v int32) uint64 {
	h ^= uint64(uint32(v)) + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
	h *= 0xff51afd7ed558ccd
	return h ^ h>>33
}

// fakeLogits writes the logits the fake produces after history hash h.
func fakeLogits(h uint64, out []float32) {
	for v := range out {
		out[v] = float32(mix(h, int32(v))>>40%1000) / 50
	}
}

func (f *fakeModel) Config() model.Config {
	f.adMu.Lock()
	defer f.adMu.Unlock()
	c := f.cfg
	c.LoRA = slices.Clone(c.LoRA)
	return c
}

// LoadLoRA implements model.AdapterLoader: a path starting "bad" fails,
// as an adapter that does not fit the model would.
func (f *fakeModel) LoadLoRA(ad model.LoRA) (int32, error) {
	f.adMu.Lock()
	defer f.adMu.Unlock()
	if strings.HasPrefix(ad.Path, "bad") || ad.Name == "" {
		return 0, fmt.Errorf("fake: cannot load %s as %q", ad.Path, ad.Name)
	}
	f.cfg.LoRA = append(f.cfg.LoRA, ad.Name)
	f.loraPaths = append(f.loraPaths, ad.Path)
	return int32(len(f.cfg.LoRA)), nil
}

// UnloadLoRA implements model.AdapterLoader.
func (f *fakeModel) UnloadLoRA(id int32) error {
	f.adMu.Lock()
	defer f.adMu.Unlock()
	if id < 1 || int(id) > len(f.cfg.LoRA) || f.cfg.LoRA[id-1] == "" {
		return fmt.Errorf("fake: no adapter %d", id)
	}
	f.cfg.LoRA[id-1] = ""
	return nil
}

// loraLoaded reports whether adapter id is loaded in the model.
func (f *fakeModel) loraLoaded(id int32) bool {
	f.adMu.Lock()
	defer f.adMu.Unlock()
	return id >= 1 && int(id) <= len(f.cfg.LoRA) && f.cfg.LoRA[id-1] != ""
}
func (f *fakeModel) Close() error { return nil }

func (f *fakeModel) Forward(b *model.Batch, kv model.KVView, out []float32) error {
	f.forwards++
	if err := f.failNext; err != nil {
		f.failNext = nil
		return err
	}
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if f.slots == nil {
		f.bs = kv.Cache.BlockSize()
		f.slots = make([]fakeSlot, kv.Cache.NumBlocks()*f.bs)
		f.wslots = make([]fakeSlot, kv.Cache.WindowBlocks()*f.bs)
	}
	if err := f.check(b, kv); err != nil {
		if f.bad == nil {
			f.bad = err
		}
		return err
	}
	for i, id := range b.LoRA {
		if id != 0 && !f.loraLoaded(id) {
			err := fmt.Errorf("row %d asks for adapter %d, which is not loaded", i, id)
			if f.bad == nil {
				f.bad = err
			}
			return err
		}
	}
	f.rows += len(b.Tokens)
	f.maxRows = max(f.maxRows, len(b.Tokens))
	V := f.cfg.NVocab
	r := 0
	for i, tok := range b.Tokens {
		table, p := kv.Tables[b.Seq[i]], b.Pos[i]
		h := fakeRootFor(loraOf(b, i))
		if p > 0 {
			h = f.slot(table, p-1).h
		}
		h = mix(h, tok)
		*f.slot(table, p) = fakeSlot{valid: true, pos: p, tok: tok, h: h}
		if kv.WinTables != nil {
			f.wslot(kv.WinTables[b.Seq[i]], p).set(p, tok, h)
		}
		if b.Logits[i] {
			if f.markov {
				fakeLogits(mix(fakeRoot, tok), out[r*V:(r+1)*V])
			} else {
				fakeLogits(h, out[r*V:(r+1)*V])
			}
			r++
		}
	}
	return nil
}

func (f *fakeModel) slot(table []int32, p int32) *fakeSlot {
	return &f.slots[int(table[int(p)/f.bs])*f.bs+int(p)%f.bs]
}

func (f *fakeModel) wslot(table []int32, p int32) *fakeSlot {
	return &f.wslots[int(table[int(p)/f.bs])*f.bs+int(p)%f.bs]
}

func (sl *fakeSlot) set(p, tok int32, h uint64) { *sl = fakeSlot{valid: true, pos: p, tok: tok, h: h} }

// checkWindows verifies the windowed tables of a batch whose sequences
// start at first: each as long as the sequence's table, the blocks of a
// sequence's window present (-1 only wholly before it) and holding its
// history as the other table does, none written by one sequence while
// another's table lists it.
func (f *fakeModel) checkWindows(b *model.Batch, kv model.KVView, first map[int32]int32) error {
	if len(kv.WinTables) != len(kv.Tables) {
		return fmt.Errorf("%d windowed tables for %d tables", len(kv.WinTables), len(kv.Tables))
	}
	owner := map[int32]int32{}
	for i := range b.Tokens {
		owner[kv.WinTables[b.Seq[i]][int(b.Pos[i])/f.bs]] = b.Seq[i]
	}
	for s, win := range kv.WinTables {
		if len(win) != len(kv.Tables[s]) {
			return fmt.Errorf("sequence %d: %d windowed blocks, %d blocks", s, len(win), len(kv.Tables[s]))
		}
		p0, batched := first[int32(s)]
		lo := max(0, p0-int32(f.window)+1)
		for i, blk := range win {
			if blk < 0 && (!batched || int32((i+1)*f.bs) <= lo) {
				continue
			}
			if blk < 0 || int(blk)*f.bs >= len(f.wslots) {
				return fmt.Errorf("sequence %d: windowed block %d is %d (window from %d)", s, i, blk, lo)
			}
			if o, ok := owner[blk]; ok && o != int32(s) {
				return fmt.Errorf("windowed block %d written by sequence %d is in sequence %d's table", blk, o, s)
			}
		}
		if !batched {
			continue
		}
		for p := lo; p < p0; p++ {
			if w, g := f.wslot(win, p), f.slot(kv.Tables[s], p); !w.valid || w.pos != p || w.h != g.h {
				return fmt.Errorf("sequence %d: windowed history broken at position %d (valid %v, pos %d)", s, p, w.valid, w.pos)
			}
		}
	}
	return nil
}

// check verifies the batch against the tables: shapes, block ids in range
// and distinct within a table, each sequence's rows contiguous positions,
// every earlier position present with an intact hash chain (so the history
// the table describes is one consistent sequence), and no block written by
// one sequence while another sequence's table lists it.
func (f *fakeModel) check(b *model.Batch, kv model.KVView) error {
	n := len(b.Tokens)
	if len(b.Pos) != n || len(b.Seq) != n || len(b.Logits) != n {
		return fmt.Errorf("batch slices differ in length")
	}
	nBlocks := int32(len(f.slots) / f.bs)
	owner := map[int32]int32{}
	for s, table := range kv.Tables {
		seen := map[int32]bool{}
		for _, blk := range table {
			if blk < 0 || blk >= nBlocks || seen[blk] {
				return fmt.Errorf("table %d: bad or repeated block %d", s, blk)
			}
			seen[blk] = true
		}
	}
	first := map[int32]int32{}
	last := map[int32]int32{}
	root := map[int32]uint64{}
	for i := range n {
		s, p := b.Seq[i], b.Pos[i]
		root[s] = fakeRootFor(loraOf(b, i))
		if s < 0 || int(s) >= len(kv.Tables) {
			return fmt.Errorf("row %d: sequence %d has no table", i, s)
		}
		if int(p)/f.bs >= len(kv.Tables[s]) {
			return fmt.Errorf("row %d: position %d beyond table of %d blocks", i, p, len(kv.Tables[s]))
		}
		if l, ok := last[s]; ok && p != l+1 {
			return fmt.Errorf("row %d: sequence %d jumps from position %d to %d", i, s, l, p)
		}
		if _, ok := first[s]; !ok {
			first[s] = p
		}
		last[s] = p
		blk := kv.Tables[s][int(p)/f.bs]
		if o, ok := owner[blk]; ok && o != s {
			return fmt.Errorf("block %d written by sequences %d and %d", blk, o, s)
		}
		owner[blk] = s
	}
	for s, table := range kv.Tables {
		for _, blk := range table {
			if o, ok := owner[blk]; ok && o != int32(s) {
				// Only full, read-only blocks may be shared.
				return fmt.Errorf("block %d written by sequence %d is in sequence %d's table", blk, o, s)
			}
		}
	}
	if kv.WinTables != nil {
		if err := f.checkWindows(b, kv, first); err != nil {
			return err
		}
	}
	for s, p0 := range first {
		h := root[s]
		for p := int32(0); p < p0; p++ {
			sl := f.slot(kv.Tables[s], p)
			if !sl.valid || sl.pos != p || sl.h != mix(h, sl.tok) {
				return fmt.Errorf("sequence %d: cached history broken at position %d (valid %v, pos %d)", s, p, sl.valid, sl.pos)
			}
			h = sl.h
		}
	}
	return nil
}

// reference computes what a request must produce: greedy (or sampled with
// the same seed) over the fake's logits, run alone, with no engine. It
// stops at EOS (unless ignored), maxTokens or the context length.
func reference(prompt []int32, p sample.Params, maxTokens, nCtx int, ignoreEOS bool) []int32 {
	return referenceLoRA(prompt, p, maxTokens, nCtx, ignoreEOS, 0)
}

// referenceLoRA is reference for a request with per-request adapter lora.
func referenceLoRA(prompt []int32, p sample.Params, maxTokens, nCtx int, ignoreEOS bool, lora int32) []int32 {
	return referenceWith(prompt, p, refOpts{maxTokens: maxTokens, nCtx: nCtx, ignoreEOS: ignoreEOS, lora: lora})
}

// refOpts are a reference run's request settings.
type refOpts struct {
	maxTokens, nCtx int
	ignoreEOS       bool
	lora            int32
	minTokens       int     // vLLM's min_tokens: EOS and stops masked before it
	stops           []int32 // stop tokens, which end the output after minTokens
}

// referenceWith is reference with every request setting the fake honours.
func referenceWith(prompt []int32, p sample.Params, o refOpts) []int32 {
	h := fakeRootFor(o.lora)
	hist := append([]int32(nil), prompt...)
	for _, t := range prompt {
		h = mix(h, t)
	}
	s := sample.New(p)
	logits := make([]float32, fakeVocab)
	var out []int32
	for {
		fakeLogits(h, logits)
		if len(out) < o.minTokens {
			for _, t := range append([]int32{fakeEOS}, o.stops...) {
				logits[t] = float32(math.Inf(-1))
			}
		}
		r, err := s.Sample(logits, hist, 0)
		if err != nil {
			panic(err)
		}
		out = append(out, r.Token)
		hist = append(hist, r.Token)
		h = mix(h, r.Token)
		stop := r.Token == fakeEOS && !o.ignoreEOS || slices.Contains(o.stops, r.Token)
		if stop || o.maxTokens > 0 && len(out) >= o.maxTokens || o.nCtx > 0 && len(hist) >= o.nCtx {
			return out
		}
	}
}

// fakeTokenizer spells tokens: 0 is EOS, 1–26 letters, 27 a space, 28–30
// whole Hangul syllables, 31–36 the single bytes of 어 and 한 (byte
// fallback splits a character across tokens), the rest short words.
type fakeTokenizer struct{}

var errFakePiece = errors.New("fake piece out of range")

func (fakeTokenizer) IsEOG(id int32) bool { return id == fakeEOS }

func (fakeTokenizer) Piece(id int32, special bool) ([]byte, error) {
	switch {
	case id < 0 || id >= fakeVocab:
		return nil, errFakePiece
	case id == fakeEOS:
		if special {
			return []byte("</s>"), nil
		}
		return nil, nil
	case id <= 26:
		return []byte{byte('a' + id - 1)}, nil
	case id == 27:
		return []byte(" "), nil
	case id <= 30:
		return []byte([]string{"한", "국", "어"}[id-28]), nil
	case id <= 36:
		return []byte{[]byte("어한")[id-31]}, nil
	case id == 37:
		return []byte("\n"), nil
	case id == 38:
		return []byte("\t"), nil
	}
	return []byte(fmt.Sprintf("w%d ", id)), nil
}

// fakeText is the text a sequence of tokens must stream as.
func fakeText(toks []int32, ignoreEOS bool) string {
	var b []byte
	for _, t := range toks {
		if t == fakeEOS && !ignoreEOS {
			continue
		}
		p, _ := fakeTokenizer{}.Piece(t, false)
		b = append(b, p...)
	}
	return sanitize(b)
}

func greedyParams() sample.Params {
	p := sample.DefaultParams()
	p.Temperature = 0
	return p
}

// newFakeEngine builds an engine over a fresh fake model.
func newFakeEngine(t testing.TB, cfg Config, nCtx int) (*Engine, *fakeModel) {
	t.Helper()
	f := newFakeModel(nCtx)
	e, err := New(cfg, f, fakeTokenizer{}, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	if err != nil {
		t.Fatal(err)
	}
	return e, f
}

// newFakeWindowedEngine is newFakeEngine over a fake with a second,
// windowed layer of window W, so the engine keeps a windowed pool (when
// cfg leaves the other pool the larger).
func newFakeWindowedEngine(t testing.TB, cfg Config, nCtx, W int) (*Engine, *fakeModel) {
	t.Helper()
	f := newFakeModel(nCtx)
	f.cfg.NLayer, f.cfg.Windows, f.window = 2, []int{W, 0}, W
	e, err := New(cfg, f, fakeTokenizer{}, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	if err != nil {
		t.Fatal(err)
	}
	if e.win == nil {
		t.Fatalf("no windowed pool for %+v", e.cfg)
	}
	return e, f
}

// outcome is everything a sequence streamed.
type outcome struct {
	tokens     []int32
	text       string
	finish     FinishReason
	reason     string
	stopReason any
	err        error
	usage      Usage
	events     int
	ttft       time.Duration
	firstCache int // CachedTokens of the event with the TTFT
	logprobs   []TokenLogprob
	tops       [][]TokenLogprob
	promptLP   []TokenLogprob
	promptTo   [][]TokenLogprob
	promptAt   int // 1 + the index of the event that carried the prompt scores
	closed     bool
}

func (o *outcome) add(ev Event) {
	o.events++
	o.tokens = append(o.tokens, ev.Tokens...)
	o.text += ev.Text
	o.logprobs = append(o.logprobs, ev.Logprobs...)
	o.tops = append(o.tops, ev.TopLogprobs...)
	if len(ev.PromptLogprobs) > 0 {
		if o.promptAt != 0 {
			o.err = fmt.Errorf("prompt scores on events %d and %d", o.promptAt, o.events)
		}
		o.promptAt = o.events
	}
	o.promptLP = append(o.promptLP, ev.PromptLogprobs...)
	o.promptTo = append(o.promptTo, ev.PromptTopLogprobs...)
	if ev.TTFT != 0 && o.ttft == 0 {
		o.ttft, o.firstCache = ev.TTFT, ev.CachedTokens
	}
	if ev.Finish != FinishNone {
		o.finish, o.reason, o.err, o.usage, o.stopReason = ev.Finish, ev.Reason, ev.Err, ev.Usage, ev.StopReason
	}
}

// collect reads whatever s has delivered without blocking.
func collect(s *Sequence, o *outcome) {
	for {
		select {
		case ev, ok := <-s.Events():
			if !ok {
				o.closed = true
				return
			}
			o.add(ev)
		default:
			return
		}
	}
}

// drive steps e until every sequence has closed its stream, checking the
// block accounting after every step. It fails after maxSteps.
func drive(t testing.TB, e *Engine, seqs []*Sequence, maxSteps int) []*outcome {
	t.Helper()
	outs := make([]*outcome, len(seqs))
	for i := range outs {
		outs[i] = &outcome{}
	}
	for step := 0; ; step++ {
		done := true
		for i, s := range seqs {
			collect(s, outs[i])
			done = done && outs[i].closed
		}
		if done {
			return outs
		}
		if step >= maxSteps {
			t.Fatalf("sequences not finished after %d steps", maxSteps)
		}
		e.step()
		checkInvariants(t, e)
	}
}

// checkInvariants verifies the block accounting against the sequences.
func checkInvariants(t testing.TB, e *Engine) {
	t.Helper()
	refs := make([]int32, e.pool.numBlocks())
	for _, s := range e.running {
		for _, b := range s.blocks {
			refs[b]++
		}
		if len(s.blocks)*e.cfg.BlockSize < s.nComputed {
			t.Fatalf("%s: %d blocks cannot hold %d computed tokens", s.id, len(s.blocks), s.nComputed)
		}
	}
	for _, s := range e.waiting {
		if len(s.blocks) != 0 || s.nComputed != 0 {
			t.Fatalf("waiting %s holds %d blocks, %d computed", s.id, len(s.blocks), s.nComputed)
		}
	}
	if err := e.pool.check(refs); err != nil {
		t.Fatalf("block pool: %v", err)
	}
	if e.win != nil {
		checkWindowInvariants(t, e)
	}
	if len(e.running) > e.cfg.MaxNumSeqs {
		t.Fatalf("%d running > max %d", len(e.running), e.cfg.MaxNumSeqs)
	}
	if e.draft != nil {
		checkDraftInvariants(t, e)
	}
	checkSlotInvariants(t, e)
}

// checkSlotInvariants verifies Slots after a step: MaxNumSeqs slots, the
// busy ones held by exactly the running sequences (each once, at the
// slot it records), with their progress.
func checkSlotInvariants(t testing.TB, e *Engine) {
	t.Helper()
	slots := e.Slots()
	if len(slots) != e.cfg.MaxNumSeqs {
		t.Fatalf("%d slots, want MaxNumSeqs %d", len(slots), e.cfg.MaxNumSeqs)
	}
	busy := 0
	for i, st := range slots {
		if st.Slot != i {
			t.Fatalf("slot %d reports number %d", i, st.Slot)
		}
		if st.Busy {
			busy++
		}
	}
	for _, s := range e.running {
		if s.finished {
			continue
		}
		if s.slot < 0 || s.slot >= len(slots) {
			t.Fatalf("running %s holds slot %d", s.id, s.slot)
		}
		st := slots[s.slot]
		want := SlotState{Slot: s.slot, Busy: true, ID: s.id, Task: s.arrival, Request: &s.req,
			PromptTokens: s.nPrompt, PromptDone: min(s.nComputed, s.nPrompt), CachedTokens: s.cached, Generated: s.generated(),
			Speculative: e.cfg.SpecTokens > 0 || e.draft != nil || len(s.req.Prediction) > 0}
		if st != want {
			t.Fatalf("slot %d: %+v, want %+v", s.slot, st, want)
		}
		busy--
	}
	if busy != 0 {
		t.Fatalf("%d busy slots held by no running sequence", busy)
	}
}

// checkWindowInvariants verifies the windowed pool: each running
// sequence's windowed table as long as its table, -1 exactly before
// wLo, which reaches no later than the first block its next query's
// window needs; references as the tables hold them.
func checkWindowInvariants(t testing.TB, e *Engine) {
	t.Helper()
	refs := make([]int32, e.win.numBlocks())
	for _, s := range e.running {
		if len(s.wblocks) != len(s.blocks) {
			t.Fatalf("%s: %d windowed blocks, %d blocks", s.id, len(s.wblocks), len(s.blocks))
		}
		if need := max(0, s.nComputed-e.window+1) / e.cfg.BlockSize; s.wLo > need {
			t.Fatalf("%s: windowed blocks freed up to %d; position %d's window needs block %d", s.id, s.wLo, s.nComputed, need)
		}
		for i, b := range s.wblocks {
			if (b < 0) != (i < s.wLo) {
				t.Fatalf("%s: windowed block %d of %d is %d (freed up to %d)", s.id, i, len(s.wblocks), b, s.wLo)
			}
			if b >= 0 {
				refs[b]++
			}
		}
	}
	for _, s := range e.waiting {
		if len(s.wblocks) != 0 || s.wLo != 0 {
			t.Fatalf("waiting %s holds %d windowed blocks", s.id, len(s.wblocks))
		}
	}
	if err := e.win.check(refs); err != nil {
		t.Fatalf("windowed block pool: %v", err)
	}
}

// assertAllFree checks that no block is referenced once everything ended.
func assertAllFree(t testing.TB, e *Engine) {
	t.Helper()
	checkInvariants(t, e)
	if e.win != nil && e.win.numUsed() != 0 {
		t.Fatalf("after all sequences ended: %d windowed blocks used", e.win.numUsed())
	}
	if u := e.pool.numUsed(); u != 0 || len(e.running) != 0 || len(e.waiting) != 0 {
		t.Fatalf("after all sequences ended: %d blocks used, %d running, %d waiting", u, len(e.running), len(e.waiting))
	}
}

func submit(t testing.TB, e *Engine, r Request) *Sequence {
	t.Helper()
	s, err := e.Submit(t.Context(), r)
	if err != nil {
		t.Fatalf("submit %s: %v", r.ID, err)
	}
	return s
}

// prompt returns a deterministic prompt of n tokens from seed (no EOS).
func prompt(seed, n int) []int32 {
	p := make([]int32, n)
	h := uint64(seed)*0x9e3779b97f4a7c15 + 1
	for i := range p {
		h = mix(h, int32(i))
		p[i] = 1 + int32(h%(fakeVocab-1))
	}
	return p
}

func contextWithCancel(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
