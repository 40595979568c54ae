// Writes lookbehind.jsonl: random JSON Schema patterns that end with one
// or two lookbehinds before their $, (?<=A)$ or (?<!A)$, some opening
// with a lookahead too or holding one after a part of fixed length
// (^a\d(?!b)…), around a pattern of gen.mjs's pieces, each with
// short strings of awkward characters and whether node's RegExp (u flag,
// as Ajv compiles a schema's pattern) finds a match in them. sample's
// TestECMALookbehindsGolden holds each string to the pattern's automata
// and compares.
//
// Run from this folder with node 20: node lookbehind.mjs > lookbehind.jsonl
import { makeRand } from "../../../internal/testgen/rand.mjs";
import { writeCases } from "./cases.mjs";
import { patternMaker } from "./pieces.mjs";

const { rand, int, pick } = makeRand(20261209);
const r = String.raw;
const atoms = [r`\s`, r`\S`, ".", r`\d`, r`\w`, "a", "b", "가", "[a-c]", "[^a]", r`\p{Script=Hangul}`, r`\.`, "-",
  r`[.-]`, "😀"];
const pattern = patternMaker({ rand, int, pick }, atoms, false);
const chars = ["\n", " ", "\u2028", "a", "b", "c", "가", "A", "1", ".", "-", "😀"];
const fixed = ["a", r`\d`, ".", "[a-c]", "가", r`\.`, "😀", "(?:a|b)"];

writeCases({
  name: "lookbehind.mjs", seed: 20261209, count: 300, chars, maxLen: 4, int, pick,
  makePattern: () => {
    let p = rand() < 0.5 ? "^" : "";
    if (p && rand() < 0.3) p += (rand() < 0.5 ? "(?=" : "(?!") + (rand() < 0.5 ? ".*" : "") + pattern(1) + ")";
    if (p && rand() < 0.4) {
      // A lookahead after a part of fixed length.
      for (let i = int(1, 2); i > 0; i--) p += pick(fixed) + (rand() < 0.3 ? "{2}" : "");
      p += (rand() < 0.5 ? "(?=" : "(?!") + (rand() < 0.5 ? ".*" : "") + pattern(1) + ")";
    }
    p += pattern(0);
    for (let i = int(1, 2); i > 0; i--) p += (rand() < 0.5 ? "(?<=" : "(?<!") + pattern(1) + ")";
    return p + "$";
  },
});
