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
	pending []byte // an incomplete UTF-8 sequence, at most 3 bytes
	buf     []byte
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
	p := d.t.piece(id, d.special)
	if len(p) == 0 {
		return "", nil
	}
	d.buf = append(append(d.buf[:0], d.pending...), p...)
	d.pending = d.pending[:0]
	return d.drain(false), nil
}

// Flush returns whatever is still held back, with an incomplete trailing
// sequence rendered as U+FFFD, and resets the decoder.
func (d *StreamDecoder) Flush() string {
	d.buf = append(d.buf[:0], d.pending...)
	d.pending = d.pending[:0]
	return d.drain(true)
}

// drain converts d.buf to valid UTF-8, keeping an incomplete tail in
// d.pending unless final.
func (d *StreamDecoder) drain(final bool) string {
	b := d.buf
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
			d.pending = append(d.pending, b[i:]...)
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
