package perplexity

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// baseMagic opens a base file (llama.cpp's --kl-divergence-base files
// start the same way).
const baseMagic = "_logits_"

// ErrBadBase reports a base file that is not one, or does not fit the
// model or options it is used with.
var ErrBadBase = errors.New("bad KL base file")

// BaseHeader is what a base file says before its rows: the chunk size,
// the vocabulary, the number of chunks and the tokens of all of them
// (Ctx × Chunks, as they were in the text: the BOS that replaced each
// chunk's first token is not stored).
type BaseHeader struct {
	Ctx, NVocab, Chunks int
	Tokens              []int32
}

// scoredPerChunk is how many positions of a chunk of ctx tokens are
// scored: Ctx/2 .. Ctx-2, each predicting the token after it.
func scoredPerChunk(ctx int) int { return ctx - 1 - ctx/2 }

// BaseWriter writes a base file: the header, then each chunk's rows in
// order.
type BaseWriter struct {
	w     *bufio.Writer
	buf   []byte
	words int // per row
	left  int // rows still to come
}

// NewBaseWriter writes h's header to w.
func NewBaseWriter(w io.Writer, h BaseHeader) (*BaseWriter, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	bw := &BaseWriter{w: bufio.NewWriterSize(w, 1<<20), words: rowWords(h.NVocab),
		left: h.Chunks * scoredPerChunk(h.Ctx)}
	head := make([]byte, 0, len(baseMagic)+12+4*len(h.Tokens))
	head = append(head, baseMagic...)
	head = binary.LittleEndian.AppendUint32(head, uint32(h.Ctx))
	head = binary.LittleEndian.AppendUint32(head, uint32(h.NVocab))
	head = binary.LittleEndian.AppendUint32(head, uint32(h.Chunks))
	for _, t := range h.Tokens {
		head = binary.LittleEndian.AppendUint32(head, uint32(t))
	}
	if _, err := bw.w.Write(head); err != nil {
		return nil, fmt.Errorf("write KL base header: %w", err)
	}
	return bw, nil
}

// WriteRows appends encoded rows (a whole number of rows).
func (b *BaseWriter) WriteRows(rows []uint16) error {
	n := len(rows) / b.words
	if n*b.words != len(rows) || n > b.left {
		return fmt.Errorf("write KL base: %d words are not whole rows of %d or pass the %d rows left", len(rows), b.words, b.left)
	}
	b.buf = b.buf[:0]
	for _, w := range rows {
		b.buf = binary.LittleEndian.AppendUint16(b.buf, w)
	}
	if _, err := b.w.Write(b.buf); err != nil {
		return fmt.Errorf("write KL base: %w", err)
	}
	b.left -= n
	return nil
}

// Close flushes the file's end; a base with rows missing is an error.
func (b *BaseWriter) Close() error {
	if err := b.w.Flush(); err != nil {
		return fmt.Errorf("write KL base: %w", err)
	}
	if b.left != 0 {
		return fmt.Errorf("KL base closed with %d rows not written", b.left)
	}
	return nil
}

func (h BaseHeader) check() error {
	switch {
	case h.Ctx < 4:
		return fmt.Errorf("%w: chunks of %d tokens (at least 4)", ErrBadBase, h.Ctx)
	case h.NVocab < 1 || h.NVocab > maxBaseVocab:
		return fmt.Errorf("%w: vocabulary of %d", ErrBadBase, h.NVocab)
	case h.Chunks < 1:
		return fmt.Errorf("%w: %d chunks", ErrBadBase, h.Chunks)
	case len(h.Tokens) != h.Ctx*h.Chunks:
		return fmt.Errorf("%w: %d tokens for %d chunks of %d", ErrBadBase, len(h.Tokens), h.Chunks, h.Ctx)
	}
	for i, t := range h.Tokens {
		if t < 0 || int(t) >= h.NVocab {
			return fmt.Errorf("%w: token %d at %d is outside the vocabulary of %d", ErrBadBase, t, i, h.NVocab)
		}
	}
	return nil
}

// BaseReader reads a base file's rows after its header.
type BaseReader struct {
	BaseHeader
	r     *bufio.Reader
	buf   []byte
	words int
}

// Bounds on a header's counts: far beyond any evaluation text (1 G
// tokens) and any vocabulary (16 M entries; today's largest are 256 k).
const (
	maxBaseTokens = 1 << 30
	maxBaseVocab  = 1 << 24
)

// NewBaseReader reads and checks the header.
func NewBaseReader(r io.Reader) (*BaseReader, error) {
	br := &BaseReader{r: bufio.NewReaderSize(r, 1<<20)}
	head := make([]byte, len(baseMagic)+12)
	if _, err := io.ReadFull(br.r, head); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrBadBase, err)
	}
	if string(head[:len(baseMagic)]) != baseMagic {
		return nil, fmt.Errorf("%w: does not start with %q", ErrBadBase, baseMagic)
	}
	u := func(i int) int { return int(int32(binary.LittleEndian.Uint32(head[len(baseMagic)+4*i:]))) }
	h := BaseHeader{Ctx: u(0), NVocab: u(1), Chunks: u(2)}
	if h.Ctx < 4 || h.Chunks < 1 || int64(h.Ctx)*int64(h.Chunks) > maxBaseTokens {
		return nil, fmt.Errorf("%w: %d chunks of %d tokens", ErrBadBase, h.Chunks, h.Ctx)
	}
	if h.NVocab < 1 || h.NVocab > maxBaseVocab {
		return nil, fmt.Errorf("%w: vocabulary of %d", ErrBadBase, h.NVocab)
	}
	// Read the tokens a piece at a time: memory grows with what the file
	// holds, not with what a damaged header claims.
	want := h.Ctx * h.Chunks
	raw := make([]byte, 4*min(want, 1<<16))
	for len(h.Tokens) < want {
		n := min(want-len(h.Tokens), len(raw)/4)
		if _, err := io.ReadFull(br.r, raw[:4*n]); err != nil {
			return nil, fmt.Errorf("%w: tokens: %v (the header says %d)", ErrBadBase, err, want)
		}
		for i := range n {
			h.Tokens = append(h.Tokens, int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	}
	if err := h.check(); err != nil {
		return nil, err
	}
	br.BaseHeader, br.words = h, rowWords(h.NVocab)
	return br, nil
}

// ReadRows fills rows (a whole number of rows) from the file.
func (b *BaseReader) ReadRows(rows []uint16) error {
	if len(rows)%b.words != 0 {
		return fmt.Errorf("read KL base: %d words are not whole rows of %d", len(rows), b.words)
	}
	if cap(b.buf) < 2*len(rows) {
		b.buf = make([]byte, 2*len(rows))
	}
	buf := b.buf[:2*len(rows)]
	if _, err := io.ReadFull(b.r, buf); err != nil {
		return fmt.Errorf("%w: rows: %v (the file ends early)", ErrBadBase, err)
	}
	for i := range rows {
		rows[i] = binary.LittleEndian.Uint16(buf[2*i:])
	}
	return nil
}
