package gguf

import (
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every error that describes malformed input.
var ErrCorrupt = errors.New("gguf: corrupt file")

// CorruptError says what is wrong with a file and where.
type CorruptError struct {
	Offset int64  // byte offset in the file where the problem was found
	Where  string // what was being read: "header", `key "general.name"`, `tensor "output.weight"`
	Msg    string
}

func (e *CorruptError) Error() string {
	if e.Where == "" {
		return fmt.Sprintf("gguf: corrupt file at byte %d: %s", e.Offset, e.Msg)
	}
	return fmt.Sprintf("gguf: corrupt file at byte %d (%s): %s", e.Offset, e.Where, e.Msg)
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func corruptf(off int64, where, format string, args ...any) error {
	return &CorruptError{Offset: off, Where: where, Msg: fmt.Sprintf(format, args...)}
}
