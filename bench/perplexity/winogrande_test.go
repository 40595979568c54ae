package perplexity

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

func TestReadWinogrande(t *testing.T) {
	good := "index,sentence,option1,option2,answer\r\n" +
		"0,Sarah was a much better surgeon than Maria so _ always got the easier cases.,Sarah,Maria,2\r\n" +
		"\n" +
		`1,"The trophy doesn't fit, since _ is too big.",trophy,suitcase,1` + "\n" +
		"2,민수는 지수보다 키가 커서 _ 가 선반에 손이 닿았다.,민수,지수, 1\n"
	tasks, err := ReadWinogrande(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []WinograndeTask{
		{"Sarah was a much better surgeon than Maria so ", " always got the easier cases.", [2]string{"Sarah", "Maria"}, 2},
		{"The trophy doesn't fit, since ", " is too big.", [2]string{"trophy", "suitcase"}, 1},
		{"민수는 지수보다 키가 커서 ", " 가 선반에 손이 닿았다.", [2]string{"민수", "지수"}, 1},
	}
	if len(tasks) != len(want) {
		t.Fatalf("read %d tasks: %+v", len(tasks), tasks)
	}
	for i := range want {
		if tasks[i] != want[i] {
			t.Errorf("task %d: %+v, want %+v", i, tasks[i], want[i])
		}
	}
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "\n\n", "no tasks"},
		{"header only", "index,sentence,option1,option2,answer\n", "no tasks"},
		{"no blank", "0,A sentence.,a,b,1\n", "line 1"},
		{"answer out of range", "0,A _.,a,b,1\n1,A _.,a,b,3\n", "line 2"},
		{"too few fields", "0,A _.,a,b,1\n1,A _.,a\n", "line 2"},
		{"an unclosed quote hides the commas", "0,\"A _, b.,a,b,1\n", "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadWinogrande(strings.NewReader(tc.text))
			if !errors.Is(err, ErrBadWinogrande) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrBadWinogrande with %q", err, tc.want)
			}
		})
	}
}

// The tokens each choice is scored on: after the choice when both
// sentences run on past the shared part by more than three tokens, from
// the shared part otherwise; the last token left out unless it is the
// only one.
func TestWinograndeRanges(t *testing.T) {
	for _, tc := range []struct {
		name     string
		seqs     [2][]int32
		base     [2]int
		from, to [2]int
	}{
		{"long rest: the choice is skipped", [2][]int32{{1, 2, 3, 10, 11, 4, 5, 6, 7, 8}, {1, 2, 3, 12, 4, 5, 6, 7, 8}}, [2]int{5, 4}, [2]int{5, 4}, [2]int{9, 8}},
		{"short rest: the choice is scored", [2][]int32{{1, 2, 3, 10, 4, 5}, {1, 2, 3, 11, 4, 5}}, [2]int{4, 4}, [2]int{3, 3}, [2]int{5, 5}},
		{"one side short", [2][]int32{{1, 2, 10, 4, 5, 6, 7}, {1, 2, 11, 12}}, [2]int{3, 4}, [2]int{2, 2}, [2]int{6, 3}},
		{"the choice ends the sentence", [2][]int32{{1, 2, 10}, {1, 2, 11}}, [2]int{3, 3}, [2]int{2, 2}, [2]int{3, 3}},
		{"nothing shared, no BOS", [2][]int32{{10, 4}, {11, 4}}, [2]int{1, 1}, [2]int{1, 1}, [2]int{2, 2}},
	} {
		from, to := winograndeRanges(tc.seqs, tc.base)
		if from != tc.from || to != tc.to {
			t.Errorf("%s: from %v to %v, want %v %v", tc.name, from, to, tc.from, tc.to)
		}
	}
}

// Two sequences' scores, computed with their shared part evaluated once,
// are the mean log-probabilities llama.cpp's own logits give the scored
// tokens (the golden stories260K prompt is the first sequence), and a
// fresh evaluation of the other sequence gives its score.
func TestWinograndeSpansMatchLlamaCpp(t *testing.T) {
	path, prompt, ref, nv := goldenLongest(t, "stories260K")
	m := loadModel(t, path)
	n := len(prompt)
	k := n / 2
	other := prompt[(k+5)%n]
	if other == prompt[k] {
		other = prompt[(k+6)%n]
	}
	alt := append(append(append([]int32{}, prompt[:k]...), other), prompt[k+1:n-2]...)
	seqs := [2][]int32{alt, prompt} // the shorter first: the longer runs over its KV entries
	// Scored from inside the shared part for the prompt (as when the choice
	// is scored), after the choice for the other.
	from, to := [2]int{k + 1, k - 3}, [2]int{len(alt) - 1, n - 1}
	ev, err := newSpanEvaluator(m, Options{Ctx: n, Batch: 7, KVType: model.SameKV(quant.F16)})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.close()
	scores, evaluated, err := ev.spans(seqs, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := k + (to[0] - 1 - k) + (to[1] - 1 - k); evaluated != want {
		t.Errorf("evaluated %d tokens, want %d", evaluated, want)
	}
	var want float64
	for j := from[1]; j < to[1]; j++ {
		want += refLogProbs(ref[(j-1)*nv : j*nv])[prompt[j]]
	}
	want /= float64(to[1] - from[1])
	// As in TestHellaSwagEndingsMatchLlamaCpp: twice the logits' rel-RMS
	// bound (5e-4) times their RMS.
	sq := 0.0
	for _, v := range ref[(from[1]-1)*nv : (to[1]-1)*nv] {
		sq += float64(v) * float64(v)
	}
	tol := 2 * 5e-4 * math.Sqrt(sq/float64((to[1]-from[1])*nv))
	t.Logf("the golden sequence: %.7f, from llama.cpp's logits %.7f (bound %.2e)", scores[1], want, tol)
	if d := math.Abs(scores[1] - want); d > tol {
		t.Errorf("the golden sequence scored %.7f, llama.cpp's logits give %.7f (Δ %.2e > %.2e)", scores[1], want, d, tol)
	}
	fresh, err := newSpanEvaluator(m, Options{Ctx: n, Batch: n, KVType: model.SameKV(quant.F16)})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.close()
	sum := 0.0
	if err := fresh.span(alt[:to[0]-1], 0, from[0]-1, func(p int, logits []float32) { sum -= NLL(logits, alt[p+1]) }); err != nil {
		t.Fatal(err)
	}
	if w := sum / float64(to[0]-from[0]); math.Abs(scores[0]-w) > tol {
		t.Errorf("the other sequence scored %.7f, a fresh run %.7f", scores[0], w)
	}
	// Nothing to score: -Inf, and the pick goes to the other.
	if s, _, err := ev.spans(seqs, [2]int{3, 3}, [2]int{3, 5}); err != nil || !math.IsInf(s[0], -1) || math.IsInf(s[1], 0) {
		t.Errorf("an empty range: %v, %v", s, err)
	}
}

// Tasks made from a story: the blank holds a word of the story, the wrong
// choice a word that does not fit there; a trained model picks the story's
// word nearly always.
func TestWinograndeStory(t *testing.T) {
	m, tokenize := storiesTasks(t)
	tasks := []WinograndeTask{
		{"Once upon a time, there was a little ", " named Lily. She loved to play outside.", [2]string{"girl", "sky"}, 1},
		{"Lily saw a big red ", " in the park and she ran to kick it.", [2]string{"the", "ball"}, 2},
		{"She was very ", " because she could not find her toy.", [2]string{"sad", "tree"}, 1},
		{"Her mom gave her a big ", " and said she loved her very much.", [2]string{"hug", "happy"}, 1},
		{"Tom and his dog went to the ", " to play with a ball.", [2]string{"ran", "park"}, 2},
		{"The sun was shining and the birds were ", " in the sky.", [2]string{"flying", "and"}, 1},
	}
	var seen []WinograndeProgress
	res, err := Winogrande(context.Background(), m, tasks, tokenize, Options{Ctx: 128, Batch: 32, KVType: model.SameKV(quant.F16)}, func(p WinograndeProgress) { seen = append(seen, p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(tasks) || seen[len(seen)-1].Correct != res.Correct || res.Tasks != len(tasks) || res.Tokens == 0 {
		t.Fatalf("progress %+v, result %+v", seen, res)
	}
	t.Logf("%d of %d right, picked %v, scores %v", res.Correct, len(tasks), res.Picked, res.Scores)
	if res.Correct < len(tasks)-1 {
		t.Errorf("%d of %d right (picked %v, scores %v)", res.Correct, len(tasks), res.Picked, res.Scores)
	}
	if p := res.Accuracy; math.Abs(res.StdErr-math.Sqrt(p*(1-p)/float64(len(tasks)-1))) > 1e-12 {
		t.Errorf("stderr %v for accuracy %v", res.StdErr, p)
	}
	if _, err := Winogrande(context.Background(), m, tasks, tokenize, Options{Ctx: 8, KVType: model.SameKV(quant.F16)}, nil); err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Errorf("a context too small: %v", err)
	}
}
