package perplexity

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nuri-ai/nuri/model"
)

// ErrBadTasks is returned for a HellaSwag task file that is not in
// llama.cpp's layout.
var ErrBadTasks = errors.New("not a HellaSwag task file")

// HellaSwagTask is one multiple-choice task: a context, four endings, and
// the index of the right one.
type HellaSwagTask struct {
	Context string
	Gold    int
	Endings [4]string
}

// ReadHellaSwag reads tasks in llama.cpp's layout (llama-perplexity
// --hellaswag; its hellaswag_val_full.txt): six lines a task, the
// context, the right ending's index (0-3), then the four endings. Blank
// lines after the last task are allowed; anything else that does not fit
// is an error naming its line.
func ReadHellaSwag(r io.Reader) ([]HellaSwagTask, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read tasks: %w", err)
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: no tasks", ErrBadTasks)
	}
	if len(lines)%6 != 0 {
		return nil, fmt.Errorf("%w: %d lines, not six a task (the last task is cut short)", ErrBadTasks, len(lines))
	}
	tasks := make([]HellaSwagTask, len(lines)/6)
	for i := range tasks {
		l := lines[6*i:]
		gold, err := strconv.Atoi(strings.TrimSpace(l[1]))
		if err != nil || gold < 0 || gold > 3 {
			return nil, fmt.Errorf("%w: line %d: the right ending's index must be 0-3, got %q", ErrBadTasks, 6*i+2, l[1])
		}
		tasks[i] = HellaSwagTask{Context: l[0], Gold: gold, Endings: [4]string{l[2], l[3], l[4], l[5]}}
	}
	return tasks, nil
}

// HellaSwagProgress is a run's state after a task.
type HellaSwagProgress struct {
	Task, Tasks int
	Correct     int
	// Accuracy is the running share right, with its 95 % Wilson score
	// interval (llama-perplexity's figures).
	Accuracy, Low, High float64
	Elapsed             time.Duration
}

// HellaSwagResult is a run's outcome.
type HellaSwagResult struct {
	Tasks    int     `json:"tasks"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
	Low      float64 `json:"ci95_low"`
	High     float64 `json:"ci95_high"`
	// Picked is each task's chosen ending, Scores its endings' mean
	// log-probabilities per token.
	Picked  []int        `json:"picked"`
	Scores  [][4]float64 `json:"scores"`
	Tokens  int          `json:"tokens_evaluated"`
	Seconds float64      `json:"seconds"`
}

// wilson is the 95 % Wilson score interval of k right out of n.
func wilson(k, n int) (low, high float64) {
	const z = 1.95996398454
	p, nf := float64(k)/float64(n), float64(n)
	d := 1 + z*z/nf
	mid := p + z*z/(2*nf)
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return (mid - half) / d, (mid + half) / d
}

// HellaSwag scores tasks as llama-perplexity --hellaswag does. Each
// ending is tokenized with its context, tokenize(context + " " +
// ending) (the BOS included where the model takes one), and scored by the
// mean log-probability of its tokens after the part the four sequences
// share; the highest mean (the first, on a tie) is the model's pick. The
// shared part is evaluated once a task, each ending after it. Every task
// must fit o.Ctx tokens; o.Batch caps a forward pass.
func HellaSwag(ctx context.Context, m model.Model, tasks []HellaSwagTask, tokenize func(string) ([]int32, error), o Options, progress func(HellaSwagProgress)) (*HellaSwagResult, error) {
	if len(tasks) == 0 {
		return nil, fmt.Errorf("%w: no tasks", ErrBadTasks)
	}
	// Tokenizing first: a task that does not fit fails before any work.
	seqs := make([][4][]int32, len(tasks))
	for i, t := range tasks {
		for s, e := range t.Endings {
			toks, err := tokenize(t.Context + " " + e)
			if err != nil {
				return nil, fmt.Errorf("task %d, ending %d: tokenize: %w", i+1, s, err)
			}
			if len(toks) < 2 {
				return nil, fmt.Errorf("task %d, ending %d: %d tokens, nothing to score", i+1, s, len(toks))
			}
			if len(toks) > o.Ctx {
				return nil, fmt.Errorf("task %d, ending %d: %d tokens do not fit a context of %d (raise --ctx-size)", i+1, s, len(toks), o.Ctx)
			}
			seqs[i][s] = toks
		}
	}
	ev, err := newSpanEvaluator(m, o)
	if err != nil {
		return nil, err
	}
	defer ev.close()
	res := &HellaSwagResult{Tasks: len(tasks), Picked: make([]int, len(tasks)), Scores: make([][4]float64, len(tasks))}
	start := time.Now()
	for i := range tasks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		scores, n, err := ev.endings(seqs[i][:])
		if err != nil {
			return nil, fmt.Errorf("task %d: %w", i+1, err)
		}
		res.Tokens += n
		pick := bestScore(scores)
		res.Picked[i], res.Scores[i] = pick, [4]float64(scores)
		if pick == tasks[i].Gold {
			res.Correct++
		}
		if progress != nil {
			lo, hi := wilson(res.Correct, i+1)
			progress(HellaSwagProgress{Task: i + 1, Tasks: len(tasks), Correct: res.Correct,
				Accuracy: float64(res.Correct) / float64(i+1), Low: lo, High: hi, Elapsed: time.Since(start)})
		}
	}
	res.Accuracy = float64(res.Correct) / float64(len(tasks))
	res.Low, res.High = wilson(res.Correct, len(tasks))
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// bestScore is the index of the highest score, the first on a tie.
func bestScore(scores []float64) int {
	pick := 0
	for s := 1; s < len(scores); s++ {
		if scores[s] > scores[pick] {
			pick = s
		}
	}
	return pick
}

// spanEvaluator runs token spans of one sequence at given positions, over
// one KV cache whose later positions each span overwrites.
type spanEvaluator struct {
	m      model.Model
	o      Options
	kv     model.KVView
	nVocab int
	batch  model.Batch
	out    []float32
}

func newSpanEvaluator(m model.Model, o Options) (*spanEvaluator, error) {
	if o.Batch <= 0 || o.Batch > o.Ctx {
		o.Batch = o.Ctx
	}
	cfg := m.Config()
	kv, err := sequenceKV(m, o)
	if err != nil {
		return nil, err
	}
	return &spanEvaluator{m: m, o: o, kv: kv, nVocab: cfg.NVocab,
		batch: model.Batch{Pos: make([]int32, 0, o.Batch), Seq: make([]int32, 0, o.Batch), Logits: make([]bool, 0, o.Batch)},
		out:   make([]float32, o.Batch*cfg.NVocab)}, nil
}

func (e *spanEvaluator) close() { freeKV(e.o, e.kv) }

// span evaluates toks at positions pos0.. and calls row(p, logits) for
// each position p from logitsFrom on.
func (e *spanEvaluator) span(toks []int32, pos0, logitsFrom int, row func(p int, logits []float32)) error {
	for lo := 0; lo < len(toks); lo += e.o.Batch {
		hi := min(lo+e.o.Batch, len(toks))
		b := &e.batch
		b.Tokens = toks[lo:hi]
		b.Pos, b.Seq, b.Logits = b.Pos[:0], b.Seq[:0], b.Logits[:0]
		n := 0
		for k := lo; k < hi; k++ {
			p := pos0 + k
			want := p >= logitsFrom
			b.Pos, b.Seq, b.Logits = append(b.Pos, int32(p)), append(b.Seq, 0), append(b.Logits, want)
			if want {
				n++
			}
		}
		if err := e.m.Forward(b, e.kv, e.out[:n*e.nVocab]); err != nil {
			return fmt.Errorf("positions %d..%d: %w", pos0+lo, pos0+hi-1, err)
		}
		r := 0
		for k := lo; k < hi; k++ {
			if p := pos0 + k; p >= logitsFrom {
				row(p, e.out[r*e.nVocab:(r+1)*e.nVocab])
				r++
			}
		}
	}
	return nil
}

// endings scores token sequences that share a prefix: each one's mean
// log-probability over its tokens after the shared part (at least one).
// It returns the scores and the tokens evaluated.
func (e *spanEvaluator) endings(seqs [][]int32) ([]float64, int, error) {
	common := len(seqs[0])
	for _, s := range seqs[1:] {
		common = min(common, sharedPrefix(s, seqs[0]))
	}
	for _, s := range seqs {
		common = min(common, len(s)-1) // every ending keeps a token to score
	}
	scores := make([]float64, len(seqs))
	if common < 1 {
		return scores, 0, errors.New("the endings share no first token to score them after (an empty context without a BOS?)")
	}
	var first []float32
	if err := e.span(seqs[0][:common], 0, common-1, func(_ int, logits []float32) {
		first = append(first[:0], logits...)
	}); err != nil {
		return scores, 0, err
	}
	evaluated := common
	for s, toks := range seqs {
		sum := -NLL(first, toks[common])
		// Position p's logits give token p+1; the last token is scored,
		// not evaluated.
		rest := toks[common : len(toks)-1]
		if err := e.span(rest, common, common, func(p int, logits []float32) {
			sum -= NLL(logits, toks[p+1])
		}); err != nil {
			return scores, 0, fmt.Errorf("ending %d: %w", s, err)
		}
		evaluated += len(rest)
		scores[s] = sum / float64(len(toks)-common)
	}
	return scores, evaluated, nil
}
