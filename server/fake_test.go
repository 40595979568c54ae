package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
)

// fakeTokenizer is byte-level: id = byte + 3; 1 is BOS, 2 is EOS.
type fakeTokenizer struct{}

func (fakeTokenizer) Encode(text string, addSpecial, _ bool) ([]int32, error) {
	var ids []int32
	if addSpecial {
		ids = append(ids, 1)
	}
	for _, b := range []byte(text) {
		ids = append(ids, int32(b)+3)
	}
	return ids, nil
}

func (fakeTokenizer) Decode(ids []int32, _ bool) ([]byte, error) {
	var out []byte
	for _, id := range ids {
		if id >= 3 {
			out = append(out, byte(id-3))
		}
	}
	return out, nil
}

func (f fakeTokenizer) Piece(id int32, s bool) ([]byte, error) { return f.Decode([]int32{id}, s) }
func (fakeTokenizer) BOS() (int32, bool)                       { return 1, true }
func (fakeTokenizer) EOS() (int32, bool)                       { return 2, true }
func (fakeTokenizer) IsEOG(id int32) bool                      { return id == 2 }
func (fakeTokenizer) AddBOS() bool                             { return true }
func (fakeTokenizer) NVocab() int                              { return 259 }
func (fakeTokenizer) TokenText(id int32) string {
	switch id {
	case 1:
		return "<s>"
	case 2:
		return "</s>"
	}
	return string([]byte{byte(id - 3)})
}

// fakeEngine generates reply(r) one BYTE per event, so multi-byte
// characters arrive split (stricter than the real engine, which sends
// whole characters): the server must still never split them.
type fakeEngine struct {
	nCtx     int
	queueCap int // Submit fails with ErrQueueFull when this many are active
	delay    time.Duration
	reply    func(r engine.Request) string
	// logprob scores token i of r's reply (nil: each -0.25).
	logprob func(r engine.Request, i int) float32
	obs     engine.Observer
	padded  int64 // Stats().PaddedTokens
	cached  int   // prompt tokens reported as served from the prefix cache (all but the last at most)

	mu        sync.Mutex
	active    int
	submitted []engine.Request
	seqs      []*fakeSeq
	loras     []string // adapters by id, "" once unloaded (LoadLoRA)
	slots     []engine.SlotState
}

// Slots implements SlotReporter with the slots a test sets.
func (f *fakeEngine) Slots() []engine.SlotState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.slots)
}

// LoadLoRA implements AdapterLoader: a path "missing…" does not exist, a
// path "bad…" is no adapter.
func (f *fakeEngine) LoadLoRA(name, path string) (int32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case strings.HasPrefix(path, "missing"):
		return 0, fmt.Errorf("open %s: %w", path, fs.ErrNotExist)
	case strings.HasPrefix(path, "bad"):
		return 0, fmt.Errorf("%s: not an adapter", path)
	}
	f.loras = append(f.loras, name)
	return int32(len(f.loras)), nil
}

// ReplaceLoRA implements AdapterLoader.
func (f *fakeEngine) ReplaceLoRA(old int32, path string) (int32, error) {
	f.mu.Lock()
	name := ""
	if old >= 1 && int(old) <= len(f.loras) {
		name = f.loras[old-1]
	}
	f.mu.Unlock()
	if name == "" {
		return 0, fmt.Errorf("no adapter %d", old)
	}
	id, err := f.LoadLoRA(name, path)
	if err != nil {
		return 0, err
	}
	return id, f.UnloadLoRA(old)
}

// UnloadLoRA implements AdapterLoader.
func (f *fakeEngine) UnloadLoRA(id int32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id < 1 || int(id) > len(f.loras) || f.loras[id-1] == "" {
		return fmt.Errorf("no adapter %d", id)
	}
	f.loras[id-1] = ""
	return nil
}

type fakeSeq struct {
	events    chan engine.Event
	cancelled atomic.Bool
	done      chan struct{}
	once      sync.Once
}

func (s *fakeSeq) Events() <-chan engine.Event { return s.events }
func (s *fakeSeq) Cancel() {
	s.once.Do(func() { s.cancelled.Store(true); close(s.done) })
}

func (f *fakeEngine) NCtx() int { return f.nCtx }

func (f *fakeEngine) Stats() engine.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return engine.Stats{Running: f.active, KVBlocks: 100, KVUsage: float64(f.active) / 100,
		PrefixQueries: 10, PrefixHits: 4, Preemptions: 1, PaddedTokens: f.padded}
}

func (f *fakeEngine) Submit(ctx context.Context, r engine.Request) (Stream, error) {
	switch {
	case len(r.Prompt) == 0:
		return nil, engine.ErrEmptyPrompt
	case len(r.Prompt) >= f.nCtx:
		return nil, fmt.Errorf("%w: %d tokens", engine.ErrPromptTooLong, len(r.Prompt))
	}
	text := f.reply(r)
	if text == "PANIC" {
		panic("fake engine asked to panic")
	}
	f.mu.Lock()
	if f.queueCap > 0 && f.active >= f.queueCap {
		f.mu.Unlock()
		return nil, engine.ErrQueueFull
	}
	f.active++
	f.submitted = append(f.submitted, r)
	s := &fakeSeq{events: make(chan engine.Event, 4096), done: make(chan struct{})}
	f.seqs = append(f.seqs, s)
	f.mu.Unlock()
	stop := context.AfterFunc(ctx, s.Cancel)
	go f.generate(r, text, s, stop)
	return s, nil
}

func (f *fakeEngine) generate(r engine.Request, text string, s *fakeSeq, stop func() bool) {
	defer stop()
	defer func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
		close(s.events)
	}()
	if rest, failed := strings.CutPrefix(text, "FAIL:"); failed {
		// Generation that breaks after its first piece.
		s.events <- engine.Event{Tokens: []int32{int32(rest[0]) + 3}, Text: rest[:1]}
		s.events <- engine.Event{Finish: engine.FinishError, Err: errors.New("fake engine failure"), Usage: engine.Usage{PromptTokens: len(r.Prompt), CompletionTokens: 1}}
		return
	}
	start := time.Now()
	finish := engine.FinishStop
	var stopReason any // the stop string that ended the reply, as the engine reports it
	for _, st := range r.Stop {
		if i := strings.Index(text, st); i >= 0 {
			text, stopReason = text[:i], st
		}
	}
	b := []byte(text)
	if r.MaxTokens > 0 && len(b) > r.MaxTokens {
		b, finish, stopReason = b[:r.MaxTokens], engine.FinishLength, nil
	}
	if r.PromptOnly {
		b, finish = nil, engine.FinishLength
	}
	// Prompt scores (echo with logprobs): prompt token i scored -i/8.
	var promptLP []engine.TokenLogprob
	var promptTop [][]engine.TokenLogprob
	if r.PromptLogprobs {
		for i, id := range r.Prompt[1:] {
			piece, _ := fakeTokenizer{}.Piece(id, true)
			lp := engine.TokenLogprob{Token: id, Text: piece, Logprob: -float32(i+1) / 8}
			promptLP = append(promptLP, lp)
			if r.TopLogprobs > 0 {
				promptTop = append(promptTop, []engine.TokenLogprob{lp})
			}
		}
	}
	if f.obs != nil {
		f.obs.ObserveQueue(time.Millisecond)
	}
	n := 0
	for i, c := range b {
		if f.delay > 0 {
			select {
			case <-s.done:
			case <-time.After(f.delay):
			}
		}
		if s.cancelled.Load() {
			finish = engine.FinishCancelled
			break
		}
		ev := engine.Event{Tokens: []int32{int32(c) + 3}, Text: string([]byte{c})}
		if i == 0 {
			ev.PromptLogprobs, ev.PromptTopLogprobs, promptLP, promptTop = promptLP, promptTop, nil, nil
			ev.TTFT, ev.CachedTokens = time.Since(start), f.cachedOf(r)
			if f.obs != nil {
				f.obs.ObserveTTFT(ev.TTFT)
			}
		} else if f.obs != nil {
			f.obs.ObserveITL(time.Millisecond)
		}
		if r.Logprobs {
			lp := float32(-0.25)
			if f.logprob != nil {
				lp = f.logprob(r, i)
			}
			ev.Logprobs = []engine.TokenLogprob{{Token: int32(c) + 3, Text: []byte{c}, Logprob: lp}}
			var alts []engine.TokenLogprob
			for k := 0; k < r.TopLogprobs; k++ {
				alts = append(alts, engine.TokenLogprob{Token: int32(k + 3), Text: []byte{byte('a' + k)}, Logprob: -float32(k + 1)})
			}
			ev.TopLogprobs = [][]engine.TokenLogprob{alts}
		}
		s.events <- ev
		n++
	}
	if f.obs != nil {
		f.obs.ObserveE2E(time.Since(start))
	}
	if finish != engine.FinishStop {
		stopReason = nil
	}
	s.events <- engine.Event{Finish: finish, Usage: engine.Usage{PromptTokens: len(r.Prompt), CachedTokens: f.cachedOf(r), CompletionTokens: n},
		PromptLogprobs: promptLP, PromptTopLogprobs: promptTop, StopReason: stopReason}
}

// cachedOf is how many of r's prompt tokens the fake reports as cached.
func (f *fakeEngine) cachedOf(r engine.Request) int {
	return max(min(f.cached, len(r.Prompt)-1), 0)
}

func (f *fakeEngine) lastRequests() []engine.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engine.Request(nil), f.submitted...)
}

// last is the request submitted last.
func (f *fakeEngine) last() engine.Request {
	r := f.lastRequests()
	return r[len(r)-1]
}

// testServer is a server on a loopback port with a fake engine.
type testServer struct {
	t    *testing.T
	srv  *Server
	eng  *fakeEngine
	url  string
	done chan error
}

// newTestServer serves reply from a fake engine, with ChatML unless an
// option changes the backend.
func newTestServer(t *testing.T, cfg Config, reply string, opts ...func(*Backend)) *testServer {
	t.Helper()
	if cfg.ModelName == "" {
		cfg.ModelName = "fake-model"
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{nCtx: 256, reply: func(engine.Request) string { return reply }, obs: srv.Metrics()}
	r, err := chat.NewBuiltin("chatml")
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{Engine: eng, Tokenizer: fakeTokenizer{}, Chat: r}
	for _, o := range opts {
		o(b)
	}
	if err := srv.SetBackend(b); err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &startedListener{Listener: inner, started: make(chan struct{})}
	ts := &testServer{t: t, srv: srv, eng: eng, url: "http://" + ln.Addr().String(), done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(ln) }()
	// fasthttp's Shutdown closes only the listeners Serve has taken: wait
	// for it, or a test that makes no request could shut down first and
	// leave Serve running for ever.
	<-ln.started
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-ts.done
	})
	return ts
}

// startedListener tells when Serve has started accepting on it (Serve
// takes the listener before its first Accept).
type startedListener struct {
	net.Listener
	once    sync.Once
	started chan struct{}
}

func (l *startedListener) Accept() (net.Conn, error) {
	l.once.Do(func() { close(l.started) })
	return l.Listener.Accept()
}

// do sends a raw request and returns status, headers and body.
func (ts *testServer) do(method, path, body string, hdr ...string) (int, http.Header, []byte) {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.url+path, strings.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		ts.t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, resp.Header, []byte(buf.String())
}
