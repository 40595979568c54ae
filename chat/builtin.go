package chat

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Format names a built-in chat format written in Go.
type Format string

const (
	FormatChatML      Format = "chatml"
	FormatLlama3      Format = "llama3"
	FormatExaone3     Format = "exaone3"
	FormatExaone4     Format = "exaone4"
	FormatHyperCLOVAX Format = "hyperclovax"
)

// ErrUnknownTemplate is returned by Detect when no built-in format matches.
var ErrUnknownTemplate = errors.New("chat template not recognised")

// ErrRole is returned when a built-in format cannot render a role.
var ErrRole = errors.New("role not supported by this chat format")

// formatAliases maps names a user may give to built-in formats: Kanana and
// Mi:dm 2.0 use Llama 3's headers.
var formatAliases = map[string]Format{
	"chatml":      FormatChatML,
	"llama3":      FormatLlama3,
	"kanana":      FormatLlama3,
	"midm":        FormatLlama3,
	"exaone3":     FormatExaone3,
	"exaone4":     FormatExaone4,
	"hyperclovax": FormatHyperCLOVAX,
}

func lookupFormat(name string) (Format, bool) {
	f, ok := formatAliases[strings.ToLower(name)]
	return f, ok
}

// FormatNames lists the names NewBuiltin accepts.
func FormatNames() []string {
	out := make([]string, 0, len(formatAliases))
	for k := range formatAliases {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Detect applies llama.cpp's template detection rules, in its order, and
// returns the built-in format for the Korean-model families Nuri supports.
// Families llama.cpp recognises earlier in its list (Mistral, Phi, Gemma,
// ...) are reported as unsupported rather than misread as a later family.
func Detect(src string) (Format, error) {
	has := func(s string) bool { return strings.Contains(src, s) }
	if has("<|im_start|>") {
		switch {
		case has("<|im_sep|>"):
			return "", fmt.Errorf("%w: phi4 format is not built in", ErrUnknownTemplate)
		case has("<end_of_utterance>"):
			return "", fmt.Errorf("%w: smolvlm format is not built in", ErrUnknownTemplate)
		}
		return FormatChatML, nil
	}
	others := []struct {
		name  string
		marks []string
	}{
		{"mistral/llama2", []string{"[INST]"}},
		{"phi3", []string{"<|assistant|>", "<|end|>"}},
		{"chatglm4", []string{"[gMASK]<sop>"}},
		{"chatglm/glmedge", []string{"<|assistant|>", "<|user|>"}},
		{"zephyr", []string{"<|user|>", "<|endoftext|>"}},
		{"gemma", []string{"<start_of_turn>"}},
		{"vicuna/orion", []string{"USER: ", "ASSISTANT: "}},
		{"command-r", []string{"<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>"}},
	}
	for _, o := range others {
		all := true
		for _, m := range o.marks {
			all = all && has(m)
		}
		if all {
			return "", fmt.Errorf("%w: %s format is not built in", ErrUnknownTemplate, o.name)
		}
	}
	if has("<|start_header_id|>") && has("<|end_header_id|>") {
		return FormatLlama3, nil
	}
	if has("[|system|]") && has("[|assistant|]") && has("[|endofturn|]") {
		if has("[|tool|]") {
			return FormatExaone4, nil
		}
		return FormatExaone3, nil
	}
	return "", ErrUnknownTemplate
}

// renderBuiltin writes msgs in format f. Like llama.cpp's builtins it never
// writes BOS: the tokenizer adds it when the model wants one.
func renderBuiltin(f Format, msgs []Message, addGenerationPrompt bool) (string, error) {
	var b strings.Builder
	for i, m := range msgs {
		if err := writeTurn(&b, f, m); err != nil {
			return "", fmt.Errorf("message %d: %w", i, err)
		}
	}
	if addGenerationPrompt {
		switch f {
		case FormatChatML, FormatHyperCLOVAX:
			b.WriteString("<|im_start|>assistant\n")
		case FormatLlama3:
			b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
		case FormatExaone3, FormatExaone4:
			b.WriteString("[|assistant|]")
		}
	}
	return b.String(), nil
}

// trim strips ASCII whitespace, as llama.cpp's builtins do.
func trim(s string) string { return strings.Trim(s, " \t\n\r\v\f") }

func writeTurn(b *strings.Builder, f Format, m Message) error {
	switch f {
	case FormatChatML, FormatHyperCLOVAX:
		// content is not trimmed in ChatML
		b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
	case FormatLlama3:
		b.WriteString("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n" + trim(m.Content) + "<|eot_id|>")
	case FormatExaone3, FormatExaone4:
		c := trim(m.Content)
		switch {
		case m.Role == "system":
			b.WriteString("[|system|]" + c + "[|endofturn|]\n")
		case m.Role == "user":
			b.WriteString("[|user|]" + c + "\n")
		case m.Role == "assistant":
			b.WriteString("[|assistant|]" + c + "[|endofturn|]\n")
		case m.Role == "tool" && f == FormatExaone4:
			b.WriteString("[|tool|]" + c + "[|endofturn|]\n")
		default:
			return fmt.Errorf("%w: %q in %s", ErrRole, m.Role, f)
		}
	default:
		return fmt.Errorf("unknown chat format %q", f)
	}
	return nil
}
