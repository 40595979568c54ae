package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
)

// interactiveHelp lists the commands a conversation takes.
const interactiveHelp = `Each line is your turn; end a line with \ to go on on the next one.
  /clear   forget the conversation (the system message stays)
  /undo    take back your last turn and its reply
  /stats   show each reply's speed (again to hide)
  /bye     end (so does the end of input, Ctrl-D)
Ctrl-C stops a reply being written.`

// converse runs nuri run --interactive: a conversation with the model,
// each line of in a user turn, each reply streamed to stdout with the
// whole history rendered through the chat template (the engine's prefix
// cache keeps the earlier turns' KV, so a turn computes only its own
// tokens). Prompts and notices go to stderr, so stdout holds the replies
// alone. An interrupt on sigs stops the reply in progress; at the prompt
// the end of input ends the conversation.
func converse(ctx context.Context, c *runConfig, in io.Reader, sigs <-chan os.Signal, stdout, stderr io.Writer) error {
	ld, err := loadRun(c, stderr)
	if err != nil {
		return err
	}
	defer ld.close()
	r, err := chat.New(ld.tok.ChatTemplate())
	if err != nil {
		return fmt.Errorf("chat template: %w", err)
	}
	loopDone := make(chan error, 1)
	go func() { loopDone <- ld.eng.Run(context.Background()) }()
	defer func() {
		ld.eng.Close()
		<-loopDone
	}()

	// The reply in progress, if any, for the interrupt handler.
	var mu sync.Mutex
	var stopReply context.CancelFunc
	go func() {
		for range sigs {
			mu.Lock()
			if stopReply != nil {
				stopReply()
			} else {
				// At the prompt: say how to leave rather than leave, so
				// a Ctrl-C meant for a reply that just ended loses nothing.
				fmt.Fprint(stderr, "\n(Ctrl-C stops a reply; /bye or Ctrl-D ends the conversation)\n> ")
			}
			mu.Unlock()
		}
	}()

	var history []chat.Message
	if c.system != "" {
		history = append(history, chat.Message{Role: "system", Content: c.system})
	}
	keep := len(history) // what /clear leaves
	showStats := false
	fmt.Fprintf(stderr, "%s loaded in %v. /help lists the commands.\n", c.model, ld.time.Round(time.Millisecond))
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 64<<10), 16<<20)
	first := c.prompt
	for {
		var turn string
		if first != "" {
			turn, first = first, ""
			fmt.Fprintf(stderr, "> %s\n", turn)
		} else {
			var ok bool
			if turn, ok = readTurn(lines, stderr); !ok {
				fmt.Fprintln(stderr)
				return lines.Err()
			}
		}
		switch strings.TrimSpace(turn) {
		case "":
			continue
		case "/bye", "/exit", "/quit":
			return nil
		case "/help", "/?":
			fmt.Fprintln(stderr, interactiveHelp)
			continue
		case "/clear":
			history = history[:keep]
			fmt.Fprintln(stderr, "(the conversation is forgotten)")
			continue
		case "/undo":
			if len(history) >= keep+2 {
				history = history[:len(history)-2]
				fmt.Fprintln(stderr, "(your last turn and its reply are taken back)")
			} else {
				fmt.Fprintln(stderr, "(nothing to take back)")
			}
			continue
		case "/stats":
			showStats = !showStats
			continue
		}
		if strings.HasPrefix(turn, "/") && !strings.Contains(turn, " ") {
			fmt.Fprintf(stderr, "unknown command %s; /help lists them (start a line with a space to say it)\n", turn)
			continue
		}
		history = append(history, chat.Message{Role: "user", Content: turn})
		reply, st, err := replyTurn(ctx, c, ld, r, history, &mu, &stopReply, stdout)
		// A conversation that outgrew the context loses its oldest
		// exchanges, as chat front ends do, while a single turn that does
		// not fit is refused.
		for dropped := false; errors.Is(err, engine.ErrPromptTooLong) && len(history) >= keep+3; dropped = true {
			if !dropped {
				fmt.Fprintln(stderr, "(the conversation outgrew the context: dropping its oldest exchanges)")
			}
			history = append(history[:keep], history[keep+2:]...)
			reply, st, err = replyTurn(ctx, c, ld, r, history, &mu, &stopReply, stdout)
		}
		if err != nil {
			history = history[:len(history)-1]
			if errors.Is(err, errWrite) {
				return err
			}
			fmt.Fprintf(stderr, "nuri run: %v\n", err)
			if errors.Is(err, engine.ErrPromptTooLong) {
				fmt.Fprintln(stderr, "(this turn alone does not fit the context: shorten it or use a larger --ctx-size)")
			}
			continue
		}
		history = append(history, chat.Message{Role: "assistant", Content: reply})
		switch st.final.Finish {
		case engine.FinishCancelled:
			fmt.Fprintln(stderr, "(stopped)")
		case engine.FinishLength:
			fmt.Fprintf(stderr, "(%s)\n", st.final.Reason)
		case engine.FinishError:
			fmt.Fprintf(stderr, "nuri run: %v\n", st.final.Err)
		}
		if showStats {
			st.print(stderr)
		}
	}
}

// errWrite marks a failed write to stdout: the conversation ends.
var errWrite = errors.New("write output")

// readTurn reads one user turn: a line, or several joined where each but
// the last ends in a backslash. It reports false at the end of input.
func readTurn(lines *bufio.Scanner, stderr io.Writer) (string, bool) {
	fmt.Fprint(stderr, "> ")
	var parts []string
	for lines.Scan() {
		line := lines.Text()
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			parts = append(parts, cont)
			fmt.Fprint(stderr, ". ")
			continue
		}
		return strings.Join(append(parts, line), "\n"), true
	}
	if len(parts) > 0 {
		return strings.Join(parts, "\n"), true
	}
	return "", false
}

// replyTurn renders the conversation, streams the model's reply to stdout
// and returns its text. The reply can be stopped through *stop while it
// runs.
func replyTurn(ctx context.Context, c *runConfig, ld *runLoad, r *chat.Renderer, history []chat.Message,
	mu *sync.Mutex, stop *context.CancelFunc, stdout io.Writer) (string, *runStats, error) {
	ids, err := renderChat(r, ld.tok, history)
	if err != nil {
		return "", nil, fmt.Errorf("render the conversation: %w", err)
	}
	req := engine.Request{Prompt: ids, Sampling: c.sampling, Stop: c.stops, IgnoreEOS: c.ignoreEOS, MaxTokens: max(c.nPredict, 0)}
	if req.Constraint, err = runConstraint(c, ld.tok); err != nil {
		return "", nil, err
	}
	req.Constraint = runThinkingBudget(c, ld.tok, ids, req.Constraint)
	turnCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	mu.Lock()
	*stop = cancel
	mu.Unlock()
	defer func() {
		mu.Lock()
		*stop = nil
		mu.Unlock()
	}()
	st := &runStats{load: ld.time, nPrompt: len(ids), start: time.Now()}
	seq, err := ld.eng.Submit(turnCtx, req)
	if err != nil {
		return "", nil, err
	}
	var text strings.Builder
	w := io.MultiWriter(stdout, &text)
	if err := streamText(seq, ld.tok, true, w, st); err != nil {
		return "", nil, fmt.Errorf("%w: %v", errWrite, err)
	}
	if _, err := io.WriteString(stdout, "\n"); err != nil {
		return "", nil, fmt.Errorf("%w: %v", errWrite, err)
	}
	return text.String(), st, nil
}
