package inproc

import (
	"slices"
	"time"
)

// span is one timed repetition: wall clock and process CPU time at its start.
type span struct {
	start                  time.Time
	cpu, wait, steal       time.Duration
	cpuOK, waitOK, stealOK bool
}

func startSpan() span {
	cpu, ok := processCPU()
	wait, wok := processRunWait()
	steal, _, sok := hostSteal()
	return span{start: time.Now(), cpu: cpu, cpuOK: ok, wait: wait, waitOK: wok, steal: steal, stealOK: sok}
}

// reps sums the wall and CPU time of repetitions, the time their threads
// waited for a CPU and the time the host took from the machine's CPUs.
type reps struct {
	wall, cpu, wait, steal float64
	cpuOK, waitOK, stealOK bool
	cpus                   int // the CPUs steal covers
	n                      int
}

// add ends sp and returns its wall seconds.
func (r *reps) add(sp span) float64 {
	wall := time.Since(sp.start).Seconds()
	cpu, ok := processCPU()
	wait, wok := processRunWait()
	steal, cpus, sok := hostSteal()
	if r.n == 0 {
		r.cpuOK, r.waitOK, r.stealOK = true, true, true
	}
	r.n++
	r.cpuOK = r.cpuOK && ok && sp.cpuOK
	r.waitOK = r.waitOK && wok && sp.waitOK
	r.stealOK = r.stealOK && sok && sp.stealOK
	r.wall += wall
	r.cpu += (cpu - sp.cpu).Seconds()
	r.wait += (wait - sp.wait).Seconds()
	r.steal += (steal - sp.steal).Seconds()
	r.cpus = cpus
	return wall
}

// share is CPU time ÷ (wall time × threads), 0 when unknown.
func (r *reps) share(threads int) float64 {
	if !r.cpuOK || r.wall <= 0 || threads <= 0 {
		return 0
	}
	return r.cpu / (r.wall * float64(threads))
}

// waitShare is the threads' time waiting for a CPU ÷ (wall time ×
// threads), nil when unknown (0 is a reading: nothing else ran).
func (r *reps) waitShare(threads int) *float64 {
	if !r.waitOK || r.wall <= 0 || threads <= 0 {
		return nil
	}
	w := max(0, r.wait) / (r.wall * float64(threads))
	return &w
}

// stealShare is the time the host took from the machine's CPUs ÷ (wall
// time × those CPUs), nil when unknown (off Linux). /proc/stat counts in
// 10 ms ticks, so a short test reads 0 or a whole tick.
func (r *reps) stealShare() *float64 {
	if !r.stealOK || r.wall <= 0 || r.cpus <= 0 {
		return nil
	}
	s := max(0, r.steal) / (r.wall * float64(r.cpus))
	return &s
}

// StepStats summarises the single decode steps of a test. On a shared
// machine a repetition mixes steps that had the cores with steps that
// waited; the fastest steps show what the code does when it runs.
type StepStats struct {
	N             int     `json:"n"`
	MinSeconds    float64 `json:"min_seconds"`
	MedianSeconds float64 `json:"median_seconds"`
	FastestTPS    float64 `json:"fastest_ts"` // tokens per step ÷ MinSeconds
	MedianTPS     float64 `json:"median_ts"`
	// Stalled counts the steps that took over stallFactor times the
	// median: on a shared machine, steps in which a worker lost its CPU
	// (to the host or to other tasks) and the others waited for it.
	Stalled int `json:"stalled"`
	// MaxSeconds is the slowest step.
	MaxSeconds float64 `json:"max_seconds"`
	// StalledSeconds is the time the stalled steps took beyond the
	// median, summed: what the stalls cost the test.
	StalledSeconds float64 `json:"stalled_seconds"`
}

// stallFactor is how many medians a step must take to count as stalled.
// Decode steps of one test read the same weights and vary by a few
// percent (docs/performance.md); a worker descheduled for a scheduler
// tick or a host's 100 ms takes a step well past twice the median.
const stallFactor = 2

// stepTimer collects step durations.
type stepTimer struct {
	t0  time.Time
	sec []float64
}

func (s *stepTimer) start() { s.t0 = time.Now() }
func (s *stepTimer) stop()  { s.sec = append(s.sec, time.Since(s.t0).Seconds()) }

// stats summarises the steps, each producing tokensPer tokens.
func (s *stepTimer) stats(tokensPer int) *StepStats {
	if len(s.sec) == 0 {
		return nil
	}
	sorted := slices.Clone(s.sec)
	slices.Sort(sorted)
	st := &StepStats{N: len(sorted), MinSeconds: sorted[0], MedianSeconds: sorted[len(sorted)/2]}
	if len(sorted)%2 == 0 {
		st.MedianSeconds = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	if st.MinSeconds > 0 {
		st.FastestTPS = float64(tokensPer) / st.MinSeconds
	}
	if st.MedianSeconds > 0 {
		st.MedianTPS = float64(tokensPer) / st.MedianSeconds
	}
	st.MaxSeconds = sorted[len(sorted)-1]
	for _, v := range sorted {
		if v > stallFactor*st.MedianSeconds {
			st.Stalled++
			st.StalledSeconds += v - st.MedianSeconds
		}
	}
	return st
}
