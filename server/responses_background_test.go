package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
	"github.com/openai/openai-go/responses"
)

// pollResponse gets response id until its status leaves queued and
// in_progress.
func pollResponse(t *testing.T, ts *testServer, id string) responseObject {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		status, _, body := ts.do("GET", "/v1/responses/"+id, "")
		var r responseObject
		if err := json.Unmarshal(body, &r); err != nil || status != 200 {
			t.Fatalf("GET %s: %d %s", id, status, body)
		}
		if r.Status != "queued" && r.Status != "in_progress" {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("response %s still %s after 10 s", id, r.Status)
		}
	}
}

// outputText is the text of a response's message items.
func outputText(t *testing.T, r responseObject) string {
	t.Helper()
	b, err := json.Marshal(r.Output)
	if err != nil {
		t.Fatal(err)
	}
	var items []struct {
		Type    string `json:"type"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(b, &items); err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, it := range items {
		for _, c := range it.Content {
			if it.Type == "message" {
				text.WriteString(c.Text)
			}
		}
	}
	return text.String()
}

// The Responses API's background mode: the request is answered at once,
// queued; the response runs on and is fetched when done.
func TestBackgroundResponse(t *testing.T) {
	ts := newTestServer(t, Config{}, "안녕하세요")
	ts.eng.delay = time.Millisecond
	status, _, body := ts.do("POST", "/v1/responses", `{"input":"hi","background":true}`)
	var queued responseObject
	if err := json.Unmarshal(body, &queued); err != nil || status != 200 || queued.Status != "queued" || !queued.Background ||
		!strings.HasPrefix(queued.ID, "resp_") || len(queued.Output) != 0 {
		t.Fatalf("POST: %d %s", status, body)
	}
	done := pollResponse(t, ts, queued.ID)
	if done.Status != "completed" || !done.Background || outputText(t, done) != "안녕하세요" || done.Usage == nil || done.Usage.OutputTokens != len("안녕하세요") {
		t.Errorf("finished %+v", done)
	}
	// A finished background response is cancelled as it ended; one that
	// was not background cannot be; an unknown one is not found.
	status, _, body = ts.do("POST", "/v1/responses/"+queued.ID+"/cancel", "")
	var again responseObject
	if err := json.Unmarshal(body, &again); err != nil || status != 200 || again.Status != "completed" {
		t.Errorf("cancel of a finished one: %d %s", status, body)
	}
	_, _, body = ts.do("POST", "/v1/responses", `{"input":"hi"}`)
	var fg responseObject
	if err := json.Unmarshal(body, &fg); err != nil || fg.Background {
		t.Fatalf("%s", body)
	}
	if status, _, body := ts.do("POST", "/v1/responses/"+fg.ID+"/cancel", ""); status != 400 || !strings.Contains(string(body), "background") {
		t.Errorf("cancel of a foreground response: %d %s", status, body)
	}
	if status, _, _ := ts.do("POST", "/v1/responses/resp_nope/cancel", ""); status != 404 {
		t.Errorf("cancel of an unknown response: %d", status)
	}
	if status, _, _ := ts.do("DELETE", "/v1/responses/"+queued.ID, ""); status != 200 {
		t.Errorf("delete of a finished background response: %d", status)
	}
	if status, _, _ := ts.do("GET", "/v1/responses/"+queued.ID, ""); status != 404 {
		t.Errorf("GET after delete: %d", status)
	}
}

// Cancelling a running background response stops its generation; it
// ends cancelled, and is kept that way. Deleting it while it runs is
// refused.
func TestBackgroundResponseCancel(t *testing.T) {
	ts := newTestServer(t, Config{}, strings.Repeat("x", 2000))
	ts.eng.delay = 2 * time.Millisecond // 4 s for the whole reply
	_, _, body := ts.do("POST", "/v1/responses", `{"input":"hi","background":true}`)
	var queued responseObject
	if err := json.Unmarshal(body, &queued); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, _, body := ts.do("GET", "/v1/responses/"+queued.ID, "")
		var r responseObject
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		if r.Status == "in_progress" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not in progress after 10 s: %s", body)
		}
	}
	if status, _, body := ts.do("DELETE", "/v1/responses/"+queued.ID, ""); status != 400 || !strings.Contains(string(body), "cancel it") {
		t.Errorf("delete while running: %d %s", status, body)
	}
	start := time.Now()
	status, _, body := ts.do("POST", "/v1/responses/"+queued.ID+"/cancel", "")
	var c responseObject
	if err := json.Unmarshal(body, &c); err != nil || status != 200 || c.Status != "cancelled" {
		t.Fatalf("cancel: %d %s", status, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the cancel took %v: generation went on", d)
	}
	if got := pollResponse(t, ts, queued.ID); got.Status != "cancelled" {
		t.Errorf("after the cancel: %+v", got)
	}
	if n := len(outputText(t, c)); n >= 2000 {
		t.Errorf("the cancelled response has all %d characters", n)
	}
}

// sseEvent is one named event of a Responses stream.
type sseEvent struct {
	Type     string `json:"type"`
	Sequence int    `json:"sequence_number"`
	Delta    string `json:"delta"`
	Response *struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"response"`
}

// readEvents reads a Responses SSE stream, at most limit events (0: all).
func readEvents(t *testing.T, sc *bufio.Scanner, limit int) []sseEvent {
	t.Helper()
	var out []sseEvent
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		var e sseEvent
		if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		out = append(out, e)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

// A streamed background response outlives its client: the stream can be
// left and picked up again after any sequence number, and the events
// seen from both fit together.
func TestBackgroundResponseStream(t *testing.T) {
	const reply = "background streaming"
	ts := newTestServer(t, Config{}, reply)
	ts.eng.delay = 3 * time.Millisecond
	req, err := http.NewRequest("POST", ts.url+"/v1/responses", strings.NewReader(`{"input":"hi","background":true,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	first := readEvents(t, bufio.NewScanner(resp.Body), 6)
	resp.Body.Close() // the client leaves
	if len(first) != 6 || first[0].Type != "response.created" {
		t.Fatalf("first events %+v", first)
	}
	id := first[0].Response.ID
	if first[0].Response.Status != "queued" && first[0].Response.Status != "in_progress" {
		t.Errorf("created as %q", first[0].Response.Status)
	}
	done := pollResponse(t, ts, id)
	if done.Status != "completed" || outputText(t, done) != reply {
		t.Fatalf("the response did not run on without its client: %+v", done)
	}
	after := first[len(first)-1].Sequence
	resp, err = http.Get(ts.url + "/v1/responses/" + id + "?stream=true&starting_after=" + strconv.Itoa(after))
	if err != nil {
		t.Fatal(err)
	}
	rest := readEvents(t, bufio.NewScanner(resp.Body), 0)
	resp.Body.Close()
	all := append(first, rest...)
	var text strings.Builder
	for i, e := range all {
		if e.Sequence != i {
			t.Fatalf("event %d has sequence number %d: %+v", i, e.Sequence, all)
		}
		if e.Type == "response.output_text.delta" {
			text.WriteString(e.Delta)
		}
	}
	if last := all[len(all)-1]; last.Type != "response.completed" || text.String() != reply {
		t.Errorf("last event %s, text %q", last.Type, text.String())
	}
	if status, _, body := ts.do("GET", "/v1/responses/"+id+"?stream=true&starting_after=x", ""); status != 400 || !strings.Contains(string(body), "starting_after") {
		t.Errorf("bad starting_after: %d %s", status, body)
	}
}

// OpenAI's own Go client runs a background response: created queued,
// retrieved until it ends, cancelled.
func TestBackgroundResponseOpenAIClient(t *testing.T) {
	ts := newTestServer(t, Config{}, "네, 알겠습니다.")
	client := openai.NewClient(option.WithBaseURL(ts.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	ctx := context.Background()
	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Input:      responses.ResponseNewParamsInputUnion{OfString: openai.String("부탁해요")},
		Background: openai.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != responses.ResponseStatusQueued || !resp.Background {
		t.Fatalf("created %s", resp.RawJSON())
	}
	for deadline := time.Now().Add(10 * time.Second); resp.Status == responses.ResponseStatusQueued || resp.Status == responses.ResponseStatusInProgress; time.Sleep(5 * time.Millisecond) {
		if resp, err = client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{}); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s after 10 s", resp.Status)
		}
	}
	if resp.Status != responses.ResponseStatusCompleted || resp.OutputText() != "네, 알겠습니다." {
		t.Fatalf("finished %s", resp.RawJSON())
	}
	if c, err := client.Responses.Cancel(ctx, resp.ID); err != nil || c.Status != responses.ResponseStatusCompleted {
		t.Errorf("cancel of a finished one: %v, %v", c, err)
	}
}

// A shutdown whose drain runs out cancels a background response still
// running; it is kept cancelled.
func TestBackgroundResponseShutdown(t *testing.T) {
	ts := newTestServer(t, Config{}, strings.Repeat("x", 2000))
	ts.eng.delay = 2 * time.Millisecond
	_, _, body := ts.do("POST", "/v1/responses", `{"input":"hi","background":true}`)
	var queued responseObject
	if err := json.Unmarshal(body, &queued); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err == nil {
		t.Error("the drain did not wait for the background response")
	}
	r, ok := ts.srv.responses.get(queued.ID)
	if !ok {
		t.Fatal("the cancelled background response was not kept")
	}
	var kept responseObject
	if err := json.Unmarshal(r.body, &kept); err != nil || kept.Status != "cancelled" || !kept.Background {
		t.Errorf("kept %s", r.body)
	}
}

// A background response in a conversation adds its input and output to
// it once it has run, as a foreground one does.
func TestBackgroundResponseConversation(t *testing.T) {
	ts := newTestServer(t, Config{}, "반가워요")
	_, _, body := ts.do("POST", "/v1/conversations", `{}`)
	var conv struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &conv); err != nil || conv.ID == "" {
		t.Fatalf("conversation: %s", body)
	}
	_, _, body = ts.do("POST", "/v1/responses", `{"input":"안녕","background":true,"conversation":"`+conv.ID+`"}`)
	var queued responseObject
	if err := json.Unmarshal(body, &queued); err != nil || queued.Conversation == nil || queued.Conversation.ID != conv.ID {
		t.Fatalf("queued: %s", body)
	}
	if done := pollResponse(t, ts, queued.ID); done.Status != "completed" {
		t.Fatalf("finished %+v", done)
	}
	_, _, body = ts.do("GET", "/v1/conversations/"+conv.ID+"/items?order=asc", "")
	var items struct {
		Data []struct {
			Role    string `json:"role"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &items); err != nil || len(items.Data) != 2 || items.Data[0].Role != "user" || items.Data[1].Role != "assistant" ||
		len(items.Data[1].Content) != 1 || items.Data[1].Content[0].Text != "반가워요" {
		t.Errorf("conversation items %s", body)
	}
}

// A background response the server stops under (a crash, a kill) is not
// lost from view: it is on disk from its start, and a server started
// again over the same folder answers it as failed, with the reason and
// the request's input; a follow-up continues the conversation up to it.
// A response that ends replaces that file with how it ended.
func TestBackgroundResponseRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "responses")
	ts := newTestServer(t, Config{StoredResponsesDir: dir}, strings.Repeat("x", 2000))
	ts.eng.delay = 2 * time.Millisecond // 4 s for the whole reply
	_, _, body := ts.do("POST", "/v1/responses", `{"input":"안녕","background":true}`)
	var queued responseObject
	if err := json.Unmarshal(body, &queued); err != nil || queued.Status != "queued" {
		t.Fatalf("POST: %s", body)
	}
	// A second server over the folder while the first runs: what a
	// restart after a crash finds.
	after := newTestServer(t, Config{StoredResponsesDir: dir}, "다음")
	status, _, body := after.do("GET", "/v1/responses/"+queued.ID, "")
	var lost struct {
		Status string `json:"status"`
		Error  *struct {
			Code, Message string
		} `json:"error"`
		Background bool `json:"background"`
	}
	if err := json.Unmarshal(body, &lost); err != nil || status != 200 || lost.Status != "failed" || !lost.Background ||
		lost.Error == nil || lost.Error.Code != "server_error" || !strings.Contains(lost.Error.Message, "stopped before") {
		t.Fatalf("after a restart: %d %s", status, body)
	}
	if status, _, body := after.do("GET", "/v1/responses/"+queued.ID+"/input_items", ""); status != 200 || !strings.Contains(string(body), "안녕") {
		t.Errorf("input items after a restart: %d %s", status, body)
	}
	status, _, body = after.do("POST", "/v1/responses", `{"input":"more","previous_response_id":"`+queued.ID+`"}`)
	if status != 200 {
		t.Errorf("a follow-up of the lost response: %d %s", status, body)
	}
	if prompt := string(mustDecode(t, after.eng.last().Prompt)); !strings.Contains(prompt, "안녕") || !strings.Contains(prompt, "more") {
		t.Errorf("the follow-up's prompt lacks the lost response's input: %q", prompt)
	}
	// The first server's response ends (cancelled): its file says so.
	if status, _, body := ts.do("POST", "/v1/responses/"+queued.ID+"/cancel", ""); status != 200 {
		t.Fatalf("cancel: %d %s", status, body)
	}
	pollResponse(t, ts, queued.ID)
	b, err := os.ReadFile(filepath.Join(dir, queued.ID+".json"))
	if err != nil || !strings.Contains(string(b), `"status":"cancelled"`) {
		t.Errorf("the file after the end: %v %.300s", err, b)
	}
}
