package engine

import (
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/model"
)

// ErrUnknownAdapter is Submit's error for a Request.LoRA that names no
// adapter being served: never loaded, or unloaded before the request came.
var ErrUnknownAdapter = errors.New("no such LoRA adapter")

// loraSlot is the engine's record of per-request adapter id (its index
// plus one): the model's numbering, which never reuses an id.
type loraSlot struct {
	name  string
	live  bool // new requests may ask for it
	users int  // sequences submitted with it and not yet finished
	gone  bool // unloaded from the model
}

// LoadLoRA loads the LoRA adapter in the GGUF file at path while the
// engine runs (vLLM's /v1/load_lora_adapter) and returns the id that
// Request.LoRA gives to run with it. name must differ from every adapter
// being served. It waits for the forward pass in flight, if any; the
// model must load adapters (model.AdapterLoader) on a device that scales
// rows one by one.
func (e *Engine) LoadLoRA(name, path string) (int32, error) {
	al, ok := e.m.(model.AdapterLoader)
	if !ok {
		return 0, fmt.Errorf("load lora adapter %q: model %T does not load adapters while serving", name, e.m)
	}
	if name == "" {
		return 0, fmt.Errorf("%w: a LoRA adapter loaded while serving needs a name", ErrInvalidRequest)
	}
	e.loraMu.Lock()
	defer e.loraMu.Unlock()
	e.mu.Lock()
	dup := slices.ContainsFunc(e.loras, func(s loraSlot) bool { return s.live && s.name == name })
	closed, want := e.closed, int32(len(e.loras)+1)
	e.mu.Unlock()
	switch {
	case closed:
		return 0, ErrClosed
	case dup:
		return 0, fmt.Errorf("%w: a LoRA adapter named %q is loaded already", ErrInvalidRequest, name)
	}
	// An adapter unloaded while requests still ran with it leaves the
	// model only when they end; its name is free at once.
	id, err := e.loadSlot(al, name, path, want, 0)
	if err != nil {
		return 0, fmt.Errorf("load lora adapter %q: %w", name, err)
	}
	e.log.Info("lora adapter loaded", zap.String("name", name), zap.String("path", path), zap.Int32("id", id))
	return id, nil
}

// loadSlot has the model load path under name, expecting id want, and
// serves it; retire, when not 0, stops serving that id in the same step
// and reports whether it is free to drop. e.loraMu is held.
func (e *Engine) loadSlot(al model.AdapterLoader, name, path string, want, retire int32) (int32, error) {
	id, err := al.LoadLoRA(model.LoRA{Path: path, Scale: 1, Name: name})
	if err != nil {
		return 0, err
	}
	if id != want {
		// The model numbered it otherwise than the engine counts: the
		// slots would name the wrong adapters. Undo rather than serve it.
		return 0, errors.Join(fmt.Errorf("the model gave id %d, the engine expected %d", id, want), al.UnloadLoRA(id))
	}
	e.mu.Lock()
	e.loras = append(e.loras, loraSlot{name: name, live: true})
	free := false
	if retire != 0 {
		e.loras[retire-1].live = false
		free = e.retireLocked(retire)
	}
	e.mu.Unlock()
	if free {
		if err := e.dropLoRA(retire); err != nil {
			// The new adapter serves; the old one's memory is what is lost.
			e.log.Warn("unload replaced lora adapter", zap.Int32("id", retire), zap.Error(err))
		}
	}
	return id, nil
}

// ReplaceLoRA loads the adapter at path as the new version of adapter old
// (vLLM's load_inplace): under old's name and a new id, which it returns.
// Requests submitted with old run to their end with it, as after
// UnloadLoRA; if the new file does not load, old stays in service.
func (e *Engine) ReplaceLoRA(old int32, path string) (int32, error) {
	al, ok := e.m.(model.AdapterLoader)
	if !ok {
		return 0, fmt.Errorf("replace lora adapter %d: model %T does not load adapters while serving", old, e.m)
	}
	e.loraMu.Lock()
	defer e.loraMu.Unlock()
	e.mu.Lock()
	if old < 1 || int(old) > len(e.loras) || !e.loras[old-1].live {
		e.mu.Unlock()
		return 0, fmt.Errorf("replace lora adapter %d: %w", old, ErrUnknownAdapter)
	}
	name, want := e.loras[old-1].name, int32(len(e.loras)+1)
	e.mu.Unlock()
	id, err := e.loadSlot(al, name, path, want, old)
	if err != nil {
		return 0, fmt.Errorf("replace lora adapter %q: %w", name, err)
	}
	e.log.Info("lora adapter replaced", zap.String("name", name), zap.String("path", path), zap.Int32("id", id), zap.Int32("old_id", old))
	return id, nil
}

// UnloadLoRA stops serving adapter id: new requests for it fail with
// ErrUnknownAdapter, while those already submitted run to their end with
// it; the model frees it once the last of them finishes.
func (e *Engine) UnloadLoRA(id int32) error {
	e.loraMu.Lock()
	defer e.loraMu.Unlock()
	e.mu.Lock()
	if id < 1 || int(id) > len(e.loras) || !e.loras[id-1].live {
		e.mu.Unlock()
		return fmt.Errorf("unload lora adapter %d: %w", id, ErrUnknownAdapter)
	}
	sl := &e.loras[id-1]
	sl.live = false
	name, users := sl.name, sl.users
	free := e.retireLocked(id)
	e.mu.Unlock()
	e.log.Info("lora adapter unloading", zap.String("name", name), zap.Int32("id", id), zap.Int("running", users))
	if free {
		return e.dropLoRA(id)
	}
	return nil
}

// useLoRALocked counts a sequence submitted with adapter id. e.mu is held.
func (e *Engine) useLoRALocked(id int32) error {
	if id == 0 {
		return nil
	}
	if id < 0 || int(id) > len(e.loras) || !e.loras[id-1].live {
		return fmt.Errorf("%w: adapter id %d is not being served", ErrUnknownAdapter, id)
	}
	e.loras[id-1].users++
	return nil
}

// releaseLoRA ends a finished sequence's use of adapter id and unloads
// the adapter when it was the last one of an unloaded adapter.
func (e *Engine) releaseLoRA(id int32) {
	if id == 0 {
		return
	}
	e.mu.Lock()
	e.loras[id-1].users--
	free := e.retireLocked(id)
	e.mu.Unlock()
	if free {
		if err := e.dropLoRA(id); err != nil {
			e.log.Warn("unload lora adapter", zap.Int32("id", id), zap.Error(err))
		}
	}
}

// retireLocked reports whether adapter id is to leave the model now:
// unloaded, no sequence uses it, and not gone already (it marks it gone,
// so exactly one caller drops it). e.mu is held.
func (e *Engine) retireLocked(id int32) bool {
	sl := &e.loras[id-1]
	if sl.live || sl.users > 0 || sl.gone {
		return false
	}
	sl.gone = true
	return true
}

// dropLoRA unloads adapter id from the model.
func (e *Engine) dropLoRA(id int32) error {
	al, ok := e.m.(model.AdapterLoader)
	if !ok {
		return fmt.Errorf("unload lora adapter %d: model %T does not unload adapters", id, e.m)
	}
	if err := al.UnloadLoRA(id); err != nil {
		return err
	}
	e.log.Info("lora adapter unloaded", zap.Int32("id", id))
	return nil
}
