// Writes golden.jsonl: random mixed texts (Korean syllables and jamo,
// digits, whitespace of every kind, contractions, punctuation, emoji, other
// scripts, code, special-token texts) and the ids Hugging Face's tokenizers.js
// gives them for the qwen3, llama3 and exaone tokenizers in ../shared.
// tokenizer's TestHFRandomGolden encodes the same texts from the matching
// vocab GGUFs and compares.
//
// Three places where llama.cpp, whose behaviour Nuri follows, and
// tokenizers.js are known to part are kept out of the texts, as they are out
// of the shared fixtures (docs/tokenizer.md, "Where Hugging Face's tokenizers differ"):
//   - every text is in NFC: Qwen's tokenizer.json normalizes to NFC first,
//     llama.cpp does not normalize;
//   - no "</s>": Qwen's vocabulary has it as an ordinary token, which
//     llama.cpp's loader marks as a control token;
//   - EXAONE's cases hold no non-ASCII numerals (½, ³, ٣): tokenizers.js
//     splits digits with JS's ASCII \d, the Rust tokenizers and llama.cpp
//     with \p{N}.
//
// Run from this folder (once: npm install @huggingface/tokenizers@0.2.0):
//   NURI_SHARED=/path/to/shared node gen.mjs > golden.jsonl
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "fs";
import path from "path";
import zlib from "zlib";
import { makeRand } from "../../../internal/testgen/rand.mjs";

const shared = process.env.NURI_SHARED || "../../../../shared";
const hf = path.join(shared, "testdata/tokenizer/hf");
const load = (dir, name) => {
  const j = (f) => JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(hf, dir, f))));
  return new Tokenizer(j(name), j("tokenizer_config.json.gz"));
};
const toks = {
  qwen3: load("qwen3", "tokenizer.json.gz"),
  llama3: load("llama3", "tokenizer.json.gz"),
  exaone: load("exaone", "tokenizer.json.rebuilt.gz"),
};

const { int, pick, rep } = makeRand(20261206);

const frags = [
  () => rep(int(1, 6), () => String.fromCodePoint(int(0xac00, 0xd7a3))),
  () => String.fromCodePoint(pick([int(0x1100, 0x11ff), int(0x3131, 0x318e)])),
  () => String(int(0, 10 ** int(1, 9))),
  () => pick([" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\u00a0", "\u3000", "\u2009", "\u200b",
    "\u2028", "\v", "\f", "\u0085", " \t ", "\n \n", "    "]),
  () => pick(["'s", "'S", "'ll", "'LL", "'re", "'Re", "'ve", "'d", "'m", "'t", "'T", "n't", "'"]),
  () => rep(int(1, 8), () => pick("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ")),
  () => pick([".", ",", "!", "?", "...", "—", "–", "“", "”", "‘", "’", "«", "»", "(", ")", "[", "]", "{", "}",
    "<", ">", "/", "\\", "@", "#", "$", "%", "^", "&", "*", "_", "-", "+", "=", "~", "`", "|", ";", ":",
    "\"", "·", "…", "。", "、", "「", "」", "₩"]),
  () => pick(["😀", "👍🏽", "👨‍👩‍👧", "🇰🇷", "❤️", "☕", "🤖", "©", "®", "™", "°", "±", "×", "÷", "½", "²", "③", "Ⅻ",
    "٣", "३", "𝟘", "𝐀"]),
  () => pick(["日本語", "中文", "漢字", "大韓民國", "カタカナ", "ひらがな", "Привет", "Ελληνικά", "العربية",
    "עברית", "हिन्दी", "ไทย", "Tiếng Việt", "Ünïcödé", "ﬁ", "ǅ", "ẞ", "İ", "ı", "ᄒᆞᆫ글"]),
  () => pick(["def f(x):\n    return x", "if (a && b) {", "\t\t}", "http://example.co.kr/a?b=c",
    "test@example.co.kr", "010-1234-5678", "1,234.56", "3.14", "-42", "1e-9", "0x1F", "2026-12-06", "12:30"]),
  () => pick(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<s>", "[|user|]", "[|endofturn|]",
    "<|begin_of_text|>", "<|eot_id|>", "<think>", "</think>"]),
];

const nonASCIINumeral = /(?![0-9])\p{N}/u;
const lines = [];
for (let i = 0; lines.length < 300; i++) {
  const text = rep(int(1, 24), () => pick(frags)()).normalize("NFC");
  const rec = { text };
  for (const [name, tk] of Object.entries(toks)) {
    if (name === "exaone" && nonASCIINumeral.test(text)) continue;
    rec[name] = tk.encode(text, { add_special_tokens: false }).ids;
  }
  lines.push(JSON.stringify(rec));
}
process.stdout.write(`{"generator":"gen.mjs","tool":"@huggingface/tokenizers@0.2.0","seed":20261206}\n`);
process.stdout.write(lines.join("\n") + "\n");
