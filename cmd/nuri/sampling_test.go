package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/gguf"
	"github.com/nuri-ai/nuri/internal/testshared"
)

// storiesWithSampling copies stories260K with general.sampling.* keys.
func storiesWithSampling(t *testing.T, kv map[string]gguf.Value) string {
	t.Helper()
	f, err := gguf.Open(testshared.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	path := filepath.Join(t.TempDir(), "stories-sampling.gguf")
	w, err := gguf.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	errs := []error{w.CopyKVs(f, nil)}
	for k, v := range kv {
		errs = append(errs, w.Set(k, v))
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		errs = append(errs, w.AddTensor(ti.Name, ti.Type, ti.Dims...))
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		errs = append(errs, w.WriteTensor(ti.Name, f.TensorData(ti)))
	}
	errs = append(errs, w.Close())
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// A model that recommends greedy sampling (general.sampling.temp 0) gets
// it for requests that leave temperature unset, and for nuri run without
// --temp; a request's or a flag's own setting wins, and
// --model-sampling=false goes back to llama.cpp's defaults.
func TestModelSampling(t *testing.T) {
	model := storiesWithSampling(t, map[string]gguf.Value{
		"general.sampling.temp":           gguf.Float32(0),
		"general.sampling.top_k":          gguf.Int32(5),
		"general.sampling.mirostat":       gguf.Int32(2),
		"general.sampling.mirostat_tau":   gguf.Float32(5),
		"general.sampling.penalty_repeat": gguf.Float32(1),
	})
	complete := func(base string, extra string) string {
		t.Helper()
		var r struct {
			Choices []struct{ Text string } `json:"choices"`
		}
		b := postOK(t, base+"/v1/completions", `{"prompt": "Once upon a time", "max_tokens": 40`+extra+`}`)
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return r.Choices[0].Text
	}
	base := startServe(t, "--model", model)
	greedy := complete(base, `, "temperature": 0`)
	for _, seed := range []string{"1", "2"} {
		if got := complete(base, `, "seed": `+seed); got != greedy {
			t.Errorf("seed %s without a temperature: %q, want the greedy %q", seed, got, greedy)
		}
	}
	if complete(base, `, "temperature": 1.5, "seed": 1`) == greedy && complete(base, `, "temperature": 1.5, "seed": 2`) == greedy {
		t.Error("a request's own temperature did not win over the model's")
	}
	off := startServe(t, "--model", model, "--model-sampling=false")
	if complete(off, `, "seed": 1`) == greedy && complete(off, `, "seed": 2`) == greedy {
		t.Error("--model-sampling=false still samples greedily")
	}

	run := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		full := append([]string{"run", "--model", model, "--prompt", "Once upon a time", "-n", "40", "--threads", "2"}, args...)
		if code := realMain(full, &stdout, &stderr); code != 0 {
			t.Fatalf("nuri %v: exit %d: %s", full, code, stderr.String())
		}
		return stdout.String()
	}
	runGreedy := run("--temp", "0")
	if got := run("--seed", "3"); got != runGreedy {
		t.Errorf("nuri run without --temp: %q, want the greedy %q", got, runGreedy)
	}
	if run("--temp", "1.5", "--seed", "3") == runGreedy && run("--temp", "1.5", "--seed", "4") == runGreedy {
		t.Error("nuri run's --temp did not win over the model's")
	}
}

// nuri inspect shows what the model recommends, and what Nuri leaves out.
func TestInspectSampling(t *testing.T) {
	model := storiesWithSampling(t, map[string]gguf.Value{
		"general.sampling.temp":     gguf.Float32(0.6),
		"general.sampling.top_k":    gguf.Int32(20),
		"general.sampling.mirostat": gguf.Int32(2),
	})
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"inspect", model}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := "sampling:       temp 0.6, top_k 20 (not applied: general.sampling.mirostat)"; !strings.Contains(stdout.String(), want) {
		t.Errorf("no %q in\n%s", want, stdout.String())
	}
	stdout.Reset()
	if code := realMain([]string{"inspect", "--json", model}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r struct {
		Sampling struct {
			Temp float32 `json:"temp"`
			TopK int     `json:"top_k"`
		} `json:"sampling"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r.Sampling.Temp != 0.6 || r.Sampling.TopK != 20 {
		t.Errorf("json: %v %+v", err, r.Sampling)
	}
}

// TestServeSamplingFlags: serve's sampler flags (llama-server's) give
// requests their defaults over the model's recommendation, a request's
// own value still wins, --seed makes unseeded requests repeat, and
// --n-predict limits every reply.
func TestServeSamplingFlags(t *testing.T) {
	model := storiesWithSampling(t, map[string]gguf.Value{
		"general.sampling.temp":  gguf.Float32(0),
		"general.sampling.top_k": gguf.Int32(5),
	})
	type reply struct {
		Choices []struct{ Text string } `json:"choices"`
		Usage   struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	complete := func(base string, extra string) reply {
		t.Helper()
		var r reply
		b := postOK(t, base+"/v1/completions", `{"prompt": "Once upon a time", "max_tokens": 40`+extra+`}`)
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return r
	}
	base := startServe(t, "--model", model)
	greedy := complete(base, `, "temperature": 0`).Choices[0].Text

	hot := startServe(t, "--model", model, "--temp", "1.5")
	if complete(hot, `, "seed": 1`).Choices[0].Text == greedy && complete(hot, `, "seed": 2`).Choices[0].Text == greedy {
		t.Error("--temp 1.5 did not win over the model's recommended temperature 0")
	}
	if got := complete(hot, `, "temperature": 0`).Choices[0].Text; got != greedy {
		t.Errorf("a request's temperature 0 under --temp 1.5: %q, want the greedy %q", got, greedy)
	}

	seeded := startServe(t, "--model", model, "--override-generation-config", `{"temperature": 1.5, "max_new_tokens": 12}`, "-s", "7")
	a, b := complete(seeded, ""), complete(seeded, "")
	if a.Choices[0].Text != b.Choices[0].Text || a.Choices[0].Text == greedy {
		t.Errorf("--seed 7 at temperature 1.5: %q and %q, want one text, not the greedy one", a.Choices[0].Text, b.Choices[0].Text)
	}
	if a.Usage.CompletionTokens != 12 {
		t.Errorf("max_new_tokens 12 and a request for 40: %d tokens", a.Usage.CompletionTokens)
	}
	if c := complete(seeded, `, "seed": 8`); c.Choices[0].Text == a.Choices[0].Text {
		t.Errorf("a request's own seed did not win over --seed: %q", c.Choices[0].Text)
	}
}

// best_of on the real engine: the completion returned is, of the
// candidates the same request with n = best_of returns (the same seeds),
// the one with the highest mean log-probability per token.
func TestServeBestOf(t *testing.T) {
	base := startServe(t)
	type result struct {
		Choices []struct {
			Text     string `json:"text"`
			Logprobs struct {
				TokenLogprobs []float64 `json:"token_logprobs"`
			} `json:"logprobs"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	post := func(body string) result {
		t.Helper()
		var r result
		b := postOK(t, base+"/v1/completions", body)
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return r
	}
	const req = `"prompt": "Once upon a time", "max_tokens": 24, "temperature": 1.2, "seed": 11`
	all := post(`{` + req + `, "n": 5, "logprobs": 0}`)
	best, bestMean, distinct := -1, 0.0, map[string]bool{}
	for i, c := range all.Choices {
		lps := c.Logprobs.TokenLogprobs
		if len(lps) == 0 {
			t.Fatalf("candidate %d has no logprobs", i)
		}
		sum := 0.0
		for _, lp := range lps {
			sum += lp
		}
		if m := sum / float64(len(lps)); best < 0 || m > bestMean {
			best, bestMean = i, m
		}
		distinct[c.Text] = true
	}
	if len(distinct) < 3 {
		t.Fatalf("only %d distinct candidates of 5: the test needs sampling to differ", len(distinct))
	}
	got := post(`{` + req + `, "best_of": 5}`)
	if len(got.Choices) != 1 || got.Choices[0].Text != all.Choices[best].Text {
		t.Fatalf("best_of 5 returned %+v, want candidate %d %q (mean logprob %.4f)", got.Choices, best, all.Choices[best].Text, bestMean)
	}
	if got.Usage.CompletionTokens != all.Usage.CompletionTokens {
		t.Errorf("best_of usage %d completion tokens, want the candidates' %d", got.Usage.CompletionTokens, all.Usage.CompletionTokens)
	}
}
