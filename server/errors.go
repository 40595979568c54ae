package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
)

// Server-side sentinel errors; each maps to one status in statusOf.
var (
	ErrBadJSON         = errors.New("malformed JSON")
	ErrInvalidParam    = errors.New("invalid parameter")
	ErrNotSupported    = errors.New("not supported yet")
	ErrUnauthorized    = errors.New("unauthorized")
	ErrModelNotFound   = errors.New("model not found")
	ErrRouteNotFound   = errors.New("route not found")
	ErrMethod          = errors.New("method not allowed")
	ErrBodyTooLarge    = errors.New("request body too large")
	ErrNotReady        = errors.New("server is not ready")
	ErrDraining        = errors.New("server is shutting down")
	ErrInternal        = errors.New("internal error")
	errContextExceeded = errors.New("context length exceeded")
	// errClientClosed ends a request whose client went away first; nobody
	// reads its answer, the status is for the access log (nginx's 499).
	errClientClosed = errors.New("client closed the request")
)

// statusClientClosed is nginx's non-standard "client closed request".
const statusClientClosed = 499

// apiError is an error with the request parameter it concerns.
type apiError struct {
	err   error  // one of the sentinels (or an engine/chat error) for statusOf
	msg   string // message for the client
	param string // offending request field, "" for none
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }

// invalidParam is a 400 naming the field.
func invalidParam(param, format string, args ...any) error {
	return &apiError{err: ErrInvalidParam, param: param, msg: fmt.Sprintf(format, args...)}
}

// errorBody is OpenAI's error object.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// statusOf is the one place that maps an error to an HTTP status, OpenAI
// error type and code. Everything not recognised is a 500.
func statusOf(err error) (status int, typ, code string) {
	var re *chat.RaiseError
	switch {
	case errors.Is(err, ErrBadJSON), errors.Is(err, ErrInvalidParam),
		errors.Is(err, engine.ErrInvalidRequest), errors.Is(err, engine.ErrEmptyPrompt),
		errors.As(err, &re), errors.Is(err, chat.ErrRole):
		return http.StatusBadRequest, "invalid_request_error", ""
	case errors.Is(err, ErrNotSupported):
		return http.StatusBadRequest, "invalid_request_error", "unsupported_parameter"
	case errors.Is(err, engine.ErrPromptTooLong), errors.Is(err, errContextExceeded):
		return http.StatusBadRequest, "invalid_request_error", "context_length_exceeded"
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, "invalid_request_error", "invalid_api_key"
	case errors.Is(err, ErrModelNotFound), errors.Is(err, engine.ErrUnknownAdapter):
		return http.StatusNotFound, "invalid_request_error", "model_not_found"
	case errors.Is(err, errFileNotFound):
		return http.StatusNotFound, "invalid_request_error", "not_found"
	case errors.Is(err, ErrRouteNotFound):
		return http.StatusNotFound, "invalid_request_error", "not_found"
	case errors.Is(err, ErrMethod):
		return http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed"
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large"
	case errors.Is(err, engine.ErrQueueFull):
		return http.StatusTooManyRequests, "rate_limit_error", "queue_full"
	case errors.Is(err, errClientClosed):
		return statusClientClosed, "invalid_request_error", "client_closed_request"
	case errors.Is(err, ErrNotReady), errors.Is(err, ErrDraining), errors.Is(err, engine.ErrClosed):
		return http.StatusServiceUnavailable, "server_error", "service_unavailable"
	}
	return http.StatusInternalServerError, "server_error", "internal_error"
}

// errorResponse builds the status and body for err.
func errorResponse(err error) (int, errorBody) {
	status, typ, code := statusOf(err)
	body := errorBody{Error: errorDetail{Message: err.Error(), Type: typ}}
	if code != "" {
		body.Error.Code = &code
	}
	var ae *apiError
	if errors.As(err, &ae) && ae.param != "" {
		p := ae.param
		body.Error.Param = &p
	}
	if status == http.StatusInternalServerError {
		// internal details stay in the log
		body.Error.Message = "internal server error"
	}
	return status, body
}
