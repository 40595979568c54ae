package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress reports how far a long run has got. On a terminal it redraws one
// line with '\r' at most every redrawEvery; elsewhere (CI logs, files) it
// prints a plain line only at each quarter of the work, so logs stay short.
type Progress struct {
	mu          sync.Mutex
	w           io.Writer
	interactive bool
	label       string
	total       int
	start       time.Time
	done        int
	failed      int
	lastDraw    time.Time
	nextQuarter int // next quarter (1..4) to print in plain mode
	finished    bool
}

const redrawEvery = 100 * time.Millisecond

// NewProgress starts a progress report of total units of work. w may be nil
// to report nothing.
func NewProgress(w io.Writer, interactive bool, label string, total int) *Progress {
	return &Progress{w: w, interactive: interactive, label: label, total: total,
		start: time.Now(), nextQuarter: 1}
}

// IsTerminal reports whether w is a character device (a terminal), which is
// when a redrawn progress line is welcome.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Add records one finished unit, failed or not. Safe for concurrent use.
func (p *Progress) Add(ok bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if !ok {
		p.failed++
	}
	if p.w == nil || p.finished {
		return
	}
	if p.interactive {
		if now := time.Now(); now.Sub(p.lastDraw) >= redrawEvery || p.done == p.total {
			p.lastDraw = now
			fmt.Fprint(p.w, "\r"+p.line(true))
		}
		return
	}
	for p.nextQuarter <= 4 && p.total > 0 && p.done*4 >= p.nextQuarter*p.total {
		p.nextQuarter++
		if p.done < p.total { // the final line comes from Finish
			fmt.Fprintln(p.w, p.line(false))
		}
	}
}

// Finish prints the final state and ends the line. Calling it twice is fine.
func (p *Progress) Finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w == nil || p.finished {
		return
	}
	p.finished = true
	if p.interactive {
		// Clear any longer previous line before the final one.
		fmt.Fprint(p.w, "\r"+p.line(true)+"\n")
		return
	}
	fmt.Fprintln(p.w, p.line(false))
}

func (p *Progress) line(bar bool) string {
	elapsed := time.Since(p.start).Seconds()
	var sb strings.Builder
	if p.label != "" {
		sb.WriteString(p.label + " ")
	}
	if bar && p.total > 0 {
		const width = 24
		filled := min(width, p.done*width/p.total)
		sb.WriteString("[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "] ")
	}
	fmt.Fprintf(&sb, "%d/%d", p.done, p.total)
	if p.failed > 0 {
		fmt.Fprintf(&sb, " (%d failed)", p.failed)
	}
	fmt.Fprintf(&sb, " %.1fs", elapsed)
	if p.done > 0 && p.done < p.total {
		eta := elapsed / float64(p.done) * float64(p.total-p.done)
		fmt.Fprintf(&sb, ", eta %.0fs", eta)
	}
	if bar {
		sb.WriteString("   ") // overwrite leftovers of a longer previous line
	}
	return sb.String()
}
