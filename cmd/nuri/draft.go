package main

import (
	"errors"
	"flag"
	"fmt"

	"go.uber.org/zap"

	"github.com/nuri-ai/nuri/backends"
	"github.com/nuri-ai/nuri/engine"
	"github.com/nuri-ai/nuri/model"
	"github.com/nuri-ai/nuri/tokenizer"
)

// draftFlags are serve's and run's flags for draft-model speculative
// decoding (llama-server's names).
type draftFlags struct {
	path string
	max  int
	pMin float64
}

func addDraftFlags(fs *flag.FlagSet, d *draftFlags) {
	fs.StringVar(&d.path, "draft-model", "", "smaller GGUF model of the same vocabulary that drafts tokens for the model to verify (speculative decoding; outputs are the same either way)")
	fs.StringVar(&d.path, "model-draft", "", "alias of --draft-model")
	fs.StringVar(&d.path, "md", "", "alias of --draft-model (llama.cpp)")
	fs.IntVar(&d.max, "draft-max", engine.DefaultDraftTokens, "the most tokens the draft model drafts a step")
	fs.Float64Var(&d.pMin, "draft-p-min", engine.DefaultDraftPMin, "stop a step's drafts at the first token the draft model gives less than this probability (0: never)")
}

// check validates the flags against n-gram drafting (--spec-ngram), the
// other source of drafts.
func (d draftFlags) check(specNgram int) error {
	switch {
	case d.path == "":
		return nil
	case specNgram > 0:
		return errors.New("give --spec-ngram or --draft-model, not both")
	case d.max < 1 || d.max > 32:
		return fmt.Errorf("--draft-max %d must be in [1, 32]", d.max)
	case d.pMin < 0 || d.pMin >= 1:
		return fmt.Errorf("--draft-p-min %v must be in [0, 1)", d.pMin)
	}
	return nil
}

// targetCtx is the context the engine gives the model m under
// --ctx-size nCtx: the draft model is loaded to take every position of it
// (past its own training context it drafts worse, but it drafts).
func targetCtx(m model.Model, nCtx int) int {
	if nCtx > 0 {
		return nCtx
	}
	return m.Config().NCtxTrain
}

// apply loads the draft model on dev for a context of nCtx positions,
// checks that its tokenizer means what tok does, and sets it into ec.
// The returned func closes it (before the device is closed). Without
// --draft-model it does nothing.
func (d draftFlags) apply(ec *engine.Config, tok *tokenizer.Tokenizer, dev backends.Device, threads, nCtx int, log *zap.Logger) (func() error, error) {
	if d.path == "" {
		return func() error { return nil }, nil
	}
	dtok, err := tokenizer.LoadFile(d.path)
	if err != nil {
		return nil, fmt.Errorf("load draft tokenizer from %s: %w", d.path, err)
	}
	if err := tok.CheckDraft(dtok); err != nil {
		return nil, fmt.Errorf("draft model %s: %w", d.path, err)
	}
	m, err := model.Load(d.path, model.LoadOptions{Device: dev, Threads: threads, NCtx: nCtx, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("load draft model %s on %s: %w", d.path, dev.Name(), err)
	}
	ec.Draft, ec.SpecTokens, ec.DraftPMin = m, d.max, d.pMin
	if d.pMin == 0 {
		ec.DraftPMin = -1 // the engine's "never"; its 0 is the default
	}
	return m.Close, nil
}
