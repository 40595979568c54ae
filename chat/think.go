package chat

import "strings"

// ThinkTags are the texts that open and close a reasoning model's
// thinking, and the special tokens among them that must be shown in the
// reply for it to be split.
type ThinkTags struct {
	Open, Close string
	Marks       []string
}

var (
	// DefaultThinkTags: <think>…</think> (Qwen3, EXAONE 4, DeepSeek-R1
	// and the models distilled from it).
	DefaultThinkTags = ThinkTags{Open: "<think>", Close: "</think>", Marks: []string{"<think>", "</think>"}}
	// Gemma4ThinkTags: Gemma 4's thought channel, <|channel>thought …
	// <channel|> (as llama.cpp's Gemma 4 parser reads it).
	Gemma4ThinkTags = ThinkTags{Open: "<|channel>thought", Close: "<channel|>", Marks: []string{"<|channel>", "<channel|>"}}
	// MistralThinkTags: Magistral's and Ministral 3's [THINK] … [/THINK].
	MistralThinkTags = ThinkTags{Open: "[THINK]", Close: "[/THINK]", Marks: []string{"[THINK]", "[/THINK]"}}
)

// TemplateThinkTags returns the tags a Jinja chat template frames the
// thinking with, and whether it is a reasoning model's at all.
func TemplateThinkTags(src string) (ThinkTags, bool) {
	for _, t := range []ThinkTags{Gemma4ThinkTags, MistralThinkTags, DefaultThinkTags} {
		if strings.Contains(src, t.Open) && strings.Contains(src, t.Close) {
			return t, true
		}
	}
	return DefaultThinkTags, false
}

// ShowsThinking says whether a Jinja chat template is a reasoning model's:
// one that writes <think>…</think>, Gemma 4's thought channel or Mistral's
// [THINK]…[/THINK].
func ShowsThinking(src string) bool {
	_, ok := TemplateThinkTags(src)
	return ok
}

// Opened says whether a rendered prompt leaves the reply inside the
// thinking: templates that start it for the model end with its opening.
func (t ThinkTags) Opened(prompt string) bool {
	return strings.HasSuffix(strings.TrimRight(prompt, " \t\r\n"), t.Open)
}

// ThinkParser splits a reply, as it streams, into reasoning and content,
// as llama.cpp's and vLLM's reasoning parsers do: a reply that begins with
// <think> (or one whose prompt opened it) is reasoning up to </think>,
// and content after it (or between its tags' own). Whitespace around the
// reasoning is dropped. A reply cut before </think> is all reasoning.
type ThinkParser struct {
	tags    ThinkTags
	state   int       // 0: the reply's start, 1: reasoning, 2: content
	pending string    // undecided text: the start, or a possible </think>
	space   spaceTrim // the reasoning's leading and trailing whitespace
	lead    bool      // drop the leading whitespace of content after </think>
}

// NewThinkParser returns a parser of thinking framed by tags (unset:
// DefaultThinkTags); open says the prompt opened the thinking already.
func NewThinkParser(tags ThinkTags, open bool) *ThinkParser {
	if tags.Open == "" || tags.Close == "" {
		tags = DefaultThinkTags
	}
	if open {
		return &ThinkParser{tags: tags, state: 1, space: spaceTrim{lead: true}}
	}
	return &ThinkParser{tags: tags}
}

// Push takes the next piece of the reply.
func (p *ThinkParser) Push(text string) (reasoning, content string) {
	return p.step(text, false)
}

// Finish ends the reply and returns what was held back.
func (p *ThinkParser) Finish() (reasoning, content string) {
	return p.step("", true)
}

func (p *ThinkParser) step(text string, final bool) (string, string) {
	p.pending += text
	var reasoning, content strings.Builder
	for {
		switch p.state {
		case 0:
			s := strings.TrimLeft(p.pending, " \t\r\n")
			switch {
			case strings.HasPrefix(s, p.tags.Open):
				p.pending, p.state, p.space.lead = s[len(p.tags.Open):], 1, true
				continue
			case !final && strings.HasPrefix(p.tags.Open, s):
				return "", "" // only whitespace or part of <think> so far
			}
			p.state = 2
			continue
		case 1:
			body, rest, closed := strings.Cut(p.pending, p.tags.Close)
			if !closed {
				keep := 0
				if !final {
					keep = partialSuffix(p.pending, p.tags.Close)
				}
				body, p.pending = p.pending[:len(p.pending)-keep], p.pending[len(p.pending)-keep:]
				p.reason(&reasoning, body)
				if final {
					p.space.held = ""
				}
				return reasoning.String(), content.String()
			}
			p.reason(&reasoning, body)
			p.space.held = "" // the reasoning's trailing whitespace
			p.pending, p.state, p.lead = rest, 2, true
			continue
		default:
			s := p.pending
			p.pending = ""
			if p.lead {
				s = strings.TrimLeft(s, " \t\r\n")
				if s == "" && !final {
					return reasoning.String(), content.String()
				}
				p.lead = false
			}
			content.WriteString(s)
			return reasoning.String(), content.String()
		}
	}
}

// reason gives s as reasoning.
func (p *ThinkParser) reason(out *strings.Builder, s string) { p.space.write(out, s) }

// spaceTrim passes text through while holding its trailing whitespace
// back, until more text shows whether it is inner (given) or trailing
// (dropped by the caller), and drops leading whitespace while lead is set.
type spaceTrim struct {
	held string // trailing whitespace not yet given
	lead bool   // drop whitespace until the next other character
}

func (h *spaceTrim) write(out *strings.Builder, s string) {
	if h.lead {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			return
		}
		h.lead = false
	}
	t := strings.TrimRight(s, " \t\r\n")
	if t == "" {
		h.held += s
		return
	}
	out.WriteString(h.held)
	out.WriteString(t)
	h.held = s[len(t):]
}
