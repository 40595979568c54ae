package backends

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/nuri-ai/nuri/quant"
)

// otherBuffer is device memory the CPU cannot address.
type otherBuffer struct{ n int }

func (b otherBuffer) Size() int { return b.n }

func TestHostViews(t *testing.T) {
	hb := NewHostBuffer(6 * 4)
	for i := range 6 {
		binary.LittleEndian.PutUint32(hb.Bytes()[4*i:], math.Float32bits(float32(i)+0.5))
	}
	f32 := Tensor{Name: "x", Buf: hb, Type: quant.F32, Rows: 2, Cols: 3}
	row1, err := f32.Slice(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		t       Tensor
		want    []float32 // HostF32s
		bytes   int       // HostBytes' length
		bytesOK error     // HostBytes' error
		f32sOK  error     // HostF32s' error
	}{
		{name: "whole", t: f32, want: []float32{0.5, 1.5, 2.5, 3.5, 4.5, 5.5}, bytes: 24},
		{name: "second row", t: row1, want: []float32{3.5, 4.5, 5.5}, bytes: 12},
		{name: "no rows", t: Tensor{Name: "e", Buf: hb, Type: quant.F32, Rows: 0, Cols: 3}, want: nil, bytes: 0},
		{name: "past the end", t: Tensor{Name: "p", Buf: hb, Off: 12, Type: quant.F32, Rows: 2, Cols: 3}, bytesOK: ErrShape, f32sOK: ErrShape},
		{name: "negative offset", t: Tensor{Name: "n", Buf: hb, Off: -4, Type: quant.F32, Rows: 1, Cols: 1}, bytesOK: ErrShape, f32sOK: ErrShape},
		{name: "not host memory", t: Tensor{Name: "d", Buf: otherBuffer{24}, Type: quant.F32, Rows: 2, Cols: 3}, bytesOK: ErrUnsupportedOp, f32sOK: ErrUnsupportedOp},
		{name: "F16 as F32", t: Tensor{Name: "h", Buf: hb, Type: quant.F16, Rows: 2, Cols: 3}, bytes: 12, f32sOK: ErrUnsupportedOp},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := c.t.HostBytes()
			if !errors.Is(err, c.bytesOK) || (c.bytesOK != nil) != (err != nil) {
				t.Fatalf("HostBytes: error %v, want %v", err, c.bytesOK)
			}
			if err == nil && len(b) != c.bytes {
				t.Errorf("HostBytes: %d bytes, want %d", len(b), c.bytes)
			}
			got, err := c.t.HostF32s()
			if !errors.Is(err, c.f32sOK) || (c.f32sOK != nil) != (err != nil) {
				t.Fatalf("HostF32s: error %v, want %v", err, c.f32sOK)
			}
			if len(got) != len(c.want) {
				t.Fatalf("HostF32s: %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("HostF32s: %v, want %v", got, c.want)
				}
			}
		})
	}
	// The view shares the buffer's memory.
	v, err := row1.HostF32s()
	if err != nil {
		t.Fatal(err)
	}
	v[0] = -1
	if got := math.Float32frombits(binary.LittleEndian.Uint32(hb.Bytes()[12:])); got != -1 {
		t.Errorf("HostF32s copied: the buffer holds %v after a write of -1 through the view", got)
	}
}
