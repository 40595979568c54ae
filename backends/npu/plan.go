package npu

import (
	"fmt"
	"math"
	"time"
)

// DeviceBytes is the memory a rows×cols weight takes on the chip, by the
// rule Upload applies: a matrix becomes int8 plus one float32 scale per
// row; a vector (one row) stays float32.
func DeviceBytes(rows, cols int) int64 {
	if rows == 1 {
		return 4 * int64(cols)
	}
	return int64(rows)*int64(cols) + 4*int64(rows)
}

// ModelShape is what the planner needs to know about a model.
type ModelShape struct {
	NLayer, NEmbd, NFF, NVocab         int
	NHead, NHeadKV, HeadDimK, HeadDimV int
	// VInK: V is the leading part of K (latent attention), cached once.
	VInK bool
	// MatrixParams are the weights multiplied per token (every projection
	// and the lm_head).
	MatrixParams float64
	// WeightBytes is the model's size on the chip (Σ DeviceBytes).
	WeightBytes float64
	// KVFullBytes and KVWindowBytes, when set, are the cache a position
	// takes in the layers that attend to every position and in the
	// sliding-window layers, which hold and read at most Window positions
	// of a sequence (the engine's windowed pool), from the model's own
	// layers (model.KVBytesPerPositionWindowed). Zero: every layer NHeadKV
	// heads of HeadDimK + HeadDimV at Workload.KVBytesPerElem.
	KVFullBytes, KVWindowBytes float64
	Window                     int
}

// kvBytes returns the cache a position takes in the layers that attend to
// every position and in the windowed ones (see KVFullBytes).
func (m ModelShape) kvBytes(perElem float64) (full, windowed float64) {
	if m.KVFullBytes > 0 || m.KVWindowBytes > 0 {
		return m.KVFullBytes, m.KVWindowBytes
	}
	kvDim := m.HeadDimK + m.HeadDimV
	if m.VInK {
		kvDim = m.HeadDimK
	}
	return float64(m.NLayer*m.NHeadKV*kvDim) * perElem, 0
}

// Workload is the traffic to plan for.
type Workload struct {
	QPS                        float64 // requests per second
	PromptTokens, OutputTokens int
	KVBytesPerElem             float64 // 2 for an F16 cache
	BlockSize                  int     // positions per KV block
	// TargetLoad caps each replica's load (0.8: room for bursts).
	TargetLoad float64
}

// Estimate is the plan: how many cards, and the latency they give.
type Estimate struct {
	Profile                   Profile
	CardsPerReplica           int // cards one model copy is split over (tensor parallel)
	Replicas, Cards           int
	WeightBytes, Scratch      float64 // per replica
	KVBytesPerBlock           float64
	KVBlocksPerCard           int
	MaxSeqs                   int     // sequences whose KV fits in one replica
	Batch                     float64 // mean decode batch per replica
	Prefill, Step             time.Duration
	TTFT, TPOT                time.Duration
	Load                      float64 // per replica: demand ÷ capacity
	OutputTokS                float64 // output tokens/s over all cards
	MaxQPSPerReplica          float64
	DecodeBound, PrefillBound string // "memory" or "compute"
}

// Plan estimates the cards needed to serve w with m on chips of profile p,
// with the roofline model the simulator charges. The model:
//   - A replica is one copy of the weights, split over the fewest cards
//     whose memory holds it, its scratch and at least one sequence's KV;
//     split cards are counted as one chip with k× the memory, bandwidth and
//     compute (ideal tensor parallelism: an optimistic bound).
//   - A prefill of P tokens runs at the bucket Pad(P); a decode step of B
//     sequences at Pad(B), reading every weight once and each sequence's KV
//     (P + O/2 positions on average).
//   - Continuous batching: prefills take priority, so decode steps get the
//     remaining fraction 1 − λ·t_prefill of the time; the decode batch B is
//     the fixed point of Little's law B = λ·O·TPOT with TPOT =
//     t_step(B)/(1 − λ·t_prefill).
//   - TTFT = t_prefill + half a decode step + the M/D/1 wait of prefills.
//   - Replicas are added until each replica's load (prefill share, and the
//     decode batch against the KV capacity) is under TargetLoad.
func Plan(p Profile, m ModelShape, w Workload) (Estimate, error) {
	if w.QPS <= 0 || w.PromptTokens <= 0 || w.OutputTokens <= 0 {
		return Estimate{}, fmt.Errorf("plan: qps, prompt and output tokens must be positive")
	}
	if w.KVBytesPerElem <= 0 {
		w.KVBytesPerElem = 2
	}
	if w.BlockSize <= 0 {
		w.BlockSize = 16
	}
	if w.TargetLoad <= 0 || w.TargetLoad > 1 {
		w.TargetLoad = 0.8
	}
	e := Estimate{Profile: p, WeightBytes: m.WeightBytes}
	kvFull, kvWin := m.kvBytes(w.KVBytesPerElem)
	// kvAt is the cache a sequence of n positions holds, and what its next
	// query reads: a windowed layer's window of them at most.
	kvAt := func(n float64) float64 {
		if kvWin > 0 {
			return kvFull*n + kvWin*min(n, float64(m.Window))
		}
		return kvFull * n
	}
	e.KVBytesPerBlock = (kvFull + kvWin) * float64(w.BlockSize)
	seqBlocks := (w.PromptTokens + w.OutputTokens + w.BlockSize - 1) / w.BlockSize
	seqBytes := kvAt(float64(seqBlocks * w.BlockSize))
	pPad := p.Buckets.Pad(w.PromptTokens)
	// The activation arena of a prefill chunk (residual, q/k/v, FFN, logits).
	e.Scratch = 4 * float64(pPad) * float64(6*m.NEmbd+2*m.NFF+m.NVocab)
	for k := 1; ; k++ {
		free := float64(k)*float64(p.Memory) - m.WeightBytes - e.Scratch
		if free >= seqBytes {
			e.CardsPerReplica = k
			e.KVBlocksPerCard = int(free/e.KVBytesPerBlock) / k
			e.MaxSeqs = int(free / seqBytes)
			break
		}
		if k >= 64 {
			return e, fmt.Errorf("plan: %.1f GiB of weights do not fit on 64 %s cards", m.WeightBytes/(1<<30), p.Class)
		}
	}
	rp := p.scaled(e.CardsPerReplica)
	// attn is a query's attention work over ctx positions: windowed layers
	// attend to their window only, in the share of the cache they hold.
	attn := func(ctx float64) float64 {
		return 2 * float64(m.NLayer*m.NHead*(m.HeadDimK+m.HeadDimV)) * kvAt(ctx) / (kvFull + kvWin)
	}
	pf := Cost{Int8Ops: 2 * m.MatrixParams * float64(pPad), FloatOps: attn(float64(w.PromptTokens)/2) * float64(pPad),
		DevBytes: m.WeightBytes + kvAt(float64(w.PromptTokens))}
	tPF := rp.Seconds(pf)
	e.PrefillBound = bound(rp, pf)
	ctx := float64(w.PromptTokens) + float64(w.OutputTokens)/2
	step := func(b float64) (float64, Cost) {
		bp := float64(p.Buckets.Pad(int(math.Ceil(b))))
		c := Cost{Int8Ops: 2 * m.MatrixParams * bp, FloatOps: attn(ctx) * bp, DevBytes: m.WeightBytes + b*kvAt(ctx)}
		return rp.Seconds(c), c
	}
	// eval is a replica's state at arrival rate lam: its decode batch and
	// its load (the larger of the prefill share and the KV occupancy, each
	// against the target).
	eval := func(lam float64) (b, load float64, ok bool) {
		b, ok = decodeBatch(step, lam, 1-lam*tPF, float64(w.OutputTokens), float64(e.MaxSeqs))
		load = max(lam*tPF, b/float64(e.MaxSeqs)) / w.TargetLoad
		return b, load, ok && load <= 1
	}
	lo, hi := 0.0, w.TargetLoad/tPF
	for i := 0; i < 100; i++ { // the load grows with the rate: bisect
		mid := (lo + hi) / 2
		if _, _, ok := eval(mid); ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo <= 0 {
		return e, fmt.Errorf("plan: one replica cannot serve a single request within the target load")
	}
	e.MaxQPSPerReplica = lo
	e.Replicas = int(math.Ceil(w.QPS / lo * (1 - 1e-9)))
	lam := w.QPS / float64(e.Replicas)
	b, load, ok := eval(lam)
	if !ok {
		return e, fmt.Errorf("plan: no feasible split of %.3g qps (replica limit %.3g)", w.QPS, lo)
	}
	ts, c := step(b)
	e.Batch, e.Load = b, load
	e.Cards = e.Replicas * e.CardsPerReplica
	e.Prefill, e.Step = dur(tPF), dur(ts)
	e.TPOT = dur(ts / (1 - lam*tPF))
	rho := lam * tPF
	e.TTFT = dur(tPF + ts/2 + rho*tPF/(2*(1-rho)))
	e.OutputTokS = w.QPS * float64(w.OutputTokens)
	e.DecodeBound = bound(rp, c)
	return e, nil
}

// decodeBatch solves B = λ·O·t_step(B)/share by iteration (t_step grows
// slowly with B, so this converges); false when B exceeds the KV capacity
// or prefills alone saturate the replica.
func decodeBatch(step func(float64) (float64, Cost), lam, share, out, maxSeqs float64) (float64, bool) {
	if share <= 0 {
		return 0, false
	}
	b := 1.0
	for i := 0; i < 200; i++ {
		t, _ := step(b)
		nb := max(1, lam*out*t/share)
		if nb > maxSeqs {
			return nb, false
		}
		if math.Abs(nb-b) < 1e-9*b {
			return nb, true
		}
		b = nb
	}
	return b, true
}

// scaled is p with k cards' memory, bandwidth and compute.
func (p Profile) scaled(k int) Profile {
	f := float64(k)
	p.Memory *= uint64(k)
	p.Bandwidth *= f
	p.Int8OPS *= f
	p.FP8OPS *= f
	p.FloatOPS *= f
	return p
}

func bound(p Profile, c Cost) string {
	if c.DevBytes/p.Bandwidth >= c.Int8Ops/p.Int8OPS+c.FloatOps/p.FloatOPS {
		return "memory"
	}
	return "compute"
}

func dur(s float64) time.Duration { return time.Duration(s * 1e9) }
