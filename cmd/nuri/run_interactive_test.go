package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// converseCmd runs an interactive conversation over input and returns
// stdout and stderr. A reply written to out first goes through onWrite.
func converseCmd(t *testing.T, input string, sigs chan os.Signal, out *bytes.Buffer, args ...string) string {
	t.Helper()
	var errb bytes.Buffer
	c, err := parseRun(append([]string{"-m", testshared.Path(t, "models", "stories260K.gguf"), "-i", "--temp", "0", "--threads", "2"}, args...), &errb)
	if err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	if sigs == nil {
		sigs = make(chan os.Signal)
	}
	defer close(sigs)
	if err := converse(context.Background(), c, strings.NewReader(input), sigs, writerFunc(out.Write), &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	return errb.String()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestInteractive checks a conversation's turns against single --chat
// runs: the first turn's reply is the one-shot reply to the same prompt;
// after /undo and after /clear the same turn gets the same reply again;
// a second turn sees the first (its prompt holds it).
func TestInteractive(t *testing.T) {
	model := testshared.Path(t, "models", "stories260K.gguf")
	one, stderr, err := runCmd(t, "--model", model, "--chat", "--system", "Be kind.", "--prompt", "Tell me a story", "--temp", "0", "-n", "20")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var out bytes.Buffer
	errOut := converseCmd(t, "Tell me a story\nAnd then?\n/undo\n/undo\n/undo\nTell me a story\n/clear\nTell me a story\n/stats\nA long \\\nturn\n/bye\nnot read\n", nil, &out,
		"--system", "Be kind.", "-n", "20")
	replies := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	// Replies may hold newlines of their own: cut at the known first reply.
	first := strings.TrimSuffix(one, "\n")
	if !strings.HasPrefix(out.String(), first+"\n") {
		t.Fatalf("first reply differs from the one-shot --chat reply %q:\n%s", first, out.String())
	}
	if n := strings.Count(out.String(), first+"\n"); n != 3 {
		t.Errorf("the first turn's reply came %d times, want 3 (first, after /undo, after /clear):\n%s", n, out.String())
	}
	if len(replies) < 5 {
		t.Errorf("%d reply lines for 5 turns:\n%s", len(replies), out.String())
	}
	for _, want := range []string{"(your last turn and its reply are taken back)", "(nothing to take back)", "(the conversation is forgotten)", "generation:", "(max tokens (20))"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(out.String(), "not read") {
		t.Error("a line after /bye was read")
	}
}

// TestInteractiveInterrupt: an interrupt stops the reply being written and
// the conversation goes on; a turn too long for the context is refused
// and the conversation goes on too.
func TestInteractiveInterrupt(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	var once sync.Once
	var out bytes.Buffer
	w := func(p []byte) (int, error) {
		once.Do(func() { sigs <- os.Interrupt })
		return out.Write(p)
	}
	var errb bytes.Buffer
	c, err := parseRun([]string{"-m", testshared.Path(t, "models", "stories260K.gguf"), "-i", "--temp", "0", "--threads", "2", "--ctx-size", "256"}, &errb)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("and the dog ran ", 40)
	input := "Tell me a story\n" + long + "\nHi\n"
	err = converse(context.Background(), c, strings.NewReader(input), sigs, writerFunc(w), &errb)
	close(sigs)
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, want := range []string{"(stopped)", "does not fit in the context", "this turn alone does not fit the context"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	// The first reply stopped within a few tokens, not at the 256-token
	// context; "Hi" still got its reply after the refused turn.
	if lines := strings.Count(out.String(), "\n"); lines < 2 {
		t.Errorf("want two replies:\n%q", out.String())
	}
}

// TestInteractiveDropsOldTurns: once the history outgrows the context,
// the oldest exchanges go and the turn is answered.
func TestInteractiveDropsOldTurns(t *testing.T) {
	var out bytes.Buffer
	turn := strings.Repeat("the dog ran to the park ", 12) + "\n"
	errOut := converseCmd(t, strings.Repeat(turn, 6), nil, &out, "--ctx-size", "256", "-n", "16", "--system", "Be kind.")
	if !strings.Contains(errOut, "dropping its oldest exchanges") {
		t.Errorf("no exchange was dropped:\n%s", errOut)
	}
	if strings.Contains(errOut, "does not fit") {
		t.Errorf("a turn was refused:\n%s", errOut)
	}
	if n := strings.Count(errOut, "(max tokens (16))"); n != 6 {
		t.Errorf("%d of 6 turns answered in full:\n%s", n, errOut)
	}
}
