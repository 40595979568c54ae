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

// ErrBadWinogrande is returned for a Winogrande task file that is not in
// llama.cpp's layout.
var ErrBadWinogrande = errors.New("not a Winogrande task file")

// WinograndeTask is one two-way fill-in task: the sentence around its
// blank, the two words that may fill it, and the right one (1 or 2).
type WinograndeTask struct {
	Before, After string
	Choices       [2]string
	Answer        int
}

// ReadWinogrande reads tasks in llama.cpp's CSV layout (llama-perplexity
// --winogrande; ikawrakow's winogrande-eval-for-llama.cpp): a line a task,
// "index,sentence,choice1,choice2,answer", the sentence in double quotes
// when it holds commas (the quotes are dropped, nothing inside them is
// unescaped, as there) and its blank written "_"; the answer is 1 or 2.
// A first line whose answer is not a number is taken for a header and
// skipped; blank lines are skipped; any other line that does not fit is
// an error naming it (llama.cpp skips such lines with a message).
func ReadWinogrande(r io.Reader) ([]WinograndeTask, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var tasks []WinograndeTask
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		t, err := winograndeLine(line)
		if err != nil {
			if n == 1 && len(tasks) == 0 && isHeader(line) {
				continue
			}
			return nil, fmt.Errorf("%w: line %d: %v", ErrBadWinogrande, n, err)
		}
		tasks = append(tasks, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read tasks: %w", err)
	}
	if len(tasks) == 0 {
		return nil, fmt.Errorf("%w: no tasks", ErrBadWinogrande)
	}
	return tasks, nil
}

// isHeader says whether a line has the five fields with a name, not an
// answer, in the last.
func isHeader(line string) bool {
	commas := fieldCommas(line)
	if len(commas) < 4 {
		return false
	}
	_, err := strconv.Atoi(strings.TrimSpace(line[commas[3]+1:]))
	return err != nil
}

// fieldCommas is the positions of a line's first four commas outside
// double quotes.
func fieldCommas(line string) []int {
	var commas []int
	quoted := false
	for i := 0; i < len(line) && len(commas) < 4; i++ {
		switch {
		case line[i] == '"':
			quoted = !quoted
		case line[i] == ',' && !quoted:
			commas = append(commas, i)
		}
	}
	return commas
}

func winograndeLine(line string) (WinograndeTask, error) {
	commas := fieldCommas(line)
	if len(commas) < 4 {
		return WinograndeTask{}, fmt.Errorf("want five fields (index, sentence, choice 1, choice 2, answer), found %d", len(commas)+1)
	}
	sentence := line[commas[0]+1 : commas[1]]
	if len(sentence) >= 2 && sentence[0] == '"' && sentence[len(sentence)-1] == '"' {
		sentence = sentence[1 : len(sentence)-1]
	}
	blank := strings.IndexByte(sentence, '_')
	if blank < 0 {
		return WinograndeTask{}, fmt.Errorf("the sentence %q has no blank (_)", sentence)
	}
	answer, err := strconv.Atoi(strings.TrimSpace(line[commas[3]+1:]))
	if err != nil || answer < 1 || answer > 2 {
		return WinograndeTask{}, fmt.Errorf("the answer must be 1 or 2, got %q", line[commas[3]+1:])
	}
	return WinograndeTask{
		Before:  sentence[:blank],
		After:   sentence[blank+1:],
		Choices: [2]string{line[commas[1]+1 : commas[2]], line[commas[2]+1 : commas[3]]},
		Answer:  answer,
	}, nil
}

// WinograndeProgress is a run's state after a task.
type WinograndeProgress struct {
	Task, Tasks int
	Correct     int
	Accuracy    float64
	// Scores are the task's two choices' scores, Picked the one taken (1
	// or 2), Answer the right one.
	Scores         [2]float64
	Picked, Answer int
	Elapsed        time.Duration
}

// WinograndeResult is a run's outcome.
type WinograndeResult struct {
	Tasks    int     `json:"tasks"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
	// StdErr is the accuracy's standard error, sqrt(p(1-p)/(n-1))
	// (llama-perplexity's "±"); 0 for one task.
	StdErr  float64      `json:"stderr"`
	Picked  []int        `json:"picked"`
	Scores  [][2]float64 `json:"scores"`
	Tokens  int          `json:"tokens_evaluated"`
	Seconds float64      `json:"seconds"`
}

// winograndeMinTrailing is llama.cpp's k_min_trailing_ctx: with more
// tokens than this after the choices part on both sides, only the text
// after the choice is scored.
const winograndeMinTrailing = 3

// Winogrande scores tasks as llama-perplexity --winogrande does. Each
// choice fills the blank, tokenize(before + choice + after) (the BOS
// included where the model takes one). When both sequences run on for
// more than three tokens after the part they share, a choice is scored by
// the mean log-probability of the tokens after tokenize(before + choice),
// the sentence's rest given the choice; otherwise by those after the
// shared part, the choice included. The last token (mostly the full stop)
// is left out of either when more than one would be scored. The higher
// score is the pick (the second on a tie, as there). Unlike llama.cpp,
// whose second sequence takes its logits one position late when the
// choice itself is scored, each token here is scored from the logits of
// the position before it.
func Winogrande(ctx context.Context, m model.Model, tasks []WinograndeTask, tokenize func(string) ([]int32, error), o Options, progress func(WinograndeProgress)) (*WinograndeResult, error) {
	if len(tasks) == 0 {
		return nil, fmt.Errorf("%w: no tasks", ErrBadWinogrande)
	}
	type prepared struct {
		seqs     [2][]int32
		from, to [2]int // the tokens scored: seqs[s][from[s]:to[s]]
	}
	prep := make([]prepared, len(tasks))
	for i, t := range tasks {
		p := &prep[i]
		var base [2]int
		for s, c := range t.Choices {
			toks, err := tokenize(t.Before + c + t.After)
			if err != nil {
				return nil, fmt.Errorf("task %d, choice %d: tokenize: %w", i+1, s+1, err)
			}
			if len(toks) > o.Ctx {
				return nil, fmt.Errorf("task %d, choice %d: %d tokens do not fit a context of %d (raise --ctx-size)", i+1, s+1, len(toks), o.Ctx)
			}
			head, err := tokenize(t.Before + c)
			if err != nil {
				return nil, fmt.Errorf("task %d, choice %d: tokenize: %w", i+1, s+1, err)
			}
			p.seqs[s], base[s] = toks, len(head)
		}
		p.from, p.to = winograndeRanges(p.seqs, base)
	}
	ev, err := newSpanEvaluator(m, o)
	if err != nil {
		return nil, err
	}
	defer ev.close()
	res := &WinograndeResult{Tasks: len(tasks), Picked: make([]int, len(tasks)), Scores: make([][2]float64, len(tasks))}
	start := time.Now()
	for i, p := range prep {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		scores, n, err := ev.spans(p.seqs, p.from, p.to)
		if err != nil {
			return nil, fmt.Errorf("task %d: %w", i+1, err)
		}
		res.Tokens += n
		pick := 2
		if scores[0] > scores[1] {
			pick = 1
		}
		res.Picked[i], res.Scores[i] = pick, scores
		if pick == tasks[i].Answer {
			res.Correct++
		}
		if progress != nil {
			progress(WinograndeProgress{Task: i + 1, Tasks: len(tasks), Correct: res.Correct, Accuracy: float64(res.Correct) / float64(i+1),
				Scores: scores, Picked: pick, Answer: tasks[i].Answer, Elapsed: time.Since(start)})
		}
	}
	res.Accuracy = float64(res.Correct) / float64(len(tasks))
	if len(tasks) > 1 {
		res.StdErr = math.Sqrt(res.Accuracy * (1 - res.Accuracy) / float64(len(tasks)-1))
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// winograndeRanges is the tokens each choice is scored on,
// seqs[s][from[s]:to[s]], given the length of each tokenize(before +
// choice), base[s]: llama.cpp's rule (Winogrande).
func winograndeRanges(seqs [2][]int32, base [2]int) (from, to [2]int) {
	common := sharedPrefix(seqs[0], seqs[1])
	skipChoice := len(seqs[0])-common > winograndeMinTrailing && len(seqs[1])-common > winograndeMinTrailing
	for s := range 2 {
		f := common
		if skipChoice {
			f = base[s]
		}
		f = max(f, 1) // the first token has no logits before it
		t := len(seqs[s])
		if t-f > 1 {
			t-- // the last token is left out
		}
		from[s], to[s] = f, t
	}
	return from, to
}

// sharedPrefix is the number of leading tokens a and b share.
func sharedPrefix(a, b []int32) int {
	k := 0
	for k < min(len(a), len(b)) && a[k] == b[k] {
		k++
	}
	return k
}

// spans scores two sequences: sequence s by the mean log-probability of
// its tokens from[s] to to[s]-1 (from[s] ≥ 1), each from the logits of
// the position before it; a sequence with none scores -Inf. The part the
// two share is evaluated once; each sequence's rest after it, up to the
// last position whose logits are wanted. It returns the scores and the
// tokens evaluated.
func (e *spanEvaluator) spans(seqs [2][]int32, from, to [2]int) ([2]float64, int, error) {
	// Position p's logits score token p+1 of a sequence when
	// from ≤ p+1 < to.
	var sums [2]float64
	add := func(s, p int, logits []float32) {
		if from[s] <= p+1 && p+1 < to[s] {
			sums[s] -= NLL(logits, seqs[s][p+1])
		}
	}
	split := min(sharedPrefix(seqs[0], seqs[1]), len(seqs[0])-1, len(seqs[1])-1)
	need := min(from[0], from[1]) - 1 // the first position whose logits count
	evaluated := 0
	if split > 0 {
		if err := e.span(seqs[0][:split], 0, max(need, 0), func(p int, logits []float32) {
			add(0, p, logits)
			add(1, p, logits)
		}); err != nil {
			return sums, 0, err
		}
		evaluated += split
	}
	for s, toks := range seqs {
		end := to[s] - 1 // past the last position whose logits count
		if end <= split {
			continue
		}
		if err := e.span(toks[split:end], split, max(split, from[s]-1), func(p int, logits []float32) {
			add(s, p, logits)
		}); err != nil {
			return sums, 0, fmt.Errorf("choice %d: %w", s+1, err)
		}
		evaluated += end - split
	}
	var scores [2]float64
	for s := range 2 {
		if n := to[s] - from[s]; n > 0 {
			scores[s] = sums[s] / float64(n)
		} else {
			scores[s] = math.Inf(-1)
		}
	}
	return scores, evaluated, nil
}
