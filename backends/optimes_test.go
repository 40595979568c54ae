package backends

import (
	"testing"
	"time"

	"github.com/nuri-ai/nuri/quant"
)

func TestOpTimes(t *testing.T) {
	var p OpTimes
	if p.On() || len(p.OpProfile()) != 0 {
		t.Fatal("a new OpTimes is on or has totals")
	}
	p.Add("stale", time.Second)
	p.ProfileOps(true) // clears
	p.Add("add", 2*time.Microsecond)
	p.Add("mul_mat Q4_0 8x32", 5*time.Microsecond)
	p.Add("add", 2*time.Microsecond)
	p.Add("rope", 4*time.Microsecond)
	p.AddRead("mul_mat Q4_0 8x32", 5*time.Microsecond, 144)
	p.AddMatMul("mul_mat Q4_0 8x32", 6*time.Microsecond, 144, 4*time.Microsecond)
	p.ProfileOps(false)
	if p.On() {
		t.Error("still on after ProfileOps(false)")
	}
	got := p.OpProfile()
	want := []OpTime{
		{Name: "mul_mat Q4_0 8x32", Calls: 3, Time: 16 * time.Microsecond, WeightBytes: 288, DotTime: 4 * time.Microsecond},
		{Name: "add", Calls: 2, Time: 4 * time.Microsecond},
		{Name: "rope", Calls: 1, Time: 4 * time.Microsecond},
	}
	if len(got) != len(want) {
		t.Fatalf("profile %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("profile[%d] = %+v, want %+v (largest time first, ties by name)", i, got[i], want[i])
		}
	}
}

func TestMatMulName(t *testing.T) {
	w := func(typ quant.Type, rows, cols int) Tensor { return Tensor{Type: typ, Rows: rows, Cols: cols} }
	for _, c := range []struct {
		x    Tensor
		ws   []Tensor
		want string
	}{
		{Tensor{Rows: 1}, []Tensor{w(quant.Q4_0, 2048, 8192)}, "mul_mat Q4_0 2048x8192"},
		{Tensor{Rows: 16}, []Tensor{w(quant.Q4_0, 512, 2048), w(quant.Q6_K, 512, 2048)}, "mul_mat Q4_0 512x2048 + Q6_K 512x2048 (16 rows)"},
	} {
		if got := MatMulName(c.x, c.ws); got != c.want {
			t.Errorf("MatMulName = %q, want %q", got, c.want)
		}
	}
}

// TestWeightBytes: a matmul's weights at their stored sizes (Q4_0: 18
// bytes a 32-element block), summed over the weights sharing its input.
func TestWeightBytes(t *testing.T) {
	ws := []Tensor{{Type: quant.Q4_0, Rows: 8, Cols: 32}, {Type: quant.F32, Rows: 2, Cols: 4}}
	if got := WeightBytes(ws); got != 8*18+2*4*4 {
		t.Errorf("WeightBytes = %d, want %d", got, 8*18+2*4*4)
	}
	if got := WeightBytes(nil); got != 0 {
		t.Errorf("WeightBytes(nil) = %d", got)
	}
}
