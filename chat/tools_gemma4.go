package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// parseGemma4Call: call:NAME{key:value,…}, the arguments in Gemma 4's
// notation (as llama.cpp's Gemma 4 parser reads them): a dictionary's
// keys bare up to their colon, strings between <|"|> marks, numbers,
// true, false and null as JSON writes them, arrays and dictionaries
// nested. A JSON string or a quoted key is taken too, since a model may
// drift into JSON.
var parseGemma4Call = callReader{
	read: func(body string) (ToolCall, error) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(body), gemma4Call)
		i := strings.IndexByte(rest, '{')
		if !ok || i <= 0 {
			return ToolCall{}, errors.New("tool call: not call:NAME{…}")
		}
		c := ToolCall{Name: strings.TrimSpace(rest[:i])}
		p := gemma4Args{s: rest[i:]}
		var out strings.Builder
		if err := p.value(&out); err != nil {
			return ToolCall{}, fmt.Errorf("tool call %s arguments: %w", c.Name, err)
		}
		if p.skipSpace(); p.s != "" {
			return ToolCall{}, fmt.Errorf("tool call %s arguments: %q after them", c.Name, p.s)
		}
		c.Arguments = out.String()
		return c, nil
	},
	jsonFrom: func(body string) int { return len(body) }, // not JSON: the first closing mark closes
}

// gemma4Args reads Gemma 4's argument notation from s, writing JSON.
type gemma4Args struct{ s string }

var errGemma4Syntax = errors.New("not Gemma 4's argument notation")

func (p *gemma4Args) skipSpace() { p.s = strings.TrimLeft(p.s, " \t\r\n") }

// value reads one value.
func (p *gemma4Args) value(out *strings.Builder) error {
	p.skipSpace()
	switch {
	case strings.HasPrefix(p.s, gemma4Quote):
		text, rest, ok := strings.Cut(p.s[len(gemma4Quote):], gemma4Quote)
		if !ok {
			return fmt.Errorf("unterminated string: %w", errGemma4Syntax)
		}
		p.s = rest
		writeJSONString(out, text)
		return nil
	case strings.HasPrefix(p.s, `"`):
		return p.jsonString(out)
	case strings.HasPrefix(p.s, "{"):
		return p.dict(out)
	case strings.HasPrefix(p.s, "["):
		return p.array(out)
	}
	// A number, true, false or null: up to the next delimiter.
	n := strings.IndexAny(p.s, ",}] \t\r\n")
	if n < 0 {
		n = len(p.s)
	}
	lit := p.s[:n]
	if lit == "" || !json.Valid([]byte(lit)) || strings.ContainsAny(lit[:1], `"{[`) {
		return fmt.Errorf("value %q: %w", lit, errGemma4Syntax)
	}
	p.s = p.s[n:]
	out.WriteString(lit)
	return nil
}

// jsonString copies a JSON string literal.
func (p *gemma4Args) jsonString(out *strings.Builder) error {
	d := json.NewDecoder(strings.NewReader(p.s))
	var v string
	if err := d.Decode(&v); err != nil {
		return fmt.Errorf("string: %w", err)
	}
	p.s = p.s[d.InputOffset():]
	writeJSONString(out, v)
	return nil
}

// list reads a bracketed, comma-separated list (its opening bracket
// next), writing the brackets and commas; member reads one member.
func (p *gemma4Args) list(out *strings.Builder, open, close byte, what string, member func() error) error {
	p.s = p.s[1:]
	out.WriteByte(open)
	for first := true; ; first = false {
		p.skipSpace()
		if strings.HasPrefix(p.s, string(close)) {
			p.s = p.s[1:]
			out.WriteByte(close)
			return nil
		}
		if !first {
			if !strings.HasPrefix(p.s, ",") {
				return fmt.Errorf("%s: want , or %c: %w", what, close, errGemma4Syntax)
			}
			p.s = p.s[1:]
			p.skipSpace()
			out.WriteByte(',')
		}
		if err := member(); err != nil {
			return err
		}
	}
}

// dict reads {key: value, …}, keys bare up to their colon (or JSON
// strings).
func (p *gemma4Args) dict(out *strings.Builder) error {
	return p.list(out, '{', '}', "dictionary", func() error {
		if strings.HasPrefix(p.s, `"`) {
			if err := p.jsonString(out); err != nil {
				return err
			}
		} else {
			n := strings.IndexAny(p.s, ":}")
			if n <= 0 {
				return fmt.Errorf("dictionary key: %w", errGemma4Syntax)
			}
			writeJSONString(out, strings.TrimSpace(p.s[:n]))
			p.s = p.s[n:]
		}
		p.skipSpace()
		if !strings.HasPrefix(p.s, ":") {
			return fmt.Errorf("dictionary: want : after a key: %w", errGemma4Syntax)
		}
		p.s = p.s[1:]
		out.WriteByte(':')
		return p.value(out)
	})
}

// array reads [value, …].
func (p *gemma4Args) array(out *strings.Builder) error {
	return p.list(out, '[', ']', "array", func() error { return p.value(out) })
}
