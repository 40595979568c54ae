// Writes lookahead.jsonl: random JSON Schema patterns that open with one
// or two lookaheads, ^(?=A) or ^(?!A) (A sometimes anchored at the end
// too), before a pattern of gen.mjs's pieces, each with short strings of
// gen.mjs's awkward characters and whether node's RegExp (u flag, as Ajv
// compiles a schema's pattern) finds a match in them. sample's
// TestECMALookaheadsGolden holds each string to the pattern's automata
// and compares.
//
// Run from this folder with node 20: node lookahead.mjs > lookahead.jsonl
import { makeRand } from "../../../internal/testgen/rand.mjs";
import { writeCases } from "./cases.mjs";
import { patternMaker } from "./pieces.mjs";

const { rand, int, pick } = makeRand(20261207);
const r = String.raw;
const atoms = [r`\s`, r`\S`, ".", r`\d`, r`\w`, r`\D`, "a", "b", "가", "[a-c]", "[^a]", r`[\b]`, "[^]",
  r`\u00e9`, r`\u{1F600}`, r`\p{Script=Hangul}`, r`\p{Lu}`, r`\.`, r`\\`, r`\-`, r`\n`, r`[\u2028\u2029]`];
const pattern = patternMaker({ rand, int, pick }, atoms, false);
const chars = ["\t", "\n", " ", "\u00a0", "\u2028", "\ufeff", "\x08", "\x00", "a", "b", "c", "é", "가",
  "한", "A", "Z", "1", "٣", "_", "-", ".", "\\", "😀", "x"];

writeCases({
  name: "lookahead.mjs", seed: 20261207, count: 300, chars, maxLen: 4, int, pick,
  makePattern: () => {
    let p = "^";
    for (let i = int(1, 2); i > 0; i--) {
      let body = (rand() < 0.5 ? ".*" : "") + pattern(1);
      if (rand() < 0.3) body += "$";
      p += (rand() < 0.5 ? "(?=" : "(?!") + body + ")";
    }
    p += pattern(0);
    if (rand() < 0.4) p += "$";
    return p;
  },
});
