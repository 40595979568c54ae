package quant

// Qkx2Lanes is how many make_qkx2_quants searches a Qkx2Batch holds.
const Qkx2Lanes = 16

// Qkx2Batch is up to Qkx2Lanes make_qkx2_quants searches side by side,
// one a lane, so that a vector unit can run them together: value i of
// lane g's group is X[i][g]. Each lane's search depends on its own
// earlier trials (a better trial moves the min the later ones quantize
// against), so the searches run in parallel across groups, not across
// the trials of one group.
type Qkx2Batch struct {
	X, W [32][Qkx2Lanes]float32 // the groups' values and weights
	// L is each lane's codes (0..P.NMax) as floats: the fit's output.
	L [32][Qkx2Lanes]float32
	// Aux is scratch: the codes of the trial being scored.
	Aux        [32][Qkx2Lanes]float32
	Scale, Min [Qkx2Lanes]float32 // the fits' scales and mins (ggml's the_min, ≥ 0 but for NaN)
	N          int                // values a group, 1..32
	P          Qkx2Params
}

// Fit runs makeQkx2Quants lane by lane: the reference the vector
// implementations match bit for bit.
func (b *Qkx2Batch) Fit() {
	var (
		x, w    [32]float32
		L, laux [32]uint8
	)
	for g := range Qkx2Lanes {
		for i := range b.N {
			x[i], w[i] = b.X[i][g], b.W[i][g]
		}
		b.Scale[g], b.Min[g] = makeQkx2Quants(b.P, x[:b.N], w[:b.N], L[:b.N], laux[:b.N])
		for i := range b.N {
			b.L[i][g] = float32(L[i])
		}
	}
}

// qkx2 fits len(scales) groups of n values (x, w and L hold them one after
// another) with make_qkx2_quants's search p, writing each group's codes to
// L and its scale and min: with q's Qkx2Fit sixteen groups at a time, else
// one by one in Go.
func (q *Quantizer) qkx2(p Qkx2Params, n int, x, w []float32, L []uint8, scales, mins []float32) {
	if q == nil || q.Qkx2Fit == nil {
		var laux [32]uint8
		for j := range scales {
			g := j * n
			scales[j], mins[j] = makeQkx2Quants(p, x[g:g+n], w[g:g+n], L[g:g+n], laux[:n])
		}
		return
	}
	b := &q.k2
	b.N, b.P = n, p
	for j0 := 0; j0 < len(scales); j0 += Qkx2Lanes {
		lanes := min(Qkx2Lanes, len(scales)-j0)
		for i := range n {
			xi, wi := &b.X[i], &b.W[i]
			for g := range lanes {
				xi[g], wi[g] = x[(j0+g)*n+i], w[(j0+g)*n+i]
			}
			// Lanes left over search an all-zero group, which ends at once.
			clear(xi[lanes:])
			clear(wi[lanes:])
		}
		q.Qkx2Fit(b)
		for g := range lanes {
			scales[j0+g], mins[j0+g] = b.Scale[g], b.Min[g]
			o := (j0 + g) * n
			for i := range n {
				L[o+i] = uint8(b.L[i][g])
			}
		}
	}
}
