package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/nuri-ai/nuri/model"
)

// Draft-model speculative decoding (Config.Draft).
//
// A smaller model of the same vocabulary runs ahead of the target: each
// step, every drafting sequence catches the draft model up on the tokens
// it has not seen, then lets it pick its most likely next token up to k
// times, feeding each pick back. The picks are the sequence's drafts,
// verified by the target in its pass exactly as n-gram drafts are (the
// sampler picks from each row, a draft it picks itself is kept), so
// outputs are those of plain decoding whatever the draft model says.
//
// The draft model keeps its own paged cache with its own small block
// pool: a drafting sequence's draft table grows as it drafts and is given
// back when it ends. A draft cache entry is only a cache, recomputable
// from the sequence's tokens, so a sequence that needs blocks takes them
// from sequences not drafting in this step.

// DefaultDraftPMin is Config.DraftPMin's default: llama.cpp's current
// default for its draft model's minimum probability.
const DefaultDraftPMin = 0.75

// DefaultDraftTokens is the most drafts a step feeds from a draft model
// when Config.SpecTokens is 0 (llama.cpp's --draft-max default).
const DefaultDraftTokens = 16

// maxDraftVocabDiff is how much the two models' vocabularies may differ
// in size (padding rows, a few added special tokens), as llama.cpp allows.
const maxDraftVocabDiff = 128

// drafter runs the draft model for the scheduler; only the scheduler
// goroutine touches it.
type drafter struct {
	m       model.Model
	nVocab  int // logits a draft row has
	propose int // ids it may propose: those both models have
	pMin    float64
	kv      *model.KVCache
	bs      int
	free    []int32     // free draft blocks (stack)
	holders []*Sequence // sequences holding draft blocks
	isEOG   func(int32) bool
	passCap int // tokens of one draft pass (catching up goes in chunks)

	passes, fed int64 // forward passes and tokens run, for Stats
	failures    int64 // failed passes (logged at the first and every 1000th)

	batch  model.Batch
	tables [][]int32
	rowJob []int // the job each logits row belongs to
	jobN   []int // tokens each job feeds in the current pass
	logits []float32
}

// draftJob is one sequence drafting up to k tokens this step.
type draftJob struct {
	s    *Sequence
	k    int
	done bool
}

// newDrafter checks the draft model against the target and allocates its
// cache: enough blocks for SpecMaxSeqs sequences of a full context (only
// that many draft at once), never more positions than the target's cache.
func newDrafter(cfg Config, target model.Config, nCtx, targetBlocks int, kvType model.KVTypes, isEOG func(int32) bool) (*drafter, int64, error) {
	dc := cfg.Draft.Config()
	if dc.NVocab <= 0 {
		return nil, 0, fmt.Errorf("draft model reports vocabulary size %d", dc.NVocab)
	}
	if diff := dc.NVocab - target.NVocab; diff > maxDraftVocabDiff || -diff > maxDraftVocabDiff {
		return nil, 0, fmt.Errorf("draft model's vocabulary (%d) is not the target's (%d)", dc.NVocab, target.NVocab)
	}
	perSeq := (nCtx + cfg.BlockSize - 1) / cfg.BlockSize
	n := min(cfg.SpecMaxSeqs*perSeq, targetBlocks)
	kv, err := newKVCache(cfg.Device, dc, n, 0, cfg.BlockSize, kvType)
	if err != nil {
		return nil, 0, fmt.Errorf("allocate draft kv cache of %d blocks: %w", n, err)
	}
	d := &drafter{
		m: cfg.Draft, nVocab: dc.NVocab, propose: min(dc.NVocab, target.NVocab), pMin: cfg.DraftPMin,
		kv: kv, bs: cfg.BlockSize, free: make([]int32, n), isEOG: isEOG, passCap: cfg.MaxNumBatchedTokens,
	}
	for i := range d.free {
		d.free[i] = int32(n - 1 - i)
	}
	return d, int64(kv.BytesPerBlock()) * int64(n), nil
}

// run fills each job's sequence's drafts (s.drafts) with up to k of the
// draft model's picks. A job whose blocks cannot be found drafts nothing;
// a failed pass ends drafting with the drafts made so far.
func (d *drafter) run(jobs []draftJob) error {
	for i := range jobs {
		j := &jobs[i]
		s := j.s
		s.drafts = s.drafts[:0]
		d.settle(s)
		// The first pick needs the last token's logits: feed it again
		// when the cache holds it already (a draft the target kept after
		// it could not take the drafts into its own pass).
		s.dComputed = min(s.dComputed, len(s.tokens)-1)
		// Catching up feeds positions up to len(tokens)-1, the drafts the
		// ones after; the last draft is never fed.
		if !d.grow(s, len(s.tokens)+j.k-1, jobs) {
			j.done = true
			continue
		}
		s.dBase = len(s.tokens)
	}
	err := d.pass(jobs)
	for err == nil {
		err = d.pass(jobs)
	}
	if errors.Is(err, errNoWork) {
		err = nil
	}
	for i := range jobs {
		s := jobs[i].s
		if s.dComputed > s.dBase {
			s.dFed = append(s.dFed[:0], s.drafts[:s.dComputed-s.dBase]...)
		}
	}
	return err
}

// errNoWork ends run's passes.
var errNoWork = errors.New("no draft work")

// pass runs one draft forward pass over the jobs still drafting: catch-up
// tokens (passCap of them at most) or each job's latest draft.
func (d *drafter) pass(jobs []draftJob) (err error) {
	b := &d.batch
	b.Tokens, b.Pos, b.Seq, b.Logits = b.Tokens[:0], b.Pos[:0], b.Seq[:0], b.Logits[:0]
	d.tables, d.rowJob, d.jobN = d.tables[:0], d.rowJob[:0], d.jobN[:0]
	room := d.passCap
	for ji := range jobs {
		j := &jobs[ji]
		s := j.s
		n := 0
		if !j.done && room > 0 {
			known := len(s.tokens) + len(s.drafts)
			n = min(known-s.dComputed, room)
			seq := int32(len(d.tables))
			d.tables = append(d.tables, s.dBlocks)
			for p := s.dComputed; p < s.dComputed+n; p++ {
				tok := int32(0)
				if p < len(s.tokens) {
					tok = s.tokens[p]
				} else {
					tok = s.drafts[p-len(s.tokens)]
				}
				b.Tokens = append(b.Tokens, tok)
				b.Pos = append(b.Pos, int32(p))
				b.Seq = append(b.Seq, seq)
				b.Logits = append(b.Logits, p == known-1)
			}
			if n > 0 && s.dComputed+n == known {
				d.rowJob = append(d.rowJob, ji)
			}
			room -= n
		}
		d.jobN = append(d.jobN, n)
	}
	if len(b.Tokens) == 0 {
		return errNoWork
	}
	n := len(d.rowJob) * d.nVocab
	d.logits = slices.Grow(d.logits[:0], n)[:n]
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("draft model: panic: %v", r)
		}
	}()
	if err := d.m.Forward(b, model.KVView{Cache: d.kv, Tables: d.tables}, d.logits); err != nil {
		return fmt.Errorf("draft model: %w", err)
	}
	d.passes++
	d.fed += int64(len(b.Tokens))
	for ji, n := range d.jobN {
		jobs[ji].s.dComputed += n
	}
	for r, ji := range d.rowJob {
		j := &jobs[ji]
		tok, ok := draftPick(d.logits[r*d.nVocab:(r+1)*d.nVocab], d.propose, d.pMin)
		if !ok {
			j.done = true
			continue
		}
		j.s.drafts = append(j.s.drafts, tok)
		if len(j.s.drafts) == j.k || d.isEOG(tok) {
			j.done = true
		}
	}
	return nil
}

// settle drops the draft cache entries of s past what its tokens
// confirm: positions [dBase, dComputed) hold the drafts fed last time
// (dFed), and only those the target kept match s.tokens. Afterwards every
// position the draft cache holds is one of s.tokens.
func (d *drafter) settle(s *Sequence) {
	if s.dComputed <= s.dBase {
		return
	}
	n := 0
	for n < s.dComputed-s.dBase && s.dBase+n < len(s.tokens) && s.tokens[s.dBase+n] == s.dFed[n] {
		n++
	}
	s.dComputed = s.dBase + n
	s.dBase, s.dFed = s.dComputed, s.dFed[:0]
}

// grow makes s's draft table cover nPos positions, taking blocks from
// sequences not in jobs when the pool is short. It reports false, s's
// table unchanged, when even that is not enough.
func (d *drafter) grow(s *Sequence, nPos int, jobs []draftJob) bool {
	need := (nPos+d.bs-1)/d.bs - len(s.dBlocks)
	if need <= 0 {
		return true
	}
	for i := 0; len(d.free) < need && i < len(d.holders); {
		h := d.holders[i]
		if h == s || drafting(h, jobs) {
			i++
			continue
		}
		d.release(h) // removes h from holders
	}
	if len(d.free) < need {
		return false
	}
	if len(s.dBlocks) == 0 {
		d.holders = append(d.holders, s)
	}
	for range need {
		s.dBlocks = append(s.dBlocks, d.free[len(d.free)-1])
		d.free = d.free[:len(d.free)-1]
	}
	return true
}

func drafting(s *Sequence, jobs []draftJob) bool {
	for _, j := range jobs {
		if j.s == s {
			return true
		}
	}
	return false
}

// release gives s's draft blocks back and forgets what they held.
func (d *drafter) release(s *Sequence) {
	if len(s.dBlocks) == 0 {
		return
	}
	d.free = append(d.free, s.dBlocks...)
	s.dBlocks, s.dComputed, s.dBase, s.dFed = s.dBlocks[:0], 0, 0, s.dFed[:0]
	for i, h := range d.holders {
		if h == s {
			d.holders = append(d.holders[:i], d.holders[i+1:]...)
			break
		}
	}
}

// draftPick returns the id among the first n with the largest logit, and
// whether the draft model gives it at least pMin of its probability (a
// softmax over the whole row); pMin ≤ 0 accepts any pick. The sum stops
// as soon as it rules the pick out, and skips logits too far below the
// best to matter (e^-30 each).
func draftPick(row []float32, n int, pMin float64) (int32, bool) {
	best := 0
	for i := 1; i < n; i++ {
		if row[i] > row[best] {
			best = i
		}
	}
	if pMin <= 0 {
		return int32(best), true
	}
	top := row[best]
	for _, l := range row[n:] { // ids only the draft model has
		top = max(top, l)
	}
	// p(best) ≥ pMin ⇔ Σ exp(l - top) ≤ exp(row[best]-top) / pMin.
	limit := math.Exp(float64(row[best]-top)) / pMin
	sum := 0.0
	for _, l := range row {
		x := float64(l - top)
		if x < -30 {
			continue
		}
		if sum += math.Exp(x); sum > limit {
			return int32(best), false
		}
	}
	return int32(best), true
}

// maxDraftSkip is the most steps a sequence whose drafts keep failing
// goes without drafting: the draft model then catches up on them in one
// pass, and tries again.
const maxDraftSkip = 8

// unsureStreak is how many attempts in a row may give no draft at all
// (none the draft model was sure enough of) before a sequence backs off:
// such an attempt costs one draft pass and no target rows, and a sure
// stretch often follows an unsure one.
const unsureStreak = 4

// noteDraftMiss records a draft-model attempt of s that kept nothing:
// fed says whether it fed drafts (which the target then refused). A
// refusal backs off at once, attempts with nothing to feed from the
// unsureStreak-th in a row; each back-off skips more steps before the
// next attempt, 1, 2, 4 and then 8, until a draft is kept
// (noteDraftKept). Where the draft model is wrong or unsure for a while
// (another language, a random-weight model, a draft no cheaper than its
// target) this keeps its cost to a few draft passes in a hundred steps.
func noteDraftMiss(s *Sequence, fed bool) {
	s.misses++
	if fed || s.misses >= unsureStreak {
		s.backoffs++
		s.skip = min(1<<min(s.backoffs-1, 3), maxDraftSkip)
	}
}

// noteDraftKept ends s's back-off.
func noteDraftKept(s *Sequence) { s.misses, s.backoffs = 0, 0 }
