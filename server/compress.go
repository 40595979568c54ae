package server

import (
	"bytes"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/valyala/fasthttp"
)

// minCompressBytes: smaller bodies are sent as they are (the headers
// would cost more than the saving).
const minCompressBytes = 512

// encoders compresses non-streaming response bodies. The zstd encoder's
// EncodeAll is safe for concurrent use; gzip writers are pooled.
type encoders struct {
	zstd *zstd.Encoder
	gzip sync.Pool
}

func newEncoders() (*encoders, error) {
	z, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	e := &encoders{zstd: z}
	e.gzip.New = func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // the level is valid
		return w
	}
	return e, nil
}

func (e *encoders) close() { _ = e.zstd.Close() }

// writeBody sets ctx's body to b, compressed if the client accepts it.
func (e *encoders) writeBody(ctx *fasthttp.RequestCtx, b []byte) {
	if len(b) < minCompressBytes {
		ctx.SetBody(b)
		return
	}
	ctx.Response.Header.Add("Vary", "Accept-Encoding")
	switch pickEncoding(string(ctx.Request.Header.Peek("Accept-Encoding"))) {
	case "zstd":
		ctx.Response.Header.Set("Content-Encoding", "zstd")
		ctx.SetBody(e.zstd.EncodeAll(b, make([]byte, 0, len(b)/2)))
	case "gzip":
		var buf bytes.Buffer
		w := e.gzip.Get().(*gzip.Writer)
		w.Reset(&buf)
		_, werr := w.Write(b)
		cerr := w.Close()
		e.gzip.Put(w)
		if werr != nil || cerr != nil { // cannot happen with a bytes.Buffer; send plain then
			ctx.SetBody(b)
			return
		}
		ctx.Response.Header.Set("Content-Encoding", "gzip")
		ctx.SetBody(buf.Bytes())
	default:
		ctx.SetBody(b)
	}
}

// pickEncoding chooses zstd or gzip from an Accept-Encoding header by
// q-value (zstd wins ties); "" means identity.
func pickEncoding(header string) string {
	best, bestQ := "", 0.0
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q := 1.0
		if p := strings.TrimSpace(params); strings.HasPrefix(p, "q=") {
			v, err := strconv.ParseFloat(p[2:], 64)
			if err != nil {
				continue
			}
			q = v
		}
		if q <= 0 {
			continue
		}
		cands := []string{name}
		if name == "*" {
			cands = []string{"zstd", "gzip"}
		}
		for _, c := range cands {
			if (c == "zstd" || c == "gzip") && (q > bestQ || (q == bestQ && c == "zstd")) {
				best, bestQ = c, q
			}
		}
	}
	return best
}
