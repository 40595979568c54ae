package sample

import (
	"errors"
	"slices"
	"testing"
)

func TestChoiceConstraint(t *testing.T) {
	pieces := [][]byte{nil, []byte("y"), []byte("es"), []byte("yes"), []byte("!"), []byte("no"), []byte("n"), []byte("o!"), []byte("긍"), []byte("정"), []byte{0xEB}, []byte{0xB6, 0x80}, []byte("x")}
	const end = 0 // an end-of-generation token: empty piece
	v := NewVocab(pieces, end)
	c, err := NewChoice(v, []string{"yes", "yes!", "no", "긍정", "부정", "no"})
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(c Constraint) []int32 {
		var ids []int32
		for id := range v.Len() {
			if c.Allows(int32(id)) {
				ids = append(ids, int32(id))
			}
		}
		return ids
	}
	// At the start: a choice's first bytes, whole tokens or split
	// (부 is EB B6 80), never the end.
	if got, want := allowed(c), []int32{1, 3, 5, 6, 8, 10}; !slices.Equal(got, want) {
		t.Fatalf("start: %v, want %v", got, want)
	}
	for _, step := range []struct {
		take     int32
		want     []int32
		complete bool
	}{
		{1, []int32{2}, false},      // "y" → "es"
		{2, []int32{end, 4}, false}, // "yes": end here, or "!"
		{4, []int32{end}, true},     // "yes!": nothing continues it
	} {
		c.Accept(step.take)
		if got := allowed(c); !slices.Equal(got, step.want) {
			t.Fatalf("after %q: %v, want %v", pieces[step.take], got, step.want)
		}
		if c.Complete() != step.complete {
			t.Fatalf("after %q: complete %v", pieces[step.take], c.Complete())
		}
	}
	// A split character; "no" whole and alone; "no!" no choice.
	for _, path := range [][]int32{{10, 11, 9}, {5}} {
		c, _ := NewChoice(v, []string{"yes", "yes!", "no", "긍정", "부정"})
		for _, tok := range path {
			if !c.Allows(tok) {
				t.Fatalf("%v: %q refused", path, pieces[tok])
			}
			c.Accept(tok)
		}
		if !c.Complete() {
			t.Fatalf("%v: not complete", path)
		}
	}
	c, _ = NewChoice(v, []string{"yes", "no"})
	c.Accept(6)
	if c.Allows(7) || c.Allows(end) {
		t.Fatal(`"no!" or a bare "n" allowed`)
	}
	for _, bad := range [][]string{nil, {"a", ""}} {
		if _, err := NewChoice(v, bad); !errors.Is(err, ErrSchema) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
