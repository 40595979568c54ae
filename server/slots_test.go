package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/sample"
)

// GET /slots shows each slot in llama-server's shape: an idle one with
// the defaults a request starts from, a busy one with its request's
// settings and progress; fail_on_no_slot answers 503 when all are busy,
// and --no-slots closes the route.
func TestSlotsRoute(t *testing.T) {
	ts := newTestServer(t, Config{ModelName: "m"}, "ok")
	p := sample.DefaultParams()
	p.Temperature, p.TopK, p.Seed, p.HasSeed = 0.5, 7, 42, true
	busy := engine.SlotState{Slot: 1, Busy: true, ID: "chatcmpl-1", Task: 9, Request: &engine.Request{MaxTokens: 10, Sampling: p},
		PromptTokens: 12, PromptDone: 12, CachedTokens: 8, Generated: 4}
	ts.eng.mu.Lock()
	ts.eng.slots = []engine.SlotState{{Slot: 0}, busy}
	ts.eng.mu.Unlock()

	type slot struct {
		ID           int     `json:"id"`
		IDTask       int     `json:"id_task"`
		NCtx         int     `json:"n_ctx"`
		IsProcessing bool    `json:"is_processing"`
		IDRequest    string  `json:"id_request"`
		Prompt       *string `json:"prompt"`
		NPrompt      int     `json:"n_prompt_tokens"`
		NProcessed   int     `json:"n_prompt_tokens_processed"`
		NCache       int     `json:"n_prompt_tokens_cache"`
		Params       struct {
			NPredict    int     `json:"n_predict"`
			Seed        int64   `json:"seed"`
			Temperature float32 `json:"temperature"`
			TopK        int     `json:"top_k"`
		} `json:"params"`
		NextToken struct {
			HasNext  bool `json:"has_next_token"`
			NRemain  int  `json:"n_remain"`
			NDecoded int  `json:"n_decoded"`
		} `json:"next_token"`
	}
	status, _, raw := ts.do("GET", "/slots", "")
	var got []slot
	if status != 200 || json.Unmarshal(raw, &got) != nil || len(got) != 2 {
		t.Fatalf("%d %s", status, raw)
	}
	idle, run := got[0], got[1]
	if idle.ID != 0 || idle.IDTask != -1 || idle.IsProcessing || idle.NCtx != ts.eng.nCtx || idle.NextToken.HasNext || idle.Params.NPredict != -1 || idle.Params.Seed != -1 {
		t.Errorf("idle slot %+v", idle)
	}
	if run.ID != 1 || run.IDTask != 9 || !run.IsProcessing || run.IDRequest != "chatcmpl-1" || run.NPrompt != 12 || run.NProcessed != 12 || run.NCache != 8 {
		t.Errorf("busy slot %+v", run)
	}
	if run.Params.NPredict != 10 || run.Params.Seed != 42 || run.Params.Temperature != 0.5 || run.Params.TopK != 7 {
		t.Errorf("busy slot's params %+v", run.Params)
	}
	if !run.NextToken.HasNext || run.NextToken.NDecoded != 4 || run.NextToken.NRemain != 6 {
		t.Errorf("busy slot's next_token %+v", run.NextToken)
	}
	if run.Prompt != nil || strings.Contains(string(raw), `"prompt"`) {
		t.Errorf("a slot shows its prompt: %s", raw)
	}
	if status, _, raw := ts.do("GET", "/slots?fail_on_no_slot=1", ""); status != 200 {
		t.Errorf("fail_on_no_slot with a slot idle: %d %s", status, raw)
	}
	ts.eng.mu.Lock()
	ts.eng.slots[0] = engine.SlotState{Slot: 0, Busy: true, ID: "x", Task: 10, Request: &engine.Request{Sampling: p}}
	ts.eng.mu.Unlock()
	if status, _, raw := ts.do("GET", "/slots?fail_on_no_slot=1", ""); status != 503 || !strings.Contains(string(raw), "no slot available") {
		t.Errorf("fail_on_no_slot with every slot busy: %d %s", status, raw)
	}
	if status, _, raw := ts.do("GET", "/slots", ""); status != 200 || !strings.Contains(string(raw), `"n_remain":-1`) {
		t.Errorf("a busy slot without max tokens: %d %s", status, raw)
	}

	closed := newTestServer(t, Config{NoSlots: true}, "ok")
	if status, _, _ := closed.do("GET", "/slots", ""); status != 404 {
		t.Errorf("NoSlots: GET /slots status %d, want 404", status)
	}
	keyed := newTestServer(t, Config{APIKeys: []string{"k"}}, "ok")
	if status, _, _ := keyed.do("GET", "/slots", ""); status != 401 {
		t.Errorf("GET /slots without the key: status %d, want 401", status)
	}
}
