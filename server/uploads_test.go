package server

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
)

// sdkStatus is the HTTP status of an error from OpenAI's SDK (0: none).
func sdkStatus(err error) int {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// TestUploadsAPI: OpenAI's Uploads API through OpenAI's Go SDK. A file
// sent in parts (out of order, each past --max-body-bytes) completes, in
// the order part_ids gives, into a file with those bytes, which a batch
// can then run; the Upload reserves its bytes in the file store, and a
// cancelled one gives them back.
func TestUploadsAPI(t *testing.T) {
	ts := newTestServer(t, Config{MaxBodyBytes: 4096, FilesBytes: 64 << 10}, "네")
	client := openai.NewClient(option.WithBaseURL(ts.url+"/v1"), option.WithAPIKey("x"), option.WithMaxRetries(0))
	ctx := context.Background()
	content := []byte(strings.Repeat(batchFile(3), 1+(20<<10)/len(batchFile(3))))
	third := len(content) / 3
	chunks := [][]byte{content[:third], content[third : 2*third], content[2*third:]}
	up, err := client.Uploads.New(ctx, openai.UploadNewParams{Bytes: int64(len(content)), Filename: "big.jsonl", MimeType: "text/jsonl", Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(up.ID, "upload_") || up.Status != "pending" || up.Bytes != int64(len(content)) || up.ExpiresAt-up.CreatedAt != 3600 || up.File.ID != "" {
		t.Fatalf("created %s", up.RawJSON())
	}
	ids := make([]string, len(chunks))
	for _, i := range []int{2, 0, 1} {
		p, err := client.Uploads.Parts.New(ctx, up.ID, openai.UploadPartNewParams{Data: bytes.NewReader(chunks[i])})
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if p.UploadID != up.ID || !strings.HasPrefix(p.ID, "part_") {
			t.Fatalf("part %s", p.RawJSON())
		}
		ids[i] = p.ID
	}
	// The whole Upload is reserved: a file of the rest of the store fits,
	// one byte more does not.
	if _, err := client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(strings.Repeat("x", 64<<10-len(content)+1)), "more.jsonl", "application/jsonl"), Purpose: openai.FilePurposeUserData}); sdkStatus(err) != 413 {
		t.Errorf("a file past the reservation: %v", err)
	}
	for _, bad := range []openai.UploadCompleteParams{
		{PartIDs: ids[:2]},                          // too few bytes
		{PartIDs: []string{ids[0], ids[0], ids[2]}}, // a part twice
		{PartIDs: []string{ids[0], ids[1], "part_nope"}},
		{PartIDs: ids, Md5: openai.String(strings.Repeat("0", 32))},
	} {
		if _, err := client.Uploads.Complete(ctx, up.ID, bad); sdkStatus(err) != 400 {
			t.Errorf("complete %+v: %v", bad.PartIDs, err)
		}
	}
	sum := md5.Sum(content)
	done, err := client.Uploads.Complete(ctx, up.ID, openai.UploadCompleteParams{PartIDs: ids, Md5: openai.String(hex.EncodeToString(sum[:]))})
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != "completed" || done.File.Bytes != int64(len(content)) || done.File.Filename != "big.jsonl" || done.File.Purpose != "batch" {
		t.Fatalf("completed %s", done.RawJSON())
	}
	resp, err := client.Files.Content(ctx, done.File.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, content) {
		t.Fatalf("the file holds %d bytes, not the parts' %d in order", len(got), len(content))
	}
	if _, err := client.Uploads.Parts.New(ctx, up.ID, openai.UploadPartNewParams{Data: strings.NewReader("x")}); sdkStatus(err) != 400 {
		t.Errorf("a part for a completed Upload: %v", err)
	}
	if _, err := client.Uploads.Cancel(ctx, up.ID); sdkStatus(err) != 400 {
		t.Errorf("cancelling a completed Upload: %v", err)
	}
	b, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: done.File.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil || b.ID == "" {
		t.Fatalf("a batch of the uploaded file: %v", err)
	}
	if _, err := client.Batches.Cancel(ctx, b.ID); err != nil {
		t.Fatal(err)
	}

	// A cancelled Upload gives its reservation back.
	free := 64<<10 - len(content)
	big, err := client.Uploads.New(ctx, openai.UploadNewParams{Bytes: int64(free), Filename: "a.jsonl", MimeType: "text/jsonl", Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Uploads.New(ctx, openai.UploadNewParams{Bytes: 1, Filename: "b.jsonl", MimeType: "text/jsonl", Purpose: openai.FilePurposeBatch}); sdkStatus(err) != 413 {
		t.Errorf("an Upload past the store: %v", err)
	}
	if _, err := client.Uploads.Parts.New(ctx, big.ID, openai.UploadPartNewParams{Data: bytes.NewReader(make([]byte, free+1))}); sdkStatus(err) != 400 {
		t.Errorf("a part past the Upload's bytes: %v", err)
	}
	c, err := client.Uploads.Cancel(ctx, big.ID)
	if err != nil || c.Status != "cancelled" {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := client.Uploads.New(ctx, openai.UploadNewParams{Bytes: int64(free), Filename: "c.jsonl", MimeType: "text/jsonl", Purpose: openai.FilePurposeBatch}); err != nil {
		t.Errorf("an Upload after a cancelled one: %v", err)
	}

	for _, tc := range []struct {
		path, body string
		status     int
	}{
		{"/v1/uploads", `{"bytes": 10, "filename": "x", "mime_type": "text/plain", "purpose": "nope"}`, 400},
		{"/v1/uploads", `{"bytes": 0, "filename": "x", "mime_type": "text/plain", "purpose": "batch"}`, 400},
		{"/v1/uploads", `{"bytes": 10, "mime_type": "text/plain", "purpose": "batch"}`, 400},
		{"/v1/uploads/upload_nope/cancel", ``, 404},
		{"/v1/uploads/upload_nope/parts", `{}`, 404}, // refused before its body is read as a form
		{"/v1/uploads/" + up.ID + "/other", ``, 404},
	} {
		if status, _, out := ts.do("POST", tc.path, tc.body); status != tc.status {
			t.Errorf("POST %s %s: %d %s", tc.path, tc.body, status, out)
		}
	}
	if status, _, _ := ts.do("GET", "/v1/uploads", ""); status != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/uploads: %d", status)
	}
}

// An Upload left pending past its hour expires, giving back its
// reservation, and is forgotten an hour later.
func TestUploadExpiry(t *testing.T) {
	fs := newFileStore(1000)
	if err := fs.reserve(600, "bytes"); err != nil {
		t.Fatal(err)
	}
	us := uploadStore{ups: map[string]*pendingUpload{
		"upload_a": {obj: uploadObject{ID: "upload_a", Bytes: 600, CreatedAt: 100, ExpiresAt: 3700, Status: "pending"}, parts: map[string][]byte{"part_1": []byte("x")}},
	}}
	us.expire(fs, 3699)
	if u := us.ups["upload_a"]; u.obj.Status != "pending" || fs.bytes != 600 {
		t.Fatalf("before its time: %s, %d bytes taken", u.obj.Status, fs.bytes)
	}
	// One being completed (its parts joined outside the lock) does not
	// expire: its reservation is about to pass to the file.
	us.ups["upload_a"].completing = true
	us.expire(fs, 3700)
	if u := us.ups["upload_a"]; u.obj.Status != "pending" || fs.bytes != 600 {
		t.Fatalf("while completing: %s, %d bytes taken", u.obj.Status, fs.bytes)
	}
	if _, err := us.pending(fs, "upload_a", 3700); err == nil {
		t.Fatal("an Upload being completed takes parts")
	}
	us.ups["upload_a"].completing = false
	us.expire(fs, 3700)
	if u := us.ups["upload_a"]; u.obj.Status != "expired" || u.parts != nil || fs.bytes != 0 {
		t.Fatalf("at its time: %s, %d bytes taken", u.obj.Status, fs.bytes)
	}
	us.expire(fs, 3700+3599)
	if us.ups["upload_a"] == nil {
		t.Fatal("forgotten too soon")
	}
	us.expire(fs, 3700+3600)
	if us.ups["upload_a"] != nil || fs.bytes != 0 {
		t.Fatalf("not forgotten, or released twice: %d bytes taken", fs.bytes)
	}
}
