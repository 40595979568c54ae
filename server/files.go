package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
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

// keptFile is a file and, without a folder, its bytes.
type keptFile struct {
	obj  fileObject
	data []byte // nil when the bytes are in the store's folder
}

// fileStore keeps the Files API's files within a byte budget: an upload
// (or a batch's output) that does not fit is refused, never made room
// for by dropping another file. Without a folder the bytes are kept in
// memory and do not outlive the process; with one (Config.FilesDir) each
// file is two files there, its bytes (ID.data) and its object (ID.json),
// and the folder's files are kept again at start.
type fileStore struct {
	mu       sync.Mutex
	maxBytes int
	bytes    int         // taken, uploads still being written included
	files    []*keptFile // oldest first
	dir      string      // "": in memory
	log      *zap.Logger
}

func newFileStore(maxBytes int) *fileStore { return &fileStore{maxBytes: maxBytes, log: zap.NewNop()} }

// add keeps data as a new file; expiresAt (0: never) is when it is
// deleted.
func (fs *fileStore) add(name, purpose string, data []byte, expiresAt int64) (fileObject, error) {
	if err := fs.reserve(len(data), "file"); err != nil {
		return fileObject{}, err
	}
	return fs.addReserved(name, purpose, data, expiresAt)
}

// reserve takes n bytes of the budget, or refuses them (a 413 naming
// param): a file's while it is written, an Upload's while its parts come.
func (fs *fileStore) reserve(n int, param string) error {
	fs.expire()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.bytes+n > fs.maxBytes {
		return &apiError{err: ErrBodyTooLarge, param: param, msg: fmt.Sprintf("the file's %d bytes do not fit: %d of the %d bytes kept for files are taken (delete files, or start the server with a larger --files-store-mib)", n, fs.bytes, fs.maxBytes)}
	}
	fs.bytes += n
	return nil
}

// release gives back n reserved bytes.
func (fs *fileStore) release(n int) {
	fs.mu.Lock()
	fs.bytes -= n
	fs.mu.Unlock()
}

// addReserved is add for data whose bytes are reserved already; they stay
// taken by the file, or are given back if it cannot be kept.
func (fs *fileStore) addReserved(name, purpose string, data []byte, expiresAt int64) (fileObject, error) {
	f := &keptFile{obj: fileObject{ID: "file-" + randomID(idAlphabet, 24), Object: "file", Bytes: len(data), CreatedAt: time.Now().Unix(),
		Filename: name, Purpose: purpose, Status: "processed"}}
	if expiresAt > 0 {
		f.obj.ExpiresAt = &expiresAt
	}
	if fs.dir == "" {
		f.data = data
	} else if err := fs.write(f.obj, data); err != nil {
		fs.mu.Lock()
		fs.bytes -= len(data)
		fs.mu.Unlock()
		return fileObject{}, fmt.Errorf("keep file %q: %w", name, err)
	}
	fs.mu.Lock()
	fs.files = append(fs.files, f)
	fs.mu.Unlock()
	return f.obj, nil
}

// filesVersion is the version of the object files in the folder.
const filesVersion = 1

// storedFileObject is a file's object as its folder keeps it.
type storedFileObject struct {
	Version int        `json:"version"`
	File    fileObject `json:"file"`
}

func (fs *fileStore) dataPath(id string) string { return filepath.Join(fs.dir, id+".data") }
func (fs *fileStore) objPath(id string) string  { return filepath.Join(fs.dir, id+".json") }

// write puts a file in the folder: its bytes, then its object, each
// whole or not at all; a file is kept once its object is there.
func (fs *fileStore) write(obj fileObject, data []byte) error {
	if err := writeFileAtomic(fs.dataPath(obj.ID), data); err != nil {
		return err
	}
	b, err := json.Marshal(storedFileObject{Version: filesVersion, File: obj})
	if err == nil {
		err = writeFileAtomic(fs.objPath(obj.ID), b)
	}
	if err != nil {
		os.Remove(fs.dataPath(obj.ID))
	}
	return err
}

// expire deletes the files whose expires_at has come.
func (fs *fileStore) expire() {
	now := time.Now().Unix()
	fs.mu.Lock()
	var gone []string
	for _, f := range fs.files {
		if f.obj.ExpiresAt != nil && *f.obj.ExpiresAt <= now {
			gone = append(gone, f.obj.ID)
		}
	}
	fs.mu.Unlock()
	for _, id := range gone {
		if fs.delete(id) {
			fs.log.Info("file expired", zap.String("id", id))
		}
	}
}

func (fs *fileStore) get(id string) (*keptFile, error) {
	fs.expire()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.files {
		if f.obj.ID == id {
			return f, nil
		}
	}
	return nil, &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no file %q", id)}
}

// content is f's bytes, read from the folder when they are there.
func (fs *fileStore) content(f *keptFile) ([]byte, error) {
	if fs.dir == "" {
		return f.data, nil
	}
	b, err := os.ReadFile(fs.dataPath(f.obj.ID))
	if err == nil && len(b) != f.obj.Bytes {
		err = fmt.Errorf("%d bytes in the folder, %d uploaded", len(b), f.obj.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("read file %s: %w", f.obj.ID, err)
	}
	return b, nil
}

func (fs *fileStore) delete(id string) bool {
	fs.mu.Lock()
	i := slices.IndexFunc(fs.files, func(f *keptFile) bool { return f.obj.ID == id })
	if i < 0 {
		fs.mu.Unlock()
		return false
	}
	fs.bytes -= fs.files[i].obj.Bytes
	fs.files = slices.Delete(fs.files, i, i+1)
	fs.mu.Unlock()
	if fs.dir != "" {
		// The object first: bytes left without one are removed at the
		// next start, while an object left without its bytes would be
		// logged at every start.
		for _, p := range []string{fs.objPath(id), fs.dataPath(id)} {
			if err := os.Remove(p); err != nil && !errors.Is(err, iofs.ErrNotExist) {
				fs.log.Warn("remove a deleted file", zap.String("path", p), zap.Error(err))
			}
		}
	}
	return true
}

// openFileStore is a file store over folder dir, created if need be:
// the files there are kept again, oldest first. An object file that
// cannot be read, or whose bytes are missing or of another length, is
// logged and left; bytes without an object (an upload or a deletion cut
// short) and temporary files of a write cut short are removed. Files over the budget are all kept (none is
// dropped), and uploads are refused until enough are deleted.
func openFileStore(maxBytes int, dir string, log *zap.Logger) (*fileStore, error) {
	entries, err := openFolder(dir)
	if err != nil {
		return nil, fmt.Errorf("files folder: %w", err)
	}
	fs := &fileStore{maxBytes: maxBytes, dir: dir, log: log}
	objects := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		id := strings.TrimSuffix(name, ".json")
		objects[id] = true
		var sf storedFileObject
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			err = json.Unmarshal(b, &sf)
		}
		if err == nil && (sf.Version != filesVersion || sf.File.ID != id) {
			err = fmt.Errorf("not a file object of version %d named after its id", filesVersion)
		}
		if err == nil {
			var info iofs.FileInfo
			if info, err = os.Stat(fs.dataPath(id)); err == nil && info.Size() != int64(sf.File.Bytes) {
				err = fmt.Errorf("its bytes are %d long, not %d", info.Size(), sf.File.Bytes)
			}
		}
		if err != nil {
			log.Warn("stored file left out", zap.String("file", filepath.Join(dir, name)), zap.Error(err))
			continue
		}
		fs.files = append(fs.files, &keptFile{obj: sf.File})
		fs.bytes += sf.File.Bytes
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") && !e.IsDir() { // a write cut short (writeFileAtomic)
			err := os.Remove(filepath.Join(dir, name))
			log.Info("removed a file's write cut short", zap.String("file", filepath.Join(dir, name)), zap.Error(err))
			continue
		}
		if id, ok := strings.CutSuffix(name, ".data"); ok && !e.IsDir() && !objects[id] {
			err := os.Remove(filepath.Join(dir, name))
			log.Info("removed a file's bytes without its object", zap.String("file", filepath.Join(dir, name)), zap.Error(err))
		}
	}
	sort.SliceStable(fs.files, func(i, j int) bool { return fs.files[i].obj.CreatedAt < fs.files[j].obj.CreatedAt })
	if fs.bytes > maxBytes {
		log.Warn("the stored files are over --files-store-mib: none is dropped, uploads are refused until enough are deleted",
			zap.Int("bytes", fs.bytes), zap.Int("max_bytes", maxBytes))
	}
	log.Info("stored files", zap.String("dir", dir), zap.Int("files", len(fs.files)), zap.Int("bytes", fs.bytes))
	return fs, nil
}

// list is the files of purpose (every file for ""), oldest first.
func (fs *fileStore) list(purpose string) []fileObject {
	fs.expire()
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

// Bounds of an upload's expires_after[seconds], OpenAI's: an hour to 30
// days.
const (
	minFileLifetime = 3600
	maxFileLifetime = 30 * 24 * 3600
)

// expiresAfter reads OpenAI's expires_after[anchor] and
// expires_after[seconds] form fields: when the upload is to be deleted
// (0: never).
func expiresAfter(form map[string][]string) (int64, error) {
	value := func(k string) (string, bool) {
		v, ok := form[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	anchor, hasAnchor := value("expires_after[anchor]")
	secs, hasSecs := value("expires_after[seconds]")
	if !hasAnchor && !hasSecs {
		return 0, nil
	}
	if anchor != "created_at" {
		return 0, invalidParam("expires_after.anchor", "expires_after[anchor] must be \"created_at\", got %q", anchor)
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n < minFileLifetime || n > maxFileLifetime {
		return 0, invalidParam("expires_after.seconds", "expires_after[seconds] must be %d (an hour) to %d (30 days), got %q", minFileLifetime, maxFileLifetime, secs)
	}
	return time.Now().Unix() + n, nil
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
	up, err := readUpload(ctx, s.cfg.MaxUploadBytes, "file", "upload a file as multipart/form-data with fields file and purpose")
	if err != nil {
		return err
	}
	purpose := ""
	if v := up.values["purpose"]; len(v) > 0 {
		purpose = v[0]
	}
	if !slices.Contains(filePurposes, purpose) {
		return invalidParam("purpose", "purpose must be one of %s, got %q", strings.Join(filePurposes, ", "), purpose)
	}
	if up.files != 1 {
		return invalidParam("file", "give one file in the form field file")
	}
	expiresAt, err := expiresAfter(up.values)
	if err != nil {
		return err
	}
	obj, err := fs.add(up.filename, purpose, up.data, expiresAt)
	if err != nil {
		return err
	}
	return s.writeJSON(ctx, obj)
}

// upload is a multipart upload's fields and its file.
type upload struct {
	values   map[string][]string
	filename string
	data     []byte
	files    int // parts named as the file
}

// maxUploadField bounds a form field that is not the file.
const maxUploadField = 64 << 10

// readUpload reads a multipart/form-data body as it comes, never whole:
// its fields, and the bytes of the part named fileField, within limit
// bytes of body (a 413 past them, on which handle closes the connection:
// the body is chunked, so refuseBody takes it). A body that is
// no such form is a 400 that starts with usage.
func readUpload(ctx *fasthttp.RequestCtx, limit int, fileField, usage string) (*upload, error) {
	_, params, err := mime.ParseMediaType(string(ctx.Request.Header.ContentType()))
	if err == nil && params["boundary"] == "" {
		err = errors.New("no multipart boundary")
	}
	if err != nil {
		return nil, &apiError{err: ErrBadJSON, msg: fmt.Sprintf("%s: %v", usage, err)}
	}
	body := ctx.RequestBodyStream()
	if body == nil {
		body = bytes.NewReader(ctx.PostBody())
	}
	cr := &countingReader{r: io.LimitReader(body, int64(limit)+1)}
	fail := func(err error) error {
		if cr.n > int64(limit) {
			return bodyTooLarge(limit, "--max-upload-bytes")
		}
		return &apiError{err: ErrBadJSON, msg: fmt.Sprintf("%s: %v", usage, err)}
	}
	up := &upload{values: map[string][]string{}}
	mr := multipart.NewReader(cr, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fail(err)
		}
		name := part.FormName()
		if name == fileField {
			up.files++
			var buf bytes.Buffer
			if n := ctx.Request.Header.ContentLength(); n > 0 && up.files == 1 {
				// The file is nearly all of the body; the length is the
				// client's word, so no more than 16 MiB is taken on it.
				buf.Grow(min(n, 16<<20))
			}
			if _, err := buf.ReadFrom(part); err != nil {
				return nil, fail(err)
			}
			up.filename, up.data = part.FileName(), buf.Bytes()
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, maxUploadField+1))
		if err != nil {
			return nil, fail(err)
		}
		if len(v) > maxUploadField {
			return nil, invalidParam(name, "form field %s is over %d bytes", name, maxUploadField)
		}
		up.values[name] = append(up.values[name], string(v))
	}
	if cr.n > int64(limit) {
		return nil, bodyTooLarge(limit, "--max-upload-bytes")
	}
	return up, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
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
		data, err := fs.content(f)
		if err != nil {
			return err
		}
		ctx.SetStatusCode(http.StatusOK)
		ctx.SetContentType("application/octet-stream")
		ctx.Response.Header.Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(f.obj.Filename, `"`, "")+`"`)
		ctx.SetBody(data)
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
