package engine

import (
	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/model"
)

// newKVCache allocates the paged cache where the model reads it: in dev's
// memory when a device is given (an accelerator cannot attend over host
// memory without copying it every step), else in host memory.
// winBlocks > 0 gives the model's windowed layers a pool of their own.
func newKVCache(dev backends.Device, mc model.Config, nBlocks, winBlocks, blockSize int, t model.KVTypes) (*model.KVCache, error) {
	return model.NewWindowedKVCache(dev, mc, nBlocks, winBlocks, blockSize, t)
}

// deviceName names dev for the start-up log.
func deviceName(dev backends.Device) string {
	if dev == nil {
		return "host"
	}
	return dev.Name()
}

// stepBuckets adapts planning to a device that runs only static shapes
// (backends.ShapeBucketer): a step of n tokens runs at the shape b.Pad(n),
// so the padded shape, not n, is what must fit the token budget.
//
// The planner is greedy: it fills a step up to its budget whenever work is
// waiting, so once the budget itself is a bucket shape every full step runs
// unpadded, and a step is padded only when too little work is available to
// fill its bucket (then deferring tokens to a later step would add a pass
// without saving one). Capping the budget is therefore all the planner has
// to do. The number of sequences is not capped separately: a step's shape
// depends on its token count only, and decodes beyond the largest batch
// bucket run at the next token multiple, which the capped budget admits.
type stepBuckets struct {
	on     bool
	b      backends.Buckets
	budget int // the largest bucket shape ≤ the configured token budget
}

// newStepBuckets reads dev's buckets, if it has any, and caps the token
// budget to a shape.
func newStepBuckets(dev backends.Device, budget int) stepBuckets {
	if dev == nil {
		return stepBuckets{budget: budget}
	}
	sb, ok := backends.As[backends.ShapeBucketer](dev)
	if !ok {
		return stepBuckets{budget: budget}
	}
	b := sb.Buckets()
	return stepBuckets{on: true, b: b, budget: floorBucket(b, budget)}
}

// floorBucket returns the largest n' ≤ n that is a bucket shape
// (b.Pad(n') == n'), or n when no shape is that small (a budget below the
// smallest bucket still has to make progress).
func floorBucket(b backends.Buckets, n int) int {
	for m := n; m >= 1; m-- {
		if b.Pad(m) == m {
			return m
		}
	}
	return n
}

// padded returns the rows a step of n tokens occupies on the device.
func (sb stepBuckets) padded(n int) int {
	if !sb.on {
		return n
	}
	return sb.b.Pad(n)
}
