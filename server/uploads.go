package server

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// OpenAI's Uploads API: a file sent in parts, each a request of its own
// (POST /v1/uploads, then /v1/uploads/{id}/parts, then .../complete or
// .../cancel), as the OpenAI SDKs' chunked upload helpers send files too
// large for one request. The file's bytes are reserved in the Files API's
// store when the Upload is created, so parts never take memory the store
// does not have; the parts wait in memory until the Upload completes into
// a file, is cancelled, or expires an hour after it was created.

// uploadLifetime is how long an Upload takes parts (OpenAI's hour).
const uploadLifetime = time.Hour

// uploadObject is an Upload as OpenAI's API shows it.
type uploadObject struct {
	ID        string      `json:"id"`
	Object    string      `json:"object"`
	Bytes     int         `json:"bytes"`
	CreatedAt int64       `json:"created_at"`
	ExpiresAt int64       `json:"expires_at"`
	Filename  string      `json:"filename"`
	Purpose   string      `json:"purpose"`
	Status    string      `json:"status"` // pending, completed, cancelled or expired
	File      *fileObject `json:"file"`
}

// uploadPartObject is a part as OpenAI's API shows it.
type uploadPartObject struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	CreatedAt int64  `json:"created_at"`
	UploadID  string `json:"upload_id"`
}

// pendingUpload is an Upload and, while it is pending, its parts.
type pendingUpload struct {
	obj   uploadObject
	parts map[string][]byte
	got   int // the parts' bytes
	// completing is set while a complete joins and checks the parts
	// outside the store's lock: the Upload takes nothing else meanwhile,
	// and does not expire.
	completing bool
}

// uploadStore holds the Uploads, pending and ended, until they expire.
type uploadStore struct {
	mu  sync.Mutex
	ups map[string]*pendingUpload
}

// expire ends the pending Uploads past their time, giving back their
// reservations in fs, and forgets every Upload an hour after that.
func (us *uploadStore) expire(fs *fileStore, now int64) {
	for id, u := range us.ups {
		if u.obj.Status == "pending" && !u.completing && now >= u.obj.ExpiresAt {
			u.obj.Status, u.parts = "expired", nil
			fs.release(u.obj.Bytes)
		}
		if now >= u.obj.ExpiresAt+int64(uploadLifetime/time.Second) {
			delete(us.ups, id)
		}
	}
}

// pending returns Upload id while it takes parts, else the error that
// says why it does not. us.mu must be held.
func (us *uploadStore) pending(fs *fileStore, id string, now int64) (*pendingUpload, error) {
	us.expire(fs, now)
	u := us.ups[id]
	if u == nil {
		return nil, &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no upload %q (Uploads are kept an hour after they expire)", id)}
	}
	if u.obj.Status != "pending" {
		return nil, &apiError{err: ErrBadJSON, msg: fmt.Sprintf("upload %s is %s: it takes no more parts and cannot be completed or cancelled", id, u.obj.Status)}
	}
	if u.completing {
		return nil, &apiError{err: ErrBadJSON, msg: fmt.Sprintf("upload %s is being completed", id)}
	}
	return u, nil
}

// uploadPending is nil where Upload id takes parts, else why it does not.
func (s *Server) uploadPending(fs *fileStore, id string) error {
	s.uploads.mu.Lock()
	defer s.uploads.mu.Unlock()
	_, err := s.uploads.pending(fs, id, time.Now().Unix())
	return err
}

// uploadCreateRequest is POST /v1/uploads' body.
type uploadCreateRequest struct {
	Bytes    int    `json:"bytes"`
	Filename string `json:"filename"`
	MimeType string `json:"mime_type"`
	Purpose  string `json:"purpose"`
}

// handleUploads answers POST /v1/uploads: an Upload of bytes bytes,
// reserved in the file store.
func (s *Server) handleUploads(ctx *fasthttp.RequestCtx, _ *reqInfo) error {
	fs, err := s.filesOn()
	if err != nil {
		return err
	}
	var req uploadCreateRequest
	if err := decodeBody(ctx, &req); err != nil {
		return err
	}
	switch {
	case req.Filename == "":
		return invalidParam("filename", "filename is required")
	case req.MimeType == "":
		return invalidParam("mime_type", "mime_type is required")
	case !slices.Contains(filePurposes, req.Purpose):
		return invalidParam("purpose", "purpose must be one of %s, got %q", strings.Join(filePurposes, ", "), req.Purpose)
	case req.Bytes <= 0:
		return invalidParam("bytes", "bytes must be positive, got %d", req.Bytes)
	}
	if err := fs.reserve(req.Bytes, "bytes"); err != nil {
		return err
	}
	now := time.Now().Unix()
	u := &pendingUpload{obj: uploadObject{ID: "upload_" + randomID(idAlphabet, 24), Object: "upload", Bytes: req.Bytes, CreatedAt: now,
		ExpiresAt: now + int64(uploadLifetime/time.Second), Filename: req.Filename, Purpose: req.Purpose, Status: "pending"},
		parts: map[string][]byte{}}
	s.uploads.mu.Lock()
	s.uploads.expire(fs, now)
	if s.uploads.ups == nil {
		s.uploads.ups = map[string]*pendingUpload{}
	}
	s.uploads.ups[u.obj.ID] = u
	obj := u.obj
	s.uploads.mu.Unlock()
	return s.writeJSON(ctx, obj)
}

// handleUpload answers POST /v1/uploads/{id}/parts (a multipart form with
// the part's bytes as data), .../complete (part_ids in the file's order,
// and optionally its md5) and .../cancel.
func (s *Server) handleUpload(ctx *fasthttp.RequestCtx, ri *reqInfo) error {
	fs, err := s.filesOn()
	if err != nil {
		return err
	}
	id, action, _ := strings.Cut(strings.TrimPrefix(ri.path, "/v1/uploads/"), "/")
	var data []byte
	switch action {
	case "parts": // read outside the lock: a part may take long to arrive
		if err := s.uploadPending(fs, id); err != nil {
			return err // before a body that would be thrown away is read
		}
		up, err := readUpload(ctx, s.cfg.MaxUploadBytes, "data", "add a part as multipart/form-data with the field data")
		if err != nil {
			return err
		}
		if up.files != 1 {
			return invalidParam("data", "give the part's bytes in one form field data")
		}
		data = up.data
	case "complete", "cancel":
	default:
		return &apiError{err: ErrRouteNotFound, msg: fmt.Sprintf("no route for %s %s: an Upload has POST /v1/uploads/{id}/parts, /complete and /cancel", ri.method, ri.path)}
	}
	var complete struct {
		PartIDs []string `json:"part_ids"`
		MD5     string   `json:"md5"`
	}
	if action == "complete" {
		if err := decodeBody(ctx, &complete); err != nil {
			return err
		}
		if len(complete.PartIDs) == 0 {
			return invalidParam("part_ids", "part_ids must list the Upload's parts in order")
		}
	}
	now := time.Now().Unix()
	s.uploads.mu.Lock()
	u, err := s.uploads.pending(fs, id, now)
	if err != nil {
		s.uploads.mu.Unlock()
		return err
	}
	switch action {
	case "parts":
		if u.got+len(data) > u.obj.Bytes {
			got := u.got
			s.uploads.mu.Unlock()
			return invalidParam("data", "the part's %d bytes would take the Upload past its %d bytes (%d given already)", len(data), u.obj.Bytes, got)
		}
		part := uploadPartObject{ID: "part_" + randomID(idAlphabet, 24), Object: "upload.part", CreatedAt: now, UploadID: id}
		u.parts[part.ID] = data
		u.got += len(data)
		s.uploads.mu.Unlock()
		return s.writeJSON(ctx, part)
	case "cancel":
		u.obj.Status, u.parts = "cancelled", nil
		obj := u.obj
		s.uploads.mu.Unlock()
		fs.release(obj.Bytes)
		return s.writeJSON(ctx, obj)
	}
	parts, err := u.ordered(complete.PartIDs)
	if err != nil {
		s.uploads.mu.Unlock()
		return err
	}
	// Joining and summing up to --max-upload-bytes takes a while: done
	// outside the lock, which every Upload's requests take.
	u.completing = true
	n := u.obj.Bytes
	s.uploads.mu.Unlock()
	file, err := joinParts(parts, n, complete.MD5)
	s.uploads.mu.Lock()
	u.completing = false
	if err != nil { // still pending: a complete with the right sum may follow
		s.uploads.mu.Unlock()
		return err
	}
	// The Upload ends here, its reservation passed to the file.
	u.obj.Status, u.parts = "completed", nil
	obj := u.obj
	s.uploads.mu.Unlock()
	f, err := fs.addReserved(obj.Filename, obj.Purpose, file, 0)
	if err != nil {
		s.uploads.mu.Lock()
		u.obj.Status = "cancelled"
		s.uploads.mu.Unlock()
		return fmt.Errorf("upload %s: %w", id, err)
	}
	s.uploads.mu.Lock()
	u.obj.File = &f
	obj = u.obj
	s.uploads.mu.Unlock()
	return s.writeJSON(ctx, obj)
}

// ordered returns the parts ids, in order: each a part of u, none twice,
// together the Upload's bytes.
func (u *pendingUpload) ordered(ids []string) ([][]byte, error) {
	parts := make([][]byte, len(ids))
	n := 0
	for i, id := range ids {
		p, ok := u.parts[id]
		if !ok {
			return nil, invalidParam("part_ids", "part_ids[%d] %q is not a part of upload %s", i, id, u.obj.ID)
		}
		if slices.Contains(ids[:i], id) {
			return nil, invalidParam("part_ids", "part_ids[%d] %q is listed twice", i, id)
		}
		parts[i] = p
		n += len(p)
	}
	if n != u.obj.Bytes {
		return nil, invalidParam("part_ids", "the parts listed hold %d bytes; the Upload was created for %d", n, u.obj.Bytes)
	}
	return parts, nil
}

// joinParts is the file of parts (n bytes in all), checked against sum
// (an md5 in hex) where one is given.
func joinParts(parts [][]byte, n int, sum string) ([]byte, error) {
	file := make([]byte, 0, n)
	for _, p := range parts {
		file = append(file, p...)
	}
	if sum != "" {
		got := md5.Sum(file)
		if !strings.EqualFold(hex.EncodeToString(got[:]), sum) {
			return nil, invalidParam("md5", "the parts' md5 is %x, not %s", got, sum)
		}
	}
	return file, nil
}
