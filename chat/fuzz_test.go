package chat

import (
	"encoding/json"
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
	for _, cases := range [][]toolCase{solarCases, gemma4Cases, mistralCases} {
		for _, tc := range cases {
			f.Add(tc.in, uint(len(tc.in)/3))
		}
	}
	f.Add("<think>\na\n</think>\n\nb", uint(9))
	f.Add("<|channel>thought\na<channel|>b", uint(11))
	f.Fuzz(func(t *testing.T, in string, cut uint) {
		at := int(cut % uint(len(in)+1))
		for _, tf := range []ToolFormat{ToolsHermes, ToolsLlama3, ToolsSolar, ToolsGemma4, ToolsMistral, ToolsNone} {
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
			// Gemma 4's and Mistral's arguments always come back as a JSON
			// object (the JSON formats take a string's text, as written).
			for _, c := range k1 {
				if (tf == ToolsGemma4 || tf == ToolsMistral) && !json.Valid([]byte(c.Arguments)) {
					t.Fatalf("%s %q: call %+v has arguments that are not JSON", tf, in, c)
				}
			}
		}
		for _, tags := range []ThinkTags{DefaultThinkTags, Gemma4ThinkTags} {
			for _, open := range []bool{false, true} {
				r1, c1 := runThink(tags, open, []string{in})
				r2, c2 := runThink(tags, open, []string{in[:at], in[at:]})
				if r1 != r2 || c1 != c2 {
					t.Fatalf("think %s %v %q cut at %d: %q %q against %q %q", tags.Open, open, in, at, r1, c1, r2, c2)
				}
			}
		}
	})
}
