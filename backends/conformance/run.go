package conformance

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/backends"
)

// Run runs the kit on dev as subtests named "op/type": a failing op and
// type fails its subtest with every failed case; an unsupported one is
// logged (its clean refusal was checked). The matrix is logged at the end.
// A device that passes nothing fails: a kit that checked nothing proves
// nothing.
func Run(t *testing.T, dev backends.Device, opts ...Option) []Result {
	t.Helper()
	rs, err := Matrix(dev, opts...)
	if err != nil {
		t.Fatalf("conformance of %s: %v", dev.Name(), err)
	}
	passed := 0
	for _, r := range rs {
		r := r
		t.Run(fmt.Sprintf("%v/%v", r.Op, r.Type), func(t *testing.T) {
			switch r.Status {
			case Fail:
				for _, f := range r.Failures {
					t.Error(f)
				}
			case Unsupported:
				t.Logf("%s (refused cleanly in %d cases)", r.Note, r.Cases)
			default:
				t.Logf("%d cases, worst rel-RMS %.3g (limit %.3g), max %.3g (limit %.3g)",
					r.Cases, r.Worst.RelRMS, r.Limit.RelRMS, r.Worst.MaxNorm, r.Limit.MaxNorm)
			}
		})
		if r.Status == Pass {
			passed++
		}
	}
	if passed == 0 {
		t.Errorf("%s passed no op at all", dev.Name())
	}
	var b strings.Builder
	_ = WriteMatrix(&b, dev.Name(), rs) // a strings.Builder does not fail
	t.Logf("\n%s", b.String())
	return rs
}
