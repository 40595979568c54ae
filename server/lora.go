package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"sync"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/engine"
)

// AdapterLoader is an Engine that loads per-request LoRA adapters while
// it serves (EngineAdapter is one): what /v1/load_lora_adapter and
// /v1/unload_lora_adapter need.
type AdapterLoader interface {
	LoadLoRA(name, path string) (int32, error)
	// ReplaceLoRA loads path as the new version of adapter old, under its
	// name and a new id, and unloads old as UnloadLoRA does; on failure old
	// stays in service.
	ReplaceLoRA(old int32, path string) (int32, error)
	UnloadLoRA(id int32) error
}

// errFileNotFound is a 404 for a path a request names that does not
// exist on the server.
var errFileNotFound = errors.New("file not found")

// loraModules are the per-request adapters a server knows: the ones new
// requests may name, in load order, and every one it has served, so the
// replies of requests still running with an unloaded adapter carry its
// name.
type loraModules struct {
	mu   sync.RWMutex
	byID map[int32]LoRAModule
	live []int32
}

func newLoRAModules(mods []LoRAModule) *loraModules {
	l := &loraModules{byID: map[int32]LoRAModule{}}
	for i, m := range mods {
		l.add(int32(i+1), m)
	}
	return l
}

func (l *loraModules) add(id int32, m LoRAModule) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byID[id] = m
	l.live = append(l.live, id)
}

// lookup returns the id of the adapter served under name.
func (l *loraModules) lookup(name string) (int32, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, id := range l.live {
		if l.byID[id].Name == name {
			return id, true
		}
	}
	return 0, false
}

// module returns the adapter of id, served now or before.
func (l *loraModules) module(id int32) LoRAModule {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.byID[id]
}

// ids lists the adapters new requests may name, in load order.
func (l *loraModules) ids() []int32 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Clone(l.live)
}

// remove stops serving the adapter of id.
func (l *loraModules) remove(id int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.live = slices.DeleteFunc(l.live, func(x int32) bool { return x == id })
}

// loadLoRARequest is vLLM's /v1/load_lora_adapter body.
type loadLoRARequest struct {
	LoRAName string `json:"lora_name"`
	LoRAPath string `json:"lora_path"`
	// LoadInplace replaces an adapter loaded under the name (a new version
	// of its weights, as reinforcement-learning loops do): requests
	// already running keep the old one, later ones get the new.
	LoadInplace bool `json:"load_inplace"`
}

// unloadLoRARequest is vLLM's /v1/unload_lora_adapter body: the adapter
// by name, or by the id /v1/models does not show but vLLM accepts.
type unloadLoRARequest struct {
	LoRAName  string `json:"lora_name"`
	LoRAIntID int32  `json:"lora_int_id"`
}

// adapterLoader returns the backend's engine as an AdapterLoader.
func (s *Server) adapterLoader() (AdapterLoader, error) {
	b, err := s.backendFor()
	if err != nil {
		return nil, err
	}
	al, ok := b.Engine.(AdapterLoader)
	if !ok {
		return nil, &apiError{err: ErrNotSupported, msg: "this server's engine does not load LoRA adapters while serving"}
	}
	return al, nil
}

// handleLoadLoRA loads a per-request adapter under a new model name
// (vLLM's route, behind its VLLM_ALLOW_RUNTIME_LORA_UPDATING; here
// Config.AllowLoRAUpdates).
func (s *Server) handleLoadLoRA(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	al, err := s.adapterLoader()
	if err != nil {
		return err
	}
	var req loadLoRARequest
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	if req.LoRAName == "" || req.LoRAPath == "" {
		return invalidParam("lora_name", "both 'lora_name' and 'lora_path' must be given")
	}
	s.loraMu.Lock()
	defer s.loraMu.Unlock()
	old, loaded := s.loras.lookup(req.LoRAName)
	if loaded && !req.LoadInplace {
		return invalidParam("lora_name", "the LoRA adapter '%s' is loaded already: unload it first, or set load_inplace to replace it", req.LoRAName)
	}
	if req.LoRAName == s.cfg.ModelName || slices.Contains(s.cfg.AcceptModels, req.LoRAName) || slices.Contains(s.cfg.Aliases, req.LoRAName) {
		return invalidParam("lora_name", "'%s' is the base model's name", req.LoRAName)
	}
	var id int32
	if loaded {
		// The old version serves until the new one is in place.
		id, err = al.ReplaceLoRA(old, req.LoRAPath)
	} else {
		id, err = al.LoadLoRA(req.LoRAName, req.LoRAPath)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &apiError{err: errFileNotFound, param: "lora_path", msg: fmt.Sprintf("no LoRA adapter at '%s' on the server: %v", req.LoRAPath, err)}
	case errors.Is(err, engine.ErrClosed):
		return err
	case err != nil:
		return invalidParam("lora_path", "the LoRA adapter '%s' cannot be loaded: %v", req.LoRAName, err)
	}
	if loaded {
		s.loras.remove(old)
	}
	s.loras.add(id, LoRAModule{Name: req.LoRAName, Path: req.LoRAPath})
	s.log.Info("lora adapter loaded", zap.String("req_id", ri.id), zap.String("name", req.LoRAName), zap.String("path", req.LoRAPath), zap.Bool("replaced", loaded))
	return s.writeText(ctx, fmt.Sprintf("Success: LoRA adapter '%s' added successfully.", req.LoRAName))
}

// handleUnloadLoRA stops serving an adapter: new requests naming it get
// 404 at once, those running with it finish with it.
func (s *Server) handleUnloadLoRA(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	al, err := s.adapterLoader()
	if err != nil {
		return err
	}
	var req unloadLoRARequest
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	if req.LoRAName == "" && req.LoRAIntID == 0 {
		return invalidParam("lora_name", "either 'lora_name' or 'lora_int_id' must be given")
	}
	s.loraMu.Lock()
	defer s.loraMu.Unlock()
	id, ok := s.loras.lookup(req.LoRAName)
	if req.LoRAName == "" {
		id, ok = req.LoRAIntID, slices.Contains(s.loras.ids(), req.LoRAIntID)
	}
	if !ok || (req.LoRAIntID != 0 && req.LoRAIntID != id) {
		return &apiError{err: ErrModelNotFound, param: "lora_name", msg: fmt.Sprintf("the LoRA adapter '%s' cannot be found", unloadName(req))}
	}
	name := s.loras.module(id).Name
	s.loras.remove(id)
	if err := al.UnloadLoRA(id); err != nil {
		return fmt.Errorf("%w: unload LoRA adapter '%s': %w", ErrInternal, name, err)
	}
	s.log.Info("lora adapter unloaded", zap.String("req_id", ri.id), zap.String("name", name))
	return s.writeText(ctx, fmt.Sprintf("Success: LoRA adapter '%s' removed successfully.", name))
}

func unloadName(r unloadLoRARequest) string {
	if r.LoRAName != "" {
		return r.LoRAName
	}
	return fmt.Sprintf("#%d", r.LoRAIntID)
}

// writeText answers 200 with a plain-text body (vLLM's adapter routes
// answer so).
func (s *Server) writeText(ctx *fasthttp.RequestCtx, text string) error {
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("text/plain; charset=utf-8")
	s.enc.writeBody(ctx, []byte(text))
	return nil
}

// LoadLoRA forwards to the engine.
func (a EngineAdapter) LoadLoRA(name, path string) (int32, error) { return a.E.LoadLoRA(name, path) }

// ReplaceLoRA forwards to the engine.
func (a EngineAdapter) ReplaceLoRA(old int32, path string) (int32, error) {
	return a.E.ReplaceLoRA(old, path)
}

// UnloadLoRA forwards to the engine.
func (a EngineAdapter) UnloadLoRA(id int32) error { return a.E.UnloadLoRA(id) }

// loraScale is one entry of llama-server's adapter list.
type loraScale struct {
	ID    int     `json:"id"`
	Scale float32 `json:"scale"`
	Path  string  `json:"path,omitempty"`
}

// loraScales is GET /lora-adapters' list: the adapters applied to every
// request, numbered from 0, with their strengths.
func (s *Server) loraScales() []loraScale {
	out := make([]loraScale, len(s.cfg.LoRAAdapters))
	for i, a := range s.cfg.LoRAAdapters {
		out[i] = loraScale{ID: i, Path: a.Path, Scale: a.Scale}
	}
	return out
}

// checkLoRAScales accepts llama-server's adapter list (a request's lora,
// or POST /lora-adapters' body) only where it asks for what runs: the
// --lora adapters apply to every request at their start strengths, and
// a per-request adapter is named in "model" (--lora-modules). Anything
// else is refused, not silently run without it.
func (s *Server) checkLoRAScales(raw json.RawMessage, param string) error {
	if !present(raw) {
		return nil
	}
	var list []loraScale
	if err := json.Unmarshal(raw, &list); err != nil {
		return invalidParam(param, "%s must be a list of {\"id\", \"scale\"}: %v", param, err)
	}
	have := s.cfg.LoRAAdapters
	for i, l := range list {
		if l.ID < 0 || l.ID >= len(have) {
			return invalidParam(fmt.Sprintf("%s[%d].id", param, i), "no adapter %d: this server applies %d adapters to every request (GET /lora-adapters lists them)", l.ID, len(have))
		}
		if l.Scale != have[l.ID].Scale {
			return &apiError{err: ErrNotSupported, param: fmt.Sprintf("%s[%d].scale", param, i),
				msg: fmt.Sprintf("adapter %d runs at scale %g for every request, and its scale cannot change while serving: start the server with --lora-scaled FILE:SCALE, or serve adapters per request with --lora-modules NAME=FILE and name one in \"model\"", l.ID, have[l.ID].Scale)}
		}
	}
	return nil
}

// handleLoRAAdapters is llama-server's /lora-adapters: GET lists the
// adapters applied to every request; POST takes the same list back,
// where it changes nothing (checkLoRAScales).
func (s *Server) handleLoRAAdapters(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	if ri.method == "POST" {
		if err := s.checkLoRAScales(ctx.PostBody(), "body"); err != nil {
			return err
		}
	}
	return s.writeJSON(ctx, s.loraScales())
}
