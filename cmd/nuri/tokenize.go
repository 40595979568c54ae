package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nuri-ai/nuri/tokenizer"
	"golang.org/x/text/unicode/norm"
)

func init() {
	register(command{name: "tokenize", summary: "print the token ids of a text", run: runTokenize})
	register(command{name: "detokenize", summary: "print the text of token ids", run: runDetokenize})
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("nuri tokenize TEXT --pieces" works too); "--" ends flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		// fs.Parse stops at the first positional argument, or after "--".
		if len(args) > 0 && args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runTokenize(args []string, stdout, stderr io.Writer) error {
	return tokenizeCmd(args, os.Stdin, stdout, stderr)
}

func tokenizeCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "GGUF file whose tokenizer to use (a model or a vocab-only file)")
	noBOS := fs.Bool("no-bos", false, "do not add the BOS/EOS tokens the model asks for")
	special := fs.Bool("special", false, "parse special tokens written in TEXT (<|im_start|>, ...) and show their text")
	pieces := fs.Bool("pieces", false, "print one token per line: id, then its bytes quoted")
	var normalization tokenizer.Normalization
	addNormalizationFlag(fs, &normalization)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri tokenize --model M [--no-bos] [--special] [--pieces] [--unicode-normalization F] TEXT   (TEXT - reads stdin)")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagsError(err)
	}
	if *model == "" || len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	file, err := modelFile(*model)
	if err != nil {
		return err
	}
	*model = file
	text := pos[0]
	if text == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		text = string(b)
	}
	tk, err := loadTokenizer(*model, normalization)
	if err != nil {
		return err
	}
	ids, err := tk.Encode(text, !*noBOS, *special)
	if err != nil {
		return err
	}
	if normalization == tokenizer.NormNone && !norm.NFC.IsNormalString(text) {
		// The usual reason ids differ from Hugging Face's for such text.
		fmt.Fprintln(stderr, "note: the text is not in NFC (Hangul typed as jamo, a combining mark); Hugging Face's tokenizers normalize it first where the tokenizer.json says so, as Qwen's does: --unicode-normalization nfc")
	}
	if *pieces {
		for _, id := range ids {
			p, err := tk.Piece(id, *special)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(stdout, "%d\t%s\n", id, strconv.Quote(string(p))); err != nil {
				return err
			}
		}
		return nil
	}
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = strconv.Itoa(int(id))
	}
	_, err = fmt.Fprintln(stdout, strings.Join(strs, " "))
	return err
}

func runDetokenize(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("detokenize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "GGUF file whose tokenizer to use")
	special := fs.Bool("special", false, "render control tokens (<|im_end|>, ...) as their text")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri detokenize --model M [--special] IDS   (ids separated by spaces or commas; - reads stdin)")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagsError(err)
	}
	if *model == "" || len(pos) == 0 {
		fs.Usage()
		return errUsage
	}
	file, err := modelFile(*model)
	if err != nil {
		return err
	}
	*model = file
	list := strings.Join(pos, " ")
	if list == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		list = string(b)
	}
	ids, err := parseIDs(list)
	if err != nil {
		return err
	}
	tk, err := tokenizer.LoadFile(*model)
	if err != nil {
		return err
	}
	text, err := tk.Decode(ids, *special)
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(text, '\n'))
	return err
}

// parseIDs reads ids separated by spaces and/or commas; surrounding
// brackets (a pasted JSON or Python list) are ignored.
func parseIDs(s string) ([]int32, error) {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	if len(fields) == 0 {
		return nil, errors.New("no token ids given")
	}
	ids := make([]int32, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("token id %q: %w", f, err)
		}
		ids[i] = int32(v)
	}
	return ids, nil
}
