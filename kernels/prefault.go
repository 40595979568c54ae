package kernels

// Prefault writes a zero to every 4 KiB page of b, which must be all zero,
// so the kernel maps its pages now rather than on first use. A KV cache is
// otherwise first written one position at a time in the middle of
// decoding, and a page fault in a virtual machine costs tens of
// microseconds (StoreKV took 21 µs a layer on untouched pages). On a
// LargeBytes buffer it runs after the huge-page advice, so it maps huge
// pages where the kernel has them (MAP_POPULATE would fault before the
// advice and map small ones). Buffers that are written whole right away
// (packed weights) do not need it.
func Prefault(b []byte) {
	for i := 0; i < len(b); i += 4096 {
		b[i] = 0
	}
}
