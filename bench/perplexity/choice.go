package perplexity

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/nuri-ai/nuri/model"
)

// ErrBadChoiceTasks is returned for a multiple-choice task file that is not
// in llama.cpp's binary layout.
var ErrBadChoiceTasks = errors.New("not a multiple-choice task file")

// ChoiceTask is one multiple-choice task (ARC, MMLU, TruthfulQA's MC1 in
// llama.cpp's layout): a question, its answers, and which of them are
// right (Labels[i] == 1). llama.cpp's layout also carries a second answer
// set with several right answers (TruthfulQA's MC2), which it does not
// score; Extra keeps it so a file can be written back whole.
type ChoiceTask struct {
	Question string
	Answers  []string
	Labels   []int32
	Extra    ChoiceSet
}

// ChoiceSet is a set of answers and their labels.
type ChoiceSet struct {
	Answers []string
	Labels  []int32
}

// maxChoiceAnswers is llama.cpp's bound on a task's answers.
const maxChoiceAnswers = 100

// ReadChoiceTasks reads llama.cpp's binary multiple-choice layout
// (llama-perplexity --multiple-choice; ikawrakow's
// validation-datasets-for-llama.cpp): a little-endian uint32 task count,
// each task's byte offset (uint32), then the tasks, each its question, an
// answer set and a second answer set; a set is a uint32 count (at most
// 100), the answers, then as many int32 labels; a string is a uint32
// length and its bytes. Tasks are read in file order from their offsets.
func ReadChoiceTasks(r io.ReaderAt, size int64) ([]ChoiceTask, error) {
	rd := &choiceReader{r: r, size: size}
	n := rd.u32()
	if rd.err != nil || n == 0 {
		return nil, fmt.Errorf("%w: no task count", ErrBadChoiceTasks)
	}
	if int64(n) > (size-4)/4 {
		return nil, fmt.Errorf("%w: %d tasks do not fit %d bytes", ErrBadChoiceTasks, n, size)
	}
	offsets := make([]uint32, n)
	for i := range offsets {
		offsets[i] = rd.u32()
	}
	if rd.err != nil {
		return nil, fmt.Errorf("%w: the task offsets: %v", ErrBadChoiceTasks, rd.err)
	}
	tasks := make([]ChoiceTask, n)
	for i, off := range offsets {
		rd.off = int64(off)
		t := &tasks[i]
		t.Question = rd.str()
		t.Answers, t.Labels = rd.set()
		t.Extra.Answers, t.Extra.Labels = rd.set()
		if rd.err != nil {
			return nil, fmt.Errorf("%w: task %d at byte %d: %v", ErrBadChoiceTasks, i+1, off, rd.err)
		}
		if err := t.check(); err != nil {
			return nil, fmt.Errorf("%w: task %d: %v", ErrBadChoiceTasks, i+1, err)
		}
	}
	return tasks, nil
}

// check refuses what llama.cpp refuses: no question, no answers, an empty
// answer; and a task no answer of which is right, which could not be
// scored.
func (t *ChoiceTask) check() error {
	switch {
	case t.Question == "":
		return errors.New("no question")
	case len(t.Answers) == 0:
		return errors.New("no answers")
	case len(t.Labels) != len(t.Answers):
		return fmt.Errorf("%d answers, %d labels", len(t.Answers), len(t.Labels))
	}
	right := false
	for i, a := range t.Answers {
		if a == "" {
			return fmt.Errorf("answer %d is empty", i+1)
		}
		right = right || t.Labels[i] == 1
	}
	if !right {
		return errors.New("no answer is labelled right")
	}
	return nil
}

type choiceReader struct {
	r    io.ReaderAt
	size int64
	off  int64
	err  error
}

func (c *choiceReader) bytes(n int64) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || c.off+n > c.size {
		c.err = fmt.Errorf("%d bytes at %d run past the file's end (%d bytes)", n, c.off, c.size)
		return nil
	}
	b := make([]byte, n)
	if _, err := c.r.ReadAt(b, c.off); err != nil {
		c.err = err
		return nil
	}
	c.off += n
	return b
}

func (c *choiceReader) u32() uint32 {
	b := c.bytes(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (c *choiceReader) str() string { return string(c.bytes(int64(c.u32()))) }

func (c *choiceReader) set() ([]string, []int32) {
	n := c.u32()
	if c.err == nil && n > maxChoiceAnswers {
		c.err = fmt.Errorf("%d answers, more than %d", n, maxChoiceAnswers)
	}
	if c.err != nil {
		return nil, nil
	}
	answers := make([]string, n)
	for i := range answers {
		answers[i] = c.str()
	}
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(c.u32())
	}
	return answers, labels
}

// WriteChoiceTasks writes tasks in the layout ReadChoiceTasks reads, so a
// benchmark (a Korean one, say) can be converted for both programs.
func WriteChoiceTasks(w io.Writer, tasks []ChoiceTask) error {
	var body []byte
	offsets := make([]uint32, len(tasks))
	head := 4 + 4*len(tasks)
	for i, t := range tasks {
		if len(t.Labels) != len(t.Answers) || len(t.Extra.Labels) != len(t.Extra.Answers) {
			return fmt.Errorf("task %d: answers and labels differ in number", i+1)
		}
		if len(t.Answers) > maxChoiceAnswers || len(t.Extra.Answers) > maxChoiceAnswers {
			return fmt.Errorf("task %d: more than %d answers", i+1, maxChoiceAnswers)
		}
		if int64(head)+int64(len(body)) > math.MaxUint32 {
			return fmt.Errorf("task %d: past 4 GiB, which the layout's offsets cannot reach", i+1)
		}
		offsets[i] = uint32(head + len(body))
		body = appendString(body, t.Question)
		body = appendSet(body, t.Answers, t.Labels)
		body = appendSet(body, t.Extra.Answers, t.Extra.Labels)
	}
	out := binary.LittleEndian.AppendUint32(make([]byte, 0, head+len(body)), uint32(len(tasks)))
	for _, o := range offsets {
		out = binary.LittleEndian.AppendUint32(out, o)
	}
	if _, err := w.Write(append(out, body...)); err != nil {
		return fmt.Errorf("write tasks: %w", err)
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.LittleEndian.AppendUint32(b, uint32(len(s))), s...)
}

func appendSet(b []byte, answers []string, labels []int32) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(answers)))
	for _, a := range answers {
		b = appendString(b, a)
	}
	for _, l := range labels {
		b = binary.LittleEndian.AppendUint32(b, uint32(l))
	}
	return b
}

// ChoiceProgress is a run's state after a task.
type ChoiceProgress struct {
	Task, Tasks int
	Correct     int
	Accuracy    float64
	Elapsed     time.Duration
}

// ChoiceResult is a run's outcome.
type ChoiceResult struct {
	Tasks    int     `json:"tasks"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
	// StdErr is the accuracy's standard error, sqrt(p(1-p)/(n-1)); 0 for
	// one task.
	StdErr float64 `json:"stderr"`
	// Chance is what picking at random would score (tasks over answers),
	// with its standard error, as llama-perplexity reports it.
	Chance       float64 `json:"random_chance"`
	ChanceStdErr float64 `json:"random_chance_stderr"`
	// Picked is each task's chosen answer, Scores its answers' mean
	// log-probabilities per token.
	Picked  []int       `json:"picked"`
	Scores  [][]float64 `json:"scores"`
	Tokens  int         `json:"tokens_evaluated"`
	Seconds float64     `json:"seconds"`
}

// MultipleChoice scores tasks as llama-perplexity --multiple-choice does.
// Each answer is tokenized with its question, tokenize(question + " " +
// answer) (the BOS included where the model takes one), and scored by the
// mean log-probability of its tokens after the part all the task's
// sequences share; the highest mean (the first, on a tie) is the pick, and
// the task counts as right when the pick is labelled 1. The shared part is
// evaluated once a task. Every task must fit o.Ctx tokens.
func MultipleChoice(ctx context.Context, m model.Model, tasks []ChoiceTask, tokenize func(string) ([]int32, error), o Options, progress func(ChoiceProgress)) (*ChoiceResult, error) {
	if len(tasks) == 0 {
		return nil, fmt.Errorf("%w: no tasks", ErrBadChoiceTasks)
	}
	seqs := make([][][]int32, len(tasks))
	answers := 0
	for i, t := range tasks {
		if err := t.check(); err != nil {
			return nil, fmt.Errorf("%w: task %d: %v", ErrBadChoiceTasks, i+1, err)
		}
		answers += len(t.Answers)
		for s, a := range t.Answers {
			toks, err := tokenize(t.Question + " " + a)
			if err != nil {
				return nil, fmt.Errorf("task %d, answer %d: tokenize: %w", i+1, s+1, err)
			}
			if len(toks) < 2 {
				return nil, fmt.Errorf("task %d, answer %d: %d tokens, nothing to score", i+1, s+1, len(toks))
			}
			if len(toks) > o.Ctx {
				return nil, fmt.Errorf("task %d, answer %d: %d tokens do not fit a context of %d (raise --ctx-size)", i+1, s+1, len(toks), o.Ctx)
			}
			seqs[i] = append(seqs[i], toks)
		}
	}
	ev, err := newSpanEvaluator(m, o)
	if err != nil {
		return nil, err
	}
	defer ev.close()
	res := &ChoiceResult{Tasks: len(tasks), Picked: make([]int, len(tasks)), Scores: make([][]float64, len(tasks))}
	start := time.Now()
	for i, t := range tasks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		scores, n, err := ev.endings(seqs[i])
		if err != nil {
			return nil, fmt.Errorf("task %d: %w", i+1, err)
		}
		res.Tokens += n
		pick := bestScore(scores)
		res.Picked[i], res.Scores[i] = pick, scores
		if t.Labels[pick] == 1 {
			res.Correct++
		}
		if progress != nil {
			progress(ChoiceProgress{Task: i + 1, Tasks: len(tasks), Correct: res.Correct,
				Accuracy: float64(res.Correct) / float64(i+1), Elapsed: time.Since(start)})
		}
	}
	n := float64(len(tasks))
	res.Accuracy = float64(res.Correct) / n
	res.Chance = n / float64(answers)
	if len(tasks) > 1 {
		res.StdErr = math.Sqrt(res.Accuracy * (1 - res.Accuracy) / (n - 1))
		res.ChanceStdErr = math.Sqrt(res.Chance * (1 - res.Chance) / (n - 1))
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}
