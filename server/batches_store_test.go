package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	iofs "io/fs"
	"mime/multipart"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
	"go.uber.org/zap"
)

// The Files API's store over a folder: files written there are kept again
// by the next store, deleted ones are gone from it, and what a crash can
// leave behind is dealt with at open.
func TestFileStoreFolder(t *testing.T) {
	dir := t.TempDir()
	fs, err := openFileStore(100, dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	a, err := fs.add("a.jsonl", "batch", []byte("first file"), 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // created_at is in seconds: b is newer
	b, err := fs.add("b.jsonl", "user_data", []byte("second"), 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fs.add("c.txt", "batch", []byte("third"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.add("big", "batch", make([]byte, 100-10-6-5+1), 0); err == nil {
		t.Error("a file past the budget was kept")
	}
	if !fs.delete(c.ID) {
		t.Fatal("delete failed")
	}
	for _, p := range []string{c.ID + ".json", c.ID + ".data"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, iofs.ErrNotExist) {
			t.Errorf("%s of a deleted file: %v", p, err)
		}
	}
	// What a crash can leave: bytes without their object (removed), and an
	// object whose bytes are cut short (left, and not kept).
	for _, name := range []string{"file-orphan.data", ".tmp-file-cut.data-123"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	short, err := fs.add("short", "batch", []byte("12345"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, short.ID+".data"), []byte("12"), 0o600); err != nil {
		t.Fatal(err)
	}

	again, err := openFileStore(100, dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	got := again.list("")
	if len(got) != 2 || got[0] != a || got[1] != b || again.bytes != a.Bytes+b.Bytes {
		t.Fatalf("kept again %+v (%d bytes), want %+v then %+v", got, again.bytes, a, b)
	}
	f, err := again.get(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := again.content(f); err != nil || string(data) != "first file" {
		t.Errorf("content %q, %v", data, err)
	}
	for _, name := range []string{"file-orphan.data", ".tmp-file-cut.data-123"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, iofs.ErrNotExist) {
			t.Errorf("%s was not removed: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, short.ID+".json")); err != nil {
		t.Errorf("the object of a cut file was removed: %v", err)
	}
}

// A batch the server stops under resumes at the next start over the same
// folder: the lines that had run are not run again, the rest are, and its
// output file holds every line once; the ended batch and its files are
// there after another restart.
func TestBatchResumesAfterRestart(t *testing.T) {
	const lines = 12
	dir := t.TempDir()
	cfg := Config{FilesDir: dir}
	id, _, ranFirst := interruptedBatch(t, cfg, lines, 2)
	// In the folder: the batch under way, and a log of the lines that ran.
	if sb := readStoredBatch(t, dir, id); sb.Batch.Status != "in_progress" || sb.Batch.Metadata["run"] != "resume" {
		t.Fatalf("stored batch %+v", sb)
	}
	logged, err := os.ReadFile(filepath.Join(dir, "batches", id+".lines.jsonl"))
	if err != nil || strings.Count(string(logged), "\n") != ranFirst {
		t.Fatalf("the log holds %d lines (%v), %d ran", strings.Count(string(logged), "\n"), err, ranFirst)
	}

	const reply = "bbbbbbbbbbbbbbbbbbbb" // 20 tokens: one a byte in the fake
	second := newTestServer(t, cfg, reply)
	client := openai.NewClient(option.WithBaseURL(second.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	done := waitBatch(t, client, id)
	if done.Status != "completed" || done.RequestCounts.Total != lines || done.RequestCounts.Completed != lines || done.OutputFileID == "" ||
		done.ErrorFileID != "" || done.Metadata["run"] != "resume" {
		t.Fatalf("resumed batch %+v", done)
	}
	ranSecond := len(second.eng.lastRequests())
	if ranFirst+ranSecond != lines {
		t.Errorf("%d lines ran before the restart and %d after, of %d", ranFirst, ranSecond, lines)
	}
	var usage struct {
		Usage responseUsage `json:"usage"`
	}
	_, _, obj := second.do("GET", "/v1/batches/"+id, "")
	if want := ranFirst*30 + ranSecond*len(reply); json.Unmarshal(obj, &usage) != nil || usage.Usage.OutputTokens != want {
		t.Errorf("usage %+v, want %d output tokens", usage.Usage, want)
	}
	status, _, out := second.do("GET", "/v1/files/"+done.OutputFileID+"/content", "")
	if status != 200 {
		t.Fatalf("output file: %d %s", status, out)
	}
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var o BatchOutput
		if err := json.Unmarshal([]byte(l), &o); err != nil || o.Response == nil || o.Response.StatusCode != 200 {
			t.Fatalf("output line %s: %v", l, err)
		}
		ids = append(ids, o.CustomID)
	}
	want := make([]string, lines)
	for i := range want {
		want[i] = "c" + strconv.Itoa(i)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("output custom ids %v, want each of %v once, in order", ids, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "batches", id+".lines.jsonl")); !errors.Is(err, iofs.ErrNotExist) {
		t.Errorf("the ended batch's log is still there: %v", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := second.srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}

	third := newTestServer(t, cfg, reply)
	_, _, obj = third.do("GET", "/v1/batches/"+id, "")
	var kept batchObject
	if err := json.Unmarshal(obj, &kept); err != nil || kept.Status != "completed" || kept.OutputFileID == nil || *kept.OutputFileID != done.OutputFileID {
		t.Fatalf("after another restart: %s", obj)
	}
	if status, _, again := third.do("GET", "/v1/files/"+done.OutputFileID+"/content", ""); status != 200 || string(again) != string(out) {
		t.Errorf("output file after another restart: %d, %d bytes of %d", status, len(again), len(out))
	}
	if n := len(third.eng.lastRequests()); n != 0 {
		t.Errorf("an ended batch ran %d lines again", n)
	}
}

// A batch resumed past its completion window expires, as OpenAI's do:
// what ran is in its output file, the lines not run are in its error
// file as batch_expired.
func TestBatchExpiresOnResume(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{FilesDir: dir}
	id, _, ran := interruptedBatch(t, cfg, 10, 1)
	sb := readStoredBatch(t, dir, id)
	past := time.Now().Add(-time.Minute).Unix()
	sb.Batch.ExpiresAt = &past
	raw, err := json.Marshal(sb)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "batches", id+".json"), raw, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	second := newTestServer(t, cfg, "b")
	client := openai.NewClient(option.WithBaseURL(second.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	got := waitBatch(t, client, id)
	if got.Status != "expired" || got.ExpiredAt == 0 || int(got.RequestCounts.Completed) != ran || int(got.RequestCounts.Failed) != 10-ran ||
		got.OutputFileID == "" || got.ErrorFileID == "" {
		t.Fatalf("expired batch %+v (%d lines had run)", got, ran)
	}
	if n := len(second.eng.lastRequests()); n != 0 {
		t.Errorf("%d lines ran past the window", n)
	}
	_, _, errs := second.do("GET", "/v1/files/"+got.ErrorFileID+"/content", "")
	lines := strings.Split(strings.TrimSpace(string(errs)), "\n")
	for _, l := range lines {
		var o BatchOutput
		if err := json.Unmarshal([]byte(l), &o); err != nil || o.Response != nil || o.Error == nil || o.Error.Code != "batch_expired" {
			t.Errorf("error line %s: %v", l, err)
		}
	}
	if len(lines) != 10-ran {
		t.Errorf("%d error lines, %d lines had not run", len(lines), 10-ran)
	}
	// Anthropic's counts keep the expired apart from the errored, across
	// a restart too.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := second.srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	third := newTestServer(t, cfg, "b")
	third.srv.batches.mu.Lock()
	j, err := third.srv.batches.find(id)
	third.srv.batches.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if c := messageBatchOf(third.srv.batches.snapshot(j), "").RequestCounts; c.Expired != 10-ran || c.Errored != 0 || c.Succeeded != ran || c.Canceled != 0 {
		t.Errorf("counts in Anthropic's shape %+v, %d lines had run", c, ran)
	}
}

// A batch whose input file is gone when it would resume fails, saying
// so, rather than running nothing and calling that complete.
func TestBatchResumeWithoutInput(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{FilesDir: dir}
	id, input, _ := interruptedBatch(t, cfg, 10, 1)
	for _, p := range []string{input + ".json", input + ".data"} {
		if err := os.Remove(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	second := newTestServer(t, cfg, "b")
	client := openai.NewClient(option.WithBaseURL(second.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	got := waitBatch(t, client, id)
	if got.Status != "failed" || len(got.Errors.Data) != 1 || got.Errors.Data[0].Code != "input_file_missing" {
		t.Fatalf("batch without its input %+v", got)
	}
	if n := len(second.eng.lastRequests()); n != 0 {
		t.Errorf("%d lines ran without an input file", n)
	}
}

// A batch cancelled while it waits to resume (the model still loading)
// ends cancelled with what had run, no line run again.
func TestBatchCancelledBeforeResume(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{FilesDir: dir}
	id, _, ran := interruptedBatch(t, cfg, 10, 1)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	cfg.Logger, cfg.ModelName = zap.NewNop(), "fake-model"
	loading, err := New(cfg) // no backend: the model is still loading
	if err != nil {
		t.Fatal(err)
	}
	defer loading.Shutdown(sctx)
	if status, _, body := loading.Call("POST", "/v1/batches/"+id+"/cancel", nil); status != 200 {
		t.Fatalf("cancel: %d %s", status, body)
	}
	var got batchObject
	for deadline := time.Now().Add(10 * time.Second); got.Status != "cancelled"; time.Sleep(5 * time.Millisecond) {
		_, _, body := loading.Call("GET", "/v1/batches/"+id, nil)
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %+v 10 s after its cancel", got)
		}
	}
	if got.RequestCounts.Completed != ran || got.OutputFileID == nil || got.CancelledAt == nil {
		t.Errorf("cancelled batch %+v; %d lines had run", got, ran)
	}
	_, _, out := loading.Call("GET", "/v1/files/"+*got.OutputFileID+"/content", nil)
	if n := strings.Count(string(out), "\n"); n != ran {
		t.Errorf("output file of %d lines, %d had run", n, ran)
	}
}

// interruptedBatch starts a batch of n completions lines on a server
// over cfg's folder, one line at a time, and shuts the server down once
// minDone lines have finished: it returns the batch's and its input's
// ids, and how many lines ran.
func interruptedBatch(t *testing.T, cfg Config, n, minDone int) (batchID, inputID string, ran int) {
	t.Helper()
	first := newTestServer(t, cfg, strings.Repeat("a", 30))
	first.eng.delay = 2 * time.Millisecond // 60 ms a line
	var in strings.Builder
	for i := range n {
		in.WriteString(`{"custom_id":"c` + strconv.Itoa(i) + `","method":"POST","url":"/v1/completions","body":{"prompt":"x","max_tokens":64}}` + "\n")
	}
	client := openai.NewClient(option.WithBaseURL(first.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	ctx := context.Background()
	f, err := client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(in.String()), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1Completions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h, Metadata: map[string]string{"run": "resume"}})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got, err := client.Batches.Get(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if int(got.RequestCounts.Completed) >= minDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lines did not finish in 10 s: %+v", minDone, got.RequestCounts)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := first.srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	ran = len(first.eng.lastRequests())
	if ran >= n {
		t.Fatalf("every line ran before the shutdown (%d): the test needs slower lines", ran)
	}
	return b.ID, f.ID, ran
}

// readStoredBatch is batch id's object file in folder dir.
func readStoredBatch(t *testing.T, dir, id string) storedBatch {
	t.Helper()
	var sb storedBatch
	raw, err := os.ReadFile(filepath.Join(dir, "batches", id+".json"))
	if err == nil {
		err = json.Unmarshal(raw, &sb)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

// OpenAI's expires_after on an upload: the file says when it goes, and
// is gone (from the folder too) once that time has come.
func TestFileExpiry(t *testing.T) {
	ts := newTestServer(t, Config{}, "x")
	upload := func(fields map[string]string) (int, []byte) { return uploadFile(t, ts, fields, "{}\n") }
	status, out := upload(map[string]string{"purpose": "batch", "expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"})
	var f fileObject
	if err := json.Unmarshal(out, &f); err != nil || status != 200 || f.ExpiresAt == nil || *f.ExpiresAt != f.CreatedAt+3600 &&
		*f.ExpiresAt != f.CreatedAt+3601 {
		t.Fatalf("upload: %d %s", status, out)
	}
	for _, tc := range []struct {
		fields map[string]string
		param  string
	}{
		{map[string]string{"purpose": "batch", "expires_after[anchor]": "created_at", "expires_after[seconds]": "60"}, "expires_after.seconds"},
		{map[string]string{"purpose": "batch", "expires_after[anchor]": "last_active_at", "expires_after[seconds]": "3600"}, "expires_after.anchor"},
		{map[string]string{"purpose": "batch", "expires_after[seconds]": "3600"}, "expires_after.anchor"},
	} {
		if status, out := upload(tc.fields); status != 400 || !strings.Contains(string(out), `"param":"`+tc.param+`"`) {
			t.Errorf("%v: %d %s", tc.fields, status, out)
		}
	}

	dir := t.TempDir()
	fs, err := openFileStore(1<<20, dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	gone, err := fs.add("old", "batch", []byte("bytes"), time.Now().Unix()-1)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := fs.add("new", "batch", []byte("bytes"), time.Now().Unix()+3600)
	if err != nil {
		t.Fatal(err)
	}
	if got := fs.list(""); len(got) != 1 || got[0].ID != kept.ID {
		t.Errorf("listed %+v, want only %s", got, kept.ID)
	}
	if _, err := fs.get(gone.ID); err == nil {
		t.Error("an expired file is still there")
	}
	if fs.bytes != kept.Bytes {
		t.Errorf("%d bytes taken, want %d", fs.bytes, kept.Bytes)
	}
	for _, p := range []string{gone.ID + ".json", gone.ID + ".data"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, iofs.ErrNotExist) {
			t.Errorf("%s of an expired file: %v", p, err)
		}
	}
}

// uploadFile posts content as a multipart upload with fields.
func uploadFile(t *testing.T, ts *testServer, fields map[string]string, content string) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := w.CreateFormFile("file", "in.jsonl")
	if err == nil {
		_, err = fw.Write([]byte(content))
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	status, _, out := ts.do("POST", "/v1/files", body.String(), "Content-Type", w.FormDataContentType())
	return status, out
}

// A batch's output_expires_after gives its output file an expires_at.
func TestBatchOutputExpiry(t *testing.T) {
	ts := newTestServer(t, Config{}, "네")
	status, out := uploadFile(t, ts, map[string]string{"purpose": "batch"}, batchFile(2))
	var in fileObject
	if err := json.Unmarshal(out, &in); err != nil || status != 200 {
		t.Fatalf("upload: %d %s", status, out)
	}
	body := func(secs int) string {
		return `{"input_file_id":"` + in.ID + `","endpoint":"/v1/chat/completions","completion_window":"24h","output_expires_after":{"anchor":"created_at","seconds":` + strconv.Itoa(secs) + `}}`
	}
	if status, _, out := ts.do("POST", "/v1/batches", body(10)); status != 400 || !strings.Contains(string(out), `"param":"output_expires_after.seconds"`) {
		t.Errorf("10 s: %d %s", status, out)
	}
	status, _, out = ts.do("POST", "/v1/batches", body(7200))
	var b batchObject
	if err := json.Unmarshal(out, &b); err != nil || status != 200 {
		t.Fatalf("create: %d %s", status, out)
	}
	client := openai.NewClient(option.WithBaseURL(ts.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	done := waitBatch(t, client, b.ID)
	for _, id := range []string{done.OutputFileID, done.ErrorFileID} {
		_, _, raw := ts.do("GET", "/v1/files/"+id, "")
		var f fileObject
		if err := json.Unmarshal(raw, &f); err != nil || f.ExpiresAt == nil || *f.ExpiresAt-f.CreatedAt < 7200 || *f.ExpiresAt-f.CreatedAt > 7201 {
			t.Errorf("file %s: %s", id, raw)
		}
	}
}

// /metrics counts the batches by API and status, the files, and the
// background responses running.
func TestStoreGauges(t *testing.T) {
	ts := newTestServer(t, Config{}, "네")
	status, out := uploadFile(t, ts, map[string]string{"purpose": "batch"}, batchFile(2))
	var in fileObject
	if err := json.Unmarshal(out, &in); err != nil || status != 200 {
		t.Fatalf("upload: %d %s", status, out)
	}
	_, _, out = ts.do("POST", "/v1/batches", `{"input_file_id":"`+in.ID+`","endpoint":"/v1/chat/completions","completion_window":"24h"}`)
	var b batchObject
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatal(err)
	}
	client := openai.NewClient(option.WithBaseURL(ts.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	waitBatch(t, client, b.ID)
	_, _, metrics := ts.do("GET", "/metrics", "")
	for _, want := range []string{
		`nuri:batches{api="openai",status="completed"} 1`,
		`nuri:batches{api="openai",status="in_progress"} 0`,
		`nuri:batches{api="anthropic",status="completed"} 0`,
		"nuri:files 3", // the input, the output and the error file
		"nuri:background_responses_running 0",
	} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// Several batches at once over a folder, some cancelled, the server
// stopped under them and started again: every batch ends, and each
// ended batch's files hold every line at most once, as many as it
// counts (the cancelled ones' unrun lines in neither file).
func TestBatchesRestartStress(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{FilesDir: dir}
	first := newTestServer(t, cfg, strings.Repeat("a", 20))
	first.eng.delay = time.Millisecond
	const batches, lines = 5, 8
	var ids []string
	for range batches {
		var in strings.Builder
		for i := range lines {
			in.WriteString(`{"custom_id":"c` + strconv.Itoa(i) + `","method":"POST","url":"/v1/completions","body":{"prompt":"x","max_tokens":64}}` + "\n")
		}
		status, out := uploadFile(t, first, map[string]string{"purpose": "batch"}, in.String())
		var f fileObject
		if err := json.Unmarshal(out, &f); err != nil || status != 200 {
			t.Fatalf("upload: %d %s", status, out)
		}
		_, _, out = first.do("POST", "/v1/batches", `{"input_file_id":"`+f.ID+`","endpoint":"/v1/completions","completion_window":"24h"}`)
		var b batchObject
		if err := json.Unmarshal(out, &b); err != nil || b.ID == "" {
			t.Fatalf("create: %s", out)
		}
		ids = append(ids, b.ID)
	}
	time.Sleep(60 * time.Millisecond)
	for _, id := range ids[:2] {
		if status, _, out := first.do("POST", "/v1/batches/"+id+"/cancel", ""); status != 200 {
			t.Fatalf("cancel: %d %s", status, out)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := first.srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	second := newTestServer(t, cfg, strings.Repeat("b", 20))
	client := openai.NewClient(option.WithBaseURL(second.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	for i, id := range ids {
		b := waitBatch(t, client, id)
		if i < 2 && b.Status != "cancelled" || i >= 2 && b.Status != "completed" {
			t.Errorf("batch %d (%s) ended %s", i, id, b.Status)
		}
		seen := map[string]int{}
		for _, fid := range []string{b.OutputFileID, b.ErrorFileID} {
			if fid == "" {
				continue
			}
			_, _, out := second.do("GET", "/v1/files/"+fid+"/content", "")
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				var o BatchOutput
				if err := json.Unmarshal([]byte(l), &o); err != nil {
					t.Fatalf("batch %d: line %q: %v", i, l, err)
				}
				seen[o.CustomID]++
			}
		}
		n := int(b.RequestCounts.Completed + b.RequestCounts.Failed)
		if len(seen) != n || b.RequestCounts.Total != lines || (b.Status == "completed" && n != lines) {
			t.Errorf("batch %d: %d lines in its files, counts %+v", i, len(seen), b.RequestCounts)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("batch %d: %s in its files %d times", i, id, k)
			}
		}
	}
}
