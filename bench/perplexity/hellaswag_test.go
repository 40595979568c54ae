package perplexity

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
	"github.com/nuri-ai/nuri/tokenizer"
)

func TestReadHellaSwag(t *testing.T) {
	good := "A man sits.\n2\nHe runs.\nHe eats.\nHe sleeps.\nHe reads.\n한 사람이 앉아 있다.\r\n0\r\n그는 달린다.\r\n그는 먹는다.\r\n그는 잔다.\r\n그는 읽는다.\r\n\n\n"
	tasks, err := ReadHellaSwag(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || tasks[0].Gold != 2 || tasks[0].Endings[3] != "He reads." || tasks[1].Context != "한 사람이 앉아 있다." || tasks[1].Endings[0] != "그는 달린다." {
		t.Fatalf("read %+v", tasks)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "\n\n", "no tasks"},
		{"cut short", "ctx\n1\na\nb\nc\nd\nctx2\n", "cut short"},
		{"index too large", "ctx\n4\na\nb\nc\nd\n", "line 2"},
		{"index not a number", "ctx\n0\na\nb\nc\nd\nctx\nx\na\nb\nc\nd\n", "line 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadHellaSwag(strings.NewReader(tc.text))
			if !errors.Is(err, ErrBadTasks) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrBadTasks with %q", err, tc.want)
			}
		})
	}
}

// An ending's score, computed with the shared part evaluated once and
// each ending after it, is the mean log-probability that llama.cpp's own
// logits give its tokens: the golden stories260K prompt is one ending,
// three others leave it at different points.
func TestHellaSwagEndingsMatchLlamaCpp(t *testing.T) {
	path, prompt, ref, nv := goldenLongest(t, "stories260K")
	m := loadModel(t, path)
	n := len(prompt)
	k := n / 2 // where the endings part
	seqs := [4][]int32{prompt}
	for s := 1; s < 4; s++ {
		// The same prefix, then a token of the prompt's own that differs
		// from what follows there, then the rest of the prompt.
		alt := append([]int32{}, prompt[:k]...)
		other := prompt[(k+7*s)%n]
		if other == prompt[k] {
			other = prompt[(k+7*s+1)%n]
		}
		alt = append(alt, other)
		seqs[s] = append(alt, prompt[k+1:n-s]...)
	}
	ev, err := newSpanEvaluator(m, Options{Ctx: n, Batch: 11, KVType: model.SameKV(quant.F16)})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.close()
	// The longest ending first, so the shorter ones run over KV entries a
	// longer one left: they must not see them.
	seqs[0], seqs[3] = seqs[3], seqs[0]
	scores, evaluated, err := ev.endings(seqs[:])
	if err != nil {
		t.Fatal(err)
	}
	if want := k + (len(seqs[0]) - 1 - k) + (len(seqs[1]) - 1 - k) + (len(seqs[2]) - 1 - k) + (len(seqs[3]) - 1 - k); evaluated != want {
		t.Errorf("evaluated %d tokens, want %d", evaluated, want)
	}
	var want float64
	for j := k; j < n; j++ {
		want += refLogProbs(ref[(j-1)*nv : j*nv])[prompt[j]]
	}
	want /= float64(n - k)
	// As in TestPerplexityMatchesLlamaCpp: a token's log-probability moves
	// by about twice the logits' rel-RMS bound (5e-4) times their RMS.
	sq := 0.0
	for _, v := range ref[(k-1)*nv : (n-1)*nv] {
		sq += float64(v) * float64(v)
	}
	tol := 2 * 5e-4 * math.Sqrt(sq/float64((n-k)*nv))
	t.Logf("the golden ending: %.7f, from llama.cpp's logits %.7f (bound %.2e)", scores[3], want, tol)
	if d := math.Abs(scores[3] - want); d > tol {
		t.Errorf("the golden prompt's ending scored %.7f, llama.cpp's logits give %.7f (Δ %.2e > %.2e)", scores[3], want, d, tol)
	}
	// The others, each against a fresh evaluation of its whole sequence.
	for s := range 3 {
		fresh, err := newSpanEvaluator(m, Options{Ctx: n, Batch: n, KVType: model.SameKV(quant.F16)})
		if err != nil {
			t.Fatal(err)
		}
		toks := seqs[s]
		sum := 0.0
		if err := fresh.span(toks[:len(toks)-1], 0, k-1, func(p int, logits []float32) { sum -= NLL(logits, toks[p+1]) }); err != nil {
			t.Fatal(err)
		}
		fresh.close()
		if got, w := scores[s], sum/float64(len(toks)-k); math.Abs(got-w) > tol {
			t.Errorf("ending %d scored %.7f, a fresh run of its sequence %.7f", s, got, w)
		}
	}
}

// On tasks made from a story, where the right ending is the text that
// follows and the others are the same words shuffled, a trained model
// picks the right one nearly always; the progress figures count them.
func TestHellaSwagStory(t *testing.T) {
	m, tokenize := storiesTasks(t)
	story := []string{
		"Once upon a time, there was a little girl named Lily.", "She loved to play outside in the sun.",
		"One day, she saw a big red ball in the park.", "She ran to the ball and kicked it very high.",
		"The ball went up into the sky and came down on a tree.", "Lily was sad because she could not reach it.",
		"Her mom came and helped her get the ball down.", "Lily said thank you and gave her mom a big hug.",
	}
	var tasks []HellaSwagTask
	for i := 0; i+1 < len(story); i++ {
		words := strings.Fields(story[i+1])
		gold := i % 4
		var task HellaSwagTask
		task.Context, task.Gold = story[i], gold
		for s := range 4 {
			if s == gold {
				task.Endings[s] = story[i+1]
				continue
			}
			w := append([]string{}, words...)
			for a := range w { // a fixed derangement-ish shuffle per distractor
				b := (a*(3+2*s) + s + i) % len(w)
				w[a], w[b] = w[b], w[a]
			}
			task.Endings[s] = strings.Join(w, " ")
		}
		tasks = append(tasks, task)
	}
	var seen []HellaSwagProgress
	res, err := HellaSwag(context.Background(), m, tasks, tokenize, Options{Ctx: 128, Batch: 64, KVType: model.SameKV(quant.F16)}, func(p HellaSwagProgress) { seen = append(seen, p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(tasks) || seen[len(seen)-1].Correct != res.Correct || res.Tasks != len(tasks) {
		t.Fatalf("progress %+v, result %+v", seen, res)
	}
	t.Logf("%d of %d right, picked %v", res.Correct, len(tasks), res.Picked)
	if res.Correct < len(tasks)-1 {
		t.Errorf("%d of %d right (picked %v, scores %v)", res.Correct, len(tasks), res.Picked, res.Scores)
	}
	if !(res.Low <= res.Accuracy && res.Accuracy <= res.High && res.Low >= 0 && res.High <= 1) {
		t.Errorf("accuracy %.3f outside its interval [%.3f, %.3f]", res.Accuracy, res.Low, res.High)
	}
	if _, err := HellaSwag(context.Background(), m, tasks, tokenize, Options{Ctx: 16, KVType: model.SameKV(quant.F16)}, nil); err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Errorf("a context too small: %v", err)
	}
}

// storiesTasks loads stories260K and a tokenizer for task texts: its BOS,
// then the text, as llama-perplexity tokenizes them.
func storiesTasks(t *testing.T) (model.Model, func(string) ([]int32, error)) {
	path := testshared.Path(t, "models", "stories260K.gguf")
	m := loadModel(t, path)
	tok, err := tokenizer.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return m, func(s string) ([]int32, error) {
		ids, err := tok.Encode(s, false, false)
		return append([]int32{1}, ids...), err
	}
}

// The Wilson interval at a few points (z = 1.96): 0 of 10, 5 of 10, 10 of
// 10, and one large sample where it nears p ± z·sqrt(p(1-p)/n).
func TestWilson(t *testing.T) {
	for _, tc := range []struct {
		k, n     int
		low, hig float64
	}{
		{0, 10, 0, 0.2775}, {5, 10, 0.2366, 0.7634}, {10, 10, 0.7225, 1}, {6000, 10000, 0.5904, 0.6096},
	} {
		lo, hi := wilson(tc.k, tc.n)
		if math.Abs(lo-tc.low) > 1e-4 || math.Abs(hi-tc.hig) > 1e-4 {
			t.Errorf("wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", tc.k, tc.n, lo, hi, tc.low, tc.hig)
		}
	}
}
