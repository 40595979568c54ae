package server

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
)

// chatStore is OpenAI's stored chat completions: a chat request with
// "store": true is kept as it was answered (a streamed one as the whole
// completion it came to), with its metadata and its messages, for GET,
// update and delete by id and for listing. It keeps them as stored
// responses are kept (the same limits, and a folder of their own under
// Config.StoredResponsesDir): each record's body is the completion, its
// input the request's messages.
type chatStore struct {
	store *editStore
}

func newChatStore(cfg *Config) (*chatStore, error) {
	st, err := openEditStore(cfg, "chat_completions")
	if err != nil {
		return nil, err
	}
	return &chatStore{store: st}, nil
}

// storedChat is the part of a kept completion the list filters on.
type storedChat struct {
	Created  int64             `json:"created"`
	Model    string            `json:"model"`
	Metadata map[string]string `json:"metadata"`
}

// keep stores a finished completion with its request's metadata and
// messages.
func (cs *chatStore) keep(resp *chatResponse, metadata map[string]string, messages []chatMessage) error {
	b, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	if metadata == nil {
		metadata = map[string]string{}
	}
	if obj["metadata"], err = json.Marshal(metadata); err != nil {
		return err
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	items := make([]json.RawMessage, len(messages))
	for i, m := range messages {
		item := map[string]any{"id": fmt.Sprintf("%s-%d", resp.ID, i), "role": m.Role, "content": m.Content.Text, "name": nil, "content_parts": nil}
		if m.Name != "" {
			item["name"] = m.Name
		}
		if len(m.ToolCalls) > 0 {
			item["tool_calls"] = m.ToolCalls
		}
		if m.ToolCallID != "" {
			item["tool_call_id"] = m.ToolCallID
		}
		if items[i], err = json.Marshal(item); err != nil {
			return err
		}
	}
	cs.store.put(&storedResponse{id: resp.ID, body: body, input: items})
	return nil
}

// chatsOn returns the store, or why there is none.
func (s *Server) chatsOn() (*chatStore, error) {
	if s.chats == nil {
		return nil, &apiError{err: ErrNotSupported, msg: "chat completions are kept with stored responses, and this server keeps none (nuri serve --responses-store 0)"}
	}
	return s.chats, nil
}

// handleChatList answers GET /v1/chat/completions: the kept completions,
// oldest first unless order=desc, filtered by model and metadata[KEY],
// a page at a time (limit, after).
func (s *Server) handleChatList(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	cs, err := s.chatsOn()
	if err != nil {
		return err
	}
	q := ctx.QueryArgs()
	model := string(q.Peek("model"))
	want := map[string]string{}
	for k, v := range q.All() {
		if key, ok := strings.CutPrefix(string(k), "metadata["); ok && strings.HasSuffix(key, "]") {
			want[strings.TrimSuffix(key, "]")] = string(v)
		}
	}
	type kept struct {
		body    json.RawMessage
		created int64
	}
	var list []kept
	for _, r := range cs.store.all() {
		var sc storedChat
		if json.Unmarshal(r.body, &sc) != nil || (model != "" && sc.Model != model) {
			continue
		}
		match := true
		for k, v := range want {
			match = match && sc.Metadata[k] == v
		}
		if match {
			list = append(list, kept{body: r.body, created: sc.Created})
		}
	}
	slices.SortStableFunc(list, func(a, b kept) int { return cmp.Compare(a.created, b.created) })
	bodies := make([]json.RawMessage, len(list))
	for i, k := range list {
		bodies[i] = k.body
	}
	page, err := listPage(bodies, itemID, q, itemLimits("asc"))
	if err != nil {
		return err
	}
	return s.writeJSON(ctx, page)
}

// handleStoredChat answers GET, POST (metadata) and DELETE of
// /v1/chat/completions/{id}, and GET /v1/chat/completions/{id}/messages.
func (s *Server) handleStoredChat(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	cs, err := s.chatsOn()
	if err != nil {
		return err
	}
	id, sub, _ := strings.Cut(strings.TrimPrefix(ri.path, "/v1/chat/completions/"), "/")
	notFound := &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no stored chat completion %q: it was made without \"store\": true, was deleted, or was dropped for newer ones", id)}
	switch {
	case sub == "messages" && ri.method == "GET":
		r, ok := cs.store.get(id)
		if !ok {
			return notFound
		}
		page, err := listPage(r.input, itemID, ctx.QueryArgs(), itemLimits("asc"))
		if err != nil {
			return err
		}
		return s.writeJSON(ctx, page)
	case sub != "":
		return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no route for %s %s: a stored chat completion has GET, POST and DELETE /v1/chat/completions/{id} and GET /v1/chat/completions/{id}/messages", ri.method, ri.path)}
	case ri.method == "GET":
		r, ok := cs.store.get(id)
		if !ok {
			return notFound
		}
		return s.writeJSON(ctx, r.body)
	case ri.method == "DELETE":
		if !cs.store.remove(id) {
			return notFound
		}
		return s.writeJSON(ctx, map[string]any{"object": "chat.completion.deleted", "id": id, "deleted": true})
	}
	// POST: new metadata.
	var req struct {
		Metadata map[string]string `json:"metadata"`
	}
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	if req.Metadata == nil {
		return invalidParam("metadata", "metadata is required: the completion's new metadata")
	}
	if err := checkMetadata(req.Metadata); err != nil {
		return err
	}
	var body json.RawMessage
	found, err := cs.store.edit(id, func(r *storedResponse) (*storedResponse, error) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &obj); err != nil {
			return nil, fmt.Errorf("stored chat completion %s: %w", id, err)
		}
		var err error
		if obj["metadata"], err = json.Marshal(req.Metadata); err != nil {
			return nil, err
		}
		if body, err = json.Marshal(obj); err != nil {
			return nil, err
		}
		return &storedResponse{id: id, body: body, input: r.input}, nil
	})
	switch {
	case !found:
		return notFound
	case err != nil:
		return err
	}
	return s.writeJSON(ctx, body)
}
