# Nuri: see README.md. Every target works from a clean clone.
GO       ?= go
BIN      ?= bin/nuri
SHARED   ?= $(if $(NURI_SHARED),$(NURI_SHARED),../shared)
MODEL    ?= $(SHARED)/models/stories260K.gguf
ADDR     ?= 127.0.0.1:8080
FUZZTIME ?= 60s

.PHONY: all build test test-race run bench fuzz lint vet clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/nuri

# The whole suite, the race detector on the concurrent packages, and vet.
test:
	$(GO) vet ./...
	# Windows, and macOS on Apple silicon (no AVX-512, no mmap-only calls), still build.
	GOOS=windows $(GO) vet ./...
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -count=1 -race -timeout 15m ./engine/... ./server/... ./kernels/... ./bench/perplexity/...
	# The paths other CPUs take: AVX2 without AVX-512, and pure Go.
	NURI_KERNELS=avx2 $(GO) test -count=1 -timeout 15m ./kernels/... ./backends/cpu/... ./model/...
	NURI_KERNELS=generic $(GO) test -count=1 -timeout 15m ./kernels/... ./model/...

run: build
	$(BIN) serve --model $(MODEL) --addr $(ADDR)

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1x ./kernels/... ./tokenizer/...

# Each fuzz target for FUZZTIME (the readers of what users bring first: GGUF, imatrix, KL bases, grammars, Responses, Messages, llama.cpp and rerank requests).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime $(FUZZTIME) ./gguf/
	$(GO) test -run '^$$' -fuzz FuzzImatrixLegacy -fuzztime $(FUZZTIME) ./gguf/
	$(GO) test -run '^$$' -fuzz FuzzBaseReader -fuzztime $(FUZZTIME) ./bench/perplexity/
	$(GO) test -run '^$$' -fuzz FuzzEncode -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./tokenizer/
	$(GO) test -run '^$$' -fuzz FuzzTemplate -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./chat/
	$(GO) test -run '^$$' -fuzz FuzzGBNFCompile -fuzztime $(FUZZTIME) ./sample/
	$(GO) test -run '^$$' -fuzz FuzzRegexAgrees -fuzztime $(FUZZTIME) ./sample/
	$(GO) test -run '^$$' -fuzz FuzzResponsesChat -fuzztime $(FUZZTIME) ./server/
	$(GO) test -run '^$$' -fuzz FuzzAnthropicChat -fuzztime $(FUZZTIME) ./server/
	$(GO) test -run '^$$' -fuzz FuzzLlamaPrompts -fuzztime $(FUZZTIME) ./server/
	$(GO) test -run '^$$' -fuzz FuzzRerank -fuzztime $(FUZZTIME) ./server/

lint: vet
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
