//go:build amd64 || arm64

package kernels

import (
	"math"
	"math/rand/v2"
)

// activationRows returns rows that stress the quantizer: normal data, an
// all-zero block, tiny and huge magnitudes, values that land exactly on .5
// after scaling (round-half-even ties) and negative zeros.
func activationRows(rng *rand.Rand, nb int) [][]float32 {
	n := nb * 32
	var rows [][]float32
	rows = append(rows, randFloats(rng, n, 1))
	z := randFloats(rng, n, 1)
	clear(z[:32])
	z[n-1] = float32(math.Copysign(0, -1))
	rows = append(rows, z)
	tiny := randFloats(rng, n, 1e-30)
	rows = append(rows, tiny)
	huge := randFloats(rng, n, 1e30)
	rows = append(rows, huge)
	// amax 127 makes id = 1, so k+0.5 values are exact ties.
	ties := make([]float32, n)
	for i := range ties {
		ties[i] = float32(rng.IntN(254)-127) + 0.5
		if i%32 == 0 {
			ties[i] = 127
		}
	}
	rows = append(rows, ties)
	return rows
}
