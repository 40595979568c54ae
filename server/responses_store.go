package server

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Defaults of Config's stored-response limits.
const (
	DefaultStoredResponses     = 1000
	DefaultStoredResponseBytes = 64 << 20
)

// responseStore keeps finished responses in memory, for
// previous_response_id and GET and DELETE /v1/responses/{id}: the newest
// up to a count and a byte budget, the oldest dropped first. With a
// folder (Config.StoredResponsesDir) each kept response is also a file
// there, written when kept and removed when dropped, and the folder's
// responses are kept again at start: conversations survive a restart.
type responseStore struct {
	mu       sync.Mutex
	max      int // responses
	maxBytes int
	bytes    int
	order    *list.List // of *storedResponse, newest at the front
	byID     map[string]*list.Element
	dir      string // "": memory only
	log      *zap.Logger
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
	return &responseStore{max: max, maxBytes: maxBytes, order: list.New(), byID: map[string]*list.Element{}, log: zap.NewNop()}
}

// put keeps r, dropping the oldest responses while over the limits. A
// response larger than the whole budget is not kept.
func (s *responseStore) put(r *storedResponse) {
	s.keep(r, true)
}

// keep is put; save writes r's file (false while loading the folder).
func (s *responseStore) keep(r *storedResponse, save bool) {
	r.size = len(r.id) + len(r.body) + conversationBytes(r.conversation)
	for _, it := range r.input {
		r.size += len(it)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.size > s.maxBytes {
		if save {
			s.removeFile(r.id) // a running background response's (saveRunning)
		}
		return
	}
	if e, ok := s.byID[r.id]; ok {
		s.remove(e)
	}
	s.byID[r.id] = s.order.PushFront(r)
	s.bytes += r.size
	if save {
		s.save(r)
	}
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

// all is every kept record, oldest kept first.
func (s *responseStore) all() []*storedResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*storedResponse, 0, s.order.Len())
	for e := s.order.Back(); e != nil; e = e.Prev() {
		out = append(out, e.Value.(*storedResponse))
	}
	return out
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
	s.removeFile(r.id)
}

// removeFile removes id's file, if the store has a folder and it is there.
func (s *responseStore) removeFile(id string) {
	if path, ok := s.path(id); ok {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("remove stored response", zap.String("id", id), zap.Error(err))
		}
	}
}

// saveRunning writes the file of a background response that has started
// (its queued object, the request's conversation and input items), so that
// a restart before it ends finds it: openResponseStore keeps it as failed,
// instead of its id answering 404 as if it had never been. Its end's put
// replaces the file. Memory is left alone: until it ends the response is
// served from the running set. Without a folder it does nothing.
func (s *responseStore) saveRunning(r *storedResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.save(r)
}

// lostInRestart is the message of a background response a restart ended.
const lostInRestart = "the server stopped before this background response finished, and its output was lost; run it again"

// failedIfRunning returns body, a stored response object, as failed when
// its status says it was still queued or running (a background response
// the server stopped under), and whether it was.
func failedIfRunning(body json.RawMessage) (json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return body, false
	}
	var status string
	if json.Unmarshal(obj["status"], &status) != nil || (status != "queued" && status != "in_progress") {
		return body, false
	}
	obj["status"] = json.RawMessage(`"failed"`)
	e, err := json.Marshal(map[string]string{"code": "server_error", "message": lostInRestart})
	if err != nil {
		return body, false
	}
	obj["error"] = e
	out, err := json.Marshal(obj)
	if err != nil {
		return body, false
	}
	return out, true
}

// storedFile is a kept response as its file holds it.
type storedFile struct {
	Version      int               `json:"nuri_stored_response"`
	ID           string            `json:"id"`
	Body         json.RawMessage   `json:"body"`
	Conversation []chatMessage     `json:"conversation"`
	Input        []json.RawMessage `json:"input"`
}

// storedVersion is the file format's version.
const storedVersion = 1

// path is the file of response id in the folder; false without a folder
// or for an id that is not a plain file name (ids are the server's own,
// but a path is never built from anything else).
func (s *responseStore) path(id string) (string, bool) {
	if s.dir == "" || !plainID(id) {
		return "", false
	}
	return filepath.Join(s.dir, id+".json"), true
}

// plainID reports whether id is one or more ASCII letters, digits, '_'
// and '-' (a file name, and Anthropic's custom_id alphabet).
func plainID(id string) bool {
	return id != "" && !strings.ContainsFunc(id, func(c rune) bool {
		return !(c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z')
	})
}

// save writes r's file whole or not at all (a temporary file renamed into
// place, synced first). A failure is logged: the response is still kept
// in memory and served.
func (s *responseStore) save(r *storedResponse) {
	path, ok := s.path(r.id)
	if !ok {
		return
	}
	b, err := json.Marshal(storedFile{Version: storedVersion, ID: r.id, Body: r.body, Conversation: r.conversation, Input: r.input})
	if err == nil {
		err = writeFileAtomic(path, b)
	}
	if err != nil {
		s.log.Warn("store response on disk", zap.String("id", r.id), zap.String("dir", s.dir), zap.Error(err))
	}
}

// openFolder creates the store folder dir if need be and lists it.
func openFolder(dir string) ([]os.DirEntry, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return os.ReadDir(dir)
}

// writeFileAtomic writes path whole or not at all: a temporary file
// beside it, synced, renamed into place.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// openResponseStore is newResponseStore over folder dir, created if need
// be: its responses are kept again, oldest first, within the limits (the
// ones over them are removed). Unreadable files are logged and left.
func openResponseStore(max, maxBytes int, dir string, log *zap.Logger) (*responseStore, error) {
	entries, err := openFolder(dir)
	if err != nil {
		return nil, fmt.Errorf("responses folder: %w", err)
	}
	s := newResponseStore(max, maxBytes)
	s.dir, s.log = dir, log
	type file struct {
		r    *storedResponse
		mod  time.Time
		lost bool // a background response the server stopped under, now failed
	}
	var files []file
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		var sf storedFile
		if err == nil {
			err = json.Unmarshal(b, &sf)
		}
		if err == nil && (sf.Version != storedVersion || sf.ID+".json" != name || len(sf.Body) == 0) {
			err = fmt.Errorf("not a stored response of version %d named after its id", storedVersion)
		}
		info, ierr := e.Info()
		if err != nil || ierr != nil {
			log.Warn("stored response left out", zap.String("file", path), zap.Error(errors.Join(err, ierr)))
			continue
		}
		body, lost := failedIfRunning(sf.Body)
		if lost {
			log.Warn("background response lost in a restart: kept as failed", zap.String("id", sf.ID))
		}
		files = append(files, file{&storedResponse{id: sf.ID, body: body, conversation: sf.Conversation, input: sf.Input}, info.ModTime(), lost})
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].mod.Before(files[j].mod) })
	for _, f := range files {
		s.keep(f.r, f.lost) // a lost one's file says failed from now on
	}
	log.Info("stored responses", zap.String("dir", dir), zap.Int("kept", s.order.Len()), zap.Int("files", len(files)))
	return s, nil
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
		message := !present(it["type"]) || string(it["type"]) == `"message"`
		if _, ok := it["id"]; !ok {
			prefix := "msg_"
			if !message {
				prefix = "item_"
			}
			it["id"], _ = json.Marshal(prefix + newItemID())
		}
		if message {
			normalizeMessageItem(it)
		}
		out[i], _ = json.Marshal(it)
	}
	return out
}

// normalizeMessageItem gives a message item the shape OpenAI lists it in:
// its type, a status, and text content as a list of parts (input_text,
// or output_text for the assistant's).
func normalizeMessageItem(it map[string]json.RawMessage) {
	it["type"] = json.RawMessage(`"message"`)
	if _, ok := it["status"]; !ok {
		it["status"] = json.RawMessage(`"completed"`)
	}
	var text string
	if json.Unmarshal(it["content"], &text) != nil {
		return
	}
	part := "input_text"
	if string(it["role"]) == `"assistant"` {
		part = "output_text"
	}
	it["content"], _ = json.Marshal([]map[string]string{{"type": part, "text": text}})
}

// itemID is an item's id.
func itemID(it json.RawMessage) string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(it, &v)
	return v.ID
}

// editStore is a responseStore whose records change after they are kept
// (conversations, stored chat completions): edits and removals are
// serialised, so no change is lost to another and none brings back a
// removed record.
type editStore struct {
	mu sync.Mutex
	*responseStore
}

// openEditStore is the stores' limits of cfg in memory, and in the
// folder sub of Config.StoredResponsesDir when that is set.
func openEditStore(cfg *Config, sub string) (*editStore, error) {
	if cfg.StoredResponsesDir == "" {
		return &editStore{responseStore: newResponseStore(cfg.StoredResponses, cfg.StoredResponseBytes)}, nil
	}
	st, err := openResponseStore(cfg.StoredResponses, cfg.StoredResponseBytes, filepath.Join(cfg.StoredResponsesDir, sub), cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sub, err)
	}
	return &editStore{responseStore: st}, nil
}

// edit replaces record id by what f makes of it; false when there is no
// such record. An error from f leaves the record as it was.
func (e *editStore) edit(id string, f func(r *storedResponse) (*storedResponse, error)) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.get(id)
	if !ok {
		return false, nil
	}
	next, err := f(r)
	if err != nil {
		return true, err
	}
	e.put(next)
	return true, nil
}

// remove drops record id, after any edit under way; false when there is
// none.
func (e *editStore) remove(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.delete(id)
}
