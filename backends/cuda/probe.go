package cuda

import (
	"errors"
	"fmt"
	"time"

	"github.com/nuri-ai/nuri/backends"
)

var _ backends.BandwidthMeter = (*Device)(nil)

// Read-probe settings. Eight 256-thread blocks per SM keep enough loads
// in flight to saturate HBM; each timed pass queues launches until about
// probeBytesPerPass bytes are read, so launch and synchronisation costs
// (microseconds) stay far below the pass (milliseconds on an H100-class
// GPU).
const (
	probeThreads      = 256
	probeBlocksPerSM  = 8
	probeBytesPerPass = 4 << 30
	probeMaxLaunches  = 64
	probePasses       = 3
	probeWord         = 16 // bytes per load (u32x4)
)

// MeasureReadBandwidth implements backends.BandwidthMeter: a kernel reads
// every 16-byte word of an n-byte buffer of device memory once per launch;
// the best of three timed passes (wall clock from the first launch to the
// stream's end) is returned in GB/s.
func (d *Device) MeasureReadBandwidth(n int) (float64, error) {
	words := n / probeWord
	if words < 1 {
		return 0, fmt.Errorf("%s: read probe of %d bytes (need at least %d)", d.name, n, probeWord)
	}
	bytes := words * probeWord
	buf, err := d.Alloc(bytes, backends.UsageScratch) // zeroed: the fold stays 0
	if err != nil {
		return 0, fmt.Errorf("read probe: %w", err)
	}
	out, err := d.Alloc(4, backends.UsageScratch)
	if err != nil {
		return 0, errors.Join(fmt.Errorf("read probe: %w", err), d.Free(buf))
	}
	gbs, err := d.readPasses(buf.(*Buffer).ptr, out.(*Buffer).ptr, words)
	if ferr := errors.Join(d.Free(out), d.Free(buf)); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		return 0, fmt.Errorf("%s: read probe: %w", d.name, err)
	}
	return gbs, nil
}

// readPasses runs a warm-up launch and the timed passes over words 16-byte
// words at ptr, on a stream of their own.
func (d *Device) readPasses(ptr, out uint64, words int) (float64, error) {
	bytes := float64(words) * probeWord
	launches := min(max(int(probeBytesPerPass/bytes), 1), probeMaxLaunches)
	grid := min(max(d.sms, 1)*probeBlocksPerSM, (words+probeThreads-1)/probeThreads)
	best := 0.0
	err := d.do(func() error {
		s := &Stream{dev: d}
		if err := d.drv.check("cuStreamCreate", d.drv.cuStreamCreate(&s.h, 0)); err != nil {
			return err
		}
		defer d.drv.cuStreamDestroy(s.h) //nolint:errcheck // the stream is idle: nothing to report
		run := func(k int) error {
			for range k {
				if err := s.readProbe(grid, ptr, words, out, 1); err != nil {
					return err
				}
			}
			return d.drv.check("cuStreamSynchronize", d.drv.cuStreamSynchronize(s.h))
		}
		if err := run(1); err != nil { // warm-up: module load, clocks up
			return err
		}
		for range probePasses {
			t0 := time.Now()
			if err := run(launches); err != nil {
				return err
			}
			if sec := time.Since(t0).Seconds(); sec > 0 {
				best = max(best, bytes*float64(launches)/sec/1e9)
			}
		}
		return nil
	})
	return best, err
}

// readProbe queues one read of words 16-byte words at ptr on grid blocks;
// a thread whose xor fold equals magic stores it at out.
func (s *Stream) readProbe(grid int, ptr uint64, words int, out uint64, magic uint32) error {
	return s.launch("nuri_read_probe", [3]uint32{uint32(grid), 1, 1}, threads(probeThreads), 0,
		ptr, uint64(words), out, int32(magic))
}
