package kernels

// Copy returns a copy of b in the arena, made by p's threads in chunks of
// copyChunk bytes: a device copies a model's weights at load, and most of
// a copy's time is faulting in the fresh pages, which threads do side by
// side.
func (a *Arena) Copy(p *Pool, b []byte) []byte {
	c := a.Bytes(len(b))
	n := (len(b) + copyChunk - 1) / copyChunk
	p.Run(n, func(lo, hi int) {
		copy(c[lo*copyChunk:min(hi*copyChunk, len(b))], b[lo*copyChunk:])
	})
	return c
}

// copyChunk is a huge page's size: in a large buffer (on a 2 MiB boundary)
// each thread faults in whole huge pages.
const copyChunk = 2 << 20
