package backends_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/backends/cpu"
)

func TestRegistry(t *testing.T) {
	var opened []string
	r, err := backends.NewRegistry(
		backends.Backend{Name: "cpu", Open: func(cfg string) (backends.Device, error) {
			opened = append(opened, "cpu:"+cfg)
			return cpu.New(1), nil
		}},
		backends.Backend{Name: "gpu", Open: func(cfg string) (backends.Device, error) {
			return nil, errors.Join(errors.New("no driver: libgpu.so not found"), backends.ErrUnavailable)
		}, List: func() []backends.Availability {
			return []backends.Availability{{Name: "gpu", Reason: "no driver"}}
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		wantErr error
		cfg     string
	}{
		{"cpu", nil, "cpu:"},
		{" CPU:7 ", nil, "cpu:7"},
		{"gpu:0", backends.ErrUnavailable, ""},
		{"tpu:0", backends.ErrUnknownDevice, ""},
		{"", backends.ErrUnknownDevice, ""},
	} {
		opened = nil
		d, err := r.Open(tc.name)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("Open(%q): %v, want %v", tc.name, err, tc.wantErr)
		}
		if d != nil {
			d.Close()
		}
		if tc.cfg != "" && (len(opened) != 1 || opened[0] != tc.cfg) {
			t.Errorf("Open(%q) called open with %v, want %s", tc.name, opened, tc.cfg)
		}
		if errors.Is(err, backends.ErrUnknownDevice) && tc.name != "" && !strings.Contains(err.Error(), "cpu, gpu") {
			t.Errorf("unknown-device error does not list the known ones: %v", err)
		}
	}
	list := r.List()
	if len(list) != 2 || list[0].Name != "cpu" || !list[0].Available || list[1].Available || list[1].Reason != "no driver" {
		t.Errorf("list %+v", list)
	}
	for _, bad := range []backends.Backend{
		{Name: "cpu", Open: func(string) (backends.Device, error) { return nil, nil }},
		{Name: "a:b", Open: func(string) (backends.Device, error) { return nil, nil }},
		{Name: "Up", Open: func(string) (backends.Device, error) { return nil, nil }},
		{Name: "x"},
	} {
		if err := r.Add(bad); err == nil {
			t.Errorf("Add(%q) accepted", bad.Name)
		}
	}
}

func TestBucketsPad(t *testing.T) {
	b := backends.Buckets{BatchSizes: []int{1, 2, 4, 8, 16}, TokenMultiple: 64}
	for _, tc := range []struct{ n, want int }{
		{0, 0}, {1, 1}, {2, 2}, {3, 4}, {5, 8}, {9, 16}, {16, 16}, {17, 64}, {64, 64}, {65, 128}, {1000, 1024},
	} {
		if got := b.Pad(tc.n); got != tc.want {
			t.Errorf("Pad(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	if got := (backends.Buckets{}).Pad(37); got != 37 {
		t.Errorf("no buckets: Pad(37) = %d", got)
	}
	if s := b.String(); s != "batch 1/2/4/8/16, tokens ×64" {
		t.Errorf("String() = %q", s)
	}
	if b.MaxBatch() != 16 {
		t.Errorf("MaxBatch %d", b.MaxBatch())
	}
}
