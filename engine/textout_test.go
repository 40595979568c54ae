package engine

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTextOut(t *testing.T) {
	han := []byte("한") // ED 95 9C
	tests := []struct {
		name     string
		stops    []string
		pieces   [][]byte
		want     []string // text emitted after each piece
		stopAt   int      // piece index where a stop string matches, -1 none
		wantTail string   // flush at the end (no match)
	}{
		{"plain", nil, [][]byte{[]byte("ab"), []byte(" c")}, []string{"ab", " c"}, -1, ""},
		{"korean split over three tokens", nil, [][]byte{han[:1], han[1:2], han[2:], []byte("국")},
			[]string{"", "", "한", "국"}, -1, ""},
		{"split char at the end is replaced", nil, [][]byte{[]byte("a"), han[:2]}, []string{"a", ""}, -1, "\uFFFD\uFFFD"},
		{"invalid byte replaced", nil, [][]byte{{'a', 0xff, 'b'}}, []string{"a\uFFFDb"}, -1, ""},
		{"stop inside one piece", []string{"STOP"}, [][]byte{[]byte("abSTOPcd")}, []string{"ab"}, 0, ""},
		{"stop across pieces is held", []string{"STOP"}, [][]byte{[]byte("abS"), []byte("T"), []byte("OPx")},
			[]string{"ab", "", ""}, 2, ""},
		{"false start released", []string{"STOP"}, [][]byte{[]byte("abST"), []byte("x")}, []string{"ab", "STx"}, -1, ""},
		{"held text flushed at the end", []string{"STOP"}, [][]byte{[]byte("abST")}, []string{"ab"}, -1, "ST"},
		{"korean stop string", []string{"입니다"}, [][]byte{[]byte("좋"), []byte("입니"), []byte("다.")},
			[]string{"좋", "", ""}, 2, ""},
		{"korean stop split mid-character", []string{"다."}, [][]byte{[]byte("좋"), []byte("다")[:2], []byte("다")[2:], []byte(".")},
			[]string{"좋", "", "", ""}, 3, ""},
		{"earliest of several stops", []string{"cd", "bc"}, [][]byte{[]byte("abcd")}, []string{"a"}, 0, ""},
		{"overlapping candidates keep the longest", []string{"aab", "ab"}, [][]byte{[]byte("xa"), []byte("a"), []byte("c")},
			[]string{"x", "", "aac"}, -1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := textOut{stops: tc.stops}
			for i, p := range tc.pieces {
				got, _, stopped := o.push(p, true)
				if got != tc.want[i] || stopped != (i == tc.stopAt) {
					t.Fatalf("piece %d: %q stopped=%v, want %q stopped=%v", i, got, stopped, tc.want[i], i == tc.stopAt)
				}
				if !utf8.ValidString(got) {
					t.Fatalf("piece %d: invalid UTF-8 %q", i, got)
				}
				if stopped {
					break
				}
			}
			if tc.stopAt < 0 {
				if tail := o.flush(); tail != tc.wantTail {
					t.Fatalf("flush %q, want %q", tail, tc.wantTail)
				}
			}
		})
	}
}

// Streaming any split of a byte string gives the same text as sanitizing
// it whole, and never a broken character.
func TestTextOutSplitInvariance(t *testing.T) {
	whole := []byte("한국어 텍스트\xffabc\xed\x95 끝")
	want := sanitize(whole)
	for step := 1; step <= 5; step++ {
		o := textOut{}
		var sb strings.Builder
		for i := 0; i < len(whole); i += step {
			got, _, _ := o.push(whole[i:min(i+step, len(whole))], true)
			if !utf8.ValidString(got) {
				t.Fatalf("step %d: invalid UTF-8 emitted", step)
			}
			sb.WriteString(got)
		}
		sb.WriteString(o.flush())
		if sb.String() != want {
			t.Fatalf("step %d: %q, want %q", step, sb.String(), want)
		}
	}
}

// sanitize is the tests' independent reference: it converts bytes to a string, replacing each invalid byte with
// U+FFFD. Replacing byte by byte (not run by run) makes the result the same
// however the bytes were split into pieces.
func sanitize(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			sb.WriteString("\uFFFD")
		} else {
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}

// A matched stop string is reported, and kept in the text with
// includeStop; with check false nothing is held or matched.
func TestTextOutIncludeStopAndUnchecked(t *testing.T) {
	o := textOut{stops: []string{"끝.", "END"}, includeStop: true}
	var got []string
	for _, p := range []string{"이야기 ", "끝", ".", " 뒤"} {
		text, stop, matched := o.push([]byte(p), true)
		got = append(got, text)
		if matched {
			if stop != "끝." {
				t.Fatalf("stop %q, want 끝.", stop)
			}
			break
		}
	}
	if want := []string{"이야기 ", "", "끝."}; !slices.Equal(got, want) {
		t.Fatalf("pieces %q, want %q", got, want)
	}
	o = textOut{stops: []string{"END"}}
	if text, _, matched := o.push([]byte("xEN"), false); text != "xEN" || matched {
		t.Fatalf("unchecked: %q %v", text, matched)
	}
	if text, _, matched := o.push([]byte("D"), false); text != "D" || matched {
		t.Fatalf("unchecked: %q %v", text, matched)
	}
	if text, stop, matched := o.push([]byte("aEND"), true); text != "a" || stop != "END" || !matched {
		t.Fatalf("checked: %q %q %v", text, stop, matched)
	}
}

// lineWatch: a line after the first indented less than the minimum is
// cut before its first character; the first line and blank lines are not
// judged; a newline is noticed with or without a minimum.
func TestLineWatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pieces []string
		min    int
		out    string // the text kept
		cut    bool
	}{
		{"first line free", []string{"x = 1"}, 4, "x = 1", false},
		{"indented lines pass", []string{"if a:\n", "    b()\n", "\t\t\t\tc()"}, 4, "if a:\n    b()\n\t\t\t\tc()", false},
		{"a tab is one", []string{"a\n", "\tc()"}, 4, "a\n\t", true},
		{"dedent cuts", []string{"a()\n    b()\n", "  c()"}, 4, "a()\n    b()\n  ", true},
		{"cut inside a token", []string{"a()\n", "    b()\nc()"}, 4, "a()\n    b()\n", true},
		{"blank line passes", []string{"a\n\n", "    b"}, 4, "a\n\n    b", false},
		{"tabs count", []string{"a\n\t\t", "b"}, 2, "a\n\t\tb", false},
		{"no minimum", []string{"a\nb\nc"}, 0, "a\nb\nc", false},
	} {
		var w lineWatch
		var out strings.Builder
		cut := false
		for _, p := range tc.pieces {
			kept, c := w.watch([]byte(p), tc.min)
			out.Write(kept)
			if c {
				cut = true
				break
			}
		}
		if out.String() != tc.out || cut != tc.cut || w.newline != strings.Contains(tc.out, "\n") {
			t.Errorf("%s: kept %q cut %v newline %v, want %q %v", tc.name, out.String(), cut, w.newline, tc.out, tc.cut)
		}
	}
}
