package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// With a folder (Config.FilesDir) the batches outlive the process: each
// is an object file (ID.json) written at every change of status, and a
// batch under way has a log of its finished lines (ID.lines.jsonl), one
// line each as it finishes. A batch the server stopped under resumes at
// the next start with the lines its log lacks; once its output files are
// written the log is removed. A line cut short by the shutdown is not
// logged, so it runs again; one that finished just before a crash may
// have lost its log line and run again too.

// batchesVersion is the version of the batch object files.
const batchesVersion = 1

// storedBatch is a batch's object as its folder keeps it.
type storedBatch struct {
	Version int         `json:"version"`
	Batch   batchObject `json:"batch"`
	Expired int         `json:"expired,omitempty"` // Batch.RequestCounts.Expired, which OpenAI's object leaves out
	// OutputLifetime is Batch.outputLifetime, which the object does not show.
	OutputLifetime int64 `json:"output_lifetime,omitempty"`
}

// batchLine is one finished line in a batch's log: its place among the
// batch's requests, the usage its reply reported and its result.
type batchLine struct {
	Index  int         `json:"index"`
	Usage  BatchUsage  `json:"usage"`
	Output BatchOutput `json:"output"`
}

// terminalBatch reports whether a batch in status st has ended.
func terminalBatch(st string) bool {
	switch st {
	case "completed", "failed", "cancelled", "expired":
		return true
	}
	return false
}

func (bs *batches) objPath(id string) string   { return filepath.Join(bs.dir, id+".json") }
func (bs *batches) linesPath(id string) string { return filepath.Join(bs.dir, id+".lines.jsonl") }

// save writes j's object to the folder (nothing without one). Saves are
// one at a time per batch, each of the object as it is when its turn
// comes, so the file ends as the newest.
func (bs *batches) save(j *batchJob) {
	if bs.dir == "" {
		return
	}
	j.saveMu.Lock()
	defer j.saveMu.Unlock()
	obj := bs.snapshot(j)
	b, err := json.Marshal(storedBatch{Version: batchesVersion, Batch: obj, Expired: obj.RequestCounts.Expired, OutputLifetime: obj.outputLifetime})
	if err == nil {
		err = writeFileAtomic(bs.objPath(obj.ID), b)
	}
	if err != nil {
		bs.log.Warn("store batch on disk", zap.String("batch", obj.ID), zap.String("dir", bs.dir), zap.Error(err))
	}
}

// lineLog appends a batch's finished lines to its log; a nil one (no
// folder) logs nothing.
type lineLog struct {
	mu     sync.Mutex
	f      *os.File
	failed bool // a write failed once (logged): the lines are still in memory
	log    *zap.Logger
}

// openLines opens batch id's log for appending.
func (bs *batches) openLines(id string) *lineLog {
	if bs.dir == "" {
		return nil
	}
	f, err := os.OpenFile(bs.linesPath(id), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		bs.log.Warn("open a batch's log: its lines will run again if the server stops before it ends", zap.String("batch", id), zap.Error(err))
		return nil
	}
	return &lineLog{f: f, log: bs.log.With(zap.String("batch", id))}
}

// add appends one finished line, in one write so a torn last line is all
// a crash can leave.
func (l *lineLog) add(line batchLine) {
	if l == nil {
		return
	}
	b, err := json.Marshal(line)
	if err != nil {
		panic(fmt.Sprintf("batch: encode a line: %v", err)) // plain data and valid JSON
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(append(b, '\n')); err != nil && !l.failed {
		l.failed = true
		l.log.Warn("write a batch's log: lines finished now will run again if the server stops before the batch ends", zap.Error(err))
	}
}

func (l *lineLog) close() {
	if l == nil {
		return
	}
	if err := errors.Join(l.f.Sync(), l.f.Close()); err != nil {
		l.log.Warn("close a batch's log", zap.Error(err))
	}
}

// loggedLines are the lines batch id's log holds, by index (none without
// a folder or a log). A line that does not read, such as a torn last
// one, is skipped: it runs again.
func (bs *batches) loggedLines(id string) map[int]batchLine {
	out := map[int]batchLine{}
	if bs.dir == "" {
		return out
	}
	b, err := os.ReadFile(bs.linesPath(id))
	if err != nil {
		if !errors.Is(err, iofs.ErrNotExist) {
			bs.log.Warn("read a batch's log: its lines run again", zap.String("batch", id), zap.Error(err))
		}
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1)
	for sc.Scan() {
		var l batchLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Index >= 0 {
			out[l.Index] = l
		}
	}
	return out
}

// dropLines removes batch id's log once its output files are written.
func (bs *batches) dropLines(id string) {
	if bs.dir == "" {
		return
	}
	if err := os.Remove(bs.linesPath(id)); err != nil && !errors.Is(err, iofs.ErrNotExist) {
		bs.log.Warn("remove a batch's log", zap.String("batch", id), zap.Error(err))
	}
}

// openBatches keeps the batches of folder dir again, oldest first, and
// resumes those that had not ended: once the model is loaded, with the
// lines their logs lack. An object file that cannot be read is logged and
// left.
func (s *Server) openBatches(dir string) error {
	entries, err := openFolder(dir)
	if err != nil {
		return fmt.Errorf("batches folder: %w", err)
	}
	bs := &s.batches
	bs.dir, bs.log = dir, s.log
	for _, e := range entries {
		name := e.Name()
		id, ok := strings.CutSuffix(name, ".json")
		if e.IsDir() || strings.HasPrefix(name, ".") || !ok {
			continue
		}
		var sb storedBatch
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			err = json.Unmarshal(b, &sb)
		}
		if err == nil && (sb.Version != batchesVersion || sb.Batch.ID != id) {
			err = fmt.Errorf("not a batch object of version %d named after its id", batchesVersion)
		}
		if err != nil {
			s.log.Warn("stored batch left out", zap.String("file", filepath.Join(dir, name)), zap.Error(err))
			continue
		}
		sb.Batch.RequestCounts.Expired, sb.Batch.outputLifetime = sb.Expired, sb.OutputLifetime
		bs.jobs = append(bs.jobs, &batchJob{obj: sb.Batch, cancel: func() {}, done: make(chan struct{})})
	}
	sort.SliceStable(bs.jobs, func(i, k int) bool { return bs.jobs[i].obj.CreatedAt < bs.jobs[k].obj.CreatedAt })
	resumed := 0
	for _, j := range bs.jobs {
		if terminalBatch(j.obj.Status) {
			close(j.done)
			continue
		}
		resumed++
		var ctx context.Context
		ctx, j.cancel = context.WithCancel(s.baseCtx)
		go s.resumeBatch(ctx, j)
	}
	s.log.Info("stored batches", zap.String("dir", dir), zap.Int("batches", len(bs.jobs)), zap.Int("resumed", resumed))
	return nil
}

// resumeBatch runs j again once the model is loaded: the lines its log
// lacks, or none when it was being cancelled. Its input file gone, it
// fails. Cancelled (or the server stopped) before the model loaded, it
// runs no line: runBatch ends it cancelled (or leaves it under way).
func (s *Server) resumeBatch(ctx context.Context, j *batchJob) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for s.backend.Load() == nil && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	input, err := s.batchInput(s.batches.snapshot(j).InputFileID)
	if err != nil {
		s.batches.update(j, func(o *batchObject) {
			o.Status, o.FailedAt = "failed", now()
			o.Errors = &batchErrors{Object: "list", Data: []batchLineError{{Code: "input_file_missing", Message: fmt.Sprintf("the batch could not resume: %v", err)}}}
		})
		s.batches.save(j)
		id := s.batches.snapshot(j).ID
		s.batches.dropLines(id)
		close(j.done)
		s.log.Warn("batch could not resume", zap.String("batch", id), zap.Error(err))
		return
	}
	o := s.batches.snapshot(j)
	s.log.Info("batch resumed", zap.String("batch", o.ID), zap.String("status", o.Status))
	s.runBatch(ctx, j, input)
}

// batchInput is the bytes of a batch's input file.
func (s *Server) batchInput(id string) ([]byte, error) {
	f, err := s.files.get(id)
	if err != nil {
		return nil, err
	}
	return s.files.content(f)
}
