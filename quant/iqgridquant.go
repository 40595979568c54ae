package quant

import (
	"encoding/binary"
	"math"
	"sync"
)

// Quantizers for the codebook i-quants IQ3_XXS, IQ3_S, IQ2_XXS, IQ2_XS and
// IQ2_S, bit for bit those of ggml-quants.c (quantize_iq3_xxs … quantize_
// iq2_s, which llama-quantize calls), with or without an importance
// matrix. A codebook entry stands for 4 (IQ3) or 8 (IQ2) magnitudes, each
// an odd level 2l+1. A group of 32 or 16 weights tries a range of scales;
// at each, the magnitudes round to the nearest lattice point, and a point
// the codebook lacks is replaced by the best of its nearest codebook
// entries (iqSearch). The scale that fits best, refined once by least
// squares, is then stored as a 4-bit multiple of the super-block's fp16
// scale.

// iqSearch is the search table of one codebook (ggml's iq3xs_init_impl and
// iq2xs_init_impl): for each lattice point its codebook index, or the
// codebook entries nearest to it.
type iqSearch struct {
	width, bits int
	grid        [][8]int8    // each entry's levels as 2l+1
	levels      [][8]float32 // the same as floats
	lidx        [][8]uint8   // and as level indices l
	// kmap holds a point's codebook index, or −(o+1) for a point off the
	// codebook whose candidates are neighbours[o+1 : o+1+neighbours[o]].
	kmap       []int32
	neighbours []uint16
	// ncodes holds, beside each candidate in neighbours, its code: its
	// level indices, bits a position.
	ncodes []uint16
}

// The search tables are built on first use, in 8-100 ms each (IQ3_XXS the
// least, IQ1 the most).
var (
	iq3XXSSearch = sync.OnceValue(func() *iqSearch { return newIQSearch(iq3XXSCodes[:], 4, 3, 8, 2) })
	iq3SSearch   = sync.OnceValue(func() *iqSearch { return newIQSearch(iq3SCodes[:], 4, 3, 8, 3) })
	iq2XXSSearch = sync.OnceValue(func() *iqSearch { return newIQSearch(iq2XXSCodes[:], 8, 2, 3, 2) })
	iq2XSSearch  = sync.OnceValue(func() *iqSearch { return newIQSearch(iq2XSCodes[:], 8, 2, 3, 2) })
	iq2SSearch   = sync.OnceValue(func() *iqSearch { return newIQSearch(iq2SCodes[:], 8, 2, 3, 1) })
)

// newIQSearch builds the table of a codebook given as level indices
// (iqgrids.go), width levels of bits bits an entry. The quantizers round
// to levels below nlevel only, so only those points get candidates: the
// codebook entries at the nwant smallest squared distances, in order of
// distance and then index (ggml sorts (distance, index) pairs the same
// way, for every point of the index range).
func newIQSearch(codes []uint16, width, bits, nlevel, nwant int) *iqSearch {
	s := &iqSearch{width: width, bits: bits, grid: make([][8]int8, len(codes)), levels: make([][8]float32, len(codes)),
		lidx: make([][8]uint8, len(codes)), kmap: make([]int32, 1<<(width*bits))}
	for i := range s.kmap {
		s.kmap[i] = -1
	}
	mask := 1<<bits - 1
	for k, c := range codes {
		for i := 0; i < width; i++ {
			s.lidx[k][i] = uint8(int(c) >> (bits * i) & mask)
			s.grid[k][i] = int8(2*s.lidx[k][i] + 1)
			s.levels[k][i] = float32(s.grid[k][i])
		}
		s.kmap[c] = int32(k)
	}
	// Squared distances are small integers: a counting sort by distance
	// keeps the indices in order within each distance.
	maxD2 := width * (2 * mask) * (2 * mask)
	count := make([]int, maxD2+2)
	order := make([]uint16, len(codes))
	d2s := make([]int, len(codes))
	var pos [8]int
	for u := range s.kmap {
		if s.kmap[u] >= 0 {
			continue
		}
		inRange := true
		for i := 0; i < width; i++ {
			l := u >> (bits * i) & mask
			inRange = inRange && l < nlevel
			pos[i] = 2*l + 1
		}
		if !inRange {
			continue
		}
		clear(count)
		for j, g := range s.grid {
			d2 := 0
			for i := 0; i < width; i++ {
				d := int(g[i]) - pos[i]
				d2 += d * d
			}
			d2s[j] = d2
			count[d2+1]++
		}
		for d := 1; d < len(count); d++ {
			count[d] += count[d-1]
		}
		for j, d2 := range d2s {
			order[count[d2]] = uint16(j)
			count[d2]++
		}
		start := len(s.neighbours)
		s.neighbours = append(s.neighbours, 0)
		s.ncodes = append(s.ncodes, 0)
		distinct, last := 0, -1
		for _, j := range order {
			if d2s[j] != last {
				if distinct == nwant {
					break
				}
				distinct++
				last = d2s[j]
			}
			s.neighbours = append(s.neighbours, j)
			s.ncodes = append(s.ncodes, codes[j])
		}
		s.neighbours[start] = uint16(len(s.neighbours) - start - 1)
		s.kmap[u] = -int32(start) - 1
	}
	return s
}

// bestNeighbour returns the candidate for off-codebook point u whose
// levels, times scale, come nearest to x under weights w (the first of
// equals), and writes its level indices to l.
func (s *iqSearch) bestNeighbour(q *Quantizer, u int, x, w []float32, scale float32, l []int8) int {
	if s.width == 8 {
		// Three levels: the 24 possible terms, computed once.
		return s.bestOf3(q, u, x, w, scale, (*[3]float32)(oddLevels[:3]), l)
	}
	if q != nil && q.IQNearest != nil {
		best := s.fitNearest(q, u, x, w, scale, oddLevels[:])
		s.levelsOf(best, l)
		return best
	}
	o := -s.kmap[u] - 1
	cand := s.neighbours[o+1 : o+1+int32(s.neighbours[o])]
	x, w = x[:s.width], w[:s.width]
	best, bestD2 := -1, float32(math.MaxFloat32)
	for _, j := range cand {
		g := s.levels[j][:len(x)]
		// ggml's loop: d2 += w·diff·diff, rounded at each step.
		var d2 float32
		for i := range x {
			diff := float32(scale*g[i]) - x[i]
			d2 += float32(float32(w[i]*diff) * diff)
		}
		if d2 < bestD2 {
			best, bestD2 = int(j), d2
		}
	}
	if best < 0 { // see candidate
		best = int(cand[0])
	}
	s.levelsOf(best, l)
	return best
}

// bestOf3 is the search of an 8-wide codebook of three levels (the IQ2
// and IQ1 types), level k standing for v[k]: ggml's loop, d2 +=
// w·diff·diff with diff = scale·v − x, rounded at each step. Each of the 24
// terms w·diff·diff can take is computed once, so a candidate costs eight
// additions in ggml's order, and the sums are ggml's bits.
func (s *iqSearch) bestOf3(q *Quantizer, u int, x, w []float32, scale float32, v *[3]float32, l []int8) int {
	if q != nil && q.IQNearest != nil {
		best := s.fitNearest(q, u, x, w, scale, v[:])
		s.levelsOf(best, l)
		return best
	}
	o := -s.kmap[u] - 1
	cand := s.neighbours[o+1 : o+1+int32(s.neighbours[o])]
	var term [8][4]float32
	for i := 0; i < 8; i++ {
		for k := 0; k < 3; k++ {
			diff := float32(scale*v[k]) - x[i]
			term[i][k] = float32(float32(w[i]*diff) * diff)
		}
	}
	best, bestD2 := -1, float32(math.MaxFloat32)
	for _, j := range cand {
		c := &s.lidx[j]
		var d2 float32
		for i := 0; i < 8; i++ {
			d2 += term[i][c[i]&3]
		}
		if d2 < bestD2 {
			best, bestD2 = int(j), d2
		}
	}
	if best < 0 { // see candidate
		best = int(cand[0])
	}
	s.levelsOf(best, l)
	return best
}

// oddLevels are the values of the level indices, 2l+1.
var oddLevels = [8]float32{1, 3, 5, 7, 9, 11, 13, 15}

// levelsOf writes entry j's level indices to l.
// levelsOf writes entry j's level indices to l. (Copying them from lidx
// instead measured 1.6-2× slower in the Go IQ2 searches, bestOf3's loop
// compiled otherwise.)
func (s *iqSearch) levelsOf(j int, l []int8) {
	for i := 0; i < s.width; i++ {
		l[i] = (s.grid[j][i] - 1) / 2
	}
}

// latticePoint rounds width magnitudes times id to levels 0..kMaxQ−1,
// writes them to l and returns their lattice index.
func (s *iqSearch) latticePoint(x []float32, id float32, kMaxQ int32, l []int8) int {
	u, bits := 0, uint(s.bits)
	x, l = x[:s.width], l[:len(x)]
	for i, xi := range x {
		v := nearestInt(0.5 * (float32(id*xi) - 1))
		v = max(0, min(kMaxQ-1, v))
		l[i] = int8(v)
		u |= int(v) << (bits * uint(i))
	}
	return u
}

// iqGridVariant is what differs between the types' group searches.
type iqGridVariant struct {
	search *iqSearch
	group  int   // weights a group: 32 or 16
	kMaxQ  int32 // levels: 8 (IQ3) or 3 (IQ2)
	// The scale search tries (2·kMaxQ−1 + step·is)/max for is in ±steps.
	step  float32
	steps int
	// evenSigns: seven sign bits per eight weights, so an odd count of
	// negatives flips the least important weight.
	evenSigns bool
	// skipBelow: a group whose largest magnitude is under it (or zero)
	// keeps scale 0 and codebook entry 0.
	skipBelow float32
	// startOnGrid is what an entry counts as before any scale is accepted;
	// the refinement then re-rounds the entries off the codebook, every
	// entry if refineAll, once any is off.
	startOnGrid, refineAll bool
	// qpStart (IQ2_XXS): the search runs around the scale of
	// make_qp_quants with four levels instead of the largest magnitude,
	// and the refinement always runs.
	qpStart bool
}

// iqGroup is one group's result.
type iqGroup struct {
	scale float32
	index [8]int   // codebook entry per 4 or 8 weights
	signs [4]uint8 // a bit per weight, per eight weights
	skip  bool
}

// signWord packs the group's four sign bytes, 7 bits each (the eighth is
// their parity, which the reader recomputes), into IQ2_XXS's and IQ3_XXS's
// sign word; putScaleNibbles later ORs the scale into its top 4 bits.
func (g *iqGroup) signWord() uint32 {
	var sw uint32
	for k, s := range g.signs {
		sw |= uint32(s&127) << (7 * k)
	}
	return sw
}

// putScaleNibbles ORs the 8 groups' 4-bit scales into the top nibble of
// their sign words, the little-endian u32 at at+stride·ib.
func putScaleNibbles(y []byte, at, stride int, ls [16]uint8) {
	for ib := range 8 {
		o := at + stride*ib
		binary.LittleEndian.PutUint32(y[o:], binary.LittleEndian.Uint32(y[o:])|uint32(ls[ib])<<28)
	}
}

// quantizeGroup searches group xb with weights w (both v.group long).
func (v *iqGridVariant) quantizeGroup(xb, w []float32, q *Quantizer) iqGroup {
	s := v.search
	n, width := v.group, s.width
	entries := n / width
	var (
		g                 iqGroup
		xval, waux        [32]float32
		L, Laux           [32]int8
		onGrid, onGridAux [8]bool
	)
	for i := 0; i < n; i++ {
		waux[i] = float32(math.Sqrt(float64(w[i])))
	}
	for k := 0; k < n/8; k++ {
		var sg uint8
		nflip := 0
		for i := 0; i < 8; i++ {
			if x := xb[8*k+i]; x >= 0 {
				xval[8*k+i] = x
			} else {
				xval[8*k+i] = -x
				nflip++
				sg |= 1 << i
			}
		}
		if v.evenSigns && nflip%2 == 1 {
			imin := 0
			minW := float32(float32(w[8*k]*xb[8*k]) * xb[8*k])
			for i := 1; i < 8; i++ {
				if ax := float32(float32(w[8*k+i]*xb[8*k+i]) * xb[8*k+i]); ax < minW {
					minW, imin = ax, i
				}
			}
			xval[8*k+imin] = -xval[8*k+imin]
			sg ^= 1 << imin
		}
		g.signs[k] = sg
	}
	mx := xval[0]
	for _, x := range xval[1:n] {
		mx = max(mx, x)
	}
	if mx < v.skipBelow || mx == 0 {
		g.skip = true
		return g
	}
	top := float32(2*v.kMaxQ - 1)
	scale, div := mx/top, mx
	if v.qpStart {
		var qp [32]uint8
		scale = makeQpQuants(v.kMaxQ+1, xval[:n], qp[:n], w[:n])
		div = scale * float32(v.kMaxQ)
		if div <= 0 {
			g.skip = true
			return g
		}
	}
	var best float32
	for k := range onGrid {
		onGrid[k] = v.startOnGrid
	}
	for is := -v.steps; is <= v.steps; is++ {
		id := (top + float32(float32(is)*v.step)) / div
		thisScale := 1 / id
		for k := 0; k < entries; k++ {
			u := s.latticePoint(xval[width*k:], id, v.kMaxQ, Laux[width*k:])
			onGridAux[k] = s.kmap[u] >= 0
			if !onGridAux[k] {
				s.bestNeighbour(q, u, xval[width*k:], waux[width*k:], thisScale, Laux[width*k:])
			}
		}
		sumqx, sumq2 := iqSums(xval[:n], w, Laux[:n])
		if sumq2 > 0 && float32(sumqx*sumqx) > float32(best*sumq2) {
			scale = sumqx / sumq2
			best = scale * sumqx
			L, onGrid = Laux, onGridAux
		}
	}
	off := v.qpStart
	for _, on := range onGrid[:entries] {
		off = off || !on
	}
	if off && scale > 0 {
		id := 1 / scale
		for k := 0; k < entries; k++ {
			if onGrid[k] && !v.refineAll && !v.qpStart {
				continue
			}
			u := s.latticePoint(xval[width*k:], id, v.kMaxQ, L[width*k:])
			if s.kmap[u] < 0 {
				s.bestNeighbour(q, u, xval[width*k:], waux[width*k:], scale, L[width*k:])
			}
		}
		if sumqx, sumq2 := iqSums(xval[:n], w, L[:n]); sumq2 > 0 {
			scale = sumqx / sumq2
		}
	}
	if scale < 0 {
		// Not expected; ggml flips the scale and the signs (the stored
		// ones) so the stored scale stays non-negative.
		scale = -scale
		for k := range g.signs {
			g.signs[k] = ^g.signs[k]
		}
	}
	for k := 0; k < entries; k++ {
		u := 0
		for i := 0; i < width; i++ {
			u |= int(L[width*k+i]) << (s.bits * i)
		}
		// Every entry of L came from the codebook, so the lookup succeeds.
		g.index[k] = int(s.kmap[u])
	}
	g.scale = scale
	return g
}

// iqSums returns Σw·x·q and Σw·q² for levels q = 2l+1, in ggml's order.
func iqSums(x, w []float32, l []int8) (sumqx, sumq2 float32) {
	for i := range x {
		q := float32(2*l[i] + 1)
		sumqx += float32(float32(w[i]*x[i]) * q)
		sumq2 += float32(float32(w[i]*q) * q)
	}
	return sumqx, sumq2
}

// iqBlockSigma2 returns Σx²/256 over the super-block: the spread term of
// the importance weights, which the types scale by 1 or 2.
func iqBlockSigma2(x []float32) float32 {
	var sumx2 float32
	for _, v := range x[:QK_K] {
		sumx2 += float32(v * v)
	}
	return float32(sumx2 / QK_K) // not fused into the caller's sums
}

// maxNonNeg is the largest of v and 0 (ggml's max_scale).
func maxNonNeg(v []float32) float32 {
	var m float32
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// iqSuperScale returns the fp16 super-block scale and each group's 4-bit
// multiplier l (the group's scale ≈ d·(2l+1)); fudge is ggml's factor on
// d. ok is false when every group's scale is zero.
func iqSuperScale(scales []float32, fudge float32) (d16 uint16, ls [16]uint8, ok bool) {
	maxScale := maxNonNeg(scales)
	if maxScale == 0 {
		return 0, ls, false
	}
	d := maxScale / 31
	id := 1 / d
	for i, s := range scales {
		ls[i] = uint8(max(0, min(15, nearestInt(0.5*(float32(id*s)-1)))))
	}
	return FP32ToFP16(d * fudge), ls, true
}

// iqGridType describes one type's block: its search, how its group
// weights are made and how a block is written.
type iqGridType struct {
	variant *iqGridVariant
	// sigma2Factor scales Σx²/256 in the importance weights (2 for IQ3 and
	// IQ2_S, 1 for IQ2_XXS and IQ2_XS).
	sigma2Factor float32
	// plain says how the weights are made without an importance matrix.
	plain     plainWeights
	fudge     float32 // on the super-block scale
	put       func(y []byte, ib int, g iqGroup)
	putScales func(y []byte, ls [16]uint8)
	// clearIfZero: a block whose groups all have scale 0 is written as
	// zeros (the types whose ggml code resets it then), not as searched.
	clearIfZero bool
}

// plainWeights are the weights of a group without an importance matrix.
type plainWeights int

const (
	plainNone   plainWeights = iota // ggml requires an importance matrix
	plainSquare                     // x² (IQ3)
	plainSpread                     // ¼σ² + x² (IQ2_S)
)

func (p plainWeights) fill(w, xb []float32, sigma2 float32) {
	for i, x := range xb {
		if p == plainSpread {
			w[i] = float32(0.25*sigma2) + float32(x*x)
		} else {
			w[i] = x * x
		}
	}
}

func (t *iqGridType) quantizeBlock(x []float32, y []byte, qw []float32, q *Quantizer) {
	v := t.variant
	clear(y)
	sigma2 := float32(t.sigma2Factor * iqBlockSigma2(x))
	var scales [16]float32
	var w [32]float32
	ng := QK_K / v.group
	for ib := 0; ib < ng; ib++ {
		xb, wb := x[v.group*ib:v.group*(ib+1)], w[:v.group]
		if qw != nil {
			importanceWeights(wb, xb, qw[v.group*ib:v.group*(ib+1)], sigma2)
		} else {
			t.plain.fill(wb, xb, sigma2)
		}
		g := v.quantizeGroup(xb, wb, q)
		if g.skip {
			continue
		}
		t.put(y, ib, g)
		scales[ib] = g.scale
	}
	d, ls, ok := iqSuperScale(scales[:ng], t.fudge)
	if !ok {
		if t.clearIfZero {
			clear(y)
		}
		return
	}
	put16(y, d)
	t.putScales(y, ls)
}

// The types' block writers; offsets follow the layouts in iquants.go.
var iqGridTypes = sync.OnceValue(func() map[Type]*iqGridType {
	le := binary.LittleEndian
	return map[Type]*iqGridType{
		IQ3_XXS: {
			variant: &iqGridVariant{search: iq3XXSSearch(), group: 32, kMaxQ: 8, step: 0.2, steps: 15,
				evenSigns: true, skipBelow: 1e-8, startOnGrid: true},
			sigma2Factor: 2, plain: plainSquare, fudge: 1.0125, clearIfZero: true,
			put: func(y []byte, ib int, g iqGroup) {
				for k := 0; k < 8; k++ {
					y[2+8*ib+k] = byte(g.index[k])
				}
				le.PutUint32(y[66+4*ib:], g.signWord())
			},
			putScales: func(y []byte, ls [16]uint8) { putScaleNibbles(y, 66, 4, ls) },
		},
		IQ3_S: {
			variant:      &iqGridVariant{search: iq3SSearch(), group: 32, kMaxQ: 8, step: 0.2, steps: 9, refineAll: true},
			sigma2Factor: 2, plain: plainSquare, fudge: 1.033,
			put: func(y []byte, ib int, g iqGroup) {
				for k := 0; k < 8; k++ {
					y[2+8*ib+k] = byte(g.index[k])
					y[66+ib] |= byte(g.index[k]>>8) << k
				}
				copy(y[74+4*ib:], g.signs[:])
			},
			putScales: func(y []byte, ls [16]uint8) {
				for ib := 0; ib < 8; ib += 2 {
					y[106+ib/2] = ls[ib] | ls[ib+1]<<4
				}
			},
		},
		IQ2_XXS: {
			variant: &iqGridVariant{search: iq2XXSSearch(), group: 32, kMaxQ: 3, step: 0.1, steps: 6,
				evenSigns: true, skipBelow: groupMaxEps, qpStart: true},
			sigma2Factor: 1, fudge: 1, clearIfZero: true,
			put: func(y []byte, ib int, g iqGroup) {
				for k := 0; k < 4; k++ {
					y[2+8*ib+k] = byte(g.index[k])
				}
				le.PutUint32(y[6+8*ib:], g.signWord())
			},
			putScales: func(y []byte, ls [16]uint8) { putScaleNibbles(y, 6, 8, ls) },
		},
		IQ2_XS: {
			variant: &iqGridVariant{search: iq2XSSearch(), group: 16, kMaxQ: 3, step: 0.1, steps: 9,
				evenSigns: true, skipBelow: groupMaxEps, startOnGrid: true},
			sigma2Factor: 1, fudge: 1, clearIfZero: true,
			put: func(y []byte, ib int, g iqGroup) {
				for k := 0; k < 2; k++ {
					le.PutUint16(y[2+4*ib+2*k:], uint16(g.index[k])|uint16(g.signs[k]&127)<<9)
				}
			},
			putScales: func(y []byte, ls [16]uint8) {
				for ib := 0; ib < 16; ib += 2 {
					y[66+ib/2] = ls[ib] | ls[ib+1]<<4
				}
			},
		},
		IQ2_S: {
			variant: &iqGridVariant{search: iq2SSearch(), group: 16, kMaxQ: 3, step: 0.1, steps: 9,
				skipBelow: 1e-8, startOnGrid: true},
			sigma2Factor: 2, fudge: 0.9875,
			plain: plainSpread,
			put: func(y []byte, ib int, g iqGroup) {
				for k := 0; k < 2; k++ {
					i8 := 2*ib + k
					y[2+i8] = byte(g.index[k])
					y[66+i8/4] |= byte(g.index[k]>>8) << (2 * (i8 % 4))
					y[34+i8] = g.signs[k]
				}
			},
			putScales: func(y []byte, ls [16]uint8) {
				for ib := 0; ib < 16; ib += 2 {
					y[74+ib/2] = ls[ib] | ls[ib+1]<<4
				}
			},
		},
	}
})

// quantizeIQGridBlock quantizes one 256-weight block of a codebook type;
// qw is the block's importance (nil for none; IQ2_XXS and IQ2_XS need
// one, and are given w = 1 in its place, which ggml would refuse).
func quantizeIQGridBlock(t Type, x []float32, y []byte, qw []float32, q *Quantizer) {
	gt := iqGridTypes()[t]
	if qw == nil && gt.plain == plainNone {
		qw = onesQK()
	}
	gt.quantizeBlock(x, y[:t.BlockBytes()], qw, q)
}

var onesQK = sync.OnceValue(func() []float32 {
	v := make([]float32, QK_K)
	for i := range v {
		v[i] = 1
	}
	return v
})

// iqGridQuantizer returns the block quantizer of codebook type t without
// an importance matrix.
func iqGridQuantizer(t Type) func(x []float32, y []byte) {
	return func(x []float32, y []byte) { quantizeIQGridBlock(t, x, y, nil, nil) }
}
