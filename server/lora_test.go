package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// llama-server's /lora-adapters lists the adapters applied to every
// request; the same list (or a request's lora field) is taken where it
// changes nothing, and refused where it asks for another scale or an
// adapter there is not.
func TestLoRAAdaptersRoute(t *testing.T) {
	ts := newTestServer(t, Config{LoRAAdapters: []LoRAAdapter{{Path: "/m/law.gguf", Scale: 1}, {Path: "/m/tone.gguf", Scale: 0.5}}}, "ok")
	status, _, raw := ts.do("GET", "/lora-adapters", "")
	var got []loraScale
	if status != 200 || json.Unmarshal(raw, &got) != nil || len(got) != 2 || got[1] != (loraScale{ID: 1, Path: "/m/tone.gguf", Scale: 0.5}) {
		t.Fatalf("GET: %d %s", status, raw)
	}
	for _, tc := range []struct {
		path, body string
		status     int
		want       string
	}{
		{"/lora-adapters", `[{"id":0,"scale":1},{"id":1,"scale":0.5}]`, 200, `"path":"/m/law.gguf"`},
		{"/lora-adapters", `[{"id":1,"scale":0.25}]`, 400, `--lora-modules`},
		{"/lora-adapters", `[{"id":2,"scale":1}]`, 400, `"param":"body[0].id"`},
		{"/lora-adapters", `{"id":0}`, 400, `"param":"body"`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"lora":[{"id":1,"scale":0.5}]}`, 200, `"content":"ok"`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"lora":[]}`, 200, `"content":"ok"`},
		{"/completion", `{"prompt":"x","lora":[{"id":0,"scale":0}]}`, 400, `"param":"lora[0].scale"`},
		{"/v1/completions", `{"prompt":"x","lora":[{"id":5,"scale":1}]}`, 400, `"param":"lora[0].id"`},
	} {
		status, _, raw := ts.do("POST", tc.path, tc.body)
		if status != tc.status || !strings.Contains(string(raw), tc.want) {
			t.Errorf("%s %s: %d %s, want %d with %s", tc.path, tc.body, status, raw, tc.status, tc.want)
		}
	}
	bare := newTestServer(t, Config{}, "ok")
	if status, _, raw := bare.do("GET", "/lora-adapters", ""); status != 200 || string(raw) != "[]" {
		t.Errorf("no adapters: %d %s", status, raw)
	}
}
