package kernels

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/nuri-ai/nuri/quant"
)

// Pacing says which form of the single-row stream kernels a Pool's
// MatMulPacked calls take, where a weight type has two: the plain one,
// which issues its instructions as fast as the core can, and a paced twin
// with NOPs after each prefetch of its main loop (gen_packed.py, paced).
// Over cold memory the paced forms read more on the 2-core Intel Xeon VM,
// 2-10 % alone and 1-7 % in decode while its memory runs fast, but they
// cap what a core can compute (1.07-1.37 times that VM's memory rate from
// L2), so a machine with more bandwidth a core, weights that fit in the
// cache, or a slow minute of the memory can make them the slower form. The
// outputs are the same bits either way.
type Pacing uint8

const (
	// PacingAuto measures the paced forms against the plain ones during
	// single-row calls and runs the faster (see pacer).
	PacingAuto Pacing = iota
	// PacingOff runs the plain forms only.
	PacingOff
	// PacingOn runs the paced forms wherever a type has them.
	PacingOn
)

var pacingNames = enumNames{PacingAuto: "auto", PacingOff: "off", PacingOn: "on"}

// ParsePacing reads a pacing mode's name: "" or "auto", "off", "on".
func ParsePacing(s string) (Pacing, error) {
	v, err := pacingNames.parse("pacing", s)
	return Pacing(v), err
}

func (m Pacing) String() string { return pacingNames.name("Pacing", uint8(m)) }

// MarshalText writes the mode's name, so reports read "auto", "off" or
// "on".
func (m Pacing) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads a name ParsePacing accepts.
func (m *Pacing) UnmarshalText(b []byte) error {
	v, err := ParsePacing(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// SetPacing chooses how this Pool's single-row calls pick between the
// plain and the paced stream kernels (PacingAuto by default). Changing it
// forgets what the pool has measured.
func (p *Pool) SetPacing(m Pacing) {
	p.mu.Lock()
	p.pk.pacer = pacer{mode: m, prefetch: p.pk.pacer.prefetch}
	p.mu.Unlock()
}

// rowForm is one of a weight type's single-row stream kernels.
type rowForm uint8

const (
	// formFar is the plain kernel, which prefetches at the far distances.
	formFar rowForm = iota
	// formNear is its near twin (Prefetch).
	formNear
	// formPaced is its paced twin (Pacing), which prefetches far.
	formPaced
	numForms
)

var rowFormNames = [numForms]string{"far", "near", "paced"}

func (f rowForm) String() string {
	if f < numForms {
		return rowFormNames[f]
	}
	return fmt.Sprintf("rowForm(%d)", uint8(f))
}

// formSet is a set of rowForms, bit f for form f.
type formSet uint8

func (s formSet) has(f rowForm) bool { return s&(1<<f) != 0 }

// PaceChoice is what a Pool's pacer chose for one kind of single-row call
// (PacingReport).
type PaceChoice struct {
	// Types are the weight types of the calls: one, or two for a shared
	// call mixing them (a layer's q/k/v with a Q6_K v, say).
	Types []quant.Type
	// SizeClass is the calls' size: their weights total 2^(c-1) to 2^c
	// MiB (0: under 1 MiB). Calls of one kind and size are measured
	// together: a layer's small projections and its large ones gain
	// differently.
	SizeClass int
	// Form is the kernels the calls run now: "far" (the plain ones),
	// "near" (their near twins) or "paced" (their paced twins).
	Form string
	// Trials are the last measurement of each pair of forms compared so
	// far, in the order first measured.
	Trials []PaceTrial
	// Rounds is how many measurements the calls have had.
	Rounds int
	// Measuring reports whether a measurement is under way (Form is the
	// form it is measured against, the one the calls ran before it).
	Measuring bool
}

// PaceTrial is one measurement between two forms: the median over its
// pairs of calls of a call's time in Form ÷ its time in Against.
type PaceTrial struct {
	Form, Against string
	Ratio         float64
	Pairs         int
}

// SizeClassLabel names a PaceChoice's SizeClass: "<1 MiB", "1-2 MiB",
// "16-32 MiB", ...
func SizeClassLabel(c int) string {
	if c <= 0 {
		return "<1 MiB"
	}
	return fmt.Sprintf("%d-%d MiB", 1<<(c-1), 1<<c)
}

// paceSizeClass is the SizeClass of a call whose weights total bytes.
func paceSizeClass(bytes int) int { return bits.Len(uint(bytes >> 20)) }

// PacingReport lists the pool's choices so far, one per kind of
// single-row call that it measures, in a stable order; nil where the
// pool's Pacing and Prefetch leave each call one form, or before any
// such call.
func (p *Pool) PacingReport() []PaceChoice {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []PaceChoice
	for _, c := range p.pk.pacer.classes {
		types := []quant.Type{c.key.types[0]}
		if c.key.types[1] != c.key.types[0] {
			types = append(types, c.key.types[1])
		}
		pc := PaceChoice{Types: types, SizeClass: c.key.size, Form: c.cur.String(), Rounds: c.rounds, Measuring: c.measuring}
		for _, tr := range c.trials {
			pc.Trials = append(pc.Trials, PaceTrial{Form: tr.form.String(), Against: tr.against.String(), Ratio: tr.ratio, Pairs: tr.pairs})
		}
		out = append(out, pc)
	}
	slices.SortFunc(out, func(a, b PaceChoice) int {
		if c := slices.Compare(a.Types, b.Types); c != 0 {
			return c
		}
		return a.SizeClass - b.SizeClass
	})
	return out
}

// The pacer's measurement (PacingAuto, PrefetchAuto). The forms a kind of
// call (paceKey: its weight types and size) may take are the plain kernel
// and whichever of its twins the modes leave open (pacer.forms). Where
// that is more than one, the calls start on the plain form at the
// distance this CPU's vendor suggests, and measurement rounds set the form
// they run against one other at a time (the paced twin first, then
// whichever has gone longest unmeasured), keeping the faster.
//
// A round sends the calls to its two forms call site by call site: each
// matrix's consecutive calls (one decode step apart, so in the same state
// of the memory and the caches) alternate between the forms, and each such
// pair gives the ratio of its times. Matrices of one kind start on
// different forms, so each step runs about half of them each way. The
// round ends when the sign of the ratios is clear (a sign test at paceZ
// standard deviations, robust to the odd call that a preemption or a page
// fault slows) or after paceMaxPairs pairs, or sooner where a form is far
// behind: paceQuickPairs pairs that all agree, their median at least
// paceQuickRatio apart (a paced twin on a core with fast memory can take
// 1.2-1.9 times the plain form's time, and each pair spent on it costs
// that). The kind then runs the form with the lower median ratio for
// paceHold times as many calls as the round took (longer after rounds that
// kept the form: holdAfter), and is measured again, so the choice follows
// the machine's state. What is timed is a call's dot phase (matMulPacked),
// the only part the forms change: a variant that moved work out of it
// would need a wider span.
const (
	paceMinPairs = 16
	paceMaxPairs = 96
	paceZ        = 3.0
	paceHold     = 32
	// paceQuickPairs and paceQuickRatio: see above. Six pairs agree by
	// chance with probability 1/32 where the forms are level, and the
	// odd slowed call breaks the agreement rather than making it.
	paceQuickPairs = 6
	paceQuickRatio = 1.15
	// paceBackoff caps the doubling of the hold (holdAfter).
	paceBackoff = 3
)

// paceKey is a kind of call: its weight types (its first matrix's and
// the second type of a shared call, the first again where there is none)
// and its size class (paceSizeClass).
type paceKey struct {
	types [2]quant.Type
	size  int
}

// pacer is a Pool's choice of forms (in packedScratch, under the pool's
// lock).
type pacer struct {
	mode     Pacing
	prefetch Prefetch
	classes  []paceClass
	// rounds numbers the measurement rounds across the classes, so a call
	// site's last time (PackedWeights.pace) pairs only within its round.
	rounds uint32
}

// paceClass is one kind of call's state.
type paceClass struct {
	key   paceKey
	forms formSet // the forms the calls may take (two or more)
	cur   rowForm // the form the calls run between rounds
	chal  rowForm // the form the current or last round set against cur
	// tried is each form's last round (pacer.rounds; 0: none).
	tried     [numForms]uint32
	measuring bool
	round     uint32 // the current or last round's number (pacer.rounds)
	next      bool   // whether the next site new to the round starts on chal
	calls     int    // calls in this round, or since it ended
	hold      int    // calls until the next round
	kept      int    // rounds in a row that kept cur
	logs      []float64
	// For PacingReport: the last result of each pair of forms, and how
	// many rounds have ended.
	trials []paceTrial
	rounds int
}

// paceTrial is a round's result: the median time of form ÷ against.
type paceTrial struct {
	form, against rowForm
	ratio         float64
	pairs         int
}

// paceSite is a call site's last measured call, packed into one word
// (PackedWeights.pace): the round's number in the top 16 bits, the form in
// bits 46-47 and the call's nanoseconds below.
func paceSite(round uint32, f rowForm, ns int64) uint64 {
	return uint64(round&0xffff)<<48 | uint64(f&3)<<46 | uint64(min(max(ns, 1), 1<<46-1))
}

func siteRound(v uint64) uint32 { return uint32(v >> 48) }
func siteForm(v uint64) rowForm { return rowForm(v >> 46 & 3) }
func siteNanos(v uint64) int64  { return int64(v & (1<<46 - 1)) }

// near reports whether calls that no measurement decides take the near
// distances: a form's types without its twin (a paced call's Q2_K, say),
// and every call under a fixed mode that leaves near and far to the CPU.
func (pc *pacer) near() bool { return pc.prefetch.near() }

// forms is the set of forms a call whose types have twins (formNear,
// formPaced; formFar is every type's) may take under the pacer's modes,
// and the one it starts on.
func (pc *pacer) forms(twins formSet) (set formSet, first rowForm) {
	plain := formSet(1 << formFar)
	if twins.has(formNear) {
		switch pc.prefetch {
		case PrefetchNear:
			plain = 1 << formNear
		case PrefetchAuto:
			plain |= 1 << formNear
		}
	}
	first = formFar
	if plain.has(formNear) && pc.prefetch.near() {
		first = formNear
	}
	if twins.has(formPaced) {
		switch pc.mode {
		case PacingOn:
			return 1 << formPaced, formPaced
		case PacingAuto:
			return plain | 1<<formPaced, first
		}
	}
	return plain, first
}

// class returns key's state, new ones (of the forms set, starting on
// first) starting a round.
func (pc *pacer) class(key paceKey, set formSet, first rowForm) *paceClass {
	if c := pc.find(key); c != nil {
		return c
	}
	pc.classes = append(pc.classes, paceClass{key: key, forms: set, cur: first})
	c := &pc.classes[len(pc.classes)-1]
	pc.startRound(c)
	return c
}

// find returns key's state, nil before its first call.
func (pc *pacer) find(key paceKey) *paceClass {
	for i := range pc.classes {
		if pc.classes[i].key == key {
			return &pc.classes[i]
		}
	}
	return nil
}

// startRound starts a round of c's calls against the form, of those c may
// take and does not run, that has gone longest without a round (the paced
// twin first among equals), so that after a change of form the third one
// comes next rather than the one just beaten.
func (pc *pacer) startRound(c *paceClass) {
	pc.rounds++
	best := numForms
	for _, f := range [...]rowForm{formPaced, formFar, formNear} {
		if c.forms.has(f) && f != c.cur && (best == numForms || c.tried[f] < c.tried[best]) {
			best = f
		}
	}
	c.chal = best
	c.tried[c.chal], c.tried[c.cur] = pc.rounds, pc.rounds
	c.measuring, c.round, c.calls, c.logs = true, pc.rounds, 0, c.logs[:0]
}

// begin says which form a call of kind key, whose types have twins, runs
// from the site whose last call is last (PackedWeights.pace), and whether
// to time it for end.
func (pc *pacer) begin(key paceKey, twins formSet, last uint64) (form rowForm, timed bool) {
	set, first := pc.forms(twins)
	if bits.OnesCount8(uint8(set)) < 2 {
		return first, false
	}
	c := pc.class(key, set, first)
	c.calls++
	if !c.measuring {
		if c.calls < c.hold {
			return c.cur, false
		}
		pc.startRound(c)
		c.calls = 1
	}
	if siteRound(last) == c.round&0xffff && siteNanos(last) > 0 {
		if siteForm(last) == c.cur {
			return c.chal, true
		}
		return c.cur, true
	}
	c.next = !c.next
	if c.next {
		return c.chal, true
	}
	return c.cur, true
}

// end takes a timed call's nanoseconds and returns the site's new word.
func (pc *pacer) end(key paceKey, last uint64, form rowForm, ns int64) uint64 {
	c := pc.find(key)
	if c == nil || !c.measuring {
		return last
	}
	if siteRound(last) == c.round&0xffff && siteForm(last) != form && siteNanos(last) > 0 && ns > 0 {
		r := math.Log(float64(ns) / float64(siteNanos(last)))
		if form == c.cur {
			r = -r // the challenger over the current form
		}
		c.logs = append(c.logs, r)
		c.decide()
	}
	return paceSite(c.round, form, ns)
}

// decide ends c's round once its ratios' sign is clear or it has had
// paceMaxPairs pairs.
func (c *paceClass) decide() {
	n := len(c.logs)
	if n < paceQuickPairs {
		return
	}
	faster := 0 // pairs in which the challenger's call took less time
	for _, r := range c.logs {
		if r < 0 {
			faster++
		}
	}
	quick := (faster == 0 || faster == n) && math.Abs(medianLogs(c.logs)) >= math.Log(paceQuickRatio)
	if !quick {
		if n < paceMinPairs {
			return
		}
		// The sign test's z, (faster − n/2) ÷ √(n/4), in integers first:
		// no multiply-add for arm64's compiler to fuse (make test-arm64).
		z := float64(2*faster-n) / math.Sqrt(float64(n))
		if math.Abs(z) < paceZ && n < paceMaxPairs {
			return
		}
	}
	med := medianLogs(c.logs)
	c.recordTrial(paceTrial{form: c.chal, against: c.cur, ratio: math.Exp(med), pairs: n})
	if med < 0 {
		c.cur, c.kept = c.chal, 0
	} else {
		c.kept++
	}
	c.rounds++
	c.measuring = false
	c.hold, c.calls = c.holdAfter(c.calls), 0
}

// holdAfter is how many calls c runs its form untimed after a round of
// calls: paceHold times the round's calls, counted as a full sign test's
// at least (a quick round must not bring the next one sooner), and
// doubled for each round in a row up to paceBackoff that kept the form:
// on a machine where one form stays the fastest, the rounds, each of
// which runs a slower form for half its calls, grow rare.
func (c *paceClass) holdAfter(calls int) int {
	return paceHold * max(calls, 2*paceMinPairs) << min(c.kept, paceBackoff)
}

// medianLogs is the middle of logs, the mean of the middle two for an
// even count; logs is sorted in place (the sign test needs no order).
func medianLogs(logs []float64) float64 {
	slices.Sort(logs)
	n := len(logs)
	if n%2 == 0 {
		return (logs[n/2-1] + logs[n/2]) / 2
	}
	return logs[n/2]
}

// recordTrial keeps t as its pair of forms' last result.
func (c *paceClass) recordTrial(t paceTrial) {
	for i, old := range c.trials {
		if (old.form == t.form && old.against == t.against) || (old.form == t.against && old.against == t.form) {
			c.trials[i] = t
			return
		}
	}
	c.trials = append(c.trials, t)
}
