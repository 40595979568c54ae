package tokenizer

import (
	"os"
	"strings"
	"testing"

	"github.com/nuri-ai/nuri/internal/testshared"
)

// benchText is seed_news.txt repeated 110 times (995,500 bytes), the input
// of the llama.cpp and tokenizers.js reference timings in
// testdata/tokenizer/bench/throughput_qwen3.json.
func benchText(b *testing.B) string {
	raw, err := os.ReadFile(testshared.Path(b, "testdata", "korean", "seed_news.txt"))
	if err != nil {
		b.Fatal(err)
	}
	return strings.Repeat(string(raw), 110)
}

// BenchmarkTokenize measures Encode(add_special=false, parse_special=false)
// throughput on ~1 MB of Korean news text. "warm" is the steady state of a
// long-lived Tokenizer (its word cache filled); "nocache" disables the
// word cache, which is the like-for-like comparison with llama.cpp (it has
// no cache).
func BenchmarkTokenize(b *testing.B) {
	text := benchText(b)
	for _, name := range []string{"qwen3", "exaone", "llama3"} {
		path := testshared.Path(b, "testdata", "tokenizer", "ggml-vocab-"+name+".gguf")
		for _, mode := range []string{"warm", "nocache"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				tk, err := LoadFile(path)
				if err != nil {
					b.Fatal(err)
				}
				if mode == "nocache" {
					tk.cache = newWordCache(0)
				} else if _, err := tk.Encode(text, false, false); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(text)))
				b.ResetTimer()
				var n int
				cpu0 := processCPU()
				for b.Loop() {
					ids, err := tk.Encode(text, false, false)
					if err != nil {
						b.Fatal(err)
					}
					n = len(ids)
				}
				cpu := processCPU() - cpu0
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
				// Throughput per CPU-second (GC included): comparable across
				// runs on a busy shared machine, where wall time is not.
				if cpu > 0 {
					b.ReportMetric(float64(len(text))*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
				}
			})
		}
	}
}

// BenchmarkDecodeStream measures per-token streaming decode.
func BenchmarkDecodeStream(b *testing.B) {
	text := benchText(b)
	tk := loadVocab(b, "testdata", "tokenizer", "ggml-vocab-qwen3.gguf")
	ids, err := tk.Encode(text, false, false)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		d := tk.NewStreamDecoder(false)
		for _, id := range ids {
			if _, err := d.Push(id); err != nil {
				b.Fatal(err)
			}
		}
		d.Flush()
	}
}
