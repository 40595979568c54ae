package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nuri-ai/nuri/internal/synth"
	"github.com/nuri-ai/nuri/kernels"
)

func init() {
	register(command{name: "synth", summary: "write a random-weight model of a named shape", run: runSynth})
}

func runSynth(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	shape := fs.String("shape", "", "model shape: "+strings.Join(synth.Names(), ", "))
	typ := fs.String("type", "Q4_0", "tensor type or llama-quantize mix (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, IQ4_NL, IQ4_XS, Q4_K_M, Q5_K_M, ...)")
	out := fs.String("out", "", "output GGUF file")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same file)")
	threads := fs.Int("threads", 0, "worker goroutines (0: all CPUs)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nuri synth --shape NAME --type T --out FILE [--seed S]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagsError(err)
	}
	if fs.NArg() != 0 || *shape == "" || *out == "" {
		fs.Usage()
		return errUsage
	}
	s, err := synth.Lookup(*shape)
	if err != nil {
		fmt.Fprintln(stderr, "nuri synth:", err)
		return errUsage
	}
	ks, err := envKernelSet()
	if err != nil {
		return err
	}
	start := time.Now()
	bar := newProgress(stderr, fmt.Sprintf("synth %s %s", s.Name, strings.ToUpper(*typ)))
	err = synth.Write(*out, synth.Options{Shape: s, Type: *typ, Seed: *seed, Workers: *threads, Progress: bar.update,
		Fits: kernels.VecOpsFor(ks).Fits()})
	bar.finish(err == nil)
	if err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %s parameters, %s in %.1f s\n", *out, s.Name, humanCount(s.Params()), humanBytes(uint64(st.Size())), time.Since(start).Seconds())
	return nil
}

// progress draws a one-line bar on a terminal (redrawn with \r at most ten
// times a second) and prints a plain line every 10% otherwise, so logs stay
// readable.
type progress struct {
	w         io.Writer
	label     string
	detail    string // what the work is on now, after the figures ("" : none)
	tty       bool
	start     time.Time
	last      time.Time
	lastTenth uint64
	drawn     bool
}

func newProgress(w io.Writer, label string) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, label: label, tty: tty, start: time.Now()}
}

func (p *progress) update(done, total uint64) {
	if total == 0 {
		return
	}
	now := time.Now()
	frac := float64(done) / float64(total)
	if p.tty {
		if now.Sub(p.last) < 100*time.Millisecond && done != total {
			return
		}
		p.last = now
		const width = 30
		fill := int(frac * width)
		detail := p.detail
		if len(detail) > 48 {
			detail = "…" + detail[len(detail)-47:]
		}
		if detail != "" { // padded, so a shorter one covers the last
			detail = fmt.Sprintf(" %-48s", detail)
		}
		fmt.Fprintf(p.w, "\r%s [%s%s] %5.1f%% %s/%s weights %5.1fs%s", p.label,
			strings.Repeat("=", fill), strings.Repeat(" ", width-fill), 100*frac,
			humanCount(done), humanCount(total), now.Sub(p.start).Seconds(), detail)
		p.drawn = true
		return
	}
	if tenth := done * 10 / total; tenth > p.lastTenth {
		p.lastTenth = tenth
		at := ""
		if p.detail != "" {
			at = ", " + p.detail
		}
		fmt.Fprintf(p.w, "%s: %3.0f%% (%s of %s weights, %.1fs%s)\n", p.label, 100*frac, humanCount(done), humanCount(total), now.Sub(p.start).Seconds(), at)
	}
}

func (p *progress) finish(ok bool) {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
}
