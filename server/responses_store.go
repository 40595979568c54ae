package server

import (
	"container/list"
	"encoding/json"
	"strings"
	"sync"
)

// Defaults of Config's stored-response limits.
const (
	DefaultStoredResponses     = 1000
	DefaultStoredResponseBytes = 64 << 20
)

// responseStore keeps finished responses in memory, for
// previous_response_id and GET and DELETE /v1/responses/{id}: the newest
// up to a count and a byte budget, the oldest dropped first. Nothing
// survives a restart.
type responseStore struct {
	mu       sync.Mutex
	max      int // responses
	maxBytes int
	bytes    int
	order    *list.List // of *storedResponse, newest at the front
	byID     map[string]*list.Element
}

// storedResponse is one kept response: its object as GET returns it, and
// the conversation a follow-up continues (the request's messages without
// its instructions, then the reply as an assistant turn).
type storedResponse struct {
	id           string
	body         json.RawMessage
	conversation []chatMessage
	input        []json.RawMessage // the request's input items, each with an id (input_items)
	size         int
}

func newResponseStore(max, maxBytes int) *responseStore {
	return &responseStore{max: max, maxBytes: maxBytes, order: list.New(), byID: map[string]*list.Element{}}
}

// put keeps r, dropping the oldest responses while over the limits. A
// response larger than the whole budget is not kept.
func (s *responseStore) put(r *storedResponse) {
	r.size = len(r.id) + len(r.body) + conversationBytes(r.conversation)
	for _, it := range r.input {
		r.size += len(it)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.size > s.maxBytes {
		return
	}
	if e, ok := s.byID[r.id]; ok {
		s.remove(e)
	}
	s.byID[r.id] = s.order.PushFront(r)
	s.bytes += r.size
	for s.order.Len() > s.max || s.bytes > s.maxBytes {
		s.remove(s.order.Back())
	}
}

func (s *responseStore) get(id string) (*storedResponse, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	return e.Value.(*storedResponse), true
}

// delete drops id and reports whether it was kept.
func (s *responseStore) delete(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if ok {
		s.remove(e)
	}
	return ok
}

func (s *responseStore) remove(e *list.Element) {
	r := s.order.Remove(e).(*storedResponse)
	delete(s.byID, r.id)
	s.bytes -= r.size
}

// conversationBytes estimates what msgs hold in memory: their texts.
func conversationBytes(msgs []chatMessage) int {
	n := 0
	for _, m := range msgs {
		n += 64 + len(m.Content.Text) + len(m.ReasoningContent) + len(m.ToolCallID) + len(m.Name)
		for _, c := range m.ToolCalls {
			n += 32 + len(c.ID) + len(c.Function.Name) + len(c.Function.Arguments)
		}
	}
	return n
}

// assistantTurn is a response's output as the assistant message a
// follow-up's history shows: its text, its reasoning, its calls (with
// their call ids, which function_call_output items answer).
func assistantTurn(output []any) chatMessage {
	m := chatMessage{Role: "assistant"}
	var text, reasoning strings.Builder
	for _, it := range output {
		switch it := it.(type) {
		case *responseMessageItem:
			for _, p := range it.Content {
				text.WriteString(p.Text)
			}
		case *responseReasoningItem:
			for _, p := range it.Content {
				reasoning.WriteString(p.Text)
			}
		case *responseCallItem:
			args, _ := json.Marshal(it.Arguments) // a string marshals
			c := toolCallIn{ID: it.CallID, Type: "function"}
			c.Function.Name, c.Function.Arguments = it.Name, args
			m.ToolCalls = append(m.ToolCalls, c)
		}
	}
	m.Content = contentField{Text: text.String(), Present: text.Len() > 0 || len(m.ToolCalls) == 0}
	m.ReasoningContent = reasoning.String()
	return m
}

// inputItems is a request's input as the items input_items lists: a
// string becomes one user message; listed items keep their fields and
// get an id where they had none.
func inputItems(raw json.RawMessage) []json.RawMessage {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		b, _ := json.Marshal(map[string]any{"id": "msg_" + newItemID(), "type": "message", "role": "user", "status": "completed",
			"content": []map[string]string{{"type": "input_text", "text": text}}})
		return []json.RawMessage{b}
	}
	var items []map[string]json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil // the request was refused before this
	}
	out := make([]json.RawMessage, len(items))
	for i, it := range items {
		if _, ok := it["id"]; !ok {
			prefix := "msg_"
			if t := string(it["type"]); t != "" && t != `"message"` {
				prefix = "item_"
			}
			it["id"], _ = json.Marshal(prefix + newItemID())
		}
		out[i], _ = json.Marshal(it)
	}
	return out
}

// itemID is an item's id.
func itemID(it json.RawMessage) string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(it, &v)
	return v.ID
}
