package chat

import (
	"encoding/json"
	"strings"
)

// mistral reads Mistral's calls: [TOOL_CALLS]NAME[ARGS]{...}, with
// [CALL_ID]ID before [ARGS] in Mistral Small 3.2's form. A call ends where
// its arguments' JSON does; the text after it is content again (or the
// next call). A call whose arguments never end (cut by the token limit)
// or that does not parse comes back as content.
func (p *ToolParser) mistral(out *strings.Builder, final bool) []ToolCall {
	var calls []ToolCall
	for {
		if !p.inCall && !p.openCall(out, final, mistralCalls) {
			return calls
		}
		c, n, ok := readMistralCall(p.pending)
		switch {
		case ok:
			calls = p.call(c, calls)
			p.pending, p.inCall = p.pending[n:], false
		case n < 0 || final:
			// Not a call (or one cut short): content, marker and all.
			p.content(out, mistralCalls+p.pending)
			p.pending, p.inCall = "", false
			return calls
		default:
			return calls // the call is still being written
		}
	}
}

// readMistralCall reads NAME[ARGS]{...} (or NAME[CALL_ID]ID[ARGS]{...})
// from the start of s: the call and the bytes it took (ok), n = 0 when
// more text could still make it one, n < 0 when it cannot be one.
func readMistralCall(s string) (c ToolCall, n int, ok bool) {
	head, rest, found := strings.Cut(s, mistralArgs)
	if !found {
		if strings.ContainsAny(s, "{\n") && !strings.Contains(s, mistralID) {
			return c, -1, false // a name does not hold these
		}
		return c, 0, false
	}
	name, id, _ := strings.Cut(head, mistralID)
	c.Name, c.ID = strings.TrimSpace(name), strings.TrimSpace(id)
	if c.Name == "" {
		return c, -1, false
	}
	body := strings.TrimLeft(rest, " \t\r\n")
	lead := len(rest) - len(body)
	d := json.NewDecoder(strings.NewReader(body))
	var raw json.RawMessage
	if err := d.Decode(&raw); err != nil {
		if truncatedJSON(body) || strings.TrimSpace(body) == "" {
			return c, 0, false
		}
		return c, -1, false
	}
	a, err := callArguments(raw, true)
	if err != nil {
		return c, -1, false
	}
	c.Arguments = a
	return c, len(head) + len(mistralArgs) + lead + int(d.InputOffset()), true
}
