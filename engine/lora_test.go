package engine

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// Adapters loaded while the engine runs serve requests as those given at
// start do. Unloading one refuses new requests at once, lets the running
// ones finish with it and only then takes it out of the model; a failed
// load changes nothing, and ids are never reused.
func TestLoadLoRAWhileServing(t *testing.T) {
	e, f := newFakeEngine(t, Config{NumBlocks: 64}, 256)
	p := prompt(9, 20)
	run := func(lora int32) {
		t.Helper()
		s := submit(t, e, Request{Prompt: p, MaxTokens: 8, Sampling: greedyParams(), IgnoreEOS: true, LoRA: lora})
		out := drive(t, e, []*Sequence{s}, 1000)[0]
		if want := referenceLoRA(p, greedyParams(), 8, 256, true, lora); !slices.Equal(out.tokens, want) {
			t.Fatalf("adapter %d: %v, want %v", lora, out.tokens, want)
		}
	}
	if _, err := e.Submit(t.Context(), Request{Prompt: p, Sampling: greedyParams(), LoRA: 1}); !errors.Is(err, ErrUnknownAdapter) {
		t.Fatalf("an adapter before any is loaded: %v", err)
	}
	if _, err := e.LoadLoRA("a", "bad.gguf"); err == nil {
		t.Fatal("the model's refusal was not reported")
	}
	id, err := e.LoadLoRA("a", "a.gguf")
	if err != nil || id != 1 {
		t.Fatalf("LoadLoRA: %d, %v", id, err)
	}
	run(1)
	if _, err := e.LoadLoRA("a", "other.gguf"); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("a name loaded twice: %v", err)
	}

	// A request running with the adapter when it is unloaded.
	long := submit(t, e, Request{Prompt: p, MaxTokens: 30, Sampling: greedyParams(), IgnoreEOS: true, LoRA: 1})
	for range 5 {
		e.step()
	}
	if err := e.UnloadLoRA(1); err != nil {
		t.Fatal(err)
	}
	if !f.loraLoaded(1) {
		t.Fatal("the adapter left the model while a request ran with it")
	}
	if got := liveLoRAs(e); !slices.Equal(got, []string{""}) {
		t.Errorf("live adapters %q", got)
	}
	if _, err := e.Submit(t.Context(), Request{Prompt: p, Sampling: greedyParams(), LoRA: 1}); !errors.Is(err, ErrUnknownAdapter) {
		t.Fatalf("a request for an unloaded adapter: %v", err)
	}
	if err := e.UnloadLoRA(1); !errors.Is(err, ErrUnknownAdapter) {
		t.Fatalf("unloaded twice: %v", err)
	}
	// Its name is free again at once, under a new id.
	id, err = e.LoadLoRA("a", "a2.gguf")
	if err != nil || id != 2 {
		t.Fatalf("LoadLoRA again: %d, %v", id, err)
	}
	out := drive(t, e, []*Sequence{long}, 1000)[0]
	if want := referenceLoRA(p, greedyParams(), 30, 256, true, 1); !slices.Equal(out.tokens, want) {
		t.Fatalf("the running request: %v, want %v", out.tokens, want)
	}
	if f.loraLoaded(1) {
		t.Fatal("the adapter stayed in the model after its last request")
	}
	run(2)
	if err := e.UnloadLoRA(2); err != nil || f.loraLoaded(2) {
		t.Fatalf("an idle adapter's unload: %v (still loaded: %v)", err, f.loraLoaded(2))
	}
	if f.bad != nil {
		t.Fatal(f.bad)
	}
	if got := liveLoRAs(e); !slices.Equal(got, []string{"", ""}) {
		t.Errorf("live adapters %q", got)
	}
}

// A request cancelled while it waits still releases its adapter.
func TestUnloadLoRAAfterCancel(t *testing.T) {
	e, f := newFakeEngine(t, Config{NumBlocks: 64}, 256)
	id, err := e.LoadLoRA("a", "a.gguf")
	if err != nil {
		t.Fatal(err)
	}
	s := submit(t, e, Request{Prompt: prompt(3, 10), MaxTokens: 8, Sampling: greedyParams(), LoRA: id})
	if err := e.UnloadLoRA(id); err != nil {
		t.Fatal(err)
	}
	s.Cancel()
	drive(t, e, []*Sequence{s}, 100)
	if f.loraLoaded(id) {
		t.Fatal("a cancelled request kept its adapter loaded")
	}
}

// Loads and unloads race with requests on the running loop: every
// request for a loaded adapter gets that adapter's reply or, once it is
// unloaded, ErrUnknownAdapter; the model never sees an id it has let go.
func TestLoRAUpdatesWhileRunning(t *testing.T) {
	e, f := newFakeEngine(t, Config{NumBlocks: 96, MaxNumSeqs: 6}, 256)
	f.delay = 100 * time.Microsecond
	stop := runEngine(t, e)
	p := prompt(4, 12)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for round := range 6 {
		id, err := e.LoadLoRA(fmt.Sprintf("a%d", round%2), "a.gguf")
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := e.Submit(t.Context(), Request{Prompt: p, MaxTokens: 10, Sampling: greedyParams(), IgnoreEOS: true, LoRA: id})
				if errors.Is(err, ErrUnknownAdapter) {
					return // unloaded before it came
				}
				if err != nil {
					errs <- err
					return
				}
				out := readAll(s)
				if want := referenceLoRA(p, greedyParams(), 10, 256, true, id); !slices.Equal(out.tokens, want) {
					errs <- fmt.Errorf("adapter %d: %v, want %v", id, out.tokens, want)
				}
			}()
		}
		time.Sleep(time.Duration(round) * time.Millisecond)
		if err := e.UnloadLoRA(id); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if f.bad != nil {
		t.Fatal(f.bad)
	}
	for id := int32(1); id <= 6; id++ {
		if f.loraLoaded(id) {
			t.Errorf("adapter %d still loaded after its requests", id)
		}
	}
}

// Stats name the adapters running and waiting sequences ask for.
func TestLoRAStats(t *testing.T) {
	e, _ := newFakeEngine(t, Config{NumBlocks: 64, MaxNumSeqs: 1}, 256)
	if st := e.Stats(); st.LoRALoaded != 0 || st.LoRARunning != nil || st.LoRAWaiting != nil {
		t.Fatalf("without adapters: %+v", st)
	}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := e.LoadLoRA(name, name+".gguf"); err != nil {
			t.Fatal(err)
		}
	}
	if st := e.Stats(); st.LoRALoaded != 3 {
		t.Fatalf("loaded adapters before any step: %d", st.LoRALoaded)
	}
	var seqs []*Sequence
	for _, id := range []int32{1, 2, 2, 0} {
		seqs = append(seqs, submit(t, e, Request{Prompt: prompt(int(id)+5, 8), MaxTokens: 4, Sampling: greedyParams(), LoRA: id}))
	}
	e.step()
	st := e.Stats()
	if st.LoRALoaded != 3 || !slices.Equal(st.LoRARunning, []string{"a"}) || !slices.Equal(st.LoRAWaiting, []string{"b"}) {
		t.Fatalf("loaded %d, running %q, waiting %q", st.LoRALoaded, st.LoRARunning, st.LoRAWaiting)
	}
	drive(t, e, seqs, 500)
	if st := e.Stats(); st.LoRALoaded != 3 || len(st.LoRARunning)+len(st.LoRAWaiting) != 0 {
		t.Fatalf("after: %+v", st)
	}
}

// ReplaceLoRA (vLLM's load_inplace) puts a new version under the name: a
// request running with the old one finishes with it, later ones get the
// new id; a version that does not load leaves the old one serving.
func TestReplaceLoRA(t *testing.T) {
	e, f := newFakeEngine(t, Config{NumBlocks: 64}, 256)
	p := prompt(11, 12)
	old, err := e.LoadLoRA("a", "a1.gguf")
	if err != nil {
		t.Fatal(err)
	}
	running := submit(t, e, Request{Prompt: p, MaxTokens: 20, Sampling: greedyParams(), IgnoreEOS: true, LoRA: old})
	for range 3 {
		e.step()
	}
	if _, err := e.ReplaceLoRA(old, "bad.gguf"); err == nil {
		t.Fatal("a version that does not load replaced the adapter")
	}
	if got := liveLoRAs(e); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after a failed replacement: %q", got)
	}
	id, err := e.ReplaceLoRA(old, "a2.gguf")
	if err != nil || id != 2 {
		t.Fatalf("ReplaceLoRA: %d, %v (the failed load used no id)", id, err)
	}
	if got := liveLoRAs(e); !slices.Equal(got, []string{"", "a"}) || f.loraPaths[id-1] != "a2.gguf" {
		t.Fatalf("names %q, paths %q", got, f.loraPaths)
	}
	if _, err := e.Submit(t.Context(), Request{Prompt: p, Sampling: greedyParams(), LoRA: old}); !errors.Is(err, ErrUnknownAdapter) {
		t.Fatalf("a request for the replaced id: %v", err)
	}
	fresh := submit(t, e, Request{Prompt: p, MaxTokens: 5, Sampling: greedyParams(), IgnoreEOS: true, LoRA: id})
	outs := drive(t, e, []*Sequence{running, fresh}, 500)
	if want := referenceLoRA(p, greedyParams(), 20, 256, true, old); !slices.Equal(outs[0].tokens, want) {
		t.Errorf("the request running with the old version: %v, want %v", outs[0].tokens, want)
	}
	if want := referenceLoRA(p, greedyParams(), 5, 256, true, id); !slices.Equal(outs[1].tokens, want) {
		t.Errorf("the request with the new version: %v, want %v", outs[1].tokens, want)
	}
	if f.loraLoaded(old) || !f.loraLoaded(id) {
		t.Fatalf("loaded: old %v, new %v", f.loraLoaded(old), f.loraLoaded(id))
	}
	if f.bad != nil {
		t.Fatal(f.bad)
	}
}

// liveLoRAs names the adapters new requests may use, by id ("" for an
// unloaded one).
func liveLoRAs(e *Engine) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, len(e.loras))
	for i, s := range e.loras {
		if s.live {
			names[i] = s.name
		}
	}
	return names
}
