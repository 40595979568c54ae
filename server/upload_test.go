package server

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

// postChunked sends body with no Content-Length (chunked), as a client
// streaming from a pipe does.
func postChunked(t *testing.T, ts *testServer, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", ts.url+path, io.MultiReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", contentType)
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("transfer encoding %v", resp.TransferEncoding)
	}
	return resp.StatusCode, out
}

// multipartFile is a Files API upload of content, and its content type.
func multipartFile(t *testing.T, content []byte) ([]byte, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if err := w.WriteField("purpose", "batch"); err != nil {
		t.Fatal(err)
	}
	fw, err := w.CreateFormFile("file", "big.jsonl")
	if err == nil {
		_, err = fw.Write(content)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return body.Bytes(), w.FormDataContentType()
}

// TestUploadLimits: a file upload may be larger than --max-body-bytes, up
// to --max-upload-bytes, given with a Content-Length or chunked, and comes
// back byte for byte; past the upload limit it is a 413 naming the flag,
// and the server stays healthy. Every other route keeps --max-body-bytes,
// chunked bodies included.
func TestUploadLimits(t *testing.T) {
	ts := newTestServer(t, Config{MaxBodyBytes: 4096, MaxUploadBytes: 256 << 10}, "ok")
	content := []byte(strings.Repeat(batchFile(1), 1+(100<<10)/len(batchFile(1))))
	body, ct := multipartFile(t, content)
	for _, chunked := range []bool{false, true} {
		var status int
		var out []byte
		if chunked {
			status, out = postChunked(t, ts, "/v1/files", ct, body)
		} else {
			status, _, out = ts.do("POST", "/v1/files", string(body), "Content-Type", ct)
		}
		if status != 200 {
			t.Fatalf("chunked=%v: a %d-byte upload: %d %s", chunked, len(body), status, out)
		}
		var f fileObject
		if err := json.Unmarshal(out, &f); err != nil || f.Bytes != len(content) || f.Filename != "big.jsonl" || f.Purpose != "batch" {
			t.Fatalf("chunked=%v: %+v %v", chunked, f, err)
		}
		status, _, got := ts.do("GET", "/v1/files/"+f.ID+"/content", "")
		if status != 200 || !bytes.Equal(got, content) {
			t.Fatalf("chunked=%v: content %d, %d bytes of %d", chunked, status, len(got), len(content))
		}
	}

	huge, ct := multipartFile(t, bytes.Repeat([]byte("x"), 300<<10))
	for _, chunked := range []bool{false, true} {
		var status int
		var out []byte
		if chunked {
			status, out = postChunked(t, ts, "/v1/files", ct, huge)
		} else {
			status, _, out = ts.do("POST", "/v1/files", string(huge), "Content-Type", ct)
		}
		if status != 413 || !strings.Contains(string(out), "--max-upload-bytes") {
			t.Errorf("chunked=%v: an upload over the limit: %d %s", chunked, status, out)
		}
	}

	prompt := `{"prompt":"` + strings.Repeat("a", 5000) + `"}`
	if status, out := postChunked(t, ts, "/v1/completions", "application/json", []byte(prompt)); status != 413 || !strings.Contains(string(out), "--max-body-bytes") {
		t.Errorf("a chunked body over --max-body-bytes: %d %s", status, out)
	}
	if status, out := postChunked(t, ts, "/v1/completions", "application/json", []byte(`{"prompt":"hi","max_tokens":2}`)); status != 200 {
		t.Errorf("a small chunked body: %d %s", status, out)
	}
	if status, _, out := ts.do("POST", "/v1/files", "purpose=batch", "Content-Type", "application/x-www-form-urlencoded"); status != 400 || !strings.Contains(string(out), "multipart/form-data") {
		t.Errorf("not multipart: %d %s", status, out)
	}
	if status, _, _ := ts.do("GET", "/health", ""); status != 200 {
		t.Errorf("server unhealthy after the refusals: %d", status)
	}
}

// TestMessageBatchOverBodyLimit: a Message Batch body past --max-body-bytes
// is taken up to --max-upload-bytes, as an upload is.
func TestMessageBatchOverBodyLimit(t *testing.T) {
	ts := newTestServer(t, Config{MaxBodyBytes: 4096, MaxUploadBytes: 64 << 10}, "ok")
	batch := func(n int) string {
		var reqs []string
		for i := range n {
			reqs = append(reqs, `{"custom_id":"r`+strings.Repeat("0", 3)+string(rune('a'+i%26))+strings.Repeat("x", i/26)+`","params":{"model":"fake-model","max_tokens":4,"messages":[{"role":"user","content":"`+strings.Repeat("안녕 ", 40)+`"}]}}`)
		}
		return `{"requests":[` + strings.Join(reqs, ",") + `]}`
	}
	if body := batch(30); len(body) <= 4096 || len(body) > 64<<10 {
		t.Fatalf("a batch of %d bytes", len(body))
	} else if status, _, out := ts.do("POST", "/v1/messages/batches", body); status != 200 || !strings.Contains(string(out), "msgbatch_") {
		t.Fatalf("a %d-byte batch: %d %s", len(body), status, out)
	}
	if body := batch(200); len(body) <= 64<<10 {
		t.Fatalf("a batch of %d bytes", len(body))
	} else if status, _, out := ts.do("POST", "/v1/messages/batches", body); status != 413 || !strings.Contains(string(out), "--max-upload-bytes") {
		t.Errorf("a %d-byte batch: %d %s", len(body), status, out)
	}
}
