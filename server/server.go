package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
)

// LoRAModule is a per-request LoRA adapter served under its own model
// name.
type LoRAModule struct {
	Name, Path string
}

// LoRAAdapter is an adapter applied to every request, at its strength.
type LoRAAdapter struct {
	Path  string
	Scale float32
}

// DefaultMaxBodyBytes is the request body limit when Config leaves it 0.
const DefaultMaxBodyBytes = 4 << 20

// DefaultMaxUploadBytes is the body limit of uploads (POST /v1/files) and
// Anthropic's Message Batches when Config leaves it 0: OpenAI's limit on
// one file.
const DefaultMaxUploadBytes = 512 << 20

// Config configures the HTTP server. cmd/nuri fills it from flags.
type Config struct {
	// ModelName is the id served by /v1/models and expected in "model".
	ModelName string
	// Version is what GET /version reports (vLLM's route); "" : "devel".
	Version string
	// AcceptModels are further names accepted in "model" (for example the
	// GGUF file name when an alias is set).
	AcceptModels []string
	// Aliases are more served names (--served-model-name NAME,ALIAS...):
	// /v1/models lists them, "model" may name one, and the reply to a
	// request that does carries it (as vLLM answers under the name asked
	// for).
	Aliases []string
	// LoRAModules are the model's per-request LoRA adapters, in the
	// order the model numbers them (model.Config.LoRA: the i-th is
	// engine.Request.LoRA i+1). A generation request whose "model" names
	// one runs with it; /v1/models lists them (vLLM's --lora-modules).
	LoRAModules []LoRAModule
	// LoRAAdapters are the adapters applied to every request (--lora,
	// --lora-scaled), in order: llama-server's GET /lora-adapters lists
	// them, numbered from 0.
	LoRAAdapters []LoRAAdapter
	// AllowLoRAUpdates opens POST /v1/load_lora_adapter and
	// /v1/unload_lora_adapter (vLLM's routes under its
	// VLLM_ALLOW_RUNTIME_LORA_UPDATING): clients may then load any
	// adapter file the server can read, so it is off by default.
	AllowLoRAUpdates bool
	// NoSlots closes GET /slots (llama-server's --no-slots), which shows
	// each running request's settings and progress, not its text.
	NoSlots bool
	// APIKeys, when not empty, are required as "Authorization: Bearer K"
	// on every route but /health and /metrics.
	APIKeys []string
	// CORSOrigins is the CORS allow-list ("*" allows any); empty: CORS off.
	CORSOrigins []string
	// MaxBodyBytes limits request bodies (0: DefaultMaxBodyBytes) but
	// those of MaxUploadBytes's routes.
	MaxBodyBytes int
	// MaxUploadBytes limits the bodies of file uploads (POST /v1/files,
	// read as they come, never whole) and of Anthropic's Message Batches
	// (0: DefaultMaxUploadBytes; never below MaxBodyBytes).
	MaxUploadBytes int
	// ReadTimeout and IdleTimeout bound slow clients and idle keep-alive
	// connections (0: 60 s and 120 s).
	ReadTimeout, IdleTimeout time.Duration
	// DefaultMaxTokens is /v1/completions' max_tokens when absent
	// (OpenAI's default is 16). Chat requests default to the context.
	DefaultMaxTokens int
	// MaxReplyTokens, when positive, is the most tokens any reply may
	// generate, on every route: a request asking for more, or for no
	// limit, gets this many (llama-server's --n-predict). 0: up to the
	// context.
	MaxReplyTokens int
	// StoredResponses and StoredResponseBytes bound the finished
	// /v1/responses responses kept in memory for previous_response_id and
	// GET /v1/responses/{id} (0: DefaultStoredResponses and
	// DefaultStoredResponseBytes; StoredResponses < 0: none are kept).
	StoredResponses, StoredResponseBytes int
	// FilesBytes is what the Files API's files (uploads and batch
	// results) may take, in memory or in FilesDir (0: DefaultFilesBytes;
	// < 0: no Files API and no batches).
	FilesBytes int
	// FilesDir, when set, keeps the files, and the batches (in its folder
	// batches), in this folder instead of memory (created if need be):
	// they outlive a restart, and a batch the server stopped under
	// resumes at the next start with the lines it had not finished.
	FilesDir string
	// StoredResponsesDir, when set, keeps the stored responses in this
	// folder too (created if need be): they outlive a restart, within the
	// same limits.
	StoredResponsesDir string
	Logger             *zap.Logger
	// Metrics receives the counters; nil: a fresh NewMetrics(ModelName).
	Metrics *Metrics
}

const (
	stateLoading int32 = iota
	stateReady
	stateDraining
)

// Server is the OpenAI-compatible HTTP server.
type Server struct {
	cfg     Config
	log     *zap.Logger
	metrics *Metrics
	fs      *fasthttp.Server
	created int64

	state   atomic.Int32
	backend atomic.Pointer[Backend]
	// pooling are the embedding models and rerankers served beside the
	// main one (AddPoolingBackend); poolMu guards the slice, which is
	// replaced, never changed in place.
	poolMu  sync.RWMutex
	pooling []poolingModel
	// uploads are OpenAI's Uploads API's, in the file store's budget.
	uploads uploadStore

	// baseCtx parents every submitted sequence; cancelAll ends them when
	// a graceful shutdown runs out of time.
	baseCtx   context.Context
	cancelAll context.CancelFunc

	reqSeq   atomic.Uint64
	idPrefix string
	enc      *encoders

	// active counts requests holding sequences (streams included), so a
	// shutdown can wait for them.
	active tracker

	responses *responseStore // nil: responses are not kept
	convs     *conversations // nil: with responses, conversations are not kept
	chats     *chatStore     // nil: with responses, chat completions are not kept
	files     *fileStore     // nil: no Files API (nor batches)
	batches   batches
	bg        background // responses running in the background, and lately finished ones

	loras  *loraModules // per-request adapters by model name
	loraMu sync.Mutex   // serialises adapter loads and unloads
}

// New builds a server in the loading state: /health answers 503 and API
// routes 503 until SetBackend.
func New(cfg Config) (*Server, error) {
	if cfg.ModelName == "" {
		return nil, fmt.Errorf("server: model name is required")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("server: max body bytes %d must be > 0", cfg.MaxBodyBytes)
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.MaxUploadBytes < 0 {
		return nil, fmt.Errorf("server: max upload bytes %d must be > 0", cfg.MaxUploadBytes)
	}
	cfg.MaxUploadBytes = max(cfg.MaxUploadBytes, cfg.MaxBodyBytes)
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 60 * time.Second
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 120 * time.Second
	}
	if cfg.DefaultMaxTokens == 0 {
		cfg.DefaultMaxTokens = 16
	}
	if cfg.MaxReplyTokens < 0 {
		return nil, fmt.Errorf("server: max reply tokens %d must be ≥ 0", cfg.MaxReplyTokens)
	}
	for _, k := range cfg.APIKeys {
		if k == "" {
			return nil, fmt.Errorf("server: empty API key")
		}
	}
	for i, m := range cfg.LoRAModules {
		names := slices.Concat([]string{cfg.ModelName}, cfg.AcceptModels, cfg.Aliases)
		for _, o := range cfg.LoRAModules[:i] {
			names = append(names, o.Name)
		}
		if m.Name == "" || slices.Contains(names, m.Name) {
			return nil, fmt.Errorf("server: LoRA module name %q is empty or already a model's name", m.Name)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(cfg.ModelName)
	}
	enc, err := newEncoders()
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("server: random id prefix: %w", err)
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics, enc: enc,
		created: time.Now().Unix(), idPrefix: hex.EncodeToString(rnd[:]),
		loras: newLoRAModules(cfg.LoRAModules),
	}
	if cfg.StoredResponses == 0 {
		cfg.StoredResponses = DefaultStoredResponses
	}
	if cfg.StoredResponseBytes == 0 {
		cfg.StoredResponseBytes = DefaultStoredResponseBytes
	}
	if cfg.StoredResponses > 0 {
		s.responses = newResponseStore(cfg.StoredResponses, cfg.StoredResponseBytes)
		if cfg.StoredResponsesDir != "" {
			if s.responses, err = openResponseStore(cfg.StoredResponses, cfg.StoredResponseBytes, cfg.StoredResponsesDir, cfg.Logger); err != nil {
				return nil, fmt.Errorf("server: %w", err)
			}
		}
		if s.convs, err = newConversations(&cfg); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		if s.chats, err = newChatStore(&cfg); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	if cfg.FilesBytes == 0 {
		cfg.FilesBytes = DefaultFilesBytes
	}
	s.baseCtx, s.cancelAll = context.WithCancel(context.Background())
	if cfg.FilesBytes > 0 {
		s.files = newFileStore(cfg.FilesBytes)
		if cfg.FilesDir != "" {
			if s.files, err = openFileStore(cfg.FilesBytes, cfg.FilesDir, cfg.Logger); err != nil {
				return nil, fmt.Errorf("server: %w", err)
			}
			if err := s.openBatches(filepath.Join(cfg.FilesDir, "batches")); err != nil {
				return nil, fmt.Errorf("server: %w", err)
			}
		}
	}
	s.fs = &fasthttp.Server{
		Handler:            s.handle,
		ErrorHandler:       s.handleParseError,
		Name:               "nuri",
		MaxRequestBodySize: cfg.MaxBodyBytes,
		// A body over MaxBodyBytes reaches the handler as a stream, so that
		// an upload's route can take more; bodyWithin refuses it elsewhere.
		StreamRequestBody:            true,
		ReadTimeout:                  cfg.ReadTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		NoDefaultContentType:         true,
		Logger:                       zapPrintf{s.log},
	}
	return s, nil
}

// zapPrintf adapts zap to fasthttp's logger.
type zapPrintf struct{ l *zap.Logger }

func (z zapPrintf) Printf(format string, args ...any) { z.l.Warn(fmt.Sprintf(format, args...)) }

// Metrics returns the server's metrics (an engine.Observer).
func (s *Server) Metrics() *Metrics { return s.metrics }

// SetBackend attaches the loaded model and marks the server ready.
func (s *Server) SetBackend(b *Backend) error {
	if b == nil || b.Engine == nil || b.Tokenizer == nil || b.Chat == nil {
		return fmt.Errorf("server: backend needs an engine, a tokenizer and a chat renderer")
	}
	s.backend.Store(b)
	s.state.CompareAndSwap(stateLoading, stateReady)
	// The vocabulary's text and trie, which output constraints walk, are
	// built now, aside, so the first constrained request does not wait
	// for them (0.2 s for a 150k vocabulary).
	go b.vocab().Prepare()
	return nil
}

// Ready reports whether the server accepts generation requests.
func (s *Server) Ready() bool { return s.state.Load() == stateReady }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.fs.Serve(ln) }

// ServeTLS is Serve over TLS with cfg (HTTPS).
func (s *Server) ServeTLS(ln net.Listener, cfg *tls.Config) error {
	return s.fs.Serve(tls.NewListener(ln, cfg))
}

// Handler returns the request handler (for in-process tests).
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// Shutdown drains: /health turns 503, new requests get 503, the listener
// closes, and in-flight requests and streams may finish until ctx ends;
// then the remaining sequences are cancelled. It returns ctx's error if
// the drain was cut short.
func (s *Server) Shutdown(ctx context.Context) error {
	s.state.Store(stateDraining)
	drainErr := s.active.drain(ctx)
	if drainErr != nil {
		s.cancelAll() // streams end with finish_reason "abort"
	}
	// Connections are idle (or their streams cancelled) now; give them a
	// moment to flush, then close.
	closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.fs.ShutdownWithContext(closeCtx); err != nil && drainErr == nil {
		drainErr = fmt.Errorf("close connections: %w", err)
	}
	s.cancelAll()
	// Batches stop taking lines now, and background responses are
	// cancelled; let each finish its bookkeeping (a batch's folder log and
	// object, or its files; a response's stored object) before the
	// process ends.
	s.batches.mu.Lock()
	jobs := slices.Clone(s.batches.jobs)
	s.batches.mu.Unlock()
	waitCtx, cancelWait := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelWait()
	s.bg.wait(waitCtx) // background responses, cancelled now, are stored as such
	for _, j := range jobs {
		select {
		case <-j.done:
		case <-waitCtx.Done():
		}
	}
	s.enc.close()
	return drainErr
}

func (s *Server) newRequestID(ctx *fasthttp.RequestCtx) string {
	if h := ctx.Request.Header.Peek("X-Request-Id"); len(h) > 0 && len(h) <= 64 && printableASCII(h) {
		return string(h)
	}
	return fmt.Sprintf("%s-%d", s.idPrefix, s.reqSeq.Add(1))
}

func printableASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// handleParseError answers requests fasthttp could not read: an oversized
// body (refused from its Content-Length, before reading it) or a malformed
// request line or header.
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	var apiErr error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		apiErr = bodyTooLarge(s.cfg.MaxBodyBytes, "--max-body-bytes")
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			apiErr = &apiError{err: ErrBadJSON, msg: "request timed out while reading"}
		} else {
			apiErr = &apiError{err: ErrBadJSON, msg: "could not parse the HTTP request"}
		}
	}
	status, body := errorResponse(apiErr)
	s.log.Info("request refused", zap.Int("status", status), zap.String("error", err.Error()))
	writeJSONRaw(ctx, status, body)
}
