package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
)

// conversations is OpenAI's Conversations API: a conversation is a list
// of items (messages, function calls and their outputs, reasoning) that
// a response names in "conversation" to run after, and that the
// response's input and output are then added to. They are kept like
// stored responses (the same limits, and a folder of their own under
// Config.StoredResponsesDir): each record's body is the conversation
// object, its input the items in order.
type conversations struct {
	store *editStore
}

// conversationObject is a conversation as the API shows it.
type conversationObject struct {
	ID        string            `json:"id"`
	Object    string            `json:"object"`
	CreatedAt int64             `json:"created_at"`
	Metadata  map[string]string `json:"metadata"`
}

// conversationRequest is the body that creates a conversation (items and
// metadata), updates one (metadata) or adds items to one (items).
type conversationRequest struct {
	Items    json.RawMessage   `json:"items"`
	Metadata map[string]string `json:"metadata"`
}

func newConversations(cfg *Config) (*conversations, error) {
	st, err := openEditStore(cfg, "conversations")
	if err != nil {
		return nil, err
	}
	return &conversations{store: st}, nil
}

// conversationItems checks items (a list of Responses input items, which
// may be empty) and gives each an id where it has none.
func conversationItems(raw json.RawMessage, param string) ([]json.RawMessage, error) {
	if !present(raw) {
		return nil, nil
	}
	if t := bytes.TrimSpace(raw); t[0] != '[' {
		return nil, invalidParam(param, "%s must be a list of items", param)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalidParam(param, "%s must be a list of items: %v", param, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	if _, err := responseMessages(raw, param); err != nil {
		return nil, err
	}
	return inputItems(raw), nil
}

// checkMetadata holds metadata to OpenAI's limits: 16 pairs, keys of up
// to 64 characters, values of up to 512.
func checkMetadata(m map[string]string) error {
	if len(m) > 16 {
		return invalidParam("metadata", "metadata holds at most 16 pairs, got %d", len(m))
	}
	for k, v := range m {
		if utf8.RuneCountInString(k) > 64 || utf8.RuneCountInString(v) > 512 {
			return invalidParam("metadata", "metadata keys are at most 64 characters and values 512 (key %q)", k)
		}
	}
	return nil
}

// record is a conversation's stored form.
func conversationRecord(c *conversationObject, items []json.RawMessage) (*storedResponse, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return &storedResponse{id: c.ID, body: body, input: items}, nil
}

// fitting is c with items as a record, or why it cannot be kept: a
// conversation larger than the whole store is refused, not silently
// dropped.
func (cs *conversations) fitting(c *conversationObject, items []json.RawMessage) (*storedResponse, error) {
	r, err := conversationRecord(c, items)
	if err != nil {
		return nil, err
	}
	size := len(r.id) + len(r.body)
	for _, it := range items {
		size += len(it)
	}
	if size > cs.store.maxBytes {
		return nil, invalidParam("items", "the conversation would take %d bytes, more than the %d bytes kept for stored responses and conversations (nuri serve --responses-store-mib)", size, cs.store.maxBytes)
	}
	return r, nil
}

// put keeps a new conversation c with items (fitting).
func (cs *conversations) put(c *conversationObject, items []json.RawMessage) error {
	r, err := cs.fitting(c, items)
	if err != nil {
		return err
	}
	cs.store.put(r)
	return nil
}

// noConversation is the error for an id the store does not hold.
func noConversation(id string) error {
	return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no conversation %q: it was never created, was deleted, or was dropped for newer ones", id)}
}

// get returns conversation id and its items.
func (cs *conversations) get(id string) (*conversationObject, []json.RawMessage, error) {
	r, ok := cs.store.get(id)
	if !ok {
		return nil, nil, noConversation(id)
	}
	c, err := conversationOfRecord(r)
	return c, r.input, err
}

// conversationOfRecord is the conversation object a record holds.
func conversationOfRecord(r *storedResponse) (*conversationObject, error) {
	var c conversationObject
	if err := json.Unmarshal(r.body, &c); err != nil {
		return nil, fmt.Errorf("conversation %s: %w", r.id, err)
	}
	return &c, nil
}

// update changes conversation id (editStore.edit): f gets its object and
// items and returns the items to keep.
func (cs *conversations) update(id string, f func(c *conversationObject, items []json.RawMessage) ([]json.RawMessage, error)) (*conversationObject, error) {
	var c *conversationObject
	found, err := cs.store.edit(id, func(r *storedResponse) (*storedResponse, error) {
		var err error
		if c, err = conversationOfRecord(r); err != nil {
			return nil, err
		}
		items, err := f(c, slices.Clip(r.input))
		if err != nil {
			return nil, err
		}
		return cs.fitting(c, items)
	})
	switch {
	case !found:
		return nil, noConversation(id)
	case err != nil:
		return nil, err
	}
	return c, nil
}

// conversationsOn returns the store, or why there is none.
func (s *Server) conversationsOn() (*conversations, error) {
	if s.convs == nil {
		return nil, &apiError{err: ErrNotSupported, msg: "conversations are kept with stored responses, and this server keeps none (nuri serve --responses-store 0)"}
	}
	return s.convs, nil
}

// handleConversations answers POST /v1/conversations: a new conversation
// with its first items and metadata.
func (s *Server) handleConversations(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	cs, err := s.conversationsOn()
	if err != nil {
		return err
	}
	var req conversationRequest
	if len(bytes.TrimSpace(ctx.PostBody())) > 0 {
		if err := decodeBody(ctx, &req); err != nil {
			return err
		}
	}
	if err := checkMetadata(req.Metadata); err != nil {
		return err
	}
	items, err := conversationItems(req.Items, "items")
	if err != nil {
		return err
	}
	c := &conversationObject{ID: "conv_" + newItemID(), Object: "conversation", CreatedAt: time.Now().Unix(), Metadata: req.Metadata}
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	if err := cs.put(c, items); err != nil {
		return err
	}
	return s.writeJSON(ctx, c)
}

// handleConversation answers the routes under /v1/conversations/{id}:
// GET, POST (metadata) and DELETE of the conversation, GET (a page) and
// POST (more) of its items, and GET and DELETE of one item.
func (s *Server) handleConversation(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	cs, err := s.conversationsOn()
	if err != nil {
		return err
	}
	rest := strings.TrimPrefix(ri.path, "/v1/conversations/")
	id, sub, _ := strings.Cut(rest, "/")
	itemsPath, itemID, oneItem := strings.Cut(sub, "/")
	switch {
	case sub == "":
		return s.conversationRoute(ctx, cs, ri.method, id)
	case itemsPath == "items" && !oneItem:
		return s.conversationItemsRoute(ctx, cs, ri.method, id)
	case itemsPath == "items" && itemID != "" && !strings.Contains(itemID, "/"):
		return s.conversationItemRoute(ctx, cs, ri.method, id, itemID)
	}
	return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no route for %s %s", ri.method, ri.path)}
}

func (s *Server) conversationRoute(ctx *fasthttp.RequestCtx, cs *conversations, method, id string) error {
	switch method {
	case "GET":
		c, _, err := cs.get(id)
		if err != nil {
			return err
		}
		return s.writeJSON(ctx, c)
	case "POST":
		var req conversationRequest
		if err := decodeBody(ctx, &req); err != nil {
			return err
		}
		if req.Metadata == nil {
			return invalidParam("metadata", "metadata is required: the conversation's new metadata")
		}
		if present(req.Items) {
			return invalidParam("items", "items are added with POST /v1/conversations/{id}/items")
		}
		if err := checkMetadata(req.Metadata); err != nil {
			return err
		}
		c, err := cs.update(id, func(c *conversationObject, items []json.RawMessage) ([]json.RawMessage, error) {
			c.Metadata = req.Metadata
			return items, nil
		})
		if err != nil {
			return err
		}
		return s.writeJSON(ctx, c)
	default: // DELETE
		if !cs.store.remove(id) {
			return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no conversation %q", id)}
		}
		return s.writeJSON(ctx, map[string]any{"id": id, "object": "conversation.deleted", "deleted": true})
	}
}

func (s *Server) conversationItemsRoute(ctx *fasthttp.RequestCtx, cs *conversations, method, id string) error {
	if method == "GET" {
		_, items, err := cs.get(id)
		if err != nil {
			return err
		}
		page, err := listPage(items, itemID, ctx.QueryArgs(), itemLimits("desc"))
		if err != nil {
			return err
		}
		return s.writeJSON(ctx, page)
	}
	if method != "POST" {
		return &apiError{err: ErrMethod, msg: fmt.Sprintf("method %s is not allowed on a conversation's items: GET lists them, POST adds some", method)}
	}
	var req conversationRequest
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	added, err := conversationItems(req.Items, "items")
	if err != nil {
		return err
	}
	if len(added) == 0 {
		return invalidParam("items", "items must hold at least one item")
	}
	if _, err := cs.update(id, func(_ *conversationObject, items []json.RawMessage) ([]json.RawMessage, error) {
		return append(items, added...), nil
	}); err != nil {
		return err
	}
	return s.writeJSON(ctx, map[string]any{"object": "list", "data": added, "first_id": itemID(added[0]),
		"last_id": itemID(added[len(added)-1]), "has_more": false})
}

func (s *Server) conversationItemRoute(ctx *fasthttp.RequestCtx, cs *conversations, method, id, item string) error {
	notFound := &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no item %q in conversation %q", item, id)}
	switch method {
	case "GET":
		_, items, err := cs.get(id)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(items, func(it json.RawMessage) bool { return itemID(it) == item })
		if i < 0 {
			return notFound
		}
		return s.writeJSON(ctx, items[i])
	case "DELETE":
		c, err := cs.update(id, func(_ *conversationObject, items []json.RawMessage) ([]json.RawMessage, error) {
			i := slices.IndexFunc(items, func(it json.RawMessage) bool { return itemID(it) == item })
			if i < 0 {
				return nil, notFound
			}
			return slices.Delete(slices.Clone(items), i, i+1), nil
		})
		if err != nil {
			return err
		}
		return s.writeJSON(ctx, c)
	}
	return &apiError{err: ErrMethod, msg: fmt.Sprintf("method %s is not allowed on a conversation item: GET reads it, DELETE removes it", method)}
}

// conversationOf reads a request's "conversation": a conversation's id,
// or an object with the id.
func conversationOf(raw json.RawMessage) (string, error) {
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		var obj struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return "", invalidParam("conversation", "conversation must be a conversation's id or {\"id\": ...}")
		}
		id = obj.ID
	}
	if id == "" {
		return "", invalidParam("conversation", "conversation must name a conversation's id")
	}
	return id, nil
}

// addToConversation appends a finished response's input items and output
// items to its conversation (a conversation deleted meanwhile is left
// deleted).
func (s *Server) addToConversation(id string, input []json.RawMessage, r *responseObject) {
	added := slices.Clone(input)
	for _, it := range r.Output {
		b, err := json.Marshal(it)
		if err != nil {
			s.log.Warn("conversation item", zap.String("conversation", id), zap.Error(err))
			return
		}
		added = append(added, b)
	}
	if _, err := s.convs.update(id, func(_ *conversationObject, items []json.RawMessage) ([]json.RawMessage, error) {
		return append(items, added...), nil
	}); err != nil {
		s.log.Warn("add a response to its conversation", zap.String("conversation", id), zap.String("response", r.ID), zap.Error(err))
	}
}
