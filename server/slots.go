package server

import (
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/nuri-ai/nuri/engine"
)

// SlotReporter is an Engine that numbers its running sequences in slots,
// as llama-server does (*engine.Engine through EngineAdapter).
type SlotReporter interface {
	Slots() []engine.SlotState
}

// Slots forwards to the engine.
func (a EngineAdapter) Slots() []engine.SlotState { return a.E.Slots() }

// handleSlots is llama-server's GET /slots: each slot, idle or running a
// request, with the request's sampling settings and progress. Prompts
// and replies are not shown (llama-server stopped showing them too): the
// route tells an operator what runs, not what is said. With
// ?fail_on_no_slot=1 it answers 503 when every slot is busy.
func (s *Server) handleSlots(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	b, err := s.backendFor()
	if err != nil {
		return err
	}
	rep, ok := b.Engine.(SlotReporter)
	if !ok {
		return &apiError{err: ErrNotSupported, msg: "this engine reports no slots"}
	}
	slots := rep.Slots()
	nCtx := b.Engine.NCtx()
	idleParams := s.defaultLlamaSettings(b) // every idle slot shows the defaults a request starts from
	out := make([]map[string]any, 0, len(slots))
	free := 0
	for _, st := range slots {
		if !st.Busy {
			free++
			out = append(out, map[string]any{
				"id": st.Slot, "id_task": -1, "n_ctx": nCtx, "speculative": st.Speculative, "is_processing": false,
				"params":     idleParams,
				"next_token": map[string]any{"has_next_token": false, "n_remain": -1, "n_decoded": 0},
			})
			continue
		}
		r := st.Request
		nPredict, remain := -1, -1
		if r.MaxTokens > 0 {
			nPredict, remain = r.MaxTokens, max(0, r.MaxTokens-st.Generated)
		}
		out = append(out, map[string]any{
			"id": st.Slot, "id_task": st.Task, "n_ctx": nCtx, "speculative": st.Speculative,
			"is_processing": true, "id_request": st.ID,
			"params":          llamaSettings(*r, nPredict, nCtx, s.cfg.ModelName, false),
			"n_prompt_tokens": st.PromptTokens, "n_prompt_tokens_processed": st.PromptDone,
			"n_prompt_tokens_cache": st.CachedTokens,
			"next_token":            map[string]any{"has_next_token": true, "n_remain": remain, "n_decoded": st.Generated},
		})
	}
	if free == 0 && ctx.QueryArgs().Has("fail_on_no_slot") && string(ctx.QueryArgs().Peek("fail_on_no_slot")) != "0" {
		return &apiError{err: ErrNotReady, msg: fmt.Sprintf("no slot available: all %d are busy", len(slots))}
	}
	return s.writeJSON(ctx, out)
}
