package server

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// DefaultFilesBytes is the memory the Files API's files may take when
// Config.FilesBytes is 0.
const DefaultFilesBytes = 512 << 20

// filePurposes are the purposes a client may upload a file for; the
// server's own batch output files are "batch_output".
var filePurposes = []string{"batch", "user_data", "assistants", "fine-tune", "vision", "evals"}

// fileObject is a file as OpenAI's Files API shows it.
type fileObject struct {
	ID            string  `json:"id"`
	Object        string  `json:"object"`
	Bytes         int     `json:"bytes"`
	CreatedAt     int64   `json:"created_at"`
	ExpiresAt     *int64  `json:"expires_at"`
	Filename      string  `json:"filename"`
	Purpose       string  `json:"purpose"`
	Status        string  `json:"status"`
	StatusDetails *string `json:"status_details"`
}

// keptFile is a file and its bytes.
type keptFile struct {
	obj  fileObject
	data []byte
}

// fileStore keeps the Files API's files in memory within a byte budget:
// an upload (or a batch's output) that does not fit is refused, never
// made room for by dropping another file. Files do not outlive the
// process.
type fileStore struct {
	mu       sync.Mutex
	maxBytes int
	bytes    int
	files    []*keptFile // oldest first
}

func newFileStore(maxBytes int) *fileStore { return &fileStore{maxBytes: maxBytes} }

// add keeps data as a new file.
func (fs *fileStore) add(name, purpose string, data []byte) (fileObject, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.bytes+len(data) > fs.maxBytes {
		return fileObject{}, &apiError{err: ErrBodyTooLarge, param: "file", msg: fmt.Sprintf("the file's %d bytes do not fit: %d of the %d bytes kept for files are taken (delete files, or start the server with a larger --files-store-mib)", len(data), fs.bytes, fs.maxBytes)}
	}
	f := &keptFile{obj: fileObject{ID: "file-" + randomID(idAlphabet, 24), Object: "file", Bytes: len(data), CreatedAt: time.Now().Unix(),
		Filename: name, Purpose: purpose, Status: "processed"}, data: data}
	fs.files = append(fs.files, f)
	fs.bytes += len(data)
	return f.obj, nil
}

func (fs *fileStore) get(id string) (*keptFile, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.files {
		if f.obj.ID == id {
			return f, nil
		}
	}
	return nil, &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no file %q", id)}
}

func (fs *fileStore) delete(id string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	i := slices.IndexFunc(fs.files, func(f *keptFile) bool { return f.obj.ID == id })
	if i < 0 {
		return false
	}
	fs.bytes -= len(fs.files[i].data)
	fs.files = slices.Delete(fs.files, i, i+1)
	return true
}

// list is the files of purpose (every file for ""), oldest first.
func (fs *fileStore) list(purpose string) []fileObject {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out []fileObject
	for _, f := range fs.files {
		if purpose == "" || f.obj.Purpose == purpose {
			out = append(out, f.obj)
		}
	}
	return out
}

// idAlphabet is what the ids of files and batches are made of.
const idAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// filesOn returns the store, or why there is none.
func (s *Server) filesOn() (*fileStore, error) {
	if s.files == nil {
		return nil, &apiError{err: ErrNotSupported, msg: "this server keeps no files (nuri serve --files-store-mib 0)"}
	}
	return s.files, nil
}

// handleFiles answers /v1/files: POST uploads a file (multipart form:
// file, purpose), GET lists them (purpose, order, limit, after).
func (s *Server) handleFiles(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	fs, err := s.filesOn()
	if err != nil {
		return err
	}
	if ri.method == "GET" {
		q := ctx.QueryArgs()
		// OpenAI's Files API lists every file, newest first, unless asked.
		page, err := listPage(fs.list(string(q.Peek("purpose"))), func(f fileObject) string { return f.ID }, q,
			pageLimits{order: "desc", limit: 10000, max: 10000})
		if err != nil {
			return err
		}
		return s.writeJSON(ctx, page)
	}
	form, err := ctx.MultipartForm()
	if err != nil {
		return &apiError{err: ErrBadJSON, msg: fmt.Sprintf("upload a file as multipart/form-data with fields file and purpose: %v", err)}
	}
	purpose := ""
	if v := form.Value["purpose"]; len(v) > 0 {
		purpose = v[0]
	}
	if !slices.Contains(filePurposes, purpose) {
		return invalidParam("purpose", "purpose must be one of %s, got %q", strings.Join(filePurposes, ", "), purpose)
	}
	fhs := form.File["file"]
	if len(fhs) != 1 {
		return invalidParam("file", "give one file in the form field file")
	}
	f, err := fhs[0].Open()
	if err != nil {
		return fmt.Errorf("upload %s: %w", fhs[0].Filename, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("upload %s: %w", fhs[0].Filename, err)
	}
	obj, err := fs.add(fhs[0].Filename, purpose, data)
	if err != nil {
		return err
	}
	return s.writeJSON(ctx, obj)
}

// handleFile answers /v1/files/{id} (GET, DELETE) and GET
// /v1/files/{id}/content.
func (s *Server) handleFile(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	fs, err := s.filesOn()
	if err != nil {
		return err
	}
	id, sub, _ := strings.Cut(strings.TrimPrefix(ri.path, "/v1/files/"), "/")
	switch {
	case sub == "content" && ri.method == "GET":
		f, err := fs.get(id)
		if err != nil {
			return err
		}
		ctx.SetStatusCode(http.StatusOK)
		ctx.SetContentType("application/octet-stream")
		ctx.Response.Header.Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(f.obj.Filename, `"`, "")+`"`)
		ctx.SetBody(f.data)
		return nil
	case sub != "":
		return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no route for %s %s: a file has GET and DELETE /v1/files/{id} and GET /v1/files/{id}/content", ri.method, ri.path)}
	case ri.method == "DELETE":
		if !fs.delete(id) {
			return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no file %q", id)}
		}
		return s.writeJSON(ctx, map[string]any{"id": id, "object": "file", "deleted": true})
	}
	f, err := fs.get(id)
	if err != nil {
		return err
	}
	return s.writeJSON(ctx, f.obj)
}
