package perplexity

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/quant"
)

func TestChoiceTasksRoundTrip(t *testing.T) {
	tasks := []ChoiceTask{
		{Question: "Which is a fruit?", Answers: []string{"a chair", "an apple", "a cloud"}, Labels: []int32{0, 1, 0},
			Extra: ChoiceSet{Answers: []string{"an apple", "a pear"}, Labels: []int32{1, 1}}},
		{Question: "한국의 수도는?", Answers: []string{"서울", "부산"}, Labels: []int32{1, 0}},
	}
	var buf bytes.Buffer
	if err := WriteChoiceTasks(&buf, tasks); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	got, err := ReadChoiceTasks(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	tasks[1].Extra = ChoiceSet{Answers: []string{}, Labels: []int32{}} // an empty set reads back empty, not nil
	if !reflect.DeepEqual(got, tasks) {
		t.Fatalf("read back %+v, want %+v", got, tasks)
	}
	// The layout by hand: the count, the offsets, the first task's question.
	if n := binary.LittleEndian.Uint32(b); n != 2 {
		t.Fatalf("count %d", n)
	}
	off := binary.LittleEndian.Uint32(b[4:])
	if l := binary.LittleEndian.Uint32(b[off:]); off != 12 || string(b[off+4:off+4+l]) != "Which is a fruit?" {
		t.Fatalf("first task at %d: %q", off, b[off+4:])
	}

	corrupt := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, b...)) }
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no task count"},
		{"no tasks", []byte{0, 0, 0, 0}, "no task count"},
		{"a count past the file", []byte{0xff, 0xff, 0, 0, 1, 2}, "do not fit"},
		{"cut short", b[:len(b)-3], "task 2"},
		{"an offset past the end", corrupt(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 1<<30); return b }), "task 2 at byte 1073741824"},
		{"too many answers", corrupt(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[12+4+len("Which is a fruit?"):], 101)
			return b
		}), "more than 100"},
		{"no right answer", corrupt(func(b []byte) []byte {
			i := bytes.Index(b, []byte("부산")) + len("부산") // the labels follow the answers
			binary.LittleEndian.PutUint32(b[i:], 0)
			return b
		}), "no answer is labelled right"},
		{"an empty answer", corrupt(func(b []byte) []byte {
			i := bytes.Index(b, []byte("부산")) - 4
			binary.LittleEndian.PutUint32(b[i:], 0)
			return b
		}), "task 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadChoiceTasks(bytes.NewReader(tc.data), int64(len(tc.data)))
			if !errors.Is(err, ErrBadChoiceTasks) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrBadChoiceTasks with %q", err, tc.want)
			}
		})
	}
}

// Questions from a story with answers of different counts: the story's own
// continuation against shuffled words; a trained model picks it nearly
// always, and the figures add up.
func TestMultipleChoiceStory(t *testing.T) {
	m, tokenize := storiesTasks(t)
	tasks := []ChoiceTask{
		{Question: "Once upon a time, there was a little girl named Lily.", Answers: []string{"loved She to play outside.", "She loved to play outside."}, Labels: []int32{0, 1}},
		{Question: "One day, she saw a big red ball in the park.", Answers: []string{"She ran to the ball.", "ball the ran She to.", "to She ball ran the.", "the to ball She ran."}, Labels: []int32{1, 0, 0, 0}},
		{Question: "Lily was sad because she could not reach it.", Answers: []string{"came mom Her help to.", "help Her to came mom.", "Her mom came to help."}, Labels: []int32{0, 0, 1}},
	}
	var seen []ChoiceProgress
	res, err := MultipleChoice(context.Background(), m, tasks, tokenize, Options{Ctx: 128, Batch: 16, KVType: model.SameKV(quant.F16)}, func(p ChoiceProgress) { seen = append(seen, p) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d right, picked %v, scores %v", res.Correct, res.Tasks, res.Picked, res.Scores)
	if res.Correct != len(tasks) || len(seen) != len(tasks) || seen[2].Correct != res.Correct {
		t.Errorf("result %+v, progress %+v", res, seen)
	}
	if want := 3.0 / 9; math.Abs(res.Chance-want) > 1e-12 || math.Abs(res.ChanceStdErr-math.Sqrt(want*(1-want)/2)) > 1e-12 {
		t.Errorf("chance %v ± %v", res.Chance, res.ChanceStdErr)
	}
	for i, s := range res.Scores {
		if len(s) != len(tasks[i].Answers) {
			t.Errorf("task %d: %d scores", i+1, len(s))
		}
	}
	bad := []ChoiceTask{{Question: "q", Answers: []string{"a"}, Labels: []int32{0}}}
	if _, err := MultipleChoice(context.Background(), m, bad, tokenize, Options{Ctx: 128, KVType: model.SameKV(quant.F16)}, nil); !errors.Is(err, ErrBadChoiceTasks) {
		t.Errorf("a task with no right answer: %v", err)
	}
}
