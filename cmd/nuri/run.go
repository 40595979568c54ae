package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/chat"
	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/kernels"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/sample"
	"github.com/nuri-ai/nuri/tokenizer"
)

func init() {
	register(command{name: "run", summary: "generate text from a prompt (streams to stdout), or converse with -i", run: runRun})
}

// runConfig is every run flag, validated.
type runConfig struct {
	model, prompt, system string
	normalization         tokenizer.Normalization // of input text (--unicode-normalization)
	chat, ignoreEOS       bool
	interactive           bool // a conversation on stdin (run_interactive.go)
	mlock                 bool // lock the process's memory once loaded (lockMemory)
	nPredict              int
	threads, nCtx         int
	kvType, kvTypeV       string // K's and V's cache types
	logLevel              string
	// llama-cli's flags taken as Nuri has them (addRunCompatFlags): what
	// to log at start, and what to warn of as not done.
	notes, warnings      []string
	stops                []string
	sampling             sample.Params
	samplers             *samplingFlags  // the sampler flags sampling was made from
	modelSampling        bool            // apply the GGUF's recommended sampling under the flags set
	setFlags             map[string]bool // the flags given on the command line
	json                 bool            // the reply is a JSON object
	jsonSchema           string          // file: the reply follows this JSON Schema
	grammar, grammarFile string          // the reply is a string of this GBNF grammar
	regex                string          // the reply matches this regular expression
	specTokens           int             // n-gram speculative decoding's drafts (0: off)
	prediction           string          // file: text the reply is expected to repeat (drafted from)
	thinkBudget          int             // --reasoning-budget (-1: none)
	thinkBudgetMessage   string
	draft                draftFlags
	lora                 []model.LoRA
	device               deviceFlags
}

func parseRun(args []string, stderr io.Writer) (*runConfig, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri run --model M --prompt TEXT [flags]   (or -i: converse, a turn a line of stdin)")
		fmt.Fprintln(stderr, "\nGenerates from the prompt and streams the text to stdout.")
		fs.PrintDefaults()
	}
	c := &runConfig{sampling: sample.DefaultParams()}
	sp := &c.sampling
	fs.StringVar(&c.model, "model", "", "GGUF model file (required)")
	fs.StringVar(&c.model, "m", "", "alias of --model")
	fs.StringVar(&c.prompt, "prompt", "", "prompt text (with --interactive: the first turn)")
	fs.StringVar(&c.prompt, "p", "", "alias of --prompt (llama-cli)")
	promptFile := fs.String("file", "", "read the prompt from this file instead (one trailing newline dropped, as llama-cli does)")
	fs.StringVar(promptFile, "f", "", "alias of --file (llama-cli)")
	fs.BoolVar(&c.chat, "chat", false, "render the prompt as a user message with the model's chat template")
	fs.BoolVar(&c.interactive, "interactive", false, "converse: each line of standard input is a user turn, answered with the history (implies --chat; /help lists the commands)")
	fs.BoolVar(&c.interactive, "i", false, "alias of --interactive")
	for _, n := range []string{"conversation", "cnv"} {
		fs.BoolVar(&c.interactive, n, false, "alias of --interactive (llama-cli's conversation mode)")
	}
	noConversation := false
	for _, n := range []string{"no-conversation", "no-cnv"} {
		fs.BoolVar(&noConversation, n, false, "llama-cli's flag, accepted: nuri run converses only with --interactive")
	}
	fs.StringVar(&c.system, "system", "", "system message (with --chat or --interactive)")
	fs.StringVar(&c.system, "sys", "", "alias of --system (llama-cli)")
	fs.StringVar(&c.system, "system-prompt", "", "alias of --system (llama-cli)")
	addNormalizationFlag(fs, &c.normalization)
	fs.IntVar(&c.nPredict, "n", -1, "tokens to generate (-1: until end of generation or a full context)")
	fs.IntVar(&c.nPredict, "n-predict", -1, "alias of -n (llama-cli)")
	c.samplers = addSamplingFlags(fs, *sp, "")
	fs.BoolVar(&c.modelSampling, "model-sampling", true, "take the sampler settings the model recommends (its general.sampling.* metadata, as llama.cpp does) for those flags not given")
	fs.Func("stop", "stop string (repeatable)", func(s string) error { c.stops = append(c.stops, s); return nil })
	fs.BoolVar(&c.mlock, "mlock", false, "lock the model in memory once loaded (llama.cpp's --mlock): the repacked weights and every page in memory, and the KV cache's pages as they fill, are never paged out; a refusal (RLIMIT_MEMLOCK) is a warning")
	fs.BoolVar(&c.ignoreEOS, "ignore-eos", false, "keep generating after end-of-generation tokens")
	fs.BoolVar(&c.json, "json", false, "constrain the reply to one JSON object, as response_format json_object")
	fs.StringVar(&c.jsonSchema, "json-schema", "", "JSON Schema file the reply must follow, as response_format json_schema")
	fs.StringVar(&c.grammar, "grammar", "", "GBNF grammar (llama.cpp's format) the reply must be a string of, as the server's grammar")
	fs.StringVar(&c.grammarFile, "grammar-file", "", "file holding such a grammar")
	fs.IntVar(&c.thinkBudget, "reasoning-budget", -1, "tokens a reply may think before </think> is forced (-1 no limit, 0 at once), as the server's flag")
	fs.StringVar(&c.thinkBudgetMessage, "reasoning-budget-message", "", "text forced before </think> when the budget is spent")
	fs.StringVar(&c.regex, "regex", "", "regular expression the whole reply must match, as the server's guided_regex")
	fs.IntVar(&c.threads, "threads", kernels.DefaultThreads(), "CPU threads, by default one per physical core this process may use")
	fs.IntVar(&c.threads, "t", kernels.DefaultThreads(), "alias of --threads (llama-cli)")
	fs.IntVar(&c.specTokens, "spec-ngram", 0, "speculative decoding by n-gram lookup: feed up to this many tokens that followed an earlier occurrence of the last few (0: off; the output is the same either way)")
	fs.StringVar(&c.prediction, "prediction", "", "file of text the reply is expected to repeat largely verbatim, as OpenAI's predicted outputs: drafted from (the output is the same either way)")
	addDraftFlags(fs, &c.draft)
	addLoRAFlags(fs, &c.lora)
	fs.IntVar(&c.nCtx, "ctx-size", 0, "context length (0: the model's)")
	fs.IntVar(&c.nCtx, "c", 0, "alias of --ctx-size (llama-cli)")
	fs.StringVar(&c.kvType, "kv-cache-type", engine.DefaultKVCacheType, "KV cache type of K and V: "+model.KVCacheTypeNames()+" (-ctk and -ctv give them apart)")
	llama := addLlamaFlags(fs)
	addRunCompatFlags(fs, &c.notes, &c.warnings)
	fs.StringVar(&c.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
	addDeviceFlags(fs, &c.device)
	if err := fs.Parse(bareOnOff(args)); err != nil {
		return nil, flagsError(err)
	}
	c.setFlags = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.setFlags[f.Name] = true })
	fail := func(format string, a ...any) (*runConfig, error) {
		return nil, usageError(fs, stderr, format, a...)
	}
	if err := llama.settleCommon(&c.kvType, &c.kvTypeV, &c.device, c.setFlags); err != nil {
		return fail("%v", err)
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected arguments %q", fs.Args())
	case c.model == "":
		return fail("--model is required")
	case c.threads <= 0 || c.nCtx < 0:
		return fail("--threads must be positive and --ctx-size not negative")
	case c.nPredict < -1:
		return fail("-n must be ≥ -1")
	case c.thinkBudget < -1:
		return fail("--reasoning-budget must be -1 (no limit) or more")
	case c.system != "" && !c.chat && !c.interactive:
		return fail("--system needs --chat or --interactive")
	case countSet(c.json, c.jsonSchema != "", c.grammar != "", c.grammarFile != "", c.regex != "") > 1:
		return fail("give one of --json, --json-schema, --grammar, --grammar-file and --regex")
	case c.device.name == "":
		return fail("--device must name a device (cpu, cuda:N, npu:N)")
	case *promptFile != "" && (c.setFlags["prompt"] || c.setFlags["p"]):
		return fail("give the prompt as --prompt or --file, not both")
	}
	if *promptFile != "" {
		text, err := readPromptFile(*promptFile)
		if err != nil {
			return nil, err
		}
		c.prompt = text
	}
	if _, err := c.device.kernelSet(); err != nil {
		return fail("%v", err)
	}
	if err := c.draft.check(c.specTokens); err != nil {
		return fail("%v", err)
	}
	// Every sampler flag applies, given or not (their defaults are
	// llama.cpp's); the model's recommendations replace those not given
	// when the model loads.
	if _, err := c.samplers.overlay(sp, func(string) bool { return true }); err != nil {
		return fail("%v", err)
	}
	return c, nil
}

// readPromptFile returns a prompt file's text less one trailing newline
// (LF or CRLF): an editor ends the file's last line with it, and it is not
// meant as part of the prompt (llama-cli's -f drops it too).
func readPromptFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read prompt file: %w", err)
	}
	text := string(b)
	if t, ok := strings.CutSuffix(text, "\r\n"); ok {
		return t, nil
	}
	return strings.TrimSuffix(text, "\n"), nil
}

func runRun(args []string, stdout, stderr io.Writer) error {
	c, err := parseRun(args, stderr)
	if err != nil {
		return err
	}
	if c.interactive {
		// Ctrl-C stops the reply being written, not the conversation.
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt)
		defer signal.Stop(sigs)
		return converse(context.Background(), c, os.Stdin, sigs, stdout, stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return generate(ctx, c, stdout, stderr)
}

// generate loads the model, runs one request through the engine and
// streams its text: the prompt as given (not with --chat), then the
// continuation. Timings go to stderr at the end.
func generate(ctx context.Context, c *runConfig, stdout, stderr io.Writer) error {
	ld, err := loadRun(c, stderr)
	if err != nil {
		return err
	}
	defer ld.close()
	tok, eng, dev, loadTime := ld.tok, ld.eng, ld.dev, ld.time

	ids, err := runPrompt(c, tok)
	if err != nil {
		return err
	}
	if c.nPredict == 0 {
		return nil
	}
	loopDone := make(chan error, 1)
	go func() { loopDone <- eng.Run(context.Background()) }()
	defer func() {
		eng.Close()
		<-loopDone
	}()
	req := engine.Request{Prompt: ids, Sampling: c.sampling, Stop: c.stops, IgnoreEOS: c.ignoreEOS}
	if req.Constraint, err = runConstraint(c, tok); err != nil {
		return err
	}
	req.Constraint = runThinkingBudget(c, tok, ids, req.Constraint)
	if c.prediction != "" {
		text, err := os.ReadFile(c.prediction)
		if err != nil {
			return fmt.Errorf("prediction: %w", err)
		}
		if req.Prediction, err = tok.Encode(string(text), false, false); err != nil {
			return fmt.Errorf("prediction %s: tokenize: %w", c.prediction, err)
		}
	}
	req.MaxTokens = max(c.nPredict, 0)
	st := runStats{load: loadTime, nPrompt: len(ids), start: time.Now()}
	seq, err := eng.Submit(ctx, req)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if !c.chat {
		if _, err := io.WriteString(stdout, c.prompt); err != nil {
			seq.Cancel()
			return fmt.Errorf("write output: %w", err)
		}
	}
	writeErr := streamText(seq, tok, c.prompt == "" && !c.chat, stdout, &st)
	if _, err := io.WriteString(stdout, "\n"); err != nil && writeErr == nil {
		writeErr = err
	}
	st.print(stderr)
	if es := eng.Stats(); es.SpecDraftTokens > 0 || es.DraftPasses > 0 {
		fmt.Fprintf(stderr, "drafts:     %10d fed, %d kept (%.1f %%), %d steps for %d tokens\n", es.SpecDraftTokens, es.SpecAcceptedTokens,
			100*float64(es.SpecAcceptedTokens)/float64(max(es.SpecDraftTokens, 1)), es.Steps, es.GenerationTokens)
		if es.DraftPasses > 0 {
			fmt.Fprintf(stderr, "draft model:%10d passes, %d tokens run\n", es.DraftPasses, es.DraftTokens)
		}
	}
	if u := st.final.Usage; len(req.Prediction) > 0 {
		fmt.Fprintf(stderr, "prediction: %10d tokens, %d of its drafts kept, %d not\n", len(req.Prediction), u.AcceptedPredictionTokens, u.RejectedPredictionTokens)
	}
	printSimTime(stderr, dev, st.nPrompt+max(st.nGen-1, 0)) // tokens fed to the model
	switch {
	case writeErr != nil:
		return fmt.Errorf("write output: %w", writeErr)
	case st.final.Finish == engine.FinishError:
		return st.final.Err
	}
	return nil
}

// runLoad is what nuri run loads before it generates.
type runLoad struct {
	log   *zap.Logger
	tok   *tokenizer.Tokenizer
	eng   *engine.Engine
	dev   backends.Device
	time  time.Duration
	close func() // closes the model and its device
}

// loadRun loads the tokenizer, the model on its device and an engine of
// one sequence.
func loadRun(c *runConfig, stderr io.Writer) (*runLoad, error) {
	log, err := stderrLogger(c.logLevel, stderr)
	if err != nil {
		return nil, err
	}
	for _, n := range c.notes {
		log.Info("flag taken as Nuri has it", zap.String("note", n))
	}
	for _, n := range c.warnings {
		log.Warn("flag taken, but what it asks for is not done", zap.String("note", n))
	}
	if err := c.resolveModel(log); err != nil {
		return nil, err
	}
	t0 := time.Now()
	tok, err := loadTokenizer(c.model, c.normalization)
	if err != nil {
		return nil, err
	}
	if c.modelSampling {
		f, err := gguf.Open(c.model)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", c.model, err)
		}
		d := modelSampling(f, log)
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("close %s: %w", c.model, err)
		}
		if applied := applySampling(&c.sampling, d, func(flag string) bool { return c.setFlags[flag] }); len(applied) > 0 {
			log.Info("sampling the model recommends", applied...)
		}
	}
	m, dev, closeModel, err := loadOnDevice(c.model, c.device, c.threads, c.nCtx, c.lora, log)
	if err != nil {
		return nil, err
	}
	ec := engine.Config{NCtx: c.nCtx, MaxNumSeqs: 1, KVCacheType: c.kvType, KVCacheTypeV: c.kvTypeV, SpecTokens: c.specTokens, Device: dev}
	closeDraft, err := c.draft.apply(&ec, tok, dev, c.threads, targetCtx(m, c.nCtx), log)
	if err != nil {
		return nil, errors.Join(err, closeModel())
	}
	closeAll := func() {
		if err := errors.Join(closeDraft(), closeModel()); err != nil {
			log.Warn("close model", zap.Error(err))
		}
	}
	eng, err := engine.New(ec, m, tok, log)
	if err != nil {
		closeAll()
		return nil, err
	}
	if c.mlock {
		lockMemory(log)
	}
	return &runLoad{log: log, tok: tok, eng: eng, dev: dev, time: time.Since(t0), close: closeAll}, nil
}

// runStats are the figures nuri run prints at the end.
type runStats struct {
	load               time.Duration
	nPrompt, nGen      int
	start, first, last time.Time
	final              engine.Event
}

// streamText writes the sequence's text to w as it arrives and records
// timings in st. With stripLead (no prompt text) the output starts the
// text, and the tokenizer's Decode drops an SPM leading space there
// (llama2.c prints it so too). A write error cancels the sequence; the
// stream is still drained so the final event is seen.
func streamText(seq *engine.Sequence, tok *tokenizer.Tokenizer, stripLead bool, w io.Writer, st *runStats) error {
	var writeErr error
	var firstID int32
	for ev := range seq.Events() {
		if len(ev.Tokens) > 0 {
			if st.nGen == 0 {
				st.first, firstID = time.Now(), ev.Tokens[0]
			}
			st.nGen += len(ev.Tokens)
			st.last = time.Now()
		}
		if stripLead && ev.Text != "" {
			stripLead = false
			ev.Text = stripDecodeSpace(tok, firstID, ev.Text)
		}
		if ev.Text != "" && writeErr == nil {
			if _, writeErr = io.WriteString(w, ev.Text); writeErr != nil {
				seq.Cancel()
			}
		}
		if ev.Finish != engine.FinishNone {
			st.final = ev
		}
	}
	return writeErr
}

// runPrompt tokenizes the prompt, through the chat template with --chat.
func runPrompt(c *runConfig, tok *tokenizer.Tokenizer) ([]int32, error) {
	if !c.chat {
		return tok.Encode(c.prompt, true, false)
	}
	r, err := chat.New(tok.ChatTemplate())
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	var msgs []chat.Message
	if c.system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: c.system})
	}
	msgs = append(msgs, chat.Message{Role: "user", Content: c.prompt})
	return renderChat(r, tok, msgs)
}

// renderChat renders a conversation for the model's next reply and
// tokenizes it.
func renderChat(r *chat.Renderer, tok *tokenizer.Tokenizer, msgs []chat.Message) ([]int32, error) {
	var opts chat.Options
	opts.AddGenerationPrompt = true
	bos, hasBOS := tok.BOS()
	if hasBOS {
		opts.BOSToken = tok.TokenText(bos)
	}
	if eos, ok := tok.EOS(); ok {
		opts.EOSToken = tok.TokenText(eos)
	}
	text, err := r.Render(msgs, opts)
	if err != nil {
		return nil, err
	}
	// A template that writes the BOS text itself must not get a second one.
	addBOS := !(hasBOS && opts.BOSToken != "" && strings.HasPrefix(text, opts.BOSToken))
	return tok.Encode(text, addBOS, true)
}

// stripDecodeSpace drops the leading space of text when tok's Decode of the
// first token drops it (SPM add_space_prefix).
func stripDecodeSpace(tok *tokenizer.Tokenizer, first int32, text string) string {
	p, err1 := tok.Piece(first, false)
	d, err2 := tok.Decode([]int32{first}, false)
	if err1 == nil && err2 == nil && len(p) == len(d)+1 && p[0] == ' ' {
		return strings.TrimPrefix(text, " ")
	}
	return text
}

// print reports load time and prompt and generation speed, in llama.cpp's
// terms: prompt time runs from Submit to the first token (it includes
// sampling that token), generation time from the first token to the last,
// over the tokens after the first.
func (st *runStats) print(w io.Writer) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rate := func(n int, d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d.Seconds()
	}
	fmt.Fprintf(w, "\nload time:  %10.2f ms\n", ms(st.load))
	if st.nGen > 0 {
		pt := st.first.Sub(st.start)
		fmt.Fprintf(w, "prompt:     %10.2f ms / %5d tokens (%8.2f t/s)\n", ms(pt), st.nPrompt, rate(st.nPrompt, pt))
		gt := st.last.Sub(st.first)
		fmt.Fprintf(w, "generation: %10.2f ms / %5d tokens (%8.2f t/s)\n", ms(gt), st.nGen-1, rate(st.nGen-1, gt))
	}
	if st.final.Finish != engine.FinishNone {
		fmt.Fprintf(w, "finish:     %s (%s)\n", st.final.Finish, st.final.Reason)
	}
}

// stderrLogger is a console logger at level on w.
func stderrLogger(level string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	enc := zap.NewDevelopmentEncoderConfig()
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), lvl)
	return zap.New(core), nil
}

// countSet is how many of flags are set.
func countSet(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}

// runThinkingBudget wraps the reply's constraint (nil for none) in
// --reasoning-budget's, whether the prompt ids opened the thinking or the
// reply does.
func runThinkingBudget(c *runConfig, tok *tokenizer.Tokenizer, ids []int32, inner func() sample.Constraint) func() sample.Constraint {
	if c.thinkBudget < 0 {
		return inner
	}
	prompt, err := tok.Decode(ids, true)
	tags, _ := chat.TemplateThinkTags(tok.ChatTemplate())
	open := err == nil && tags.Opened(string(prompt))
	v := sample.VocabFrom(tok)
	return func() sample.Constraint {
		var in sample.Constraint
		if inner != nil {
			in = inner()
		}
		return sample.ThinkingBudget(v, c.thinkBudget, c.thinkBudgetMessage, sample.ThinkTags{Open: tags.Open, Close: tags.Close}, open, in)
	}
}

// runConstraint is the output constraint of --json, --json-schema,
// --grammar(-file) or --regex, or nil.
func runConstraint(c *runConfig, tok *tokenizer.Tokenizer) (func() sample.Constraint, error) {
	grammar := func(what, src string, compile func(string) (*sample.Grammar, error)) (func() sample.Constraint, error) {
		g, err := compile(src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		v := sample.VocabFrom(tok)
		if g, err = g.Bind(v); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return func() sample.Constraint { return g.Constraint(v) }, nil
	}
	switch {
	case c.grammar != "":
		return grammar("--grammar", c.grammar, sample.CompileGBNF)
	case c.grammarFile != "":
		src, err := os.ReadFile(c.grammarFile)
		if err != nil {
			return nil, fmt.Errorf("read grammar: %w", err)
		}
		return grammar(c.grammarFile, string(src), sample.CompileGBNF)
	case c.regex != "":
		return grammar("--regex", c.regex, sample.CompileRegex)
	case c.json:
		v := sample.VocabFrom(tok)
		return func() sample.Constraint { return sample.NewJSON(v, true) }, nil
	case c.jsonSchema != "":
		src, err := os.ReadFile(c.jsonSchema)
		if err != nil {
			return nil, fmt.Errorf("read JSON schema: %w", err)
		}
		s, err := sample.CompileJSONSchema(src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.jsonSchema, err)
		}
		v := sample.VocabFrom(tok)
		return func() sample.Constraint { return s.Constraint(v) }, nil
	}
	return nil, nil
}
