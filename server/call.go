package server

import (
	"slices"

	"github.com/valyala/fasthttp"
)

// Call runs one request through the server's routes in process, as if it
// had come over HTTP without compression (and, where the server wants API
// keys, with its first: the server's own requests are let in), and
// returns the status, the request id (X-Request-Id) and the body. A
// streamed reply's body is read to its end. nuri batch and the Batch API
// serve their input lines this way: every route behaves as it does for a
// client.
func (s *Server) Call(method, uri string, body []byte) (status int, reqID string, resp []byte) {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.SetContentType("application/json")
	if len(s.cfg.APIKeys) > 0 {
		req.Header.Set("Authorization", "Bearer "+s.cfg.APIKeys[0])
	}
	req.SetBody(body)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, zapPrintf{s.log})
	s.handle(&ctx)
	return ctx.Response.StatusCode(), string(ctx.Response.Header.Peek("X-Request-Id")), slices.Clone(ctx.Response.Body())
}
