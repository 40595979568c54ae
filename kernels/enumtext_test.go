package kernels

import "testing"

func TestEnumNames(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    uint8
		wantErr string
	}{
		{"", 0, ""},
		{"auto", 0, ""},
		{"far", 2, ""},
		{"Far", 0, `prefetch "Far": want auto, near or far`},
		{"1", 0, `prefetch "1": want auto, near or far`},
	} {
		got, err := prefetchNames.parse("prefetch", tc.in)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
			t.Errorf("parse(%q) = %d, %v; want %d, %q", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	if got := pacingNames.name("Pacing", 1); got != "off" {
		t.Errorf("name(1) = %q, want off", got)
	}
	if got := kernelSetNames.name("KernelSet", 7); got != "KernelSet(7)" {
		t.Errorf("name(7) = %q, want KernelSet(7)", got)
	}
	if _, err := ParseKernelSet("fast"); err == nil || err.Error() != `kernel set "fast": want best, avx2 or generic` {
		t.Errorf("ParseKernelSet(fast): %v", err)
	}
}
