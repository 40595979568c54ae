package perplexity

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestBaseFileRoundTrip(t *testing.T) {
	h := BaseHeader{Ctx: 6, NVocab: 5, Chunks: 2, Tokens: []int32{1, 2, 3, 4, 0, 1, 1, 4, 4, 3, 2, 0}}
	var buf bytes.Buffer
	w, err := NewBaseWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	words := rowWords(h.NVocab)  // 10: 4 + 5 + 1 padding
	per := scoredPerChunk(h.Ctx) // positions 3 and 4
	if words != 10 || per != 2 {
		t.Fatalf("row words %d, scored %d: want 10, 2", words, per)
	}
	var rows []uint16
	for i := range h.Chunks * per * words {
		rows = append(rows, uint16(i*7919))
	}
	for c := range h.Chunks {
		if err := w.WriteRows(rows[c*per*words : (c+1)*per*words]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteRows(rows[:words]); err == nil {
		t.Error("a row past the header's count was taken")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// The layout, byte by byte: magic, three int32, the tokens, the rows.
	if want := 8 + 12 + 4*len(h.Tokens) + 2*len(rows); buf.Len() != want {
		t.Fatalf("file of %d bytes, want %d", buf.Len(), want)
	}
	raw := buf.Bytes()
	if string(raw[:8]) != "_logits_" || binary.LittleEndian.Uint32(raw[8:]) != 6 || binary.LittleEndian.Uint32(raw[12:]) != 5 || binary.LittleEndian.Uint32(raw[16:]) != 2 {
		t.Fatalf("header % x", raw[:20])
	}
	r, err := NewBaseReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if r.Ctx != h.Ctx || r.NVocab != h.NVocab || r.Chunks != h.Chunks || !slices.Equal(r.Tokens, h.Tokens) {
		t.Fatalf("header %+v, want %+v", r.BaseHeader, h)
	}
	got := make([]uint16, len(rows))
	if err := r.ReadRows(got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, rows) {
		t.Error("rows changed on the way through the file")
	}
	if err := r.ReadRows(got[:words]); !errors.Is(err, ErrBadBase) {
		t.Errorf("reading past the end: %v, want ErrBadBase", err)
	}
}

func TestBaseWriterMissingRows(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewBaseWriter(&buf, BaseHeader{Ctx: 4, NVocab: 3, Chunks: 1, Tokens: []int32{0, 1, 2, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRows(make([]uint16, 3)); err == nil {
		t.Error("a part of a row was taken")
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "not written") {
		t.Errorf("closing with a row missing: %v", err)
	}
}

func TestBaseReaderRejects(t *testing.T) {
	good := func() []byte {
		var buf bytes.Buffer
		w, err := NewBaseWriter(&buf, BaseHeader{Ctx: 4, NVocab: 3, Chunks: 1, Tokens: []int32{0, 1, 2, 0}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteRows(make([]uint16, rowWords(3))); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	put := func(b []byte, off int, v uint32) []byte {
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"empty", nil},
		{"not a base file", append([]byte("GGUF\x03\x00\x00\x00"), good()[8:]...)},
		{"header cut short", good()[:14]},
		{"chunk of 2 tokens", put(good(), 8, 2)},
		{"no chunks", put(good(), 16, 0)},
		{"absurd chunk count", put(good(), 16, 1<<30)},
		{"tokens cut short", good()[:30]},
		{"a million chunks claimed", put(good(), 16, 1<<20)},
		{"token outside the vocabulary", put(good(), 20, 3)},
		{"no vocabulary", put(good(), 12, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewBaseReader(bytes.NewReader(tc.file)); !errors.Is(err, ErrBadBase) {
				t.Errorf("error %v, want ErrBadBase", err)
			}
		})
	}
}

// FuzzBaseReader: any bytes either give a header and rows or fail with
// ErrBadBase, without panicking or allocating what a damaged count claims.
func FuzzBaseReader(f *testing.F) {
	var buf bytes.Buffer
	w, _ := NewBaseWriter(&buf, BaseHeader{Ctx: 4, NVocab: 3, Chunks: 1, Tokens: []int32{0, 1, 2, 0}})
	_ = w.WriteRows(make([]uint16, rowWords(3)))
	_ = w.Close()
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewBaseReader(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrBadBase) {
				t.Fatalf("error does not wrap ErrBadBase: %v", err)
			}
			return
		}
		if len(r.Tokens) != r.Ctx*r.Chunks {
			t.Fatalf("%d tokens for %d chunks of %d", len(r.Tokens), r.Chunks, r.Ctx)
		}
		// The caller sizes the rows from a vocabulary it has checked
		// against its model; here, only small ones.
		if r.NVocab <= 1<<12 {
			rows := make([]uint16, rowWords(r.NVocab)*min(scoredPerChunk(r.Ctx), 64))
			if err := r.ReadRows(rows); err != nil && !errors.Is(err, ErrBadBase) {
				t.Fatalf("rows: %v", err)
			}
		}
	})
}
