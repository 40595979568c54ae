package kernels

// A multi-stream kernel walks ns runs of row groups side by side. Where
// the runs start a whole number of 4 KiB pages apart, every stream crosses
// into its next page at the same moment, and the kernels read less. On the
// 2-core Intel Xeon VM, two threads running the paced Q4_0 kernel over
// cold memory read 0.91-0.92 of the bandwidth probe on four page-aligned
// 360 KiB runs (ffn_down's 72 KiB groups, five a run) and 0.95-0.99 with
// the runs a quarter or half a page apart; on 2048-column runs 0.92-0.94
// aligned, 0.96 half a page apart and 0.96-0.985 a quarter apart. So
// PackWeights lays a single row's runs out spread within the page
// (packRuns), padding them where their length alone does not, and the
// calls walk those runs. In llama-1b decode, alternating two steps with
// the plain layout and two with this one in one process, the Q4_0 file's
// steps took 0.986-0.988 of the time; the Q8_0 file's were level
// (0.998-1.000), and the K-quants' two streams gained nothing from being
// spread (Q4_K_M 1.003-1.010), so they keep the plain layout
// (docs/performance.md, round 60). Since round 61 the single rows of
// Q3_K-Q6_K and IQ4_XS take four streams too, laid out so; Q2_K's two
// streams keep the plain layout.

// pageBytes is the span within which the streams' offsets are spread.
const pageBytes = 4096

// staggerSlack is how far (bytes) from an even spread within a page a
// pair of streams may start and still count as staggered.
const staggerSlack = 128

// spread is the least circular distance within a page between the
// offsets of ns streams stride bytes apart; pageBytes/ns at best.
func spread(stride, ns int) int {
	off, least := stride%pageBytes, pageBytes
	for k := 1; k < ns; k++ {
		d := k * off % pageBytes
		least = min(least, d, pageBytes-d)
	}
	return least
}

// maxPadShare caps a run's padding: at most 1/maxPadShare of its bytes.
const maxPadShare = 64

// packRuns picks the layout of a matrix of groups row groups of gb bytes
// for single-row calls whose kernel walks ns streams: run groups a run
// and runStride bytes from one run's start to the next (0, 0: one group
// after another). A run is as long as a single-row call's stream would be
// (packedGrain with threads threads), shortened by up to a quarter where
// that makes the runs' blocks of ns divide the matrix. runStride is the
// run's bytes plus padding in whole cache lines: the least that spreads
// the streams to within staggerSlack of even, or up to four lines more
// where that spreads them further; no layout where that padding would be
// over 1/maxPadShare of the run.
func packRuns(gb, groups, ns, rowChunk, threads int) (run, runStride int) {
	if ns < 4 {
		// Two streams (the K-quants' before round 61) gained nothing
		// from staggering in llama-1b decode (Q4_K_M: 1.003-1.010 of the
		// step time).
		return 0, 0
	}
	q := packedGrain(groups, gb, 1, ns, max(1, threads), rowChunk) / ns
	if q < 1 {
		return 0, 0
	}
	run = q
	for r := q; r >= max(1, q-q/4); r-- {
		if groups%(ns*r) == 0 {
			run = r
			break
		}
	}
	if groups < ns*run {
		return 0, 0
	}
	// The least padding that spreads the streams to within staggerSlack
	// of even, or more where that spreads them better (up to 4 lines on).
	n, best := run*gb, -1
	for pad := 0; pad < pageBytes && pad*maxPadShare <= n; pad += 64 {
		sp := spread(n+pad, ns)
		if best < 0 && sp >= pageBytes/ns-staggerSlack {
			best = pad
		}
		if best >= 0 {
			if sp > spread(n+best, ns) {
				best = pad
			}
			if pad >= best+256 {
				break
			}
		}
	}
	if best < 0 {
		return 0, 0
	}
	return run, n + best
}

// layRuns sets pw's layout in runs (packRuns) for single-row kernels of
// ns streams: the runs, then from runEnd the groups after the last whole
// block of ns runs.
func (pw *PackedWeights) layRuns(ns, rowChunk, threads int) {
	groups := pw.groups()
	pw.run, pw.runStride = packRuns(pw.gb, groups, ns, rowChunk, threads)
	pw.runEnd = 0
	if pw.run > 0 {
		pw.runEnd = groups / (ns * pw.run) * ns * pw.run
	}
}

// streamPlan is a multi-stream call's chunks: their stream pieces and the
// ranges of groups they leave to the one-group kernels.
type streamPlan struct {
	pieces      []streamPiece
	chunkPieces []int // chunk c's pieces from chunkPieces[c]
	lefts       []groupRange
	chunkLefts  []int // chunk c's ranges from chunkLefts[c]
}

// plan makes sp the chunks of a multi-stream call, each matrix's apart
// and cut for its kernel's streams (packedMat.ns): in a matrix laid out
// in runs, whole blocks of ns runs (as many as come nearest grain groups)
// with one piece per block, its streams a run apart, then the groups
// after the runs; elsewhere grain groups a chunk. Such a chunk's piece is
// ns equal runs of consecutive groups; what they leave over, and a
// partial last group, goes to the one-group kernels.
func (sp *streamPlan) plan(mats []packedMat, grain int) {
	sp.pieces, sp.chunkPieces, sp.lefts, sp.chunkLefts = sp.pieces[:0], sp.chunkPieces[:0], sp.lefts[:0], sp.chunkLefts[:0]
	for i := range mats {
		m := &mats[i]
		pw, ns := m.pw, m.ns
		at := 0
		if pw.run > 0 {
			// Any ns runs in a row make a piece (a batch's tile kernels may
			// walk fewer streams than the layout's); runs left over take the
			// one-group kernels.
			b := ns * pw.run
			end := pw.runEnd / b * b
			k := max(1, (grain+b/2)/b)
			for c := 0; c < end; c += k * b {
				sp.chunk()
				for g := c; g < min(c+k*b, end); g += b {
					sp.pieces = append(sp.pieces, streamPiece{m: m, lo: g, q: pw.run, ws: pw.runStride})
				}
			}
			if end < pw.runEnd {
				sp.chunk()
				sp.leave(m, end, pw.runEnd)
			}
			at = pw.runEnd
		}
		for ; at < m.groups; at += grain {
			sp.chunk()
			h := min(at+grain, m.groups)
			end := h
			if pw.Rows%packGroup != 0 && h*packGroup > pw.Rows {
				end-- // the partial last group takes the one-group kernel
			}
			l := at
			if q := (end - l) / ns; q > 0 {
				sp.pieces = append(sp.pieces, streamPiece{m: m, lo: l, q: q, ws: q * pw.gb})
				l += ns * q
			}
			sp.leave(m, l, h)
		}
	}
	sp.chunk()
}

// chunks is how many chunks the plan has.
func (sp *streamPlan) chunks() int { return max(0, len(sp.chunkPieces)-1) }

// clear drops the plan's references to a call's matrices.
func (sp *streamPlan) clear() {
	clear(sp.pieces)
	clear(sp.lefts)
}

// chunk starts a chunk (or, after the last, ends the list).
func (sp *streamPlan) chunk() {
	sp.chunkPieces = append(sp.chunkPieces, len(sp.pieces))
	sp.chunkLefts = append(sp.chunkLefts, len(sp.lefts))
}

// leave adds groups lo..hi-1 of m, if any, to the one-group kernels' work.
func (sp *streamPlan) leave(m *packedMat, lo, hi int) {
	if lo < hi {
		sp.lefts = append(sp.lefts, groupRange{m: m, lo: lo, hi: hi})
	}
}
