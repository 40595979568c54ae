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
	// PacingAuto measures both forms during single-row calls and runs the
	// faster (see pacer).
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
	p.pk.pacer = pacer{mode: m}
	p.mu.Unlock()
}

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
	// Paced reports whether the calls run the paced kernels now.
	Paced bool
	// Ratio is the median over the last measurement's pairs of a call's
	// time paced ÷ its time plain (0: not measured); Pairs is how many
	// pairs that was, Rounds how many measurements the calls have had.
	Ratio         float64
	Pairs, Rounds int
	// Measuring reports whether a measurement is under way (Paced is the
	// previous choice, or plain before the first).
	Measuring bool
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
// single-row call that has a paced form, in a stable order; nil under
// PacingOff and PacingOn, or before any such call.
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
		out = append(out, PaceChoice{Types: types, SizeClass: c.key.size, Paced: c.paced, Ratio: c.ratio, Pairs: c.pairs, Rounds: c.rounds, Measuring: c.measuring})
	}
	slices.SortFunc(out, func(a, b PaceChoice) int {
		if c := slices.Compare(a.Types, b.Types); c != 0 {
			return c
		}
		return a.SizeClass - b.SizeClass
	})
	return out
}

// The pacer's measurement (PacingAuto). A measurement round sends the
// calls of one kind (paceKey: the call's weight types and size) to the
// two forms in turn, call site by call site: each matrix's consecutive
// calls (one decode step apart, so in the same state of the memory and
// the caches) alternate between the forms, and each such pair gives the
// ratio of its times. Matrices of one kind start on different forms, so each step runs
// about half of them each way. The round ends when the sign of the ratios
// is clear (a sign test at paceZ standard deviations, robust to the odd
// call that a preemption or a page fault slows) or after paceMaxPairs
// pairs; the kind then runs the form with the lower median ratio for
// paceHold times as many calls as the round took, and is measured again,
// so the choice follows the machine's state. What is timed is a call's
// dot phase (matMulPacked), the only part the two forms change: a
// variant that moved work out of it would need a wider span.
const (
	paceMinPairs = 16
	paceMaxPairs = 96
	paceZ        = 3.0
	paceHold     = 32
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
	mode    Pacing
	classes []paceClass
	// rounds numbers the measurement rounds across the classes, so a call
	// site's last time (PackedWeights.pace) pairs only within its round.
	rounds uint32
}

// paceClass is one kind of call's state.
type paceClass struct {
	key       paceKey
	paced     bool // the form the calls run between rounds
	measuring bool
	round     uint32 // the current or last round's number (pacer.rounds)
	next      bool   // the form the next site new to the round starts on
	calls     int    // calls in this round, or since it ended
	hold      int    // calls until the next round
	logs      []float64
	// The last round's result, for PacingReport.
	ratio         float64
	pairs, rounds int
}

// paceSite is a call site's last measured call, packed into one word
// (PackedWeights.pace): the round's number in the top 16 bits, the form in
// bit 47 and the call's nanoseconds below.
func paceSite(round uint32, paced bool, ns int64) uint64 {
	v := uint64(round&0xffff)<<48 | uint64(min(max(ns, 1), 1<<47-1))
	if paced {
		v |= 1 << 47
	}
	return v
}

func siteRound(v uint64) uint32 { return uint32(v >> 48) }
func sitePaced(v uint64) bool   { return v&(1<<47) != 0 }
func siteNanos(v uint64) int64  { return int64(v & (1<<47 - 1)) }

// class returns key's state, new ones starting a round.
func (pc *pacer) class(key paceKey) *paceClass {
	for i := range pc.classes {
		if pc.classes[i].key == key {
			return &pc.classes[i]
		}
	}
	pc.classes = append(pc.classes, paceClass{key: key})
	c := &pc.classes[len(pc.classes)-1]
	pc.startRound(c)
	return c
}

func (pc *pacer) startRound(c *paceClass) {
	pc.rounds++
	c.measuring, c.round, c.calls, c.logs = true, pc.rounds, 0, c.logs[:0]
}

// begin says whether a call of kind key from the site whose last call
// is last (PackedWeights.pace) runs the paced form, and whether to time
// it for end.
func (pc *pacer) begin(key paceKey, last uint64) (paced, timed bool) {
	switch pc.mode {
	case PacingOff:
		return false, false
	case PacingOn:
		return true, false
	}
	c := pc.class(key)
	c.calls++
	if !c.measuring {
		if c.calls < c.hold {
			return c.paced, false
		}
		pc.startRound(c)
		c.calls = 1
	}
	if siteRound(last) == c.round&0xffff && siteNanos(last) > 0 {
		return !sitePaced(last), true
	}
	c.next = !c.next
	return c.next, true
}

// end takes a timed call's nanoseconds and returns the site's new word.
func (pc *pacer) end(key paceKey, last uint64, paced bool, ns int64) uint64 {
	c := pc.class(key)
	if !c.measuring {
		return last
	}
	if siteRound(last) == c.round&0xffff && sitePaced(last) != paced && siteNanos(last) > 0 && ns > 0 {
		r := math.Log(float64(ns) / float64(siteNanos(last)))
		if !paced {
			r = -r // paced over plain
		}
		c.logs = append(c.logs, r)
		c.decide()
	}
	return paceSite(c.round, paced, ns)
}

// decide ends c's round once its ratios' sign is clear or it has had
// paceMaxPairs pairs.
func (c *paceClass) decide() {
	n := len(c.logs)
	if n < paceMinPairs {
		return
	}
	faster := 0 // pairs in which the paced call took less time
	for _, r := range c.logs {
		if r < 0 {
			faster++
		}
	}
	// The sign test's z, (faster − n/2) ÷ √(n/4), in integers first: no
	// multiply-add for arm64's compiler to fuse (make test-arm64).
	z := float64(2*faster-n) / math.Sqrt(float64(n))
	if math.Abs(z) < paceZ && n < paceMaxPairs {
		return
	}
	s := c.logs // the round's last use of them: sorted in place
	slices.Sort(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	c.paced = med < 0
	c.ratio, c.pairs = math.Exp(med), n
	c.rounds++
	c.measuring = false
	c.hold, c.calls = paceHold*c.calls, 0
}
