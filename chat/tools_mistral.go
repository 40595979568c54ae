package chat

import (
	"encoding/json"
	"strings"
)

// mistral reads Mistral's calls: [TOOL_CALLS]NAME[ARGS]{...}, with
// [CALL_ID]ID before [ARGS] in Mistral Small 3.2's form. A call ends where
// its arguments' JSON does; the text after it is content again (or the
// next call). A call whose arguments never end (cut by the token limit)
// or that does not parse comes back as content, and a call may follow it.
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
			// Not a call (or one cut short): the marker is text, and the
			// search for the next goes on after it.
			p.content(out, mistralCalls)
			p.inCall = false
		default:
			return calls // the call is still being written
		}
	}
}

// readMistralCall reads NAME[ARGS]{...} (or NAME[CALL_ID]ID[ARGS]{...})
// from the start of s: the call and the bytes it took (ok), n = 0 when
// more text could still make it one, n < 0 when it cannot be one. A name
// and an id are letters, digits, '_', '-' and '.', as tool names are.
func readMistralCall(s string) (c ToolCall, n int, ok bool) {
	head, rest, found := strings.Cut(s, mistralArgs)
	if !found {
		// Still writing the name or the id: they must be able to go on.
		head = head[:len(head)-max(partialSuffix(head, mistralArgs), partialSuffix(head, mistralID))]
	}
	name, id, _ := strings.Cut(head, mistralID)
	if !nameChars(name) || !nameChars(id) {
		return c, -1, false
	}
	if !found {
		return c, 0, false
	}
	c.Name, c.ID = name, id
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
	if raw[0] != '{' {
		return c, -1, false // the arguments are an object
	}
	a, err := callArguments(raw, true)
	if err != nil {
		return c, -1, false
	}
	c.Arguments = a
	return c, len(head) + len(mistralArgs) + lead + int(d.InputOffset()), true
}

// nameChars reports whether s holds only the characters of a tool name or
// call id.
func nameChars(s string) bool {
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}
