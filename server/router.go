package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
)

// reqInfo is what the access log reports about one request.
type reqInfo struct {
	id               string
	method, path     string
	start            time.Time
	status           int
	promptTokens     int
	completionTokens int
	ttft             time.Duration
	stream           bool
	err              error
	logged           bool // the stream writer logs when the stream ends
}

type handlerFunc func(ctx *fasthttp.RequestCtx, ri *reqInfo) error

type route struct {
	method string
	auth   bool
	h      handlerFunc
	// upload routes take bodies up to MaxUploadBytes; a streamed one's
	// handler reads the body stream itself, the others get it whole.
	upload, streamed bool
}

// routes maps a path to its handlers. /v1/models/{id} is matched by prefix.
func (s *Server) routes(path string) []route {
	switch path {
	case "/health", "/v1/health":
		return []route{{method: "GET", h: s.handleHealth}, {method: "HEAD", h: s.handleHealth}}
	case "/ping":
		// SageMaker's health check (vLLM serves it too).
		return []route{{method: "GET", h: s.handleHealth}, {method: "POST", h: s.handleHealth}}
	case "/invocations":
		return []route{{method: "POST", auth: true, h: s.handleInvocations}}
	case "/completion", "/completions":
		return []route{{method: "POST", auth: true, h: s.llamaHandler(false)}}
	case "/infill":
		return []route{{method: "POST", auth: true, h: s.llamaHandler(true)}}
	case "/props":
		return []route{{method: "GET", auth: true, h: s.handleLlamaProps}}
	case "/lora-adapters":
		return []route{{method: "GET", auth: true, h: s.handleLoRAAdapters}, {method: "POST", auth: true, h: s.handleLoRAAdapters}}
	case "/slots":
		if !s.cfg.NoSlots {
			return []route{{method: "GET", auth: true, h: s.handleSlots}}
		}
	case "/apply-template":
		return []route{{method: "POST", auth: true, h: s.handleApplyTemplate}}
	case "/metrics":
		return []route{{method: "GET", h: s.handleMetrics}}
	case "/version":
		return []route{{method: "GET", h: s.handleVersion}}
	case "/":
		// Ollama's clients look here to see that a server is up.
		return []route{{method: "GET", h: s.handleRoot}, {method: "HEAD", h: s.handleRoot}}
	case "/api/chat":
		return []route{{method: "POST", auth: true, h: s.handleOllamaChat}}
	case "/api/generate":
		return []route{{method: "POST", auth: true, h: s.handleOllamaGenerate}}
	case "/api/embed":
		return []route{{method: "POST", auth: true, h: s.ollamaEmbed(false)}}
	case "/api/embeddings":
		return []route{{method: "POST", auth: true, h: s.ollamaEmbed(true)}}
	case "/api/tags":
		return []route{{method: "GET", auth: true, h: s.handleOllamaTags}}
	case "/api/ps":
		return []route{{method: "GET", auth: true, h: s.handleOllamaPS}}
	case "/api/show":
		return []route{{method: "POST", auth: true, h: s.handleOllamaShow}}
	case "/api/version":
		return []route{{method: "GET", h: s.handleOllamaVersion}}
	case "/api/pull":
		return []route{{method: "POST", auth: true, h: s.handleOllamaPull}}
	case "/api/create", "/api/copy", "/api/push":
		return []route{{method: "POST", auth: true, h: s.handleOllamaManage}}
	case "/api/delete":
		return []route{{method: "DELETE", auth: true, h: s.handleOllamaManage}}
	case "/v1/messages":
		return []route{{method: "POST", auth: true, h: s.handleAnthropicMessages}}
	case "/v1/messages/count_tokens":
		return []route{{method: "POST", auth: true, h: s.handleAnthropicCountTokens}}
	case "/v1/messages/batches":
		return []route{{method: "POST", auth: true, upload: true, h: s.handleMessageBatches}, {method: "GET", auth: true, h: s.handleMessageBatches}}
	case "/v1/chat/completions", "/chat/completions": // llama-server takes both
		return []route{{method: "POST", auth: true, h: s.handleChat}, {method: "GET", auth: true, h: s.handleChatList}}
	case "/v1/chat/completions/input_tokens", "/chat/completions/input_tokens":
		return []route{{method: "POST", auth: true, h: s.handleChatInputTokens}}
	case "/v1/files":
		return []route{{method: "POST", auth: true, upload: true, streamed: true, h: s.handleFiles}, {method: "GET", auth: true, h: s.handleFiles}}
	case "/v1/uploads":
		return []route{{method: "POST", auth: true, h: s.handleUploads}}
	case "/v1/batches":
		return []route{{method: "POST", auth: true, h: s.handleBatches}, {method: "GET", auth: true, h: s.handleBatches}}
	case "/v1/conversations":
		return []route{{method: "POST", auth: true, h: s.handleConversations}}
	case "/v1/responses/input_tokens":
		return []route{{method: "POST", auth: true, h: s.handleResponsesInputTokens}}
	case "/v1/completions":
		return []route{{method: "POST", auth: true, h: s.handleCompletion}}
	case "/v1/responses":
		return []route{{method: "POST", auth: true, h: s.handleResponses}}
	case "/v1/embeddings":
		return []route{{method: "POST", auth: true, h: s.handleEmbeddings}}
	case "/embedding", "/embeddings": // llama-server's own
		return []route{{method: "POST", auth: true, h: s.handleLlamaEmbedding}}
	case "/embed": // Hugging Face Text Embeddings Inference's
		return []route{{method: "POST", auth: true, h: s.handleTEIEmbed}}
	case "/v1/rerank", "/rerank", "/v2/rerank", "/reranking", "/v1/reranking": // the last two llama-server's
		return []route{{method: "POST", auth: true, h: s.handleRerank}}
	case "/score", "/v1/score":
		return []route{{method: "POST", auth: true, h: s.handleScore}}
	case "/v1/models", "/models":
		return []route{{method: "GET", auth: true, h: s.handleModels}}
	case "/tokenize":
		return []route{{method: "POST", auth: true, h: s.handleTokenize}}
	case "/detokenize":
		return []route{{method: "POST", auth: true, h: s.handleDetokenize}}
	case "/v1/load_lora_adapter":
		if s.cfg.AllowLoRAUpdates {
			return []route{{method: "POST", auth: true, h: s.handleLoadLoRA}}
		}
	case "/v1/unload_lora_adapter":
		if s.cfg.AllowLoRAUpdates {
			return []route{{method: "POST", auth: true, h: s.handleUnloadLoRA}}
		}
	}
	if strings.HasPrefix(path, "/v1/models/") && len(path) > len("/v1/models/") {
		return []route{{method: "GET", auth: true, h: s.handleModel}}
	}
	if strings.HasPrefix(path, "/v1/chat/completions/") && len(path) > len("/v1/chat/completions/") {
		return []route{{method: "GET", auth: true, h: s.handleStoredChat}, {method: "POST", auth: true, h: s.handleStoredChat},
			{method: "DELETE", auth: true, h: s.handleStoredChat}}
	}
	if strings.HasPrefix(path, "/v1/files/") && len(path) > len("/v1/files/") {
		return []route{{method: "GET", auth: true, h: s.handleFile}, {method: "DELETE", auth: true, h: s.handleFile}}
	}
	if strings.HasPrefix(path, "/v1/batches/") && len(path) > len("/v1/batches/") {
		return []route{{method: "GET", auth: true, h: s.handleBatch}, {method: "POST", auth: true, h: s.handleBatch}}
	}
	if strings.HasPrefix(path, "/v1/conversations/") && len(path) > len("/v1/conversations/") {
		return []route{{method: "GET", auth: true, h: s.handleConversation}, {method: "POST", auth: true, h: s.handleConversation},
			{method: "DELETE", auth: true, h: s.handleConversation}}
	}
	if strings.HasPrefix(path, "/v1/messages/batches/") && len(path) > len("/v1/messages/batches/") {
		return []route{{method: "GET", auth: true, h: s.handleMessageBatch}, {method: "POST", auth: true, h: s.handleMessageBatch},
			{method: "DELETE", auth: true, h: s.handleMessageBatch}}
	}
	if strings.HasPrefix(path, "/v1/uploads/") && len(path) > len("/v1/uploads/") {
		// A part's body may be as large as a file upload's, read as it comes.
		parts := strings.HasSuffix(path, "/parts")
		return []route{{method: "POST", auth: true, upload: parts, streamed: parts, h: s.handleUpload}}
	}
	if strings.HasPrefix(path, "/v1/responses/") && len(path) > len("/v1/responses/") {
		return []route{{method: "GET", auth: true, h: s.handleStoredResponse}, {method: "DELETE", auth: true, h: s.handleStoredResponse},
			{method: "POST", auth: true, h: s.handleStoredResponse}}
	}
	return nil
}

// handle is the fasthttp entry point: request id, CORS, routing, auth,
// panic recovery and the access log.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	ri := &reqInfo{
		id: s.newRequestID(ctx), method: string(ctx.Method()), path: string(ctx.Path()),
		start: time.Now(),
	}
	ctx.Response.Header.Set("X-Request-Id", ri.id)
	defer func() {
		if r := recover(); r != nil {
			// A panic fails this request only; fasthttp would otherwise
			// crash the process.
			s.log.Error("handler panic", zap.String("req_id", ri.id), zap.Any("panic", r),
				zap.ByteString("stack", debug.Stack()))
			ctx.Response.Reset()
			ctx.Response.Header.Set("X-Request-Id", ri.id)
			ri.err = fmt.Errorf("%w: panic: %v", ErrInternal, r)
			ri.status = s.writeError(ctx, ri.err)
			ri.logged = false
		}
		if !ri.logged {
			s.accessLog(ri)
		}
	}()
	if s.cors(ctx) {
		ri.status = ctx.Response.StatusCode()
		return
	}
	routes := s.routes(ri.path)
	var rt *route
	for i := range routes {
		if routes[i].method == ri.method {
			rt = &routes[i]
		}
	}
	var err error
	switch {
	case routes == nil:
		err = &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no route for %s %s", ri.method, ri.path)}
	case rt == nil:
		ctx.Response.Header.Set("Allow", routes[0].method)
		err = &apiError{err: ErrMethod, msg: fmt.Sprintf("method %s is not allowed on %s", ri.method, ri.path)}
	case rt.auth && !s.authorized(ctx):
		err = &apiError{err: ErrUnauthorized, msg: "missing or incorrect API key: send it as 'Authorization: Bearer <key>' (or 'x-api-key: <key>', as Anthropic's clients do)"}
	default:
		if err = s.bodyWithin(ctx, rt); err == nil {
			err = rt.h(ctx, ri)
		}
	}
	if err != nil {
		if cl := ctx.Request.Header.ContentLength(); ctx.Request.IsBodyStream() && (cl > s.cfg.MaxBodyBytes || cl == -1) {
			refuseBody(ctx)
		}
		ri.err = err
		ri.status = s.writeError(ctx, err)
		return
	}
	if ri.status == 0 {
		ri.status = ctx.Response.StatusCode()
	}
}

// bodyWithin holds the request's body to its route's limit. fasthttp hands
// a body over MaxBodyBytes to the handler as a stream (StreamRequestBody)
// instead of refusing it, so that uploads can take more: a route gets its
// body whole, read here within its limit, or a 413 that closes the
// connection, the rest unread. A streamed route's handler reads the
// stream itself.
func (s *Server) bodyWithin(ctx *fasthttp.RequestCtx, rt *route) error {
	limit, flag := s.cfg.MaxBodyBytes, "--max-body-bytes"
	if rt.upload {
		limit, flag = s.cfg.MaxUploadBytes, "--max-upload-bytes"
	}
	if ctx.Request.Header.ContentLength() > limit { // handle closes the connection (refuseBody)
		return bodyTooLarge(limit, flag)
	}
	if rt.streamed || !ctx.Request.IsBodyStream() {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(ctx.RequestBodyStream(), int64(limit)+1))
	if err != nil {
		ctx.SetConnectionClose()
		return &apiError{err: ErrBadJSON, msg: fmt.Sprintf("could not read the request body: %v", err)}
	}
	if len(body) > limit { // a chunked body, of no stated length
		return bodyTooLarge(limit, flag)
	}
	ctx.Request.SetBody(body)
	return nil
}

// A refused body that fasthttp has not read (an upload's, or one past the
// limit) is not drained to its end, which may be gigabytes away: the
// connection closes. What of it arrives within drainWait, up to
// drainBytes, is read first, so that a client still sending a body of
// modest size reads the answer, not a connection reset.
const (
	drainBytes = 1 << 20
	drainWait  = 250 * time.Millisecond
)

// refuseBody closes the connection after the answer, the unread body
// drained as far as drainBytes and drainWait allow.
func refuseBody(ctx *fasthttp.RequestCtx) {
	ctx.SetConnectionClose()
	r := ctx.RequestBodyStream()
	if r == nil {
		return
	}
	if c := ctx.Conn(); c != nil {
		_ = c.SetReadDeadline(time.Now().Add(drainWait))
	}
	_, _ = io.CopyN(io.Discard, r, drainBytes)
}

// bodyTooLarge is the 413 for a body over limit, set by flag.
func bodyTooLarge(limit int, flag string) error {
	return &apiError{err: ErrBodyTooLarge, msg: fmt.Sprintf("request body is over the %d byte limit (the server's %s)", limit, flag)}
}

func (s *Server) accessLog(ri *reqInfo) {
	fields := []zap.Field{
		zap.String("req_id", ri.id), zap.String("method", ri.method), zap.String("path", ri.path),
		zap.Int("status", ri.status), zap.Float64("duration_ms", msSince(ri.start)),
	}
	if ri.promptTokens > 0 || ri.completionTokens > 0 {
		fields = append(fields, zap.Int("prompt_tokens", ri.promptTokens), zap.Int("completion_tokens", ri.completionTokens),
			zap.Float64("ttft_ms", float64(ri.ttft.Microseconds())/1000), zap.Bool("stream", ri.stream))
	}
	switch {
	case ri.status >= 500:
		s.log.Error("request", append(fields, zap.Error(ri.err))...)
	case ri.err != nil:
		s.log.Info("request", append(fields, zap.String("error", ri.err.Error()))...)
	default:
		s.log.Info("request", fields...)
	}
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// authorized checks the key, a bearer token or Anthropic's x-api-key
// header, in constant time against every key (hashing first so lengths
// leak nothing either).
func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool {
	if len(s.cfg.APIKeys) == 0 {
		return true
	}
	key := ctx.Request.Header.Peek("x-api-key")
	if h := ctx.Request.Header.Peek("Authorization"); len(h) > 0 {
		const prefix = "Bearer "
		if len(h) < len(prefix) || !strings.EqualFold(string(h[:len(prefix)]), prefix) {
			return false
		}
		key = h[len(prefix):]
	}
	if len(key) == 0 {
		return false
	}
	got := sha256.Sum256(bytes.TrimSpace(key))
	ok := 0
	for _, k := range s.cfg.APIKeys {
		want := sha256.Sum256([]byte(k))
		ok |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return ok == 1
}

// cors sets the CORS headers for an allowed Origin and answers preflight
// requests. It returns true when the request has been fully answered.
func (s *Server) cors(ctx *fasthttp.RequestCtx) bool {
	if len(s.cfg.CORSOrigins) == 0 {
		return false
	}
	origin := string(ctx.Request.Header.Peek("Origin"))
	allowed := false
	for _, o := range s.cfg.CORSOrigins {
		if o == "*" || (origin != "" && o == origin) {
			allowed = true
		}
	}
	if origin == "" || !allowed {
		return false
	}
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if ctx.IsOptions() && len(ctx.Request.Header.Peek("Access-Control-Request-Method")) > 0 {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id, X-Api-Key, Anthropic-Version, Anthropic-Beta")
		h.Set("Access-Control-Max-Age", "600")
		ctx.SetStatusCode(http.StatusNoContent)
		return true
	}
	h.Set("Access-Control-Expose-Headers", "X-Request-Id")
	return false
}

// writeError writes err as OpenAI's error object and returns the status.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, err error) int {
	status, body := errorResponse(err)
	if status == http.StatusTooManyRequests {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	switch path := string(ctx.Path()); {
	case isOllamaPath(path):
		writeJSONRaw(ctx, status, map[string]string{"error": body.Error.Message})
		return status
	case isAnthropicPath(path) || anthropicClient(ctx):
		writeJSONRaw(ctx, status, anthropicError(status, body.Error.Message))
		return status
	}
	writeJSONRaw(ctx, status, body)
	return status
}

// writeJSONRaw writes v uncompressed (errors are small).
func writeJSONRaw(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		b = []byte(`{"error":{"message":"internal server error","type":"server_error","param":null,"code":"internal_error"}}`)
		status = http.StatusInternalServerError
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// marshal encodes JSON without HTML escaping, so "<|im_end|>" stays
// readable, and without the trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// writeJSON writes a successful body, compressed when the client accepts
// gzip or zstd.
func (s *Server) writeJSON(ctx *fasthttp.RequestCtx, v any) error {
	b, err := marshal(v)
	if err != nil {
		return fmt.Errorf("%w: encode response: %w", ErrInternal, err)
	}
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("application/json")
	s.enc.writeBody(ctx, b)
	return nil
}
