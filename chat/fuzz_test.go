package chat

import (
	"reflect"
	"testing"
)

// The parsers give the same content and calls however the reply is cut
// into pieces: whole, in two at any byte, or byte by byte.
func FuzzReplyParsersSplit(f *testing.F) {
	for _, tc := range hermesCases {
		f.Add(tc.in, uint(len(tc.in)/2))
	}
	for _, tc := range llama3Cases {
		f.Add(tc.in, uint(1))
	}
	f.Add("<think>\na\n</think>\n\nb", uint(9))
	f.Fuzz(func(t *testing.T, in string, cut uint) {
		at := int(cut % uint(len(in)+1))
		for _, tf := range []ToolFormat{ToolsHermes, ToolsLlama3, ToolsNone} {
			c1, k1 := runParser(tf, []string{in})
			c2, k2 := runParser(tf, []string{in[:at], in[at:]})
			var bytes []string
			for i := range len(in) {
				bytes = append(bytes, in[i:i+1])
			}
			c3, k3 := runParser(tf, bytes)
			if c1 != c2 || c1 != c3 || !reflect.DeepEqual(k1, k2) || !reflect.DeepEqual(k1, k3) {
				t.Fatalf("%s %q cut at %d: whole %q %v, split %q %v, bytes %q %v", tf, in, at, c1, k1, c2, k2, c3, k3)
			}
		}
		for _, open := range []bool{false, true} {
			r1, c1 := runThink(DefaultThinkTags, open, []string{in})
			r2, c2 := runThink(DefaultThinkTags, open, []string{in[:at], in[at:]})
			if r1 != r2 || c1 != c2 {
				t.Fatalf("think %v %q cut at %d: %q %q against %q %q", open, in, at, r1, c1, r2, c2)
			}
		}
	})
}
