package sample

import (
	"testing"
	"unicode/utf8"
)

// utf8Next accepts exactly the well-formed sequences: every sequence of up
// to three bytes, and four-byte ones from a sample of leads, against
// unicode/utf8.
func TestUTF8NextMatchesValid(t *testing.T) {
	check := func(b []byte) {
		st, ok := uint8(0), true
		for _, c := range b {
			if st, ok = utf8Next(st, c); !ok {
				break
			}
		}
		if got, want := ok && st == 0, utf8.Valid(b); got != want {
			t.Fatalf("% x: %v, utf8.Valid %v", b, got, want)
		}
	}
	for a := range 256 {
		check([]byte{byte(a)})
		for b := range 256 {
			check([]byte{byte(a), byte(b)})
			if a >= 0xC0 {
				for c := range 256 {
					check([]byte{byte(a), byte(b), byte(c)})
				}
			}
		}
	}
	for _, a := range []byte{0xF0, 0xF1, 0xF3, 0xF4, 0xF5} {
		for b := range 256 {
			for _, c := range []byte{0x7F, 0x80, 0xBF, 0xC0} {
				for _, d := range []byte{0x7F, 0x80, 0x9F, 0xBF, 0xC0} {
					check([]byte{a, byte(b), c, d})
				}
			}
		}
	}
}
