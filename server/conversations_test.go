package server

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// itemsPage is a page of items: a response's input items or a
// conversation's.
type itemsPage struct {
	Object  string            `json:"object"`
	Data    []json.RawMessage `json:"data"`
	FirstID *string           `json:"first_id"`
	LastID  *string           `json:"last_id"`
	HasMore bool              `json:"has_more"`
}

func decodeAs[T any](t *testing.T, status int, body []byte) T {
	t.Helper()
	var v T
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return v
}

// itemTexts is each item's type and text, for comparing conversations.
func itemTexts(t *testing.T, items []json.RawMessage) []string {
	t.Helper()
	var out []string
	for _, raw := range items {
		var it struct {
			ID      string `json:"id"`
			Type    string `json:"type"`
			Role    string `json:"role"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		}
		if err := json.Unmarshal(raw, &it); err != nil || it.ID == "" {
			t.Fatalf("item without an id: %s", raw)
		}
		s := it.Type + ":" + it.Role
		for _, c := range it.Content {
			s += ":" + c.Text
		}
		out = append(out, s)
	}
	return out
}

// OpenAI's Conversations API: a conversation made with items, read,
// listed and added to; responses that name it run after its items and
// join it (input, then reply); items and the conversation are deleted.
func TestConversations(t *testing.T) {
	ts := newTestServer(t, Config{}, "반가워요.")
	status, _, body := ts.do("POST", "/v1/conversations", `{"metadata":{"topic":"인사"},"items":[{"type":"message","role":"system","content":"짧게 답하세요"},{"role":"user","content":[{"type":"input_text","text":"안녕"}]}]}`)
	c := decodeAs[conversationObject](t, status, body)
	if !strings.HasPrefix(c.ID, "conv_") || c.Object != "conversation" || c.Metadata["topic"] != "인사" || c.CreatedAt == 0 {
		t.Fatalf("created %+v", c)
	}
	status, _, body = ts.do("GET", "/v1/conversations/"+c.ID, "")
	if got := decodeAs[conversationObject](t, status, body); got.ID != c.ID || got.Metadata["topic"] != "인사" || got.CreatedAt != c.CreatedAt {
		t.Errorf("GET %s", body)
	}
	list := func(query string) itemsPage {
		t.Helper()
		s, _, b := ts.do("GET", "/v1/conversations/"+c.ID+"/items"+query, "")
		return decodeAs[itemsPage](t, s, b)
	}
	if p := list("?order=asc"); strings.Join(itemTexts(t, p.Data), "|") != "message:system:짧게 답하세요|message:user:안녕" || p.Object != "list" || p.HasMore {
		t.Errorf("items asc %+v", itemTexts(t, p.Data))
	}

	// A response in the conversation runs after its items and joins it,
	// its input under the ids its input_items lists.
	r, _ := postResponse(t, ts, `{"input":"날씨는?","conversation":"`+c.ID+`"}`)
	if r.Conversation == nil || r.Conversation.ID != c.ID {
		t.Errorf("response's conversation %+v", r.Conversation)
	}
	want := "<|im_start|>system\n짧게 답하세요<|im_end|>\n<|im_start|>user\n안녕<|im_end|>\n<|im_start|>user\n날씨는?<|im_end|>\n<|im_start|>assistant\n"
	if prompt := string(mustDecode(t, ts.eng.last().Prompt)); !strings.HasSuffix(prompt, want) {
		t.Errorf("prompt %q\nwant the suffix %q", prompt, want)
	}
	all := list("?order=asc").Data
	if got := strings.Join(itemTexts(t, all), "|"); got != "message:system:짧게 답하세요|message:user:안녕|message:user:날씨는?|message:assistant:반가워요." {
		t.Errorf("after a response: %s", got)
	}
	status, _, body = ts.do("GET", "/v1/responses/"+r.ID+"/input_items", "")
	if in := decodeAs[itemsPage](t, status, body); len(in.Data) != 1 || itemID(in.Data[0]) != itemID(all[2]) {
		t.Errorf("the response's input item %s, the conversation's %s", body, all[2])
	}
	if out := r.Output[len(r.Output)-1].(map[string]any); out["id"] != itemID(all[3]) {
		t.Errorf("the response's output item %v, the conversation's %s", out["id"], all[3])
	}
	// A streamed one, in the object form, continues from there.
	postResponse(t, ts, `{"input":"고마워요","conversation":{"id":"`+c.ID+`"},"stream":true}`)
	if prompt := string(mustDecode(t, ts.eng.last().Prompt)); !strings.Contains(prompt, "user\n날씨는?<|im_end|>\n<|im_start|>assistant\n반가워요.<|im_end|>\n<|im_start|>user\n고마워요") {
		t.Errorf("second prompt %q", prompt)
	}
	if p := list(""); len(p.Data) != 6 || !strings.Contains(string(p.Data[0]), "반가워요.") || *p.FirstID != itemID(p.Data[0]) {
		t.Errorf("items, newest first: %v", itemTexts(t, p.Data))
	}
	if p := list("?limit=2"); len(p.Data) != 2 || !p.HasMore {
		t.Errorf("limit 2: %d items, has_more %v", len(p.Data), p.HasMore)
	}

	// Items added by hand, then one read and one deleted.
	status, _, body = ts.do("POST", "/v1/conversations/"+c.ID+"/items", `{"items":[{"type":"function_call","call_id":"call_1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"call_1","output":"맑음"}]}`)
	added := decodeAs[itemsPage](t, status, body)
	if len(added.Data) != 2 || added.FirstID == nil || *added.FirstID != itemID(added.Data[0]) {
		t.Fatalf("added %s", body)
	}
	callID := itemID(added.Data[0])
	status, _, body = ts.do("GET", "/v1/conversations/"+c.ID+"/items/"+callID, "")
	if status != 200 || !strings.Contains(string(body), `"call_id":"call_1"`) {
		t.Errorf("GET item: %d %s", status, body)
	}
	status, _, body = ts.do("DELETE", "/v1/conversations/"+c.ID+"/items/"+itemID(all[0]), "")
	if status != 200 || !strings.Contains(string(body), `"object":"conversation"`) {
		t.Errorf("DELETE item: %d %s", status, body)
	}
	if status, _, _ := ts.do("GET", "/v1/conversations/"+c.ID+"/items/"+itemID(all[0]), ""); status != 404 {
		t.Errorf("GET a deleted item: status %d", status)
	}
	if p := list("?order=asc&limit=100"); len(p.Data) != 7 || strings.Contains(string(p.Data[0]), "짧게") {
		t.Errorf("after deleting the system item: %v", itemTexts(t, p.Data))
	}
	// The input token count sees the conversation too.
	status, _, body = ts.do("POST", "/v1/responses/input_tokens", `{"input":"또","conversation":"`+c.ID+`"}`)
	if n := decodeAs[struct {
		InputTokens int `json:"input_tokens"`
	}](t, status, body).InputTokens; n <= len("또") {
		t.Errorf("input_tokens in the conversation: %d", n)
	}

	// Metadata replaced; then the conversation deleted.
	status, _, body = ts.do("POST", "/v1/conversations/"+c.ID, `{"metadata":{"topic":"날씨"}}`)
	if m := decodeAs[conversationObject](t, status, body); m.Metadata["topic"] != "날씨" || len(m.Metadata) != 1 {
		t.Errorf("update %s", body)
	}
	status, _, body = ts.do("DELETE", "/v1/conversations/"+c.ID, "")
	if status != 200 || !strings.Contains(string(body), `"object":"conversation.deleted"`) || !strings.Contains(string(body), `"deleted":true`) {
		t.Errorf("DELETE: %d %s", status, body)
	}
	for _, path := range []string{"/v1/conversations/" + c.ID, "/v1/conversations/" + c.ID + "/items"} {
		if status, _, _ := ts.do("GET", path, ""); status != 404 {
			t.Errorf("GET %s after DELETE: status %d", path, status)
		}
	}
	if status, _, body := ts.do("POST", "/v1/responses", `{"input":"x","conversation":"`+c.ID+`"}`); status != 404 {
		t.Errorf("a response in a deleted conversation: %d %s", status, body)
	}

	// An empty body makes an empty conversation.
	status, _, body = ts.do("POST", "/v1/conversations", "")
	if e := decodeAs[conversationObject](t, status, body); e.ID == "" || e.Metadata == nil {
		t.Errorf("empty body: %s", body)
	}
	for _, tc := range []struct{ method, path, body, want string }{
		{"POST", "/v1/conversations", `{"items":[{"type":"web_search_call"}]}`, `"param":"items[0].type"`},
		{"POST", "/v1/conversations", `{"items":"hi"}`, `"param":"items"`},
		{"POST", "/v1/conversations", `{"metadata":{"a":"` + strings.Repeat("x", 513) + `"}}`, `"param":"metadata"`},
		{"POST", "/v1/conversations/" + e0(t, ts) + "/items", `{"items":[]}`, `"param":"items"`},
		{"POST", "/v1/conversations/" + e0(t, ts), `{}`, `"param":"metadata"`},
		{"PUT", "/v1/conversations/conv_x", `{}`, `not allowed`},
		{"GET", "/v1/conversations/conv_x/items/a/b", ``, `no route`},
	} {
		if status, _, b := ts.do(tc.method, tc.path, tc.body); status < 400 || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, status, b)
		}
	}

	none := newTestServer(t, Config{StoredResponses: -1}, "x")
	if status, _, b := none.do("POST", "/v1/conversations", `{}`); status != 400 || !strings.Contains(string(b), "--responses-store 0") {
		t.Errorf("without a store: %d %s", status, b)
	}
}

// e0 makes an empty conversation and returns its id.
func e0(t *testing.T, ts *testServer) string {
	t.Helper()
	s, _, b := ts.do("POST", "/v1/conversations", `{}`)
	return decodeAs[conversationObject](t, s, b).ID
}

// Conversations kept in the responses folder come back in a new server
// over it.
func TestConversationsFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "responses")
	first := newTestServer(t, Config{StoredResponsesDir: dir}, "네.")
	s, _, b := first.do("POST", "/v1/conversations", `{"items":[{"role":"user","content":"기억해 주세요"}]}`)
	c := decodeAs[conversationObject](t, s, b)
	postResponse(t, first, `{"input":"기억했나요?","conversation":"`+c.ID+`"}`)

	second := newTestServer(t, Config{StoredResponsesDir: dir}, "네.")
	s, _, b = second.do("GET", "/v1/conversations/"+c.ID+"/items?order=asc", "")
	if got := strings.Join(itemTexts(t, decodeAs[itemsPage](t, s, b).Data), "|"); got != "message:user:기억해 주세요|message:user:기억했나요?|message:assistant:네." {
		t.Errorf("after a restart: %s", got)
	}
}
