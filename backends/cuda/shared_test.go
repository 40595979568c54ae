package cuda

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
	"github.com/nuri-ai/nuri/quant"
)

// TestEmulatedMatMulShared: MatMulShared leaves every output bit for bit
// as MatMul does, with weights of several vec-dot types in one call
// (Q4_0 and Q8_0 read Q8_0 activations, Q4_K and Q6_K Q8_K, Q4_1 Q8_1),
// on the device itself and through the CPU fallback wrapper, which runs
// the call one matmul at a time when a weight's type (Q2_K) is not the
// device's.
func TestEmulatedMatMulShared(t *testing.T) {
	dev := openEmulated(t)
	host := cpu.New(1)
	defer host.Close()
	wrapped := backends.WithFallback(dev, host, nil)

	const cols, nx = 512, 3
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name  string
		d     backends.Device
		types []quant.Type
	}{
		{"device", dev, []quant.Type{quant.Q4_K, quant.Q4_0, quant.Q6_K, quant.Q8_0, quant.Q4_1, quant.Q4_K}},
		{"fallback", wrapped, []quant.Type{quant.Q4_0, quant.Q2_K, quant.Q6_K}},
	} {
		s, err := tc.d.NewStream()
		if err != nil {
			t.Fatal(err)
		}
		xv := make([]float32, nx*cols)
		for i := range xv {
			xv[i] = float32(rng.NormFloat64())
		}
		x := alloc(t, tc.d, "x", nx, cols)
		s.(backends.Writer).Write(x, xv)
		var ws, one, shared []backends.Tensor
		for i, typ := range tc.types {
			rows := 5 + 4*i
			v := make([]float32, rows*cols)
			for j := range v {
				v[j] = float32(rng.NormFloat64())
			}
			rb, _ := typ.RowBytes(cols)
			data := make([]byte, rows*rb)
			if err := quant.Quantize(typ, v, data); err != nil {
				t.Fatal(err)
			}
			w, err := tc.d.Upload("w", typ, rows, cols, data)
			if err != nil {
				t.Fatal(err)
			}
			ws = append(ws, w)
			one = append(one, alloc(t, tc.d, "one", nx, rows))
			shared = append(shared, alloc(t, tc.d, "shared", nx, rows))
			s.MatMul(one[i], w, x)
		}
		sm, ok := s.(backends.SharedMatMuler)
		if !ok {
			t.Fatalf("%s: the stream does not implement backends.SharedMatMuler", tc.name)
		}
		sm.MatMulShared(shared, ws, x)
		for i := range ws {
			a, b := make([]float32, nx*ws[i].Rows), make([]float32, nx*ws[i].Rows)
			s.Read(a, one[i])
			s.Read(b, shared[i])
			if err := s.Sync(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			for j := range a {
				if math.Float32bits(a[j]) != math.Float32bits(b[j]) || a[j] == 0 {
					t.Fatalf("%s: weight %d (%v) value %d: shared %v, alone %v", tc.name, i, ws[i].Type, j, b[j], a[j])
				}
			}
		}
	}
}

func alloc(t *testing.T, d backends.Device, name string, rows, cols int) backends.Tensor {
	t.Helper()
	b, err := d.Alloc(4*rows*cols, backends.UsageScratch)
	if err != nil {
		t.Fatal(err)
	}
	return backends.Tensor{Name: name, Buf: b, Type: quant.F32, Rows: rows, Cols: cols}
}

// TestEmulatedUpload32: a repeated upload is skipped, and the buffer then
// still holds the values; a changed or longer one is copied.
func TestEmulatedUpload32(t *testing.T) {
	dev := openEmulated(t)
	st, err := dev.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*Stream)
	long := make([]int32, 70) // grows the buffer past its 256-byte minimum
	for i := range long {
		long[i] = int32(70 - i)
	}
	for i, v := range [][]int32{{1, 2, 3}, {1, 2, 3}, {1, 2, 4}, {1, 2, 4}, long, {5}} {
		got := make([]int32, len(v))
		err := dev.do(func() error {
			p, err := s.upload32("pos", v)
			if err != nil {
				return err
			}
			if err := dev.drv.check("copy out", dev.drv.cuMemcpyDtoHAsync(unsafe.Pointer(&got[0]), p, uint64(4*len(v)), s.h)); err != nil {
				return err
			}
			return s.sync()
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, v) {
			t.Errorf("upload %d: buffer holds %v, want %v", i, got, v)
		}
		if !slices.Equal(s.uploaded["pos"], v) {
			t.Errorf("upload %d: recorded %v, want %v", i, s.uploaded["pos"], v)
		}
	}
}
