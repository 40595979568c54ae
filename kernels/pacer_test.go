package kernels

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// pacedTypes are the weight types with paced stream kernels.
var pacedTypes = []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q5_0, quant.Q4_1, quant.Q5_1, quant.IQ4_NL, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.Q3_K, quant.IQ4_XS}

// TestStreamFormsMatchReference: each form of the single-row stream
// kernels (far, near, paced), on a pool fixed to it, gives packedRef's
// bits in plain calls, residual calls and shared calls mixing types, at
// awkward shapes; the types with paced twins have them on an AVX-512 VNNI
// CPU (those with near twins: TestSingleRowKernelChoice).
func TestStreamFormsMatchReference(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	for _, wt := range pacedTypes {
		if s := packedSetOf(wt, false); s.pacedStreams == nil {
			t.Fatalf("%v: no paced stream kernels", wt)
		}
	}
	for _, wt := range nearTypes { // the loop below walks pacedTypes
		if !slices.Contains(pacedTypes, wt) {
			t.Fatalf("%v has a near twin but is not among pacedTypes", wt)
		}
	}
	far, near, paced := NewPool(2), NewPool(2), NewPool(2)
	pools := []*Pool{far, near, paced}
	forms := []string{"far", "near", "paced"}
	for _, p := range pools {
		defer p.Close()
	}
	far.SetPacing(PacingOff)
	far.SetPrefetch(PrefetchFar)
	near.SetPacing(PacingOff)
	near.SetPrefetch(PrefetchNear)
	paced.SetPacing(PacingOn)
	rng := rand.New(rand.NewPCG(41, 42))
	// Rows: one group per stream and none left, odd group counts, a
	// partial last group, a call long enough for several chunks (not
	// under the race detector, where the reference takes 20 s over it).
	shapes := []struct{ rows, cols int }{{64, 256}, {2053, 256}, {1030, 512}, {272, 2304}, {4096, 768}}
	if raceEnabled {
		shapes = shapes[:3]
	}
	for _, wt := range pacedTypes {
		for _, sh := range shapes {
			if sh.cols%packedQK(wt) != 0 {
				continue
			}
			name := fmt.Sprintf("%v/%dx%d", wt, sh.rows, sh.cols)
			w := randWeights(rng, wt, sh.rows, sh.cols, true)
			x := randFloats(rng, sh.cols, 1)
			pw, err := PackWeights(far, wt, w, sh.rows, sh.cols)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, sh.rows)
			packedRef(wt, w, sh.rows, sh.cols, x, 1, want)
			res0 := randFloats(rng, sh.rows, 1)
			for f, p := range pools {
				got := guardedOutput(sh.rows)
				MatMulPacked(p, got, pw, x, 1)
				checkOutput(t, name+"/"+forms[f], got, want, "reference")
				res := append([]float32(nil), res0...)
				got = guardedOutput(sh.rows)
				MatMulPackedResidual(p, res, got, pw, x, 1)
				checkOutput(t, name+"/residual/"+forms[f], got, want, "reference")
				for i, v := range want {
					if e := res0[i] + v; math.Float32bits(res[i]) != math.Float32bits(e) {
						t.Fatalf("%s/%s: residual[%d] = %g, want %g", name, forms[f], i, res[i], e)
					}
				}
			}
		}
	}
	// A shared call of Q4_K and Q6_K (a layer's q/k/v with a Q6_K v), and
	// of Q4_K with Q2_K, which has no paced or near form.
	for _, second := range []quant.Type{quant.Q6_K, quant.Q2_K} {
		const cols = 512
		types := []quant.Type{quant.Q4_K, quant.Q4_K, second}
		rows := []int{512, 128, 128 + 21}
		var pws []*PackedWeights
		var ws [][]byte
		for m := range types {
			w := randWeights(rng, types[m], rows[m], cols, true)
			pw, err := PackWeights(far, types[m], w, rows[m], cols)
			if err != nil {
				t.Fatal(err)
			}
			pws, ws = append(pws, pw), append(ws, w)
		}
		x := randFloats(rng, cols, 1)
		for f, p := range pools {
			var ys [][]float32
			for _, r := range rows {
				ys = append(ys, guardedOutput(r))
			}
			MatMulPackedShared(p, ys, pws, x, 1)
			for m := range pws {
				want := make([]float32, rows[m])
				packedRef(types[m], ws[m], rows[m], cols, x, 1, want)
				checkOutput(t, fmt.Sprintf("Q4_K+%v/matrix %d/%s", second, m, forms[f]), ys[m], want, "reference")
			}
		}
	}
}

// TestPacingAutoKeepsBits: under PacingAuto a run of single-row calls,
// which the pacer sends to both forms in turn, keeps the reference's bits
// on every call, and the pool reports the kinds of call it measured.
func TestPacingAutoKeepsBits(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(43, 44))
	const rows, cols = 1024, 512
	var pws []*PackedWeights
	var ws [][]byte
	for range 3 {
		w := randWeights(rng, quant.Q4_0, rows, cols, true)
		pw, err := PackWeights(p, quant.Q4_0, w, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		pws, ws = append(pws, pw), append(ws, w)
	}
	x := randFloats(rng, cols, 1)
	want := make([][]float32, len(ws))
	for m, w := range ws {
		want[m] = make([]float32, rows)
		packedRef(quant.Q4_0, w, rows, cols, x, 1, want[m])
	}
	// 3 sites × 40 calls: at least 57 pairs, past paceMinPairs (a round may
	// end sooner, after paceQuickPairs, where the forms are far apart).
	for call := range 40 {
		for m, pw := range pws {
			got := guardedOutput(rows)
			MatMulPacked(p, got, pw, x, 1)
			checkOutput(t, fmt.Sprintf("call %d matrix %d", call, m), got, want[m], "reference")
		}
	}
	rep := p.PacingReport()
	if len(rep) != 1 || len(rep[0].Types) != 1 || rep[0].Types[0] != quant.Q4_0 {
		t.Fatalf("PacingReport = %+v, want one Q4_0 entry", rep)
	}
	if c := rep[0]; !c.Measuring && (c.Rounds < 1 || len(c.Trials) < 1 || c.Trials[0].Pairs < paceQuickPairs || c.Trials[0].Ratio <= 0) {
		t.Fatalf("PacingReport = %+v: decided without a measurement", rep)
	}
	t.Logf("%+v", rep)
}

// simulatePacer runs calls of one kind, whose types have twins, from
// len(words) call sites in turn (site i's call taking base[i] ns in the
// far form, factor[f] times that in form f, with noise and the odd call
// slowed tenfold).
func simulatePacer(pc *pacer, key paceKey, twins formSet, words []uint64, rng *rand.Rand, calls int, factor [numForms]float64) {
	for c := range calls {
		i := c % len(words)
		f, timed := pc.begin(key, twins, words[i])
		if !timed {
			continue
		}
		ns := float64(100000*(i+1)) * factor[f]
		ns *= 1 + 0.03*rng.NormFloat64()
		if rng.IntN(20) == 0 {
			ns *= 10
		}
		words[i] = pc.end(key, words[i], f, int64(ns))
	}
}

// pacedOnly is the twins of a type with a paced form and no near one.
const pacedOnly = formSet(1 << formPaced)

// TestPacerChoosesFaster: between the plain and the paced form the pacer
// settles on the faster (paced 4 % faster, or 4 % slower) despite noise
// and outliers, holds it, measures again after the hold and follows a
// change; the fixed modes time nothing and keep no state.
func TestPacerChoosesFaster(t *testing.T) {
	key := paceKey{types: [2]quant.Type{quant.Q4_0, quant.Q4_0}}
	for _, tc := range []struct {
		factor float64
		paced  bool
	}{{0.96, true}, {1.04, false}, {0.90, true}, {1.25, false}} {
		rng := rand.New(rand.NewPCG(45, uint64(tc.factor*1000)))
		var pc pacer
		words := make([]uint64, 8)
		simulatePacer(&pc, key, pacedOnly, words, rng, 400, [numForms]float64{1, 1, tc.factor})
		c := pc.find(key)
		if c.rounds != 1 || c.measuring || (c.cur == formPaced) != tc.paced {
			t.Fatalf("factor %g: rounds %d, measuring %v, form %v; want one round, paced %v", tc.factor, c.rounds, c.measuring, c.cur, tc.paced)
		}
		if len(c.trials) != 1 || c.trials[0].form != formPaced || c.trials[0].against != formFar || math.Abs(c.trials[0].ratio/tc.factor-1) > 0.03 {
			t.Fatalf("factor %g: trials %+v", tc.factor, c.trials)
		}
		// The hold: the choice stands, untimed, until it ends.
		for range c.hold - c.calls - 1 {
			if f, timed := pc.begin(key, pacedOnly, words[0]); timed || f != c.cur {
				t.Fatalf("factor %g: during the hold: form %v, timed %v", tc.factor, f, timed)
			}
		}
		// The machine changes: the next round finds the other form faster.
		simulatePacer(&pc, key, pacedOnly, words, rng, 400, [numForms]float64{1, 1, 1 / tc.factor})
		if c := pc.find(key); c.rounds != 2 || (c.cur == formPaced) == tc.paced || len(c.trials) != 1 {
			t.Fatalf("factor %g then %g: rounds %d, form %v, trials %+v", tc.factor, 1/tc.factor, c.rounds, c.cur, c.trials)
		}
	}
	both := formSet(1<<formNear | 1<<formPaced)
	for _, tc := range []struct {
		mode     Pacing
		prefetch Prefetch
		twins    formSet
		want     rowForm
	}{
		{PacingOff, PrefetchAuto, pacedOnly, formFar},
		{PacingOn, PrefetchAuto, pacedOnly, formPaced},
		{PacingOn, PrefetchAuto, both, formPaced},
		{PacingOff, PrefetchNear, both, formNear},
		{PacingOff, PrefetchFar, both, formFar},
		{PacingAuto, PrefetchAuto, 0, formFar},
		{PacingAuto, PrefetchNear, 1 << formNear, formNear},
	} {
		pc := pacer{mode: tc.mode, prefetch: tc.prefetch}
		if f, timed := pc.begin(key, tc.twins, 0); timed || f != tc.want {
			t.Fatalf("%v/%v, twins %b: form %v, timed %v; want %v untimed", tc.mode, tc.prefetch, tc.twins, f, timed, tc.want)
		}
		if len(pc.classes) != 0 {
			t.Fatalf("%v/%v, twins %b: keeps state", tc.mode, tc.prefetch, tc.twins)
		}
	}
}

// TestPacerForms: the forms each pair of modes leaves a call, by the
// twins its types have, and the one it starts on.
func TestPacerForms(t *testing.T) {
	start := formFar
	if nearPrefetchCPU {
		start = formNear
	}
	const far, near, paced = formSet(1 << formFar), formSet(1 << formNear), formSet(1 << formPaced)
	for _, tc := range []struct {
		mode     Pacing
		prefetch Prefetch
		twins    formSet
		set      formSet
		first    rowForm
	}{
		{PacingAuto, PrefetchAuto, near | paced, far | near | paced, start},
		{PacingAuto, PrefetchAuto, paced, far | paced, formFar},
		{PacingAuto, PrefetchAuto, near, far | near, start},
		{PacingAuto, PrefetchNear, near | paced, near | paced, formNear},
		{PacingAuto, PrefetchFar, near | paced, far | paced, formFar},
		{PacingOff, PrefetchAuto, near | paced, far | near, start},
		{PacingOff, PrefetchNear, paced, far, formFar},
		{PacingOn, PrefetchAuto, near | paced, paced, formPaced},
		{PacingOn, PrefetchNear, near, near, formNear},
	} {
		pc := pacer{mode: tc.mode, prefetch: tc.prefetch}
		if set, first := pc.forms(tc.twins); set != tc.set || first != tc.first {
			t.Errorf("%v/%v, twins %03b: forms %03b from %v, want %03b from %v", tc.mode, tc.prefetch, tc.twins, set, first, tc.set, tc.first)
		}
	}
}

// TestPacerThreeForms: with both twins open the pacer sets each against
// the form it runs, round after round, and settles on the fastest of the
// three wherever it starts; each pair's last result is kept once.
func TestPacerThreeForms(t *testing.T) {
	key := paceKey{types: [2]quant.Type{quant.Q4_K, quant.Q4_K}, size: 5}
	both := formSet(1<<formNear | 1<<formPaced)
	for _, factor := range [][numForms]float64{{1, 0.95, 0.97}, {1, 1.05, 1.03}, {1, 1.04, 0.96}, {1.06, 1, 1.1}, {1, 1.02, 1.1}, {1.02, 1, 1.1}} {
		fastest := formFar
		for f := range numForms {
			if factor[f] < factor[fastest] {
				fastest = f
			}
		}
		for _, pf := range []Prefetch{PrefetchAuto, PrefetchFar} {
			set, _ := (&pacer{prefetch: pf}).forms(both)
			rng := rand.New(rand.NewPCG(53, uint64(factor[1]*1000)))
			pc := pacer{prefetch: pf}
			words := make([]uint64, 6)
			// Long enough for three rounds and the holds between them.
			simulatePacer(&pc, key, both, words, rng, 20000, factor)
			c := pc.find(key)
			want := fastest
			if !set.has(want) {
				want = formFar
				if factor[formPaced] < factor[formFar] {
					want = formPaced
				}
			}
			if c.rounds < 3 || c.cur != want {
				t.Fatalf("factors %v, prefetch %v: rounds %d, form %v; want %v", factor, pf, c.rounds, c.cur, want)
			}
			if n := bits.OnesCount8(uint8(set)); len(c.trials) < n-1 {
				t.Fatalf("factors %v, prefetch %v: %d forms open, trials %+v", factor, pf, n, c.trials)
			}
			seen := map[[2]rowForm]bool{}
			for _, tr := range c.trials {
				k := [2]rowForm{min(tr.form, tr.against), max(tr.form, tr.against)}
				if seen[k] || !set.has(tr.form) || !set.has(tr.against) || tr.form == tr.against {
					t.Fatalf("factors %v, prefetch %v: trials %+v", factor, pf, c.trials)
				}
				seen[k] = true
				// A round's pairs share calls (a site's call k pairs with
				// k-1 and k+1), so 16-30 pairs at 3 % noise a call give
				// the median to about 1.8 % (one standard error); this
				// checks some forty trials, at 6 %.
				if r := factor[tr.form] / factor[tr.against]; math.Abs(tr.ratio/r-1) > 0.06 {
					t.Fatalf("factors %v: %v/%v measured %g, want %g", factor, tr.form, tr.against, tr.ratio, r)
				}
			}
		}
	}
}

// TestPacerQuickDecision: a form far behind (or ahead) is decided on in
// paceQuickPairs agreeing pairs; a gap under paceQuickRatio takes the sign
// test's paceMinPairs at least.
func TestPacerQuickDecision(t *testing.T) {
	key := paceKey{types: [2]quant.Type{quant.Q6_K, quant.Q6_K}, size: 8}
	for _, tc := range []struct {
		factor float64
		quick  bool
	}{{1.6, true}, {0.6, true}, {1.08, false}, {0.92, false}} {
		var pc pacer
		words := make([]uint64, 1) // one site, as the output matrix: a pair a call from the second on
		rng := rand.New(rand.NewPCG(55, uint64(tc.factor*1000)))
		calls := 0
		for pc.find(key) == nil || pc.find(key).rounds == 0 {
			simulatePacer(&pc, key, pacedOnly, words, rng, 1, [numForms]float64{1, 1, tc.factor})
			if calls++; calls > 4*paceMaxPairs {
				t.Fatalf("factor %g: no decision in %d calls", tc.factor, calls)
			}
		}
		c := pc.find(key)
		pairs := c.trials[0].pairs
		if tc.quick && pairs >= paceMinPairs || !tc.quick && pairs < paceMinPairs {
			t.Errorf("factor %g: decided after %d pairs (quick %v)", tc.factor, pairs, tc.quick)
		}
		if (c.cur == formPaced) != (tc.factor < 1) {
			t.Errorf("factor %g: runs %v", tc.factor, c.cur)
		}
	}
}

// TestPacerHoldBackoff: rounds that keep the form lengthen the hold,
// doubling up to paceBackoff times; a quick round holds as long as a full
// one; a change of form starts over.
func TestPacerHoldBackoff(t *testing.T) {
	key := paceKey{types: [2]quant.Type{quant.Q4_0, quant.Q4_0}, size: 3}
	var pc pacer
	words := make([]uint64, 4)
	rng := rand.New(rand.NewPCG(57, 58))
	factor := [numForms]float64{1, 1, 1.4} // paced far behind: quick rounds
	var holds []int
	for len(holds) < paceBackoff+2 {
		simulatePacer(&pc, key, pacedOnly, words, rng, 1, factor)
		c := pc.find(key)
		if c.rounds > len(holds) {
			holds = append(holds, c.hold)
		}
	}
	base := paceHold * 2 * paceMinPairs
	for i, h := range holds {
		if want := base << min(i+1, paceBackoff); h != want {
			t.Fatalf("holds %v: round %d held %d, want %d", holds, i+1, h, want)
		}
	}
	factor[formPaced] = 0.7 // the machine changes: paced wins, the hold starts over
	for c := pc.find(key); c.cur != formPaced; c = pc.find(key) {
		simulatePacer(&pc, key, pacedOnly, words, rng, 1, factor)
	}
	if c := pc.find(key); c.kept != 0 || c.hold != base {
		t.Fatalf("after the change: kept %d, hold %d; want 0, %d", c.kept, c.hold, base)
	}
}

// TestPacerLevelFormsEndRound: with the two forms level the round still
// ends, after paceMaxPairs pairs.
func TestPacerLevelFormsEndRound(t *testing.T) {
	key := paceKey{types: [2]quant.Type{quant.Q4_K, quant.Q6_K}}
	var pc pacer
	words := make([]uint64, 4)
	rng := rand.New(rand.NewPCG(47, 48))
	simulatePacer(&pc, key, pacedOnly, words, rng, 2*paceMaxPairs+len(words), [numForms]float64{1, 1, 1})
	c := pc.find(key)
	if c.rounds != 1 || len(c.trials) != 1 || c.trials[0].pairs != paceMaxPairs || math.Abs(c.trials[0].ratio-1) > 0.02 {
		t.Fatalf("rounds %d, trials %+v; want one round of %d pairs near 1", c.rounds, c.trials, paceMaxPairs)
	}
}

// TestPaceSiteWord: a site's word keeps its round, form and nanoseconds
// apart, the nanoseconds clamped to what the word holds.
func TestPaceSiteWord(t *testing.T) {
	for _, tc := range []struct {
		round uint32
		form  rowForm
		ns    int64
	}{{1, formFar, 12345}, {0xffff, formPaced, 1<<46 - 1}, {0x10002, formNear, 7}} {
		v := paceSite(tc.round, tc.form, tc.ns)
		if siteRound(v) != tc.round&0xffff || siteForm(v) != tc.form || siteNanos(v) != tc.ns {
			t.Errorf("%+v: round %d form %v ns %d", tc, siteRound(v), siteForm(v), siteNanos(v))
		}
	}
	if v := paceSite(3, formNear, 1<<50); siteNanos(v) != 1<<46-1 || siteForm(v) != formNear || siteRound(v) != 3 {
		t.Errorf("clamping: round %d form %v ns %d", siteRound(v), siteForm(v), siteNanos(v))
	}
	if v := paceSite(3, formNear, 0); siteNanos(v) != 1 {
		t.Errorf("zero: ns %d, want 1", siteNanos(v))
	}
}

func TestParsePacing(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Pacing
		ok   bool
	}{{"", PacingAuto, true}, {"auto", PacingAuto, true}, {"off", PacingOff, true}, {"on", PacingOn, true}, {"fast", PacingAuto, false}} {
		got, err := ParsePacing(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParsePacing(%q) = %v, %v", tc.in, got, err)
		}
		if tc.ok && tc.in != "" && got.String() != tc.in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
		var m Pacing
		if err := m.UnmarshalText([]byte(tc.in)); (err == nil) != tc.ok || m != tc.want {
			t.Errorf("UnmarshalText(%q) = %v, %v", tc.in, m, err)
		}
		if b, _ := tc.want.MarshalText(); tc.ok && tc.in != "" && string(b) != tc.in {
			t.Errorf("%v.MarshalText() = %q", tc.want, b)
		}
	}
}

func TestPaceSizeClass(t *testing.T) {
	for _, tc := range []struct {
		bytes int
		class int
		label string
	}{{0, 0, "<1 MiB"}, {1<<20 - 1, 0, "<1 MiB"}, {1 << 20, 1, "1-2 MiB"}, {3 << 20, 2, "2-4 MiB"}, {18874368, 5, "16-32 MiB"}, {215 << 20, 8, "128-256 MiB"}} {
		c := paceSizeClass(tc.bytes)
		if c != tc.class || SizeClassLabel(c) != tc.label {
			t.Errorf("%d bytes: class %d (%s), want %d (%s)", tc.bytes, c, SizeClassLabel(c), tc.class, tc.label)
		}
	}
}
