package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func testStored(id, text string) *storedResponse {
	call := toolCallIn{ID: "call_1", Type: "function"}
	call.Function.Name, call.Function.Arguments = "add", json.RawMessage(`"{\"a\": 1}"`)
	return &storedResponse{
		id:   id,
		body: json.RawMessage(`{"id":"` + id + `","output_text":"` + text + `"}`),
		conversation: []chatMessage{
			{Role: "user", Content: contentField{Text: "안녕 " + text, Present: true}},
			{Role: "assistant", Content: contentField{}, ReasoningContent: "think", ToolCalls: []toolCallIn{call}},
			{Role: "tool", Content: contentField{Text: "42", Present: true}, ToolCallID: "call_1"},
		},
		input: []json.RawMessage{json.RawMessage(`{"id":"msg_1","type":"message"}`)},
	}
}

// Responses kept in a folder come back, whole, in a new store over it,
// oldest first within the limits; a deleted or dropped one leaves no file;
// files that are not stored responses are left alone.
func TestResponseStoreFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "responses")
	s, err := openResponseStore(3, 1<<20, dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*storedResponse{}
	for i, id := range []string{"resp_a", "resp_b", "resp_c", "resp_d"} {
		r := testStored(id, strings.Repeat("x", i))
		s.put(r)
		want[id] = r
		// Modification times order the reload: keep them apart.
		past := time.Now().Add(time.Duration(i-10) * time.Minute)
		if err := os.Chtimes(filepath.Join(dir, id+".json"), past, past); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "resp_a.json")); !os.IsNotExist(err) {
		t.Fatalf("the dropped response's file: %v", err)
	}
	if !s.delete("resp_b") {
		t.Fatal("delete")
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hi"), 0o600); err != nil {
		t.Fatal(err)
	}

	again, err := openResponseStore(3, 1<<20, dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"resp_a", "resp_b"} {
		if _, ok := again.get(id); ok {
			t.Errorf("%s came back", id)
		}
	}
	for _, id := range []string{"resp_c", "resp_d"} {
		got, ok := again.get(id)
		if !ok {
			t.Fatalf("%s did not come back", id)
		}
		w := want[id]
		if got.id != w.id || string(got.body) != string(w.body) || !reflect.DeepEqual(got.conversation, w.conversation) || !reflect.DeepEqual(got.input, w.input) {
			t.Errorf("%s: %+v, want %+v", id, got, w)
		}
	}
	// The limits apply to what comes back: the older goes.
	small, err := openResponseStore(1, 1<<20, dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := small.get("resp_c"); ok {
		t.Error("over the limit, the older response came back")
	}
	if _, ok := small.get("resp_d"); !ok {
		t.Error("the newer response did not come back")
	}
	if _, err := os.Stat(filepath.Join(dir, "resp_c.json")); !os.IsNotExist(err) {
		t.Errorf("the response over the limit kept its file: %v", err)
	}
	for _, left := range []string{"junk.json", "notes.txt"} {
		if _, err := os.Stat(filepath.Join(dir, left)); err != nil {
			t.Errorf("%s: %v", left, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}

// A running background response's file (saveRunning) is not in memory;
// a store opened over it keeps it as failed, rewriting its file; its end
// replaces the file, and an end too large to keep removes it, so that no
// restart reports it lost. A finished response's status is left alone.
func TestResponseStoreRunning(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "responses")
	s, err := openResponseStore(10, 4096, dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	running := func(id, status string) *storedResponse {
		r := testStored(id, "")
		r.body = json.RawMessage(`{"id":"` + id + `","status":"` + status + `","background":true,"error":null}`)
		return r
	}
	s.saveRunning(running("resp_lost", "queued"))
	s.saveRunning(running("resp_busy", "in_progress"))
	s.saveRunning(running("resp_ends", "queued"))
	s.saveRunning(running("resp_huge", "queued"))
	if _, ok := s.get("resp_lost"); ok {
		t.Error("a running response is in memory")
	}
	s.put(running("resp_ends", "completed"))
	huge := running("resp_huge", "completed")
	huge.body = json.RawMessage(`{"id":"resp_huge","status":"completed","output_text":"` + strings.Repeat("x", 5000) + `"}`)
	s.put(huge)
	if _, err := os.Stat(filepath.Join(dir, "resp_huge.json")); !os.IsNotExist(err) {
		t.Errorf("the file of a response too large to keep: %v", err)
	}

	again, err := openResponseStore(10, 4096, dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"resp_lost", "resp_busy"} {
		r, ok := again.get(id)
		var obj struct {
			Status string
			Error  struct{ Code, Message string }
		}
		if !ok || json.Unmarshal(r.body, &obj) != nil || obj.Status != "failed" || obj.Error.Code != "server_error" || obj.Error.Message != lostInRestart ||
			!reflect.DeepEqual(r.conversation, testStored(id, "").conversation) {
			t.Errorf("%s after a restart: %v %+v", id, ok, r)
		}
		if b, err := os.ReadFile(filepath.Join(dir, id+".json")); err != nil || !strings.Contains(string(b), `"status":"failed"`) {
			t.Errorf("%s's file after a restart: %v %.200s", id, err, b)
		}
	}
	if r, ok := again.get("resp_ends"); !ok || !strings.Contains(string(r.body), `"status":"completed"`) {
		t.Errorf("a response that ended: %v %+v", ok, r)
	}
	if _, ok := again.get("resp_huge"); ok {
		t.Error("the response too large to keep came back")
	}
}
