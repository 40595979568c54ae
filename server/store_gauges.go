package server

// batchStatuses are the statuses a batch gauge reports, every one even at
// zero so a dashboard's series do not come and go.
var batchStatuses = []string{"validating", "in_progress", "finalizing", "cancelling", "completed", "failed", "cancelled", "expired"}

// storeGauges are the server's own gauges of what it keeps and runs
// beside requests: batches by API and status, background responses
// running, and the Files API's files and bytes.
func (s *Server) storeGauges() []Gauge {
	var out []Gauge
	if s.files != nil {
		counts := map[[2]string]int{}
		s.batches.mu.Lock()
		for _, j := range s.batches.jobs {
			api := "openai"
			if isMessageBatch(j.obj.ID) {
				api = "anthropic"
			}
			counts[[2]string{api, j.obj.Status}]++
		}
		s.batches.mu.Unlock()
		g := Gauge{Name: "nuri:batches", Help: "Batches kept, by API (openai: /v1/batches, anthropic: /v1/messages/batches) and status."}
		for _, api := range []string{"openai", "anthropic"} {
			for _, st := range batchStatuses {
				g.Samples = append(g.Samples, GaugeSample{Labels: []Label{{"api", api}, {"status", st}}, Value: float64(counts[[2]string{api, st}])})
			}
		}
		files := s.files.list("")
		total := 0
		for _, f := range files {
			total += f.Bytes
		}
		out = append(out, g,
			Gauge{Name: "nuri:files", Help: "Files the Files API keeps (uploads and batch results).", Samples: []GaugeSample{{Value: float64(len(files))}}},
			Gauge{Name: "nuri:files_bytes", Help: "Bytes of the files the Files API keeps, against --files-store-mib.", Samples: []GaugeSample{{Value: float64(total)}}})
	}
	running := 0
	for _, r := range s.bg.all() {
		if _, done, _ := r.snapshot(); !done {
			running++
		}
	}
	out = append(out, Gauge{Name: "nuri:background_responses_running", Help: "Responses API background responses still running.",
		Samples: []GaugeSample{{Value: float64(running)}}})
	return out
}
