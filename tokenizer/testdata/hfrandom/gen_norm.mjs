// Writes normalized.jsonl: random texts that are not in NFC (Hangul written
// as conjoining jamo, syllables followed by a trailing jamo, Latin letters
// with combining marks out of canonical order, singletons such as U+212B
// and the CJK compatibility ideographs Korean writes its hanja readings
// with, composition exclusions, combining marks next to special-token
// texts) mixed with ordinary ones, and the ids Hugging Face's
// tokenizers.js gives them with the qwen3 tokenizer.json in ../shared,
// whose normalizer is NFC. tokenizer's TestNormalizationGolden encodes
// them from the qwen3 vocab GGUF with SetNormalization(NormNFC).
//
// Run from this folder (once: npm install @huggingface/tokenizers@0.2.0):
//   NURI_SHARED=/path/to/shared node gen_norm.mjs > normalized.jsonl
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "fs";
import path from "path";
import zlib from "zlib";
import { makeRand } from "../../../internal/testgen/rand.mjs";

const shared = process.env.NURI_SHARED || "../../../../shared";
const dir = path.join(shared, "testdata/tokenizer/hf/qwen3");
const j = (f) => JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(dir, f))));
const qwen3 = new Tokenizer(j("tokenizer.json.gz"), j("tokenizer_config.json.gz"));

const { int, pick, rep } = makeRand(20261207);
const syllable = () => String.fromCodePoint(int(0xac00, 0xd7a3));
const marks = () => rep(int(1, 3), () => String.fromCodePoint(pick([int(0x0300, 0x036f), 0x0323, 0x0331, 0x0338])));

const frags = [
  // Hangul as conjoining jamo: whole words, and syllables without a final
  // consonant followed by one (the pair composes to one syllable).
  () => rep(int(1, 6), syllable).normalize("NFD"),
  () => rep(int(1, 3), () => String.fromCodePoint(0xac00 + 28 * int(0, 398)) + String.fromCodePoint(int(0x11a8, 0x11c2))),
  () => String.fromCodePoint(int(0x1100, 0x1112), int(0x1161, 0x1175)),
  // Latin, Greek and Cyrillic letters with combining marks in any order.
  () => pick("aeiouyAEIOUcnszCNSZ") + marks(),
  () => pick(["α", "ω", "Ι", "и", "е", "ж"]) + marks(),
  () => "e\u0301".repeat(int(1, 3)) + pick(["", "cole", "t\u0301e\u0301"]),
  // Singletons, compatibility ideographs and exclusions NFC rewrites.
  () => pick(["\u212b", "\u2126", "\u212a", "\u1fef", "\u0340", "\u0958", "\u2adc", "\u0344"]),
  () => String.fromCodePoint(int(0xf900, 0xfa0b)) + pick(["", "씨", " 字"]),
  // Ordinary text and what the pre-tokenizer splits on.
  () => rep(int(1, 6), syllable),
  () => rep(int(1, 8), () => pick("abcdefghijklmnopqrstuvwxyz")),
  () => String(int(0, 10 ** int(1, 6))),
  () => pick([" ", "  ", "\n", "\t", "\u3000", "\u00a0", "'s", "'T", ".", ",", "…", "😀", "🇰🇷", "₩"]),
  // A special-token text with a combining mark after it: Hugging Face
  // splits the added tokens out first and normalizes the rest, so the mark
  // stays on its own (U+0338 after ">" would compose to U+226F otherwise).
  () => pick(["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>"]) + pick(["\u0301", "\u0338", "\u11a8", "\u1161", ""]),
];

const lines = [];
while (lines.length < 300) {
  const text = rep(int(1, 16), () => pick(frags)());
  if (text === text.normalize("NFC")) continue;
  lines.push(JSON.stringify({ text, qwen3: qwen3.encode(text, { add_special_tokens: false }).ids }));
}
process.stdout.write(`{"generator":"gen_norm.mjs","tool":"@huggingface/tokenizers@0.2.0","seed":20261207,"normalizer":"NFC"}\n`);
process.stdout.write(lines.join("\n") + "\n");
