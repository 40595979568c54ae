package tokenizer

import "unicode/utf8"

// StreamDecoder turns generated ids into text incrementally. Byte-level BPE
// tokens can end in the middle of a UTF-8 sequence (a Hangul syllable is
// three bytes and is often split across two tokens); the decoder holds such
// a tail back until the sequence completes, so every string it returns is
// valid UTF-8 and no character is ever emitted in halves or as U+FFFD
// while it can still complete. Bytes that can never form a valid sequence
// are emitted as U+FFFD as soon as that is certain.
//
// The output is the concatenation of the tokens' pieces (no SPM
// leading-space strip, no clean_spaces), as llama.cpp's server streams it.
// A StreamDecoder is not safe for concurrent use; use one per sequence.
type StreamDecoder struct {
	t       *Tokenizer
	special bool
	text    UTF8Stream
}

// NewStreamDecoder returns a decoder; special controls whether control
// tokens render their text (see Piece).
func (t *Tokenizer) NewStreamDecoder(special bool) *StreamDecoder {
	return &StreamDecoder{t: t, special: special}
}

// Push adds one token and returns the text that is now complete (possibly
// ""). An invalid id is an error and leaves the decoder unchanged.
func (d *StreamDecoder) Push(id int32) (string, error) {
	if err := d.t.check(id); err != nil {
		return "", err
	}
	return d.text.Push(d.t.piece(id, d.special)), nil
}

// Flush returns whatever is still held back, with an incomplete trailing
// sequence rendered as U+FFFD, and resets the decoder.
func (d *StreamDecoder) Flush() string { return d.text.Flush() }

// UTF8Stream assembles arbitrary byte pieces into valid UTF-8 text: an
// incomplete trailing sequence is held until the next piece completes it,
// and bytes that can never form a valid sequence become U+FFFD as soon as
// that is certain (byte by byte, so the result does not depend on how the
// bytes were split into pieces). The zero value is ready to use; it is not
// safe for concurrent use. StreamDecoder uses it, and so can anything that
// holds token bytes rather than ids (the engine).
type UTF8Stream struct {
	pending []byte // an incomplete UTF-8 sequence, at most 3 bytes
	buf     []byte
}

// Push adds a piece and returns the text that is now complete (possibly "").
func (u *UTF8Stream) Push(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	u.buf = append(append(u.buf[:0], u.pending...), p...)
	u.pending = u.pending[:0]
	return u.drain(false)
}

// Flush returns whatever is still held back, an incomplete trailing
// sequence rendered as U+FFFD, and resets the stream.
func (u *UTF8Stream) Flush() string {
	u.buf = append(u.buf[:0], u.pending...)
	u.pending = u.pending[:0]
	return u.drain(true)
}

// drain converts u.buf to valid UTF-8, keeping an incomplete tail in
// u.pending unless final.
func (u *UTF8Stream) drain(final bool) string {
	b := u.buf
	var out []byte
	start := 0 // b[start:i] is valid UTF-8 not yet copied
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || n != 1 {
			i += n
			continue
		}
		// Invalid or incomplete at i.
		if !final && validUTF8Prefix(b[i:]) {
			u.pending = append(u.pending, b[i:]...)
			if start == 0 && out == nil {
				return string(b[:i])
			}
			out = append(out, b[start:i]...)
			return string(out)
		}
		out = append(out, b[start:i]...)
		out = append(out, "\uFFFD"...)
		i++
		start = i
	}
	if out == nil {
		return string(b)
	}
	return string(append(out, b[start:]...))
}
