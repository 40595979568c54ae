#!/usr/bin/env bash
# device-check.sh: the GPU check, sized to finish in under 8 minutes.
#
#   1. build nuri and the CUDA test binary (or use prebuilt ones: set
#      NURI_PREBUILT=1 with bin/nuri and bin/cuda.test present, for GPU
#      machines without Go or without network for modules);
#   2. list the devices (GPU, compute capability, NVML telemetry);
#   3. run the conformance kit on cuda:0 (every op × type against the CPU
#      reference, plus stories260K's logits end to end);
#   4. write the llama-1b Q4_0 synth model and run `nuri bench model` on
#      cpu and cuda:0 (-p 128 -n 32, two repetitions, batched 1/4/16; the
#      roofline is the host's read bandwidth on cpu, the GPU's own memory
#      on cuda:0);
#      then the same for an IQ3_M synth model on cuda:0 (the i-quant
#      kernels' speed);
#   5. end to end on the GPU with stories260K: `nuri run --temp 0` must
#      print the CPU's text, and `nuri serve` must answer concurrent greedy
#      completions with that same text;
#   6. `nuri perplexity --kl-divergence` of $DEVICE's stories260K against a
#      CPU base (mean KLD under 5e-3, top token the same for 97 %: a broken
#      kernel gives far more; the NPU simulator's int8 weights give 1.7e-3);
#   7. print a short table of what passed and how fast.
#
# Environment: NURI_SHARED (shared test data, default ../shared), DEVICE
# (the device of steps 4-5, default cuda:0; another, e.g. npu:0, tries the
# script's own steps on a machine without a GPU), NURI_NVRTC
# (NVRTC library; otherwise searched in the toolkit and pip locations below),
# WORK (scratch folder for the synth model, default a temp dir).
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bin
WORK=${WORK:-$(mktemp -d)}
LOG=$WORK/device-check.log
: >"$LOG"
declare -a ROWS

step() { printf '\n== %s\n' "$*" | tee -a "$LOG"; }
row() { ROWS+=("$(printf '%-28s %-6s %s' "$1" "$2" "$3")"); }
elapsed() { echo $(($(date +%s) - $1))s; }

# NVRTC is not part of the driver: find it in a toolkit or a pip wheel and
# put its folder on the loader path (the backend dlopens libnvrtc.so.*).
find_nvrtc() {
	if [ -n "${NURI_NVRTC:-}" ]; then
		export LD_LIBRARY_PATH="$(dirname "$NURI_NVRTC"):${LD_LIBRARY_PATH:-}"
		return
	fi
	if ldconfig -p 2>/dev/null | grep -q 'libnvrtc\.so'; then
		return
	fi
	local d
	for d in /usr/local/cuda/lib64 /usr/local/cuda-*/lib64 /usr/lib/x86_64-linux-gnu \
		$(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null | tr ' ' '\n' | sed 's|$|/nvidia/cuda_nvrtc/lib|'); do
		if ls "$d"/libnvrtc.so* >/dev/null 2>&1; then
			export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
			echo "NVRTC found in $d" | tee -a "$LOG"
			return
		fi
	done
	echo "NVRTC not found; the CUDA backend will report itself unavailable" | tee -a "$LOG"
}

step "build"
t0=$(date +%s)
if [ "${NURI_PREBUILT:-0}" = 1 ] && [ -x "$BIN/nuri" ] && [ -x "$BIN/cuda.test" ]; then
	row build ok "prebuilt bin/nuri, bin/cuda.test"
elif mkdir -p "$BIN" && go build -o "$BIN/nuri" ./cmd/nuri >>"$LOG" 2>&1 &&
	go test -c -o "$BIN/cuda.test" ./backends/cuda/ >>"$LOG" 2>&1; then
	row build ok "$(elapsed "$t0")"
else
	row build FAIL "see $LOG"
	printf '%s\n' "${ROWS[@]}"
	exit 1
fi
find_nvrtc

step "devices"
timeout 60 "$BIN/nuri" devices 2>&1 | tee -a "$LOG"

step "conformance on cuda:0"
t0=$(date +%s)
CONF=$WORK/conformance.txt
(cd backends/cuda && NURI_TEST_DEVICE=cuda:0 timeout 240 "$BIN/cuda.test" -test.run '^Test(Conformance|ReadBandwidth)' -test.count=1 -test.v) >"$CONF" 2>&1
rc=$?
cat "$CONF" >>"$LOG"
sed -n '/^ *| op |/,/unsupported$/p' "$CONF" | sed 's/^ *//'
grep -E 'telemetry:|vs CPU|compute capability|kernels |read bandwidth' "$CONF" | sed 's/^ *//'
grep -E '^\s*(--- FAIL|FAIL )' "$CONF" | head -20
if [ $rc -eq 0 ]; then row "conformance cuda:0" ok "$(elapsed "$t0")"; else row "conformance cuda:0" FAIL "rc=$rc, see $LOG"; fi

step "llama-1b Q4_0 synth model"
t0=$(date +%s)
MODEL=$WORK/llama-1b-Q4_0.gguf
if timeout 120 "$BIN/nuri" synth --shape llama-1b --type Q4_0 --out "$MODEL" >>"$LOG" 2>&1; then
	row "synth llama-1b Q4_0" ok "$(elapsed "$t0")"
else
	row "synth llama-1b Q4_0" FAIL "see $LOG"
fi

DEVICE=${DEVICE:-cuda:0}
for dev in cpu "$DEVICE"; do
	step "bench model on $dev"
	t0=$(date +%s)
	OUT=$WORK/bench-${dev/:/}.txt
	timeout 150 "$BIN/nuri" bench model --model "$MODEL" --device "$dev" -p 128 -n 32 -r 2 --batch 1,4,16 -bw-mib 1024 -progress=false >"$OUT" 2>&1
	rc=$?
	cat "$OUT" >>"$LOG"
	grep -E 't/s|tok/s|pp|tg' "$OUT" | head -8
	if [ $rc -eq 0 ]; then
		row "bench model $dev" ok "$(grep -Eo '[0-9.]+ *(t/s|tok/s)' "$OUT" | head -2 | paste -sd' ' -) ($(elapsed "$t0"))"
	else
		row "bench model $dev" FAIL "rc=$rc: $(tail -1 "$OUT")"
	fi
done

# The i-quant and Q3_K kernels: llama-quantize's IQ3_M recipe (IQ3_S, Q4_K,
# Q6_K), written on the machine's cores (about half a minute on 16).
step "llama-1b IQ3_M on $DEVICE"
t0=$(date +%s)
IQMODEL=$WORK/llama-1b-IQ3_M.gguf
OUT=$WORK/bench-iq3_m.txt
if timeout 150 "$BIN/nuri" synth --shape llama-1b --type IQ3_M --out "$IQMODEL" >>"$LOG" 2>&1 &&
	timeout 120 "$BIN/nuri" bench model --model "$IQMODEL" --device "$DEVICE" -p 128 -n 32 -r 2 -bw-mib 1024 -progress=false >"$OUT" 2>&1; then
	cat "$OUT" >>"$LOG"
	grep -E 't/s|tok/s|pp|tg' "$OUT" | head -4
	row "bench IQ3_M $DEVICE" ok "$(grep -Eo '[0-9.]+ *(t/s|tok/s)' "$OUT" | head -2 | paste -sd' ' -) ($(elapsed "$t0"))"
else
	cat "$OUT" >>"$LOG" 2>/dev/null
	row "bench IQ3_M $DEVICE" FAIL "see $LOG"
fi

# e2e_serve starts `nuri serve` on $DEVICE, sends $1 concurrent greedy
# completions and checks that every one returns text $2.
e2e_serve() {
	local n=$1 want=$2 port=18080 pid i ok=0 fail=0
	"$BIN/nuri" serve --model "$SMALL" --device "$DEVICE" --addr 127.0.0.1:$port >"$WORK/serve.log" 2>&1 &
	pid=$!
	for i in $(seq 1 120); do curl -sf 127.0.0.1:$port/health >/dev/null && break; sleep 0.5; done
	local req='{"model":"stories260K","prompt":"Once upon a time","max_tokens":48,"temperature":0}'
	for i in $(seq 1 "$n"); do
		curl -s -o "$WORK/completion-$i.json" -H 'Content-Type: application/json' -d "$req" 127.0.0.1:$port/v1/completions &
	done
	wait $(jobs -p | grep -v "^$pid\$")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for i in $(seq 1 "$n"); do
		if python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["choices"][0]["text"] == sys.argv[2] else 1)' \
			"$WORK/completion-$i.json" "$want" 2>/dev/null; then ok=$((ok + 1)); else fail=$((fail + 1)); fi
	done
	echo "$ok of $n completions match"
	[ "$fail" -eq 0 ]
}

step "end to end on $DEVICE (stories260K)"
SMALL=${NURI_SHARED:-$ROOT/../shared}/models/stories260K.gguf
t0=$(date +%s)
cpu_text=$(timeout 60 "$BIN/nuri" run --model "$SMALL" --device cpu --prompt "Once upon a time" -n 48 --temp 0 2>>"$LOG")
dev_text=$(timeout 60 "$BIN/nuri" run --model "$SMALL" --device "$DEVICE" --prompt "Once upon a time" -n 48 --temp 0 2>>"$LOG")
printf 'cpu:     %s\n%s: %s\n' "$cpu_text" "$DEVICE" "$dev_text" | tee -a "$LOG"
if [ -n "$cpu_text" ] && [ "$cpu_text" = "$dev_text" ]; then
	row "run $DEVICE = cpu" ok "$(elapsed "$t0")"
else
	row "run $DEVICE = cpu" FAIL "greedy texts differ (see $LOG)"
fi
t0=$(date +%s)
want=${cpu_text#Once upon a time}
if summary=$(e2e_serve 12 "$want"); then
	row "serve $DEVICE x12" ok "$summary ($(elapsed "$t0"))"
else
	row "serve $DEVICE x12" FAIL "$summary; see $WORK/serve.log"
fi

# KL divergence of the device's stories260K from the CPU's on the test
# story: the device's numerics against the reference path, per token.
step "perplexity on $DEVICE against cpu"
t0=$(date +%s)
STORY=$ROOT/bench/perplexity/testdata/story.txt
if timeout 60 "$BIN/nuri" perplexity --model "$SMALL" --device cpu -f "$STORY" -c 128 --kl-divergence-base "$WORK/cpu.kld" --progress=false >>"$LOG" 2>&1 &&
	timeout 60 "$BIN/nuri" perplexity --model "$SMALL" --device "$DEVICE" --kl-divergence --kl-divergence-base "$WORK/cpu.kld" --json --progress=false >"$WORK/kld.json" 2>>"$LOG" &&
	kld=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); k,s=d["kld"]["value"],d["same_top"]["value"]; print("KLD %.2e, same top %.3f" % (k,s)); sys.exit(0 if k < 5e-3 and s >= 0.97 else 1)' "$WORK/kld.json"); then
	row "perplexity $DEVICE ~ cpu" ok "$kld ($(elapsed "$t0"))"
else
	row "perplexity $DEVICE ~ cpu" FAIL "${kld:-see $LOG}"
fi

printf '\n%-28s %-6s %s\n' step result detail
printf '%s\n' "${ROWS[@]}"
echo "full log: $LOG"
for r in "${ROWS[@]}"; do
	case "$r" in *" FAIL "*) exit 1 ;; esac
done
