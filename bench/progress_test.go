package bench

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
)

func TestProgressPlain(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, false, "c=4", 1000)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				p.Add(!(g == 0 && i < 5))
			}
		}(g)
	}
	wg.Wait()
	p.Finish()
	p.Finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// Quarters 1-3 and the final line: a thousand updates, four lines of log.
	if len(lines) != 4 || strings.Contains(buf.String(), "\r") {
		t.Fatalf("plain progress printed %d lines:\n%s", len(lines), buf.String())
	}
	if !strings.HasPrefix(lines[3], "c=4 1000/1000 (5 failed)") || !strings.HasPrefix(lines[0], "c=4 250/1000") {
		t.Errorf("lines %q", lines)
	}
}

func TestProgressInteractive(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, true, "run", 3)
	p.Add(true)
	p.Add(true)
	p.Add(false)
	p.Finish()
	s := buf.String()
	if !strings.HasPrefix(s, "\r") || !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 ||
		!strings.Contains(s, "[########################] 3/3 (1 failed)") {
		t.Errorf("interactive progress %q", s)
	}
	var nilP *Progress
	nilP.Add(true)
	nilP.Finish()
	NewProgress(nil, false, "", 2).Add(true) // no writer: silent
}

func TestIsTerminal(t *testing.T) {
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is not a terminal")
	}
}
