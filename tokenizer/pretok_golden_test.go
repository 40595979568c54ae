package tokenizer

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestPreTokenizersAgainstLlamaCpp splits a corpus of awkward texts (every
// letter case and script the regexes distinguish, marks, digits of
// several kinds, each kind of space and line break, symbols, emoji,
// contractions) with every pre-tokenizer type and compares the pieces'
// byte lengths with a reference (testdata/pretok-llamacpp.txt; how it was
// made is in testdata/README.md): llama.cpp's unicode_regex_split over the
// regex lists of its llm_tokenizer_bpe, or, for the pre-types whose
// tokenizer.json regex llama.cpp rewrites (o200k, Tekken, Youtu,
// DeepSeek-V3, Tiny Aya) and splits differently, that regex itself. One
// group per distinct regex list; every name in a group must split alike.
func TestPreTokenizersAgainstLlamaCpp(t *testing.T) {
	f, err := os.Open("testdata/pretok-llamacpp.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	var names []string
	row := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	mismatches := map[string]int{}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"), strings.HasPrefix(line, "S "):
		case strings.HasPrefix(line, "T "):
			b, err := hex.DecodeString(line[2:])
			if err != nil {
				t.Fatalf("text %d: %v", len(texts), err)
			}
			texts = append(texts, string(b))
		case strings.HasPrefix(line, "P "):
			if names != nil && row != len(texts) {
				t.Fatalf("group %v: %d rows for %d texts", names, row, len(texts))
			}
			names, row = strings.Split(line[2:], ","), 0
		default:
			if row >= len(texts) {
				t.Fatalf("group %v: more rows than texts", names)
			}
			want, err := parseLengths(line)
			if err != nil {
				t.Fatalf("group %v row %d: %v", names, row, err)
			}
			for _, name := range names {
				if _, _, err := lookupPre(name); err != nil {
					if mismatches[name] == 0 {
						t.Errorf("%s: %v", name, err)
					}
					mismatches[name]++
					continue
				}
				got := pieceLengths(t, name, texts[row])
				if fmt.Sprint(got) != fmt.Sprint(want) {
					if mismatches[name] < 3 {
						t.Errorf("%s: %q\n got %v\nwant %v", name, texts[row], got, want)
					}
					mismatches[name]++
				}
			}
			row++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(texts) < 100 || row != len(texts) {
		t.Fatalf("%d texts read, %d rows in the last group", len(texts), row)
	}
	for name, n := range mismatches {
		t.Errorf("%s: %d of %d texts split differently", name, n, len(texts))
	}
}

func parseLengths(line string) ([]int, error) {
	if line == "-" {
		return []int{}, nil
	}
	var out []int
	for _, f := range strings.Split(line, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func pieceLengths(t *testing.T, pre, text string) []int {
	out := []int{}
	for _, p := range pieces(t, pre, text) {
		out = append(out, len(p))
	}
	return out
}
