package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/server"
)

func init() {
	register(command{name: "batch", summary: "run a file of OpenAI batch requests (JSONL) through the model offline, as OpenAI's Batch API and vLLM's run_batch", run: runBatch})
}

// batchFlags are batch's own flags; the model's and the engine's are
// serve's.
type batchFlags struct {
	in, out     string
	concurrency int
	resume      bool
}

func runBatch(args []string, stdout, stderr io.Writer) error {
	var bf batchFlags
	c, err := parseServeAs("batch", args, stderr, func(fs *flag.FlagSet) {
		fs.Usage = func() {
			fmt.Fprintln(stderr, "usage: nuri batch --model M --input-file IN --output-file OUT [flags]   (- for stdin/stdout)")
			fmt.Fprintln(stderr, "\nRuns OpenAI batch requests offline and writes their results in the input's order; serve's flags apply.")
			fs.PrintDefaults()
		}
		for _, n := range []string{"input-file", "i"} {
			fs.StringVar(&bf.in, n, "", "input: one request a line, {\"custom_id\", \"method\": \"POST\", \"url\", \"body\"} (OpenAI's batch file format; - reads standard input)")
		}
		for _, n := range []string{"output-file", "o"} {
			fs.StringVar(&bf.out, n, "", "output: one result a line, in the input's order, {\"id\", \"custom_id\", \"response\": {\"status_code\", \"request_id\", \"body\"}, \"error\"}")
		}
		fs.IntVar(&bf.concurrency, "concurrency", 0, "requests in flight at once (0: twice --max-num-seqs, so the scheduler always has a full batch)")
		fs.BoolVar(&bf.resume, "resume", false, "continue an interrupted run: keep the output file's complete lines and run the input's lines after them")
		// Progress goes to the terminal; the server's access log would
		// drown it.
		for name, v := range map[string]string{"log-level": "warn", "log-format": "console"} {
			f := fs.Lookup(name)
			_ = f.Value.Set(v)
			f.DefValue = v
		}
	})
	if err != nil {
		return err
	}
	fail := func(format string, a ...any) error {
		fmt.Fprintf(stderr, "nuri batch: "+format+"\n", a...)
		return errUsage
	}
	switch {
	case bf.in == "" || bf.out == "":
		return fail("--input-file (-i) and --output-file (-o) are required")
	case bf.concurrency < 0:
		return fail("--concurrency must not be negative")
	case bf.in != "-":
		if same, err := sameFile(bf.in, bf.out); err == nil && same {
			return fail("the output file is the input file")
		}
	}
	if bf.concurrency == 0 {
		bf.concurrency = 2 * c.eng.MaxNumSeqs
	}
	// Nothing listens: serve's API keys (NURI_API_KEY in the environment,
	// say) would only refuse every line.
	c.apiKeys, c.corsOrigins = nil, nil
	log, closeLog, err := c.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process as usual
	}()
	return batchRun(ctx, c, bf, log, stderr)
}

// batchResult is a finished line for the writer.
type batchResult struct {
	index  int
	line   []byte // the output line, newline included
	failed bool   // not run, or a status other than 200
	usage  server.BatchUsage
}

// batchRun runs every line of bf.in through a server over the model in c
// and writes the results to bf.out in the input's order, each as soon as
// the lines before it are written, so an interrupted run keeps what it
// finished (--resume continues it).
func batchRun(ctx context.Context, c *serveConfig, bf batchFlags, log *zap.Logger, stderr io.Writer) error {
	if err := c.resolveModel(log); err != nil {
		return err
	}
	lines, err := readBatchLines(bf.in)
	if err != nil {
		return err
	}
	done, err := batchResumePoint(bf, lines)
	if err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if bf.resume {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	out, err := os.OpenFile(bf.out, flags, 0o644)
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	defer out.Close()
	if done == len(lines) {
		fmt.Fprintf(stderr, "batch: all %d lines of %s are in %s already\n", len(lines), bf.in, bf.out)
		return out.Close()
	}
	srv, err := newServer(c, log)
	if err != nil {
		return err
	}
	start := time.Now()
	be, closeBackend, err := loadBackend(ctx, c, srv.Metrics(), log)
	if err != nil {
		return err
	}
	defer closeBackend()
	if err := srv.SetBackend(be); err != nil {
		return err
	}
	if done > 0 {
		fmt.Fprintf(stderr, "batch: resuming after line %d of %d\n", done, len(lines))
	}
	fmt.Fprintf(stderr, "batch: %d requests from %s, model %s loaded in %.1fs, %d in flight at most\n",
		len(lines)-done, bf.in, c.alias, time.Since(start).Seconds(), bf.concurrency)

	// inflight bounds the requests running; window bounds those run but
	// not yet written (a long early line holds later ones in memory).
	inflight := make(chan struct{}, bf.concurrency)
	window := make(chan struct{}, 4*bf.concurrency)
	w := newBatchWriter(out, done, len(lines), func() { <-window })
	writerDone := make(chan error, 1)
	results := make(chan batchResult, bf.concurrency)
	go func() { writerDone <- w.run(results) }()
	stopProgress := w.progress(stderr, 5*time.Second)
	seen := map[string]int{} // custom_id → its line's number
	for _, l := range lines[:done] {
		if in, err := server.ParseBatchLine(l.data); err == nil {
			seen[in.CustomID] = l.n
		}
	}
	var wg sync.WaitGroup
	interrupted := false
dispatch:
	for i := done; i < len(lines); i++ {
		select {
		case window <- struct{}{}:
		case <-ctx.Done():
			interrupted = true
			break dispatch
		}
		in, lineErr := server.ParseBatchLine(lines[i].data)
		if lineErr == nil {
			if j, dup := seen[in.CustomID]; dup {
				lineErr = &server.BatchError{Code: "duplicate_custom_id", Message: fmt.Sprintf("custom_id %q is line %d's too", in.CustomID, j)}
			} else {
				seen[in.CustomID] = lines[i].n
			}
		}
		if lineErr != nil {
			lineErr.Message = fmt.Sprintf("line %d: %s", lines[i].n, lineErr.Message)
			results <- errorResult(i, in.CustomID, lineErr)
			continue
		}
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			interrupted = true
			break dispatch
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-inflight }()
			results <- callResult(srv, i, in)
		}()
	}
	if interrupted {
		fmt.Fprintln(stderr, "batch: interrupted; finishing the requests in flight (interrupt again to quit at once)")
	}
	wg.Wait()
	close(results)
	werr := <-writerDone
	stopProgress()
	w.summary(stderr, time.Since(start))
	switch {
	case werr != nil:
		return fmt.Errorf("output %s: %w", bf.out, werr)
	case interrupted:
		return fmt.Errorf("interrupted with %d of %d lines written to %s: run again with --resume to go on", w.next, len(lines), bf.out)
	}
	return out.Close()
}

// batchLine is a non-blank input line and its number in the file.
type batchLine struct {
	n    int
	data []byte
}

// readBatchLines reads the input's non-blank lines (a batch file is small
// next to a model: its requests' texts).
func readBatchLines(path string) ([]batchLine, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	var lines []batchLine
	n := 0
	for line := range bytes.Lines(data) {
		n++
		if line = bytes.TrimSpace(line); len(line) > 0 {
			lines = append(lines, batchLine{n, line})
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("input %s: no requests in it", path)
	}
	return lines, nil
}

// batchResumePoint returns how many input lines the output holds already
// (0 without --resume). An incomplete last output line (a run killed while
// writing it) is cut off; each complete one must carry its input line's
// custom_id, or the output belongs to another input.
func batchResumePoint(bf batchFlags, lines []batchLine) (int, error) {
	if !bf.resume {
		return 0, nil
	}
	data, err := os.ReadFile(bf.out)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("output: %w", err)
	}
	complete := bytes.LastIndexByte(data, '\n') + 1
	if complete < len(data) {
		if err := os.Truncate(bf.out, int64(complete)); err != nil {
			return 0, fmt.Errorf("output: cut off its incomplete last line: %w", err)
		}
	}
	n := 0
	for line := range bytes.Lines(data[:complete]) {
		var o server.BatchOutput
		if err := json.Unmarshal(line, &o); err != nil {
			return 0, fmt.Errorf("output %s line %d is no batch result: %w", bf.out, n+1, err)
		}
		if n >= len(lines) {
			return 0, fmt.Errorf("output %s has more lines than input %s", bf.out, bf.in)
		}
		if in, _ := server.ParseBatchLine(lines[n].data); in.CustomID != o.CustomID {
			return 0, fmt.Errorf("output %s line %d is custom_id %q, input line %d is %q: the output is another input's", bf.out, n+1, o.CustomID, lines[n].n, in.CustomID)
		}
		n++
	}
	return n, nil
}

// callResult runs line i's request through the server.
func callResult(srv *server.Server, i int, in server.BatchInput) batchResult {
	o, u := srv.CallBatchLine(in)
	return batchResult{index: i, failed: o.Failed(), usage: u, line: server.MarshalBatchOutput(o)}
}

func errorResult(i int, customID string, e *server.BatchError) batchResult {
	return batchResult{index: i, failed: true, line: server.MarshalBatchOutput(server.BatchErrorOutput(customID, e))}
}

// batchWriter writes results in input order as they come.
type batchWriter struct {
	out     *os.File
	release func() // called for each line written (frees a window slot)

	mu      sync.Mutex
	next    int // index of the next line to write
	total   int
	first   int // lines written before this run (--resume)
	failed  int
	usage   server.BatchUsage
	pending map[int]batchResult
}

func newBatchWriter(out *os.File, done, total int, release func()) *batchWriter {
	return &batchWriter{out: out, release: release, next: done, first: done, total: total, pending: map[int]batchResult{}}
}

// run writes the results from rs in order until rs closes. Each line
// reaches the file when written, so a killed run keeps every line before.
func (w *batchWriter) run(rs <-chan batchResult) error {
	bw := bufio.NewWriter(w.out)
	var werr error
	for r := range rs {
		w.mu.Lock()
		w.pending[r.index] = r
		for {
			p, ok := w.pending[w.next]
			if !ok {
				break
			}
			delete(w.pending, w.next)
			if werr == nil {
				_, werr = bw.Write(p.line)
			}
			w.next++
			if p.failed {
				w.failed++
			}
			w.usage.PromptTokens += p.usage.PromptTokens + p.usage.InputTokens
			w.usage.CompletionTokens += p.usage.CompletionTokens + p.usage.OutputTokens
			w.release()
		}
		w.mu.Unlock()
		if werr == nil {
			werr = bw.Flush()
		}
	}
	if werr == nil {
		werr = w.out.Sync()
	}
	return werr
}

// progress prints a line to w every period until the returned func is
// called.
func (w *batchWriter) progress(out io.Writer, period time.Duration) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				w.mu.Lock()
				n, total, failed, gen := w.next, w.total, w.failed, w.usage.CompletionTokens
				ran := n - w.first
				w.mu.Unlock()
				el := time.Since(start).Seconds()
				line := fmt.Sprintf("batch: %d/%d lines written (%.0f%%), %d failed, %.2f req/s, %.0f tokens/s generated",
					n, total, 100*float64(n)/float64(total), failed, float64(ran)/el, float64(gen)/el)
				if ran > 0 {
					left := time.Duration(el/float64(ran)*float64(total-n)) * time.Second
					line += fmt.Sprintf(", about %s left", left.Round(time.Second))
				}
				fmt.Fprintln(out, line)
			}
		}
	}()
	return func() { close(stop); <-done }
}

// summary prints what the run did.
func (w *batchWriter) summary(out io.Writer, el time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ran := w.next - w.first
	fmt.Fprintf(out, "batch: %d lines written to %s in %s (%d failed); %d prompt and %d generated tokens, %.0f tokens/s generated\n",
		ran, filepath.Base(w.out.Name()), el.Round(time.Millisecond), w.failed, w.usage.PromptTokens, w.usage.CompletionTokens,
		float64(w.usage.CompletionTokens)/el.Seconds())
}
