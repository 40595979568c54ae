package perplexity

// llama-perplexity draws the tasks it scores with std::mt19937 seeded 1,
// so a run over part of a task file scores the same tasks, in the same
// order, as llama.cpp's. These reproduce its draws.

// mt19937 is the 32-bit Mersenne Twister (std::mt19937).
type mt19937 struct {
	s [624]uint32
	i int
}

func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{i: 624}
	m.s[0] = seed
	for i := 1; i < 624; i++ {
		m.s[i] = 1812433253*(m.s[i-1]^m.s[i-1]>>30) + uint32(i)
	}
	return m
}

func (m *mt19937) next() uint32 {
	if m.i >= 624 {
		for k := range 624 {
			y := m.s[k]&0x80000000 | m.s[(k+1)%624]&0x7fffffff
			v := m.s[(k+397)%624] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			m.s[k] = v
		}
		m.i = 0
	}
	y := m.s[m.i]
	m.i++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	return y ^ y>>18
}

// below is std::uniform_int_distribution<size_t>(0, n-1) over m as
// libstdc++ (GCC 11 and later) computes it for a 32-bit generator:
// Lemire's multiply-and-reject.
func (m *mt19937) below(n uint32) uint32 {
	p := uint64(m.next()) * uint64(n)
	if low := uint32(p); low < n {
		for threshold := -n % n; low < threshold; low = uint32(p) {
			p = uint64(m.next()) * uint64(n)
		}
	}
	return uint32(p >> 32)
}

// HellaSwagOrder is the order in which llama-perplexity --hellaswag
// scores n of total tasks: every draw a task, uniformly, from those left
// (it shuffles even when n is all of them).
func HellaSwagOrder(total, n int) []int {
	n = min(n, total)
	left := make([]int, total)
	for i := range left {
		left[i] = i
	}
	m := newMT19937(1)
	out := make([]int, n)
	for i := range out {
		j := int(m.below(uint32(len(left))))
		out[i] = left[j]
		left = append(left[:j], left[j+1:]...)
	}
	return out
}

// SampleOrder is the tasks llama-perplexity --winogrande and
// --multiple-choice score when asked for n of total (n < total): each
// draw scales a generator output to the tasks left in float32, as there,
// and moves the last one into the drawn one's place.
func SampleOrder(total, n int) []int {
	n = min(n, total)
	aux := make([]int, total)
	for i := range aux {
		aux[i] = i
	}
	m := newMT19937(1)
	scale := float32(1) / (1 + float32(uint32(0xffffffff)))
	out := make([]int, n)
	for i := range out {
		j := int(scale * float32(m.next()) * float32(len(aux)))
		out[i] = aux[j]
		aux[j] = aux[len(aux)-1]
		aux = aux[:len(aux)-1]
	}
	return out
}
