package quant

import "math"

// Scale-search helpers of ggml's K-quant quantizers (ggml-quants.c:
// nearest_int, make_qx_quants, make_q3_quants, make_qkx2_quants and
// make_qkx3_quants; make_qp_quants is in importance.go), restricted to the
// variants the reference and importance-matrix quantizers call. Every
// float operation is float32 in ggml's order; float32(a*b) stops the
// compiler fusing a product into a following add.

// groupMaxEps is ggml's GROUP_MAX_EPS: groups with a smaller |max| are zero.
const groupMaxEps = 1e-15

// nearestInt rounds half to even by ggml's magic-number trick: adding
// 1.5·2^23 leaves the rounded integer in the low mantissa bits. It is exact
// for |f| < 2^22; larger inputs give the same (meaningless) value as ggml.
func nearestInt(f float32) int32 {
	v := float32(f) + 12582912 // f is often a product: not fused into the add
	i := int32(math.Float32bits(v))
	return i&0x007fffff - 0x00400000
}

func clampInt(v, lo, hi int32) int32 { return max(lo, min(hi, v)) }

// makeQxQuants is make_qx_quants with rmse_type 1: it picks the scale among
// 19 candidates around -nmax/max that minimises the weighted error, writes
// the quants offset by nmax into L (0..2·nmax-1) and returns the scale. The
// weights are qw, or x² where qw is nil (quantize_row_q6_K_ref's call).
// With a Quantizer that has a QxFit, the 19 trial scales are fitted at once
// by it (qxSearch), with the same result.
func makeQxQuants(nmax int32, x []float32, L []int8, qw []float32, q *Quantizer) float32 {
	n := len(x)
	maxv, amax := absMaxSigned(x)
	if amax < groupMaxEps {
		for i := range n {
			L[i] = 0
		}
		return 0
	}
	if q != nil && q.QxFit != nil && n <= len(q.qx.X) {
		return q.qxSearch(nmax, x, L, qw, maxv)
	}
	fnmax := float32(nmax)
	iscale := -fnmax / maxv
	var sumlx, suml2 float32
	for i := range n {
		l := clampInt(nearestInt(iscale*x[i]), -nmax, nmax-1)
		L[i] = int8(l + nmax)
		w := weightOr(qw, x, i)
		fl := float32(l)
		sumlx += float32(float32(w*x[i]) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := int32(-9); is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fnmax + float32(0.1*float32(is))) / maxv
		sumlx, suml2 = 0, 0
		for i := range n {
			l := clampInt(nearestInt(iscale*x[i]), -nmax, nmax-1)
			w := weightOr(qw, x, i)
			fl := float32(l)
			sumlx += float32(float32(w*x[i]) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i := range n {
				l := clampInt(nearestInt(iscale*x[i]), -nmax, nmax-1)
				L[i] = int8(nmax + l)
			}
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// QxTrials is how many trial scales make_qx_quants fits: −(nmax + 0.1·is)
// / max for is in −9..9, is = 0 being its first fit.
const QxTrials = 19

// QxGroup is make_qx_quants's (rmse_type 1) search over one group of up
// to 32 values for a faster fit (kernels.VecOps.QxFit): for each trial
// IScale[t], Fit's sums of the codes l = clamp(nearest(IScale[t]·x),
// −NMax, NMax−1).
type QxGroup struct {
	X, W         [32]float32 // the values and their weights (N of them)
	N            int
	NMax         int32
	IScale       [32]float32 // the trials' multipliers (QxTrials of them; the rest 0)
	SumLX, SumL2 [32]float32 // each trial's Σ w·x·l and Σ w·l²
}

// Fit sets SumLX and SumL2 for each trial as makeQxQuants's loops do:
// each product rounded to float32, (w·x)·l and (w·l)·l, elements in order.
func (g *QxGroup) Fit() {
	for t, iscale := range g.IScale {
		var sumlx, suml2 float32
		for i, x := range g.X[:g.N] {
			l := clampInt(nearestInt(iscale*x), -g.NMax, g.NMax-1)
			w := g.W[i]
			fl := float32(l)
			sumlx += float32(float32(w*x) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
		g.SumLX[t], g.SumL2[t] = sumlx, suml2
	}
}

// qxSearch is makeQxQuants's search with q's QxFit: every trial fitted at
// once, then ggml's choice among them in its order, and the winner's codes.
func (q *Quantizer) qxSearch(nmax int32, x []float32, L []int8, qw []float32, maxv float32) float32 {
	g := &q.qx
	n := len(x)
	g.N, g.NMax = n, nmax
	copy(g.X[:], x)
	for i := range n {
		g.W[i] = weightOr(qw, x, i)
	}
	fnmax := float32(nmax)
	const first = 9 // is = 0: -(fnmax + 0)/maxv, the first fit's -fnmax/maxv
	for is := int32(-9); is <= 9; is++ {
		g.IScale[is+first] = -(fnmax + float32(0.1*float32(is))) / maxv
	}
	q.QxFit(g)
	var scale float32
	if g.SumL2[first] != 0 {
		scale = g.SumLX[first] / g.SumL2[first]
	}
	best := scale * g.SumLX[first]
	win := first
	for t := range QxTrials {
		sumlx, suml2 := g.SumLX[t], g.SumL2[t]
		if t != first && suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			win = t
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	iscale := g.IScale[win]
	for i := range n {
		L[i] = int8(nmax + clampInt(nearestInt(iscale*x[i]), -nmax, nmax-1))
	}
	return scale
}

// makeQ3Quants is make_q3_quants with do_rmse: start from -nmax/max, then up
// to five passes of per-element coordinate descent on the x²-weighted error.
// L receives the quants offset by nmax; the scale is returned.
func makeQ3Quants(nmax int32, x []float32, L []int8) float32 {
	n := len(x)
	maxv, amax := absMaxSigned(x)
	if amax < groupMaxEps {
		for i := range n {
			L[i] = 0
		}
		return 0
	}
	iscale := -float32(nmax) / maxv
	var sumlx, suml2 float32
	for i := range n {
		l := clampInt(nearestInt(iscale*x[i]), -nmax, nmax-1)
		L[i] = int8(l)
		w := float32(x[i] * x[i])
		fl := float32(l)
		sumlx += float32(float32(w*x[i]) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i := range n {
			w := float32(x[i] * x[i])
			li := float32(L[i])
			slx := sumlx - float32(float32(w*x[i])*li)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*li)*li)
				newL := clampInt(nearestInt(float32(x[i]*sl2)/slx), -nmax, nmax-1)
				if newL != int32(L[i]) {
					fn := float32(newL)
					slx += float32(float32(w*x[i]) * fn)
					sl2 += float32(float32(w*fn) * fn)
					if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i] = int8(newL)
						sumlx, suml2 = slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := range n {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// Qkx2Params are the search parameters of make_qkx2_quants.
type Qkx2Params struct {
	NMax   int32   // the codes run 0..NMax
	RMin   float32 // trial is's inverse scale is (RMin + RDelta·is + NMax)/(max − min)
	RDelta float32
	NStep  int  // trials 0..NStep after the first fit; none where NStep < 1
	UseMad bool // weighted absolute error instead of squared
	// Guard takes make_qkx3_quants's form of the trial quants: a value at
	// or below the min is 0 and one past NMax is clamped before rounding,
	// so a fitted min near the maximum cannot overflow nearestInt. For
	// every finite input the quants are make_qkx2_quants's.
	Guard bool
}

// Trials is how many trial scales the search tries after its first fit.
func (p Qkx2Params) Trials() int {
	if p.NStep < 1 {
		return 0
	}
	return p.NStep + 1
}

// Numer is trial is's numerator RMin + RDelta·is + NMax, rounded as
// make_qkx2_quants rounds it.
func (p Qkx2Params) Numer(is int) float32 {
	return p.RMin + float32(p.RDelta*float32(is)) + float32(p.NMax)
}

// makeQkx2Quants is make_qkx2_quants (and, with p.Guard, the search of
// make_qkx3_quants, which the importance-matrix quantizers call): fit
// x ≈ scale·L - min with L in 0..nmax and min ≥ 0, trying nstep+1 scales
// by least squares on the weighted points. It writes L and returns
// (scale, min).
func makeQkx2Quants(p Qkx2Params, x, weights []float32, L, Laux []uint8) (scale, theMin float32) {
	n := len(x)
	lo, hi := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < lo {
			lo = x[i]
		}
		if x[i] > hi {
			hi = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi <= lo { // ggml: == in qkx2, <= in qkx3; the same after lo ≤ 0 unless NaN, where both are false
		clear(L[:n])
		return 0, -lo
	}
	fnmax := float32(p.NMax)
	iscale := fnmax / (hi - lo)
	scale = 1 / iscale
	var bestErr float32
	for i := range n {
		l := clampInt(nearestInt(iscale*(x[i]-lo)), 0, p.NMax)
		L[i] = uint8(l)
		diff := float32(float32(scale*float32(l))+lo) - x[i]
		bestErr += float32(weights[i] * errTerm(diff, p.UseMad))
	}
	for is := range p.Trials() {
		iscale = p.Numer(is) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i := range n {
			var l int32
			if p.Guard {
				if v := iscale * (x[i] - lo); v > 0 {
					l = nearestInt(min(v, fnmax))
				}
			} else {
				l = clampInt(nearestInt(iscale*(x[i]-lo)), 0, p.NMax)
			}
			Laux[i] = uint8(l)
			w := weights[i]
			fl := float32(l)
			wl := float32(w * fl)
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curErr float32
			for i := range n {
				diff := float32(float32(thisScale*float32(Laux[i]))+thisMin) - x[i]
				curErr += float32(weights[i] * errTerm(diff, p.UseMad))
			}
			if curErr < bestErr {
				copy(L[:n], Laux[:n])
				bestErr = curErr
				scale = thisScale
				lo = thisMin
			}
		}
	}
	return scale, -lo
}

// weightOr is qw[i], or x[i]² where qw is nil: the weights ggml's
// make_qx_quants takes (rmse_type 1) and make_qkx3_quants.
func weightOr(qw, x []float32, i int) float32 {
	if qw != nil {
		return qw[i]
	}
	return float32(x[i] * x[i])
}

func errTerm(diff float32, useMad bool) float32 {
	if useMad {
		return abs32(diff)
	}
	return diff * diff
}

// sqrt32 is sqrtf: the float64 square root rounded to float32 is the
// correctly rounded float32 square root.
func sqrt32(v float32) float32 { return float32(math.Sqrt(float64(v))) }
