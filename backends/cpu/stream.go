package cpu

import (
	"fmt"
	"time"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/kernels"
)

// Stream runs ops synchronously on the device's pool. The first error is
// kept (and later ops skipped) until Sync returns it. A Stream is not safe
// for concurrent use.
type Stream struct {
	dev *Device
	err error
	// MatMulShared's and MatMulNormShared's argument lists, reused (a
	// stream is used by one goroutine at a time).
	shared sharedArgs
	attn   attnScratch
	// StoreKV's pool task and its per-token errors, reused.
	store     storeTask
	storeErrs []error
	rope      ropeCache
	rowOp     rowOp // the row-wise ops' pool task (runRows)
	// row is GetRows' buffer for a row rebuilt from a packed copy.
	row []byte
	// names caches the op profile's matmul names (formatting one costs
	// microseconds, which would land between the ops of a profiled step).
	names map[matmulKey]string
}

var (
	_ backends.Stream      = (*Stream)(nil)
	_ backends.HostOutputs = (*Stream)(nil)
)

// HostOutputs implements backends.HostOutputs: every op reads and writes
// host memory, so any HostBuffer tensor may be a destination.
func (s *Stream) HostOutputs() {}

// sharedArgs are a shared-input matmul's argument lists (MatMulShared,
// MatMulNormShared).
type sharedArgs struct {
	ms   []matmulOperands
	ys   [][]float32
	pws  []*kernels.PackedWeights
	done []bool
	// members: the indices of the matrices groups last handed out;
	// rows: a grouped call's input rows for them.
	members, rows []int
}

// Sync implements backends.Stream: ops already ran, so it only reports and
// clears the first error.
func (s *Stream) Sync() error {
	err := s.err
	s.err = nil
	return err
}

// do runs one op unless an earlier one failed, recording its error with
// the op's name, and times it when the device profiles ops.
func (s *Stream) do(op backends.Op, f func() error) {
	if s.err != nil {
		return
	}
	if !s.dev.prof.On() {
		s.run(op, f)
		return
	}
	start := time.Now()
	s.run(op, f)
	s.dev.prof.Add(op.String(), time.Since(start))
}

// doMatMul is do for a matmul of x by ws, timed under a name that gives
// the weights' types and shapes (formatted after the op, outside its time).
func (s *Stream) doMatMul(x backends.Tensor, ws []backends.Tensor, f func() error) {
	s.doMatMulAs(x, ws, "", f)
}

// doMatMulAs is doMatMul for a matmul fused with other ops, which suffix
// names in its profile name (" + residual add").
func (s *Stream) doMatMulAs(x backends.Tensor, ws []backends.Tensor, suffix string, f func() error) {
	if s.err != nil {
		return
	}
	if !s.dev.prof.On() {
		s.run(backends.OpMatMul, f)
		return
	}
	dot0 := s.dev.pool.DotTime()
	start := time.Now()
	s.run(backends.OpMatMul, f)
	el := time.Since(start)
	dot := s.dev.pool.DotTime() - dot0
	s.dev.prof.AddMatMul(s.matmulName(x, ws, suffix), el, backends.WeightBytes(ws), dot)
}

func (s *Stream) run(op backends.Op, f func() error) {
	if err := f(); err != nil {
		s.err = fmt.Errorf("cpu %v: %w", op, err)
	}
}

// Read implements backends.Stream.
func (s *Stream) Read(dst []float32, src backends.Tensor) {
	if s.err != nil {
		return
	}
	if s.dev.prof.On() {
		defer func(start time.Time) { s.dev.prof.Add("read", time.Since(start)) }(time.Now())
	}
	x, err := src.HostF32s()
	if err == nil && len(dst) < len(x) {
		err = fmt.Errorf("%s: destination holds %d values, need %d: %w", src.Shape(), len(dst), len(x), backends.ErrShape)
	}
	if err != nil {
		s.err = fmt.Errorf("cpu read: %w", err)
		return
	}
	copy(dst, x)
}

// sameShape checks that every tensor has rows×cols.
func sameShape(rows, cols int, ts ...backends.Tensor) error {
	for _, t := range ts {
		if t.Rows != rows || t.Cols != cols {
			return fmt.Errorf("%s: want %dx%d: %w", t.Shape(), rows, cols, backends.ErrShape)
		}
	}
	return nil
}
