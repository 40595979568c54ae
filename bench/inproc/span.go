package inproc

import "time"

// span is one timed repetition: wall clock and process CPU time at its start.
type span struct {
	start time.Time
	cpu   time.Duration
	cpuOK bool
}

func startSpan() span {
	cpu, ok := processCPU()
	return span{start: time.Now(), cpu: cpu, cpuOK: ok}
}

// reps sums the wall and CPU time of repetitions.
type reps struct {
	wall, cpu float64
	cpuOK     bool
	n         int
}

// add ends sp and returns its wall seconds.
func (r *reps) add(sp span) float64 {
	wall := time.Since(sp.start).Seconds()
	cpu, ok := processCPU()
	if r.n == 0 {
		r.cpuOK = true
	}
	r.n++
	r.cpuOK = r.cpuOK && ok && sp.cpuOK
	r.wall += wall
	r.cpu += (cpu - sp.cpu).Seconds()
	return wall
}

// share is CPU time ÷ (wall time × threads), 0 when unknown.
func (r *reps) share(threads int) float64 {
	if !r.cpuOK || r.wall <= 0 || threads <= 0 {
		return 0
	}
	return r.cpu / (r.wall * float64(threads))
}
