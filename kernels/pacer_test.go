package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// pacedTypes are the weight types with paced stream kernels.
var pacedTypes = []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q5_0, quant.Q4_1, quant.Q5_1, quant.IQ4_NL, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.Q3_K, quant.IQ4_XS}

// TestPacedKernelsMatchPlain: the paced single-row stream kernels give the
// plain ones' bits (and packedRef's), plain calls, residual calls and a
// shared call mixing types, at awkward shapes; the types that have them
// do, on an AVX-512 VNNI CPU.
func TestPacedKernelsMatchPlain(t *testing.T) {
	if !CanPack(quant.Q4_0) {
		t.Skip("no packed kernels on this CPU")
	}
	for _, wt := range pacedTypes {
		if s := packedSetOf(wt, false); s.pacedStreams == nil {
			t.Fatalf("%v: no paced stream kernels", wt)
		}
	}
	plain, paced := NewPool(2), NewPool(2)
	defer plain.Close()
	defer paced.Close()
	plain.SetPacing(PacingOff)
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
			pw, err := PackWeights(plain, wt, w, sh.rows, sh.cols)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, sh.rows)
			packedRef(wt, w, sh.rows, sh.cols, x, 1, want)
			res0 := randFloats(rng, sh.rows, 1)
			for _, p := range []*Pool{plain, paced} {
				got := guardedOutput(sh.rows)
				MatMulPacked(p, got, pw, x, 1)
				checkOutput(t, name+"/"+p.pk.pacer.mode.String(), got, want, "reference")
				res := append([]float32(nil), res0...)
				got = guardedOutput(sh.rows)
				MatMulPackedResidual(p, res, got, pw, x, 1)
				checkOutput(t, name+"/residual/"+p.pk.pacer.mode.String(), got, want, "reference")
				for i, v := range want {
					if e := res0[i] + v; math.Float32bits(res[i]) != math.Float32bits(e) {
						t.Fatalf("%s/%v: residual[%d] = %g, want %g", name, p.pk.pacer.mode, i, res[i], e)
					}
				}
			}
		}
	}
	// A shared call of Q4_K and Q6_K (a layer's q/k/v with a Q6_K v), and
	// of Q4_K with Q2_K, which has no paced form.
	for _, second := range []quant.Type{quant.Q6_K, quant.Q2_K} {
		const cols = 512
		types := []quant.Type{quant.Q4_K, quant.Q4_K, second}
		rows := []int{512, 128, 128 + 21}
		var pws []*PackedWeights
		var ws [][]byte
		for m := range types {
			w := randWeights(rng, types[m], rows[m], cols, true)
			pw, err := PackWeights(plain, types[m], w, rows[m], cols)
			if err != nil {
				t.Fatal(err)
			}
			pws, ws = append(pws, pw), append(ws, w)
		}
		x := randFloats(rng, cols, 1)
		for _, p := range []*Pool{plain, paced} {
			var ys [][]float32
			for _, r := range rows {
				ys = append(ys, guardedOutput(r))
			}
			MatMulPackedShared(p, ys, pws, x, 1)
			for m := range pws {
				want := make([]float32, rows[m])
				packedRef(types[m], ws[m], rows[m], cols, x, 1, want)
				checkOutput(t, fmt.Sprintf("Q4_K+%v/matrix %d/%v", second, m, p.pk.pacer.mode), ys[m], want, "reference")
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
	// 3 sites × 40 calls: at least 57 pairs, past paceMinPairs.
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
	if c := rep[0]; !c.Measuring && (c.Rounds < 1 || c.Pairs < paceMinPairs || c.Ratio <= 0) {
		t.Fatalf("PacingReport = %+v: decided without a measurement", rep)
	}
	t.Logf("%+v", rep)
}

// simulatePacer runs calls of one kind from sites call sites in turn
// (site i's call taking base[i] ns plain, factor times that paced, with
// noise and the odd call slowed tenfold) and returns what the pacer
// runs after them.
func simulatePacer(pc *pacer, key paceKey, words []uint64, rng *rand.Rand, calls int, factor float64) {
	for c := range calls {
		i := c % len(words)
		paced, timed := pc.begin(key, words[i])
		if !timed {
			continue
		}
		ns := float64(100000 * (i + 1))
		if paced {
			ns *= factor
		}
		ns *= 1 + 0.03*rng.NormFloat64()
		if rng.IntN(20) == 0 {
			ns *= 10
		}
		words[i] = pc.end(key, words[i], paced, int64(ns))
	}
}

// TestPacerChoosesFaster: the pacer settles on the faster form (paced 4 %
// faster, or 4 % slower) despite noise and outliers, holds it, measures
// again after the hold and follows a change; the fixed modes time nothing.
func TestPacerChoosesFaster(t *testing.T) {
	key := paceKey{types: [2]quant.Type{quant.Q4_0, quant.Q4_0}}
	for _, tc := range []struct {
		factor float64
		paced  bool
	}{{0.96, true}, {1.04, false}, {0.90, true}, {1.25, false}} {
		rng := rand.New(rand.NewPCG(45, uint64(tc.factor*1000)))
		var pc pacer
		words := make([]uint64, 8)
		simulatePacer(&pc, key, words, rng, 400, tc.factor)
		c := pc.class(key)
		if c.rounds != 1 || c.measuring || c.paced != tc.paced {
			t.Fatalf("factor %g: rounds %d, measuring %v, paced %v; want one round, paced %v", tc.factor, c.rounds, c.measuring, c.paced, tc.paced)
		}
		if math.Abs(c.ratio/tc.factor-1) > 0.03 {
			t.Fatalf("factor %g: measured ratio %g", tc.factor, c.ratio)
		}
		// The hold: the choice stands, untimed, until it ends.
		for range c.hold - c.calls - 1 {
			if paced, timed := pc.begin(key, words[0]); timed || paced != tc.paced {
				t.Fatalf("factor %g: during the hold: paced %v, timed %v", tc.factor, paced, timed)
			}
		}
		// The machine changes: the next round finds the other form faster.
		simulatePacer(&pc, key, words, rng, 400, 1/tc.factor)
		if c := pc.class(key); c.rounds != 2 || c.paced == tc.paced {
			t.Fatalf("factor %g then %g: rounds %d, paced %v", tc.factor, 1/tc.factor, c.rounds, c.paced)
		}
	}
	for _, m := range []Pacing{PacingOff, PacingOn} {
		pc := pacer{mode: m}
		if paced, timed := pc.begin(key, 0); timed || paced != (m == PacingOn) {
			t.Fatalf("%v: paced %v, timed %v", m, paced, timed)
		}
		if len(pc.classes) != 0 {
			t.Fatalf("%v: keeps state", m)
		}
	}
}

// TestPacerLevelFormsEndRound: with the two forms level the round still
// ends, after paceMaxPairs pairs.
func TestPacerLevelFormsEndRound(t *testing.T) {
	key := paceKey{types: [2]quant.Type{quant.Q4_K, quant.Q6_K}}
	var pc pacer
	words := make([]uint64, 4)
	rng := rand.New(rand.NewPCG(47, 48))
	simulatePacer(&pc, key, words, rng, 2*paceMaxPairs+len(words), 1)
	c := pc.class(key)
	if c.rounds != 1 || c.pairs != paceMaxPairs || math.Abs(c.ratio-1) > 0.02 {
		t.Fatalf("rounds %d, pairs %d, ratio %g; want one round of %d pairs near 1", c.rounds, c.pairs, c.ratio, paceMaxPairs)
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
