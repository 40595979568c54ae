package quant

import (
	"encoding/binary"
	"math"
	"sync"
)

// Quantizers for IQ1_S and IQ1_M, bit for bit ggml-quants.c's
// quantize_iq1_s and quantize_iq1_m. Each weight is −1, 0 or +1 shifted by
// ±1/8 (the shift's sign is per group, or per half group for IQ1_M), so a
// group's best split into the three values is found exhaustively: sorted
// by value, every pair of boundaries is scored by least squares. Groups
// of eight values that are not a codebook entry are replaced by the
// nearest of its neighbours, as in the other i-quants.

var iq1Search = sync.OnceValue(func() *iqSearch { return newIQSearch(iq1SCodes[:], 8, 2, 3, 3) })

// iq1Shifted are the three values of a level with the shift up (x_p) and
// down (x_m).
var (
	iq1Up   = [3]float32{-1 + iq1Delta, iq1Delta, 1 + iq1Delta}
	iq1Down = [3]float32{-1 - iq1Delta, -iq1Delta, 1 - iq1Delta}
)

// bestNeighbourIQ1 is iq1_find_best_neighbour2: the candidate for point u
// whose values xg[l] times scale come nearest to x under weights w.
func (s *iqSearch) bestNeighbourIQ1(q *Quantizer, u int, x, w []float32, scale float32, xg *[3]float32, l []int8) int {
	return s.bestOf3(q, u, x, w, scale, xg, l)
}

// iq1Sorted returns the group's indices in ascending order of value,
// equal values in index order (glibc's qsort, which ggml calls, is a
// stable merge sort for arrays this small).
func iq1Sorted(xb []float32) [32]int {
	var idx [32]int
	for i := range xb {
		idx[i] = i
		for j := i; j > 0 && xb[idx[j-1]] > xb[i]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	return idx
}

// iq1Split writes the levels of a sorted split: 0 for the elements
// sorted below b1, 1 below b2, 2 above; flipped (2−l) when the best scale
// came out negative, as ggml then flips the scale's sign too.
func iq1Split(L []int8, idx []int, b1, b2 int, flip bool) {
	for j, i := range idx {
		l := int8(2)
		if j < b1 {
			l = 0
		} else if j < b2 {
			l = 1
		}
		if flip {
			l = 2 - l
		}
		L[i] = l
	}
}

// maxAbs is the largest |x|, as ggml's MAX over fabsf.
func maxAbs(x []float32) float32 {
	m := float32(math.Abs(float64(x[0])))
	for _, v := range x[1:] {
		m = max(m, float32(math.Abs(float64(v))))
	}
	return m
}

// iq1Entries looks up or searches the codebook entry of each eight levels
// of L (values xg(k)), returning the entries and whether all were on it.
func iq1Entries(q *Quantizer, s *iqSearch, L []int8, xb, w []float32, scale float32, xg func(k int) *[3]float32) (index [4]int, onGrid bool) {
	onGrid = true
	for k := 0; k < len(L)/8; k++ {
		u := 0
		for j := 0; j < 8; j++ {
			u |= int(L[8*k+j]) << (2 * j)
		}
		if j := s.kmap[u]; j >= 0 {
			index[k] = int(j)
			continue
		}
		onGrid = false
		index[k] = s.bestNeighbourIQ1(q, u, xb[8*k:], w[8*k:], scale, xg(k), L[8*k:])
	}
	return index, onGrid
}

// iq1Refit is the least-squares scale of the groups' entries, ggml's
// sumqx/sumq2 when both are positive, else scale.
func iq1Refit(s *iqSearch, index []int, xb, w []float32, scale float32, xg func(k int) *[3]float32) float32 {
	var sumqx, sumq2 float32
	for k, j := range index {
		g, v := &s.grid[j], xg(k)
		for i := 0; i < 8; i++ {
			q := v[(g[i]-1)/2]
			sumqx += float32(float32(w[8*k+i]*q) * xb[8*k+i])
			sumq2 += float32(float32(w[8*k+i]*q) * q)
		}
	}
	if sumqx > 0 && sumq2 > 0 {
		return sumqx / sumq2
	}
	return scale
}

// quantizeIQ1_SBlock quantizes one 256-weight IQ1_S block (50 bytes);
// qw is the block's importance, nil for unit importance (ggml requires
// one).
func quantizeIQ1_SBlock(x []float32, y []byte, qw []float32, q *Quantizer) {
	const bs = 32
	s := iq1Search()
	y = y[:iq1sBytes]
	clear(y)
	if qw == nil {
		qw = onesQK()
	}
	sigma2 := 2 * iqBlockSigma2(x)
	var scales [8]float32
	var shifts [8]int
	for ib := 0; ib < QK_K/bs; ib++ {
		xb := x[bs*ib : bs*(ib+1)]
		var w [bs]float32
		importanceWeights(w[:], xb, qw[bs*ib:bs*(ib+1)], sigma2)
		shifts[ib] = 1
		mx := maxAbs(xb)
		if mx < 1e-12 {
			continue
		}
		idx := iq1Sorted(xb)
		var sumx, sumw [bs + 1]float32
		for j := 0; j < bs; j++ {
			i := idx[j]
			sumx[j+1] = sumx[j] + float32(w[i]*xb[i])
			sumw[j+1] = sumw[j] + w[i]
		}
		best, scale := float32(-math.MaxFloat32), mx
		b1, b2, shift := -1, -1, 0
		try := func(v *[3]float32, i1, i2, sh int) {
			sumqx := float32(float32((sumx[i1]-sumx[0])*v[0])+float32((sumx[i2]-sumx[i1])*v[1])) + float32((sumx[bs]-sumx[i2])*v[2])
			sumq2 := float32(float32(float32((sumw[i1]-sumw[0])*v[0])*v[0])+float32(float32((sumw[i2]-sumw[i1])*v[1])*v[1])) +
				float32(float32((sumw[bs]-sumw[i2])*v[2])*v[2])
			if sumq2 > 0 && float32(sumqx*sumqx) > float32(best*sumq2) {
				scale = sumqx / sumq2
				best = scale * sumqx
				b1, b2, shift = i1, i2, sh
			}
		}
		for i1 := 0; i1 <= bs; i1++ {
			for i2 := i1; i2 <= bs; i2++ {
				try(&iq1Up, i1, i2, 1)
				try(&iq1Down, i1, i2, -1)
			}
		}
		if b1 < 0 || b2 < 0 || shift == 0 {
			continue
		}
		var L [bs]int8
		iq1Split(L[:], idx[:bs], b1, b2, scale < 0)
		if scale < 0 {
			scale, shift = -scale, -shift
		}
		xx := &iq1Up
		if shift != 1 {
			xx = &iq1Down
		}
		xg := func(int) *[3]float32 { return xx }
		index, onGrid := iq1Entries(q, s, L[:], xb, w[:], scale, xg)
		if !onGrid {
			scale = iq1Refit(s, index[:], xb, w[:], scale, xg)
		}
		var h uint16
		for k := 0; k < bs/8; k++ {
			y[2+(bs/8)*ib+k] = byte(index[k])
			h |= uint16(index[k]>>8) << (3 * k)
		}
		binary.LittleEndian.PutUint16(y[34+2*ib:], h)
		scales[ib], shifts[ib] = scale, shift
	}
	maxScale := maxNonNeg(scales[:])
	if maxScale == 0 {
		return
	}
	d := maxScale / 15
	put16(y, FP32ToFP16(d*1.125))
	id := 1 / d
	for ib, sc := range scales {
		l := uint16(max(0, min(7, nearestInt(0.5*(float32(id*sc)-1)))))
		if shifts[ib] == -1 {
			l |= 8
		}
		o := 34 + 2*ib
		binary.LittleEndian.PutUint16(y[o:], binary.LittleEndian.Uint16(y[o:])|l<<12)
	}
}

// iq1mShiftMask is ggml's masks: the qh bits of a group's two half-group
// shifts (bit 3 the first half's, bit 7 the second's), by search case k:
// 0 both up, 1 up then down, 2 down then up, 3 both down.
var iq1mShiftMask = [4]byte{0x00, 0x80, 0x08, 0x88}

// iq1mShifts returns the shifted values of half group k under case bk.
func iq1mShifts(bk, k int) *[3]float32 {
	if (k == 0 && bk < 2) || (k != 0 && bk%2 == 0) {
		return &iq1Up
	}
	return &iq1Down
}

// quantizeIQ1_MBlock quantizes one 256-weight IQ1_M block (56 bytes); qw
// is the block's importance (nil: each weight's square, as ggml).
func quantizeIQ1_MBlock(x []float32, y []byte, qw []float32, q *Quantizer) {
	const bs = 16
	s := iq1Search()
	y = y[:iq1mBytes]
	clear(y)
	sigma2 := 2 * iqBlockSigma2(x)
	weights := func(w, xb []float32, ib int) {
		if qw != nil {
			importanceWeights(w, xb, qw[bs*ib:bs*(ib+1)], sigma2)
			return
		}
		for i, v := range xb {
			w[i] = v * v
		}
	}
	var scales [16]float32
	var shifts [16]int
	for ib := 0; ib < QK_K/bs; ib++ {
		xb := x[bs*ib : bs*(ib+1)]
		var w [bs]float32
		weights(w[:], xb, ib)
		mx := maxAbs(xb)
		if mx < 1e-7 {
			continue
		}
		idx := iq1Sorted(xb)
		// Each element's terms at each level, computed once, as the eight
		// sums they go into: Σw·x·q of cases 0-3, then Σw·q² of cases
		// 0-3. The first half group is up (q = iq1Up) in cases 0 and 1,
		// the second in 0 and 2; case 0 is always up and case 3 always
		// down. The sums take the terms in ggml's order (sorted
		// position), so the running sums over the first elements carry
		// over between splits and only the tail at the top level is added
		// anew; each sum is a lane of its own, with ggml's bits.
		var terms [bs][3][8]float32
		for j := 0; j < bs; j++ {
			i := idx[j]
			u, d := 1, 2
			if i >= bs/2 {
				u, d = 2, 1
			}
			for lv := 0; lv < 3; lv++ {
				up, down := iq1Up[lv], iq1Down[lv]
				wu, wd := float32(w[i]*up), float32(w[i]*down)
				ux, dx := float32(wu*xb[i]), float32(wd*xb[i])
				u2, d2 := float32(wu*up), float32(wd*down)
				t := &terms[j][lv]
				t[0], t[u], t[d], t[3] = ux, ux, dx, dx
				t[4], t[4+u], t[4+d], t[7] = u2, u2, d2, d2
			}
		}
		best, scale := float32(-math.MaxFloat32), mx
		b1, b2, bk := -1, -1, -1
		var low0 [8]float32 // elements below i1, at level 0
		for i1 := 0; i1 <= bs; i1++ {
			if i1 > 0 {
				addLanes(&low0, &terms[i1-1][0])
			}
			low1 := low0 // and those from i1 below i2, at level 1
			for i2 := i1; i2 <= bs; i2++ {
				if i2 > i1 {
					addLanes(&low1, &terms[i2-1][1])
				}
				// The tail: level-2 terms of sorted elements i2 and up, in
				// order, each lane apart, in locals so the adds stay in
				// registers.
				a0, a1, a2, a3, a4, a5, a6, a7 := low1[0], low1[1], low1[2], low1[3], low1[4], low1[5], low1[6], low1[7]
				for j := i2; j < bs; j++ {
					t := &terms[j][2]
					a0 += t[0]
					a1 += t[1]
					a2 += t[2]
					a3 += t[3]
					a4 += t[4]
					a5 += t[5]
					a6 += t[6]
					a7 += t[7]
				}
				sums := [8]float32{a0, a1, a2, a3, a4, a5, a6, a7}
				for k := 0; k < 4; k++ {
					sumqx, sumq2 := sums[k], sums[4+k]
					if sumq2 > 0 && float32(sumqx*sumqx) > float32(best*sumq2) {
						scale = sumqx / sumq2
						best = scale * sumqx
						b1, b2, bk = i1, i2, k
					}
				}
			}
		}
		if b1 < 0 || b2 < 0 || bk < 0 {
			continue
		}
		var L [bs]int8
		iq1Split(L[:], idx[:bs], b1, b2, scale < 0)
		if scale < 0 {
			scale, bk = -scale, 3-bk
		}
		xg := func(k int) *[3]float32 { return iq1mShifts(bk, k) }
		index, onGrid := iq1Entries(q, s, L[:], xb, w[:], scale, xg)
		if !onGrid {
			scale = iq1Refit(s, index[:2], xb, w[:], scale, xg)
		}
		y[2*ib] = byte(index[0])
		y[2*ib+1] = byte(index[1])
		y[32+ib] = byte(index[0]>>8) | byte(index[1]>>8)<<4
		scales[ib], shifts[ib] = scale, bk
	}
	maxScale := maxNonNeg(scales[:])
	if maxScale == 0 {
		return
	}
	// The super-block scale is refitted by least squares over the whole
	// block as stored: every group's entries, shifts and 3-bit multiplier.
	d := maxScale / 15
	id := 1 / d
	var sumqx, sumq2 float32
	var sc [4]uint16
	for ib := 0; ib < QK_K/bs; ib++ {
		l := max(0, min(7, nearestInt(0.5*(float32(id*scales[ib])-1))))
		sc[ib/4] |= uint16(l) << (3 * (ib % 4))
		y[32+ib] |= iq1mShiftMask[shifts[ib]]
		xb := x[bs*ib : bs*(ib+1)]
		var w [bs]float32
		weights(w[:], xb, ib)
		m := float32(2*l + 1)
		for k := 0; k < 2; k++ {
			j := int(y[2*ib+k]) | int(y[32+ib]>>(4*k)&7)<<8
			g, v := &s.grid[j], iq1mShifts(shifts[ib], k)
			for i := 0; i < 8; i++ {
				q := float32(v[(g[i]-1)/2] * m)
				sumqx += float32(float32(w[8*k+i]*q) * xb[8*k+i])
				sumq2 += float32(float32(w[8*k+i]*q) * q)
			}
		}
	}
	if sumq2 > 0 {
		d = sumqx / sumq2
	}
	d16 := FP32ToFP16(d * 1.1125)
	for k := 0; k < 4; k++ {
		sc[k] |= (d16 >> (4 * k) & 0xf) << 12
		binary.LittleEndian.PutUint16(y[48+2*k:], sc[k])
	}
}

// addLanes adds t into s, lane by lane.
func addLanes(s, t *[8]float32) {
	for k := range s {
		s[k] += t[k]
	}
}
