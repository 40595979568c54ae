// Package bench measures Nuri and other inference runtimes and writes reports
// people can read.
//
// It owns three things:
//
//   - the shared report format every `nuri bench …` subcommand writes: a
//     Report (headline Metrics that `nuri bench compare` matches by name, a
//     kind-specific Results payload, and presentation Sections of tables and
//     inline-SVG charts) rendered by WriteReports into results.json,
//     report.md and a self-contained report.html;
//   - the serving benchmark behind `nuri bench serve`: an OpenAI-compatible
//     streaming client with its own SSE parser, datasets (the embedded Korean
//     prompt set, random prompts, JSONL files), closed-loop concurrency and
//     open-loop Poisson/gamma arrivals, and vLLM-style metrics (TTFT, TPOT,
//     ITL, E2EL, throughput, goodput);
//   - helpers shared by the other benchmarks: environment capture, summary
//     statistics and a progress line that does not spam CI logs.
//
// Serving benchmarks talk to servers only over HTTP, so this package imports
// nothing of Nuri's runtime.
package bench
