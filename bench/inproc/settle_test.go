package inproc

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nuri-ai/nuri/backends"
)

func TestSettleAfterProbe(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		want []int
	}{
		{"long test", 32, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
		{"short test wraps", 5, []int{0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			err := settleAfterProbe(func(i int) error { got = append(got, i); return nil }, tc.n)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("steps %v, err %v; want %v", got, err, tc.want)
			}
		})
	}
	boom := errors.New("boom")
	calls := 0
	err := settleAfterProbe(func(int) error { calls++; return boom }, 8)
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("a failing step: err %v after %d calls, want boom after 1", err, calls)
	}
}

// A slow model gets fewer steps: the settling stops at settleTime.
func TestSettleAfterProbeTimeCap(t *testing.T) {
	calls := 0
	start := time.Now()
	err := settleAfterProbe(func(int) error { calls++; time.Sleep(settleTime / 4); return nil }, 8)
	if err != nil || calls < 4 || calls > 5 {
		t.Fatalf("%d steps of a quarter of settleTime (err %v), want 4 or 5", calls, err)
	}
	if el := time.Since(start); el > 2*settleTime {
		t.Fatalf("settling took %v", el)
	}
}

func TestOpTotals(t *testing.T) {
	var o opTotals
	o.add([]backends.OpTime{{Name: "mul_mat", Calls: 3, Time: 30}, {Name: "rope", Calls: 2, Time: 4}})
	o.add([]backends.OpTime{{Name: "rope", Calls: 2, Time: 5}, {Name: "attention", Calls: 1, Time: 7}, {Name: "mul_mat", Calls: 3, Time: 33}})
	want := []backends.OpTime{{Name: "mul_mat", Calls: 6, Time: 63}, {Name: "rope", Calls: 4, Time: 9}, {Name: "attention", Calls: 1, Time: 7}}
	if got := o.list(); !slices.Equal(got, want) {
		t.Fatalf("totals %v, want %v", got, want)
	}
	var empty opTotals
	if got := empty.list(); len(got) != 0 {
		t.Fatalf("no profiles: %v", got)
	}
}
