package quant

import "math"

// IQCandidates is one search of ggml's iq2/iq3_find_best_neighbour (and
// iq1_find_best_neighbour2): a point off an IQ codebook takes, of the
// entries near it (Codes), the one whose levels times Scale come nearest
// to the values X under the weights W.
type IQCandidates struct {
	// X and W are the point's values and weights, Width of them.
	X, W [8]float32
	// V are the levels' values, NV of them: level index l stands for V[l].
	V     [8]float32
	NV    int
	Scale float32
	// Codes are the candidates' level indices, Bits a position, position
	// i's at bit Bits·i, each below NV.
	Codes       []uint16
	Width, Bits int
}

// Nearest returns the index in Codes of the first candidate at the least
// distance Σ w·diff·diff, diff = Scale·v − x, summed over the positions in
// order with each product and sum rounded to float32 (ggml's loop, its
// bits), or −1 when no distance is under MaxFloat32.
func (c *IQCandidates) Nearest() int {
	// Each position's terms at each level, computed once.
	var term [8][8]float32
	for i := 0; i < c.Width; i++ {
		for l, v := range c.V[:max(0, min(c.NV, 8))] {
			diff := float32(c.Scale*v) - c.X[i]
			term[i][l] = float32(float32(c.W[i]*diff) * diff)
		}
	}
	mask := uint16(1)<<c.Bits - 1
	best, bestD2 := -1, float32(math.MaxFloat32)
	for t, code := range c.Codes {
		var d2 float32
		for i := 0; i < c.Width; i++ {
			d2 += term[i][code>>(c.Bits*i)&mask]
		}
		if d2 < bestD2 {
			best, bestD2 = t, d2
		}
	}
	return best
}

// fitNearest runs the search of off-codebook point u (values x, weights
// w, level index l standing for v[l]) with q's IQNearest, returning the
// candidate's codebook index.
func (s *iqSearch) fitNearest(q *Quantizer, u int, x, w []float32, scale float32, v []float32) int {
	o := -s.kmap[u] - 1
	c := &q.iqc
	c.Width, c.Bits, c.Scale = s.width, s.bits, scale
	c.Codes = s.ncodes[o+1 : o+1+int32(s.neighbours[o])]
	// Copied, not referred to: the caller's arrays stay on its stack.
	for i := range s.width {
		c.X[i], c.W[i] = x[i], w[i]
	}
	c.NV = copy(c.V[:], v)
	return s.candidate(o, q.IQNearest(c))
}

// candidate is the codebook index of candidate t of the point at o. With
// no candidate under MaxFloat32 (t −1: values so large that the
// distances overflow) ggml's search fails an assertion; the first
// candidate is taken instead.
func (s *iqSearch) candidate(o int32, t int) int {
	return int(s.neighbours[o+1+int32(max(t, 0))])
}
