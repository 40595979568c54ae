package backends

import (
	"fmt"
	"sort"
	"sync"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/quant"
)

// Fallback wraps a device so that every op it does not support runs on a
// host (CPU) device instead, per op, with the reason logged once. Model code
// then runs unchanged on a device that implements only part of the op set:
// the matmuls on an accelerator, a rare op or weight type on the CPU.
//
// Operands reach the host in the cheapest way the device allows: in place
// when they already are host memory or the device is HostMapped, through a
// staging copy when its stream implements HostTransfer. Weights of a type
// the device can neither multiply nor look up stay in host memory; weights
// it handles in only one of the two ops get a host twin for the other.
//
// The wrapper owns both devices and closes them.
type Fallback struct {
	dev, host Device
	log       *zap.Logger

	mu     sync.Mutex
	twins  map[tensorKey]Tensor // device weight → its host copy
	counts map[countKey]int     // ops sent to the host, by kind
}

// tensorKey identifies a tensor's memory.
type tensorKey struct {
	buf        Buffer
	off        int
	typ        quant.Type
	rows, cols int
}

func keyOf(t Tensor) tensorKey { return tensorKey{t.Buf, t.Off, t.Type, t.Rows, t.Cols} }

// WithFallback wraps dev so that ops it does not support run on host.
func WithFallback(dev, host Device, log *zap.Logger) *Fallback {
	if log == nil {
		log = zap.NewNop()
	}
	return &Fallback{dev: dev, host: host, log: log, twins: map[tensorKey]Tensor{}, counts: map[countKey]int{}}
}

var _ Device = (*Fallback)(nil)

// Unwrap returns the wrapped device (capability lookups go through As).
func (f *Fallback) Unwrap() Device { return f.dev }

// SoftCapsAttention implements AttnSoftCapper: soft-capped attention runs
// on the device when it applies the cap, else on the host.
func (f *Fallback) SoftCapsAttention() bool { return true }

// StartsAttentionRows implements AttnRowStarter: attention with row starts
// runs on the host when the device does not take them.
func (f *Fallback) StartsAttentionRows() bool { return true }

// MixesKVTypes implements KVTypeMixer: a cache whose K and V types differ
// runs on the device when it takes such caches, else on the host.
func (f *Fallback) MixesKVTypes() bool { return true }

// Host returns the device that runs the fallbacks.
func (f *Fallback) Host() Device { return f.host }

// Name implements Device: the wrapped device's name.
func (f *Fallback) Name() string { return f.dev.Name() }

// Memory implements Device for the wrapped device.
func (f *Fallback) Memory() (free, total uint64) { return f.dev.Memory() }

// Supports implements Device: an op runs if either device runs it.
func (f *Fallback) Supports(op Op, t quant.Type) bool {
	return f.dev.Supports(op, t) || f.host.Supports(op, t)
}

// Alloc implements Device on the wrapped device.
func (f *Fallback) Alloc(n int, u Usage) (Buffer, error) { return f.dev.Alloc(n, u) }

// Free hands b back to whichever device can take it.
func (f *Fallback) Free(b Buffer) error {
	if fr, ok := f.dev.(BufferFreer); ok {
		return fr.Free(b)
	}
	return nil
}

// Upload implements Device; see Fallback for where weights go.
func (f *Fallback) Upload(name string, t quant.Type, rows, cols int, data []byte) (Tensor, error) {
	mm, gr := f.dev.Supports(OpMatMul, t), f.dev.Supports(OpGetRows, t)
	if !mm && !gr {
		f.note(OpMatMul, t, fmt.Sprintf("%s runs neither %v nor %v on %v: weights stay in host memory", f.dev.Name(), OpMatMul, OpGetRows, t))
		return f.host.Upload(name, t, rows, cols, data)
	}
	dt, err := f.dev.Upload(name, t, rows, cols, data)
	if err != nil {
		return Tensor{}, err
	}
	if !mm || !gr {
		ht, err := f.host.Upload(name, t, rows, cols, data)
		if err != nil {
			return Tensor{}, fmt.Errorf("host copy of %s: %w", name, err)
		}
		f.mu.Lock()
		f.twins[keyOf(dt)] = ht
		f.mu.Unlock()
	}
	return dt, nil
}

// OwnsCopy implements OwnCopy for weights kept in host memory: the host
// device's answer (the CPU repacks some types). Weights on the wrapped
// device report false, so their file pages stay as the device left them.
func (f *Fallback) OwnsCopy(t Tensor) bool {
	if _, ok := t.Buf.(*HostBuffer); !ok {
		return false
	}
	oc, ok := f.host.(OwnCopy)
	return ok && oc.OwnsCopy(t)
}

// NewStream implements Device: a stream over one stream of each device.
func (f *Fallback) NewStream() (Stream, error) {
	ds, err := f.dev.NewStream()
	if err != nil {
		return nil, err
	}
	hs, err := f.host.NewStream()
	if err != nil {
		return nil, fmt.Errorf("fallback stream on %s: %w", f.host.Name(), err)
	}
	return &fallbackStream{f: f, ds: ds, hs: hs}, nil
}

// Close closes both devices.
func (f *Fallback) Close() error {
	err := f.dev.Close()
	if herr := f.host.Close(); err == nil {
		err = herr
	}
	return err
}

// FallbackCount is how many ops of one kind went to the host, and why.
type FallbackCount struct {
	Op     Op
	Type   quant.Type
	Reason string
	N      int
}

type countKey struct {
	op     Op
	typ    quant.Type
	reason string
}

// Counts returns the ops sent to the host so far, most frequent first.
func (f *Fallback) Counts() []FallbackCount {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FallbackCount, 0, len(f.counts))
	for k, n := range f.counts {
		out = append(out, FallbackCount{Op: k.op, Type: k.typ, Reason: k.reason, N: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// note counts a fallback and logs its reason the first time.
func (f *Fallback) note(op Op, t quant.Type, reason string) {
	k := countKey{op, t, reason}
	f.mu.Lock()
	f.counts[k]++
	first := f.counts[k] == 1
	f.mu.Unlock()
	if first {
		f.log.Info("op falls back to the host", zap.String("device", f.dev.Name()), zap.String("host", f.host.Name()),
			zap.Stringer("op", op), zap.Stringer("type", t), zap.String("reason", reason))
	}
}

func (f *Fallback) twin(t Tensor) (Tensor, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.twins[keyOf(t)]
	return h, ok
}

// onHost reports whether t is host memory the wrapped device cannot read.
func (f *Fallback) onHost(t Tensor) bool {
	if !t.Valid() {
		return false
	}
	if _, ok := t.Buf.(*HostBuffer); !ok {
		return false
	}
	_, mapped := f.dev.(HostMapped)
	return !mapped
}
