package cpu

import "unsafe"

// BytesF32 exposes the zero-copy view for tests in package cpu_test.
func BytesF32(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// SetAttnSplit turns a stream's split attention (attnSplit) on or off,
// so tests can compare the two forms.
func SetAttnSplit(s *Stream, on bool) { s.attn.noSplit = !on }
