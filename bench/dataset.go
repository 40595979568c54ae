package bench

import (
	"bufio"
	_ "embed" // the Korean prompt set ships inside the binary
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"unicode"
)

// koreanJSONL is the project's own Korean prompt set: questions, summaries,
// translations, code explanations, multi-turn conversations and writing
// requests, all written for Nuri (see docs/bench.md).
//
//go:embed data/korean.jsonl
var koreanJSONL string

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Prompt is one benchmark request before it is sent.
type Prompt struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind,omitempty"`
	Messages []Message `json:"messages,omitempty"`
	// Text is the prompt for the completions endpoint; when a dataset gives
	// only messages it is the messages flattened into a transcript.
	Text      string `json:"prompt,omitempty"`
	MaxTokens int    `json:"max_tokens,omitempty"`
	// EstInputTokens approximates the prompt's token count for servers that
	// report no usage (see EstimateTokens).
	EstInputTokens int `json:"-"`
}

// DefaultMaxTokens is used when neither the dataset nor --max-tokens sets one.
const DefaultMaxTokens = 256

// RandomSpec shapes the "random" dataset.
type RandomSpec struct {
	InputLen   int     `json:"input_len"`   // words per prompt (≈ tokens, see docs)
	OutputLen  int     `json:"output_len"`  // max_tokens per request
	RangeRatio float64 `json:"range_ratio"` // lengths drawn from [L·(1−r), L·(1+r)]
}

// LoadDataset returns the prompts of a named dataset: "korean" (embedded),
// "random" (generated from spec and n with seed), or a path to a JSONL file.
func LoadDataset(name string, spec RandomSpec, n int, seed uint64) ([]Prompt, error) {
	switch name {
	case "korean":
		ps, err := ParseJSONL(strings.NewReader(koreanJSONL))
		if err != nil {
			return nil, fmt.Errorf("embedded korean dataset: %w", err)
		}
		return ps, nil
	case "random":
		return RandomPrompts(spec, n, seed)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	defer f.Close()
	ps, err := ParseJSONL(f)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	return ps, nil
}

// ParseJSONL reads one prompt per line: {"id","kind","messages":[{role,
// content}…],"max_tokens"} or {"prompt": "…"}. Blank lines are skipped; any
// other malformed line is an error naming its line number.
func ParseJSONL(r io.Reader) ([]Prompt, error) {
	br := bufio.NewReader(r)
	var out []Prompt
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read line %d: %w", lineNo, err)
		}
		if s := strings.TrimSpace(line); s != "" {
			p, perr := parsePromptLine(s)
			if perr != nil {
				return nil, fmt.Errorf("line %d: %w", lineNo, perr)
			}
			if p.ID == "" {
				p.ID = fmt.Sprintf("line-%d", lineNo)
			}
			out = append(out, p)
		}
		if err == io.EOF {
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no prompts")
	}
	return out, nil
}

func parsePromptLine(s string) (Prompt, error) {
	var p Prompt
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("parse: %w", err)
	}
	if p.MaxTokens < 0 {
		return p, fmt.Errorf("max_tokens %d is negative", p.MaxTokens)
	}
	for i, m := range p.Messages {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return p, fmt.Errorf("message %d: unknown role %q", i, m.Role)
		}
		if strings.TrimSpace(m.Content) == "" {
			return p, fmt.Errorf("message %d: empty content", i)
		}
	}
	switch {
	case len(p.Messages) == 0 && strings.TrimSpace(p.Text) == "":
		return p, fmt.Errorf("neither messages nor prompt")
	case len(p.Messages) == 0:
		p.Messages = []Message{{Role: "user", Content: p.Text}}
	case p.Text == "":
		p.Text = FlattenMessages(p.Messages)
	}
	p.EstInputTokens = estimateMessages(p.Messages)
	return p, nil
}

// FlattenMessages turns a conversation into one completion prompt. A single
// user turn is sent as is; longer conversations become a labelled transcript
// ending with the assistant's cue.
func FlattenMessages(ms []Message) string {
	if len(ms) == 1 && ms[0].Role == "user" {
		return ms[0].Content
	}
	var sb strings.Builder
	for _, m := range ms {
		sb.WriteString(roleLabel(m.Role) + ": " + m.Content + "\n\n")
	}
	sb.WriteString(roleLabel("assistant") + ":")
	return sb.String()
}

func roleLabel(role string) string {
	switch role {
	case "system":
		return "시스템"
	case "assistant":
		return "어시스턴트"
	default:
		return "사용자"
	}
}

// EstimateTokens approximates how many tokens a text takes in the BPE
// vocabularies Korean models use: one per Hangul syllable or CJK character,
// one per four ASCII letters or digits of a word, one per punctuation mark.
// It is only used when a server reports no usage, and is marked as such.
func EstimateTokens(s string) int {
	n, run := 0, 0
	flush := func() {
		n += (run + 3) / 4
		run = 0
	}
	for _, r := range s {
		switch {
		case r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			run++
		case unicode.IsSpace(r):
			flush()
		default:
			flush()
			n++
		}
	}
	flush()
	return n
}

// estimateMessages adds a few tokens per turn for the chat template's markers.
func estimateMessages(ms []Message) int {
	n := 0
	for _, m := range ms {
		n += EstimateTokens(m.Content) + 4
	}
	return n
}

// SamplePrompts picks n prompts from ds in a seeded random order, cycling
// through the whole set before repeating any prompt.
func SamplePrompts(ds []Prompt, n int, seed uint64) []Prompt {
	if len(ds) == 0 || n <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x6e757269)) // "nuri"
	out := make([]Prompt, 0, n)
	for len(out) < n {
		for _, i := range rng.Perm(len(ds)) {
			if len(out) == n {
				break
			}
			out = append(out, ds[i])
		}
	}
	return out
}
