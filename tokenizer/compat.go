package tokenizer

import "fmt"

// checkFromID is the first id whose text must agree between a model and
// its draft: vocabularies often differ in their first few control tokens
// (llama.cpp skips ids below 5 too).
const checkFromID = 5

// maxVocabDiff is how much two vocabularies that mean the same ids may
// differ in size (padding, a few added special tokens).
const maxVocabDiff = 128

// CheckDraft reports why a draft model's tokenizer d cannot propose
// tokens for a model with tokenizer t: the ids the two share must be the
// same tokens (same kind of tokenizer, the same begin and end tokens and
// whether they are added, the same text for every shared id from 5 on),
// and the vocabularies may differ in size by 128 at most.
func (t *Tokenizer) CheckDraft(d *Tokenizer) error {
	switch {
	case t.kind != d.kind:
		return fmt.Errorf("the draft's tokenizer is %s, the model's %s", d.kind, t.kind)
	case t.addBOS != d.addBOS || t.bos != d.bos:
		return fmt.Errorf("begin-of-text differs: the draft adds %v token %d, the model %v token %d", d.addBOS, d.bos, t.addBOS, t.bos)
	case t.addEOS != d.addEOS || t.eos != d.eos:
		return fmt.Errorf("end-of-text differs: the draft adds %v token %d, the model %v token %d", d.addEOS, d.eos, t.addEOS, t.eos)
	case t.nVocab-d.nVocab > maxVocabDiff || d.nVocab-t.nVocab > maxVocabDiff:
		return fmt.Errorf("vocabulary sizes differ by more than %d: the draft's %d, the model's %d", maxVocabDiff, d.nVocab, t.nVocab)
	}
	for id := checkFromID; id < min(t.nVocab, d.nVocab); id++ {
		if t.texts[id] != d.texts[id] {
			return fmt.Errorf("token %d is %q in the draft's vocabulary, %q in the model's", id, d.texts[id], t.texts[id])
		}
	}
	return nil
}
