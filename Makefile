# Nuri: see README.md. Every target works from a clean clone.
GO       ?= go
BIN      ?= bin/nuri
SHARED   ?= $(if $(NURI_SHARED),$(NURI_SHARED),../shared)
MODEL    ?= $(SHARED)/models/stories260K.gguf
ADDR     ?= 127.0.0.1:8080
FUZZTIME ?= 60s

.PHONY: all build test test-arm64 test-race generated run bench fuzz lint vet clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/nuri

# The whole suite, the race detector on the concurrent packages, and vet.
test: generated
	$(GO) vet ./...
	# Windows, and macOS on Apple silicon (no AVX-512, no mmap-only calls), still build.
	GOOS=windows $(GO) vet ./...
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -count=1 -race -timeout 15m ./engine/... ./server/... ./kernels/... ./backends/cpu/... ./bench/perplexity/...
	# A compiled schema's automata, shared by a request's choices.
	$(GO) test -count=1 -race -run 'Concurrent' ./sample/
	# The paths other CPUs take: AVX2 without AVX-512, and pure Go.
	NURI_KERNELS=avx2 $(GO) test -count=1 -timeout 15m ./kernels/... ./backends/cpu/... ./model/...
	NURI_KERNELS=generic $(GO) test -count=1 -timeout 15m ./kernels/... ./model/...
	# Built for x86-64-v3 the compiler may fuse multiply-adds: quant keeps ggml's bits.
	GOAMD64=v3 $(GO) test -count=1 ./quant/... ./internal/synth/...
	$(MAKE) test-arm64

# The committed kernels/packed_amd64.s is what kernels/gen_packed.py makes:
# an edit to one without the other fails here.
generated:
	@command -v python3 >/dev/null || { echo "make generated: python3 is needed to check kernels/packed_amd64.s against kernels/gen_packed.py" >&2; exit 1; }
	@tmp=$$(mktemp) && trap 'rm -f "$$tmp"' EXIT && \
		(cd kernels && python3 gen_packed.py "$$tmp") && \
		{ cmp -s "$$tmp" kernels/packed_amd64.s || \
			{ echo "make generated: kernels/packed_amd64.s is not what kernels/gen_packed.py generates (go generate ./kernels)" >&2; exit 1; }; }

# arm64 (Apple silicon, Graviton, Ampere): the NEON kernels and the
# quantizers against their references, the CPU backend's ops, and on them
# the model's goldens (llama.cpp's logits, the synthetic fixtures), i-quant
# models, KV cache types, experts, and the NEON path's logits against the
# pure-Go path's, bit for bit. Natively on an arm64 host, elsewhere under
# qemu-user (.ci/run installs it); without either it fails.
UNFUSED = ./quant ./internal/synth ./kernels ./backends/cpu ./model ./sample ./chat
ARM64_RUN = $(shell [ "$$($(GO) env GOHOSTARCH)" = arm64 ] || echo "GOARCH=arm64")
ARM64_EXEC = $(if $(ARM64_RUN),-exec qemu-aarch64)
test-arm64:
	@[ -z "$(ARM64_RUN)" ] || command -v qemu-aarch64 >/dev/null || \
		{ echo "make test-arm64: not an arm64 host and qemu-aarch64 not found (Debian: apt-get install qemu-user)" >&2; exit 1; }
	@# The numbers of quantizing, of the forward pass and of sampling must not depend on the
	@# architecture: no product fused into a sum (Go fuses on arm64, and on amd64 for GOAMD64=v3).
	@if GOARCH=arm64 $(GO) build -gcflags=-S $(UNFUSED) 2>&1 | grep -E '\s(FMADD|FMSUB|FNMADD|FNMSUB)[SD]\s'; then \
		echo "$(UNFUSED): a multiply-add fused on arm64 (round the product: float32(a*b))" >&2; exit 1; fi
	$(ARM64_RUN) $(GO) test -count=1 $(ARM64_EXEC) -timeout 20m ./kernels/... ./quant/... ./backends/cpu/...
	$(ARM64_RUN) $(GO) test -count=1 $(ARM64_EXEC) -timeout 20m -run 'Golden|TestIQ4Models|TestKVCacheTypes|TestMoE|TestNEONMatchesGeneric' ./model/...

run: build
	$(BIN) serve --model $(MODEL) --addr $(ADDR)

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1x ./kernels/... ./tokenizer/...

# Each fuzz target for FUZZTIME (the readers of what users bring first: GGUF, imatrix, KL bases, grammars, JSON and schemas, chat completions, Responses, Messages, llama.cpp and rerank requests, reply parsers).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime $(FUZZTIME) ./gguf/
	$(GO) test -run '^$$' -fuzz FuzzImatrixLegacy -fuzztime $(FUZZTIME) ./gguf/
	$(GO) test -run '^$$' -fuzz FuzzBaseReader -fuzztime $(FUZZTIME) ./bench/perplexity/
	$(GO) test -run '^$$' -fuzz FuzzEncode -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./tokenizer/
	$(GO) test -run '^$$' -fuzz FuzzTemplate -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./chat/
	$(GO) test -run '^$$' -fuzz FuzzGBNFCompile -fuzztime $(FUZZTIME) ./sample/
	$(GO) test -run '^$$' -fuzz FuzzRegexAgrees -fuzztime $(FUZZTIME) ./sample/
	$(GO) test -run '^$$' -fuzz FuzzJSONRecognizer -fuzztime $(FUZZTIME) ./sample/
	$(GO) test -run '^$$' -fuzz FuzzSchemaAnyMatchesJSON -fuzztime $(FUZZTIME) ./sample/
	$(GO) test -run '^$$' -fuzz FuzzSchemaCompile -fuzztime $(FUZZTIME) ./sample/
	$(GO) test -run '^$$' -fuzz FuzzChatJob -fuzztime $(FUZZTIME) ./server/
	$(GO) test -run '^$$' -fuzz FuzzResponsesChat -fuzztime $(FUZZTIME) ./server/
	$(GO) test -run '^$$' -fuzz FuzzAnthropicChat -fuzztime $(FUZZTIME) ./server/
	$(GO) test -run '^$$' -fuzz FuzzLlamaPrompts -fuzztime $(FUZZTIME) ./server/
	$(GO) test -run '^$$' -fuzz FuzzRerank -fuzztime $(FUZZTIME) ./server/
	$(GO) test -run '^$$' -fuzz FuzzReplyParsersSplit -fuzztime $(FUZZTIME) ./chat/

lint: vet
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
