// Writes anchors.jsonl: random JSON Schema patterns whose alternatives at
// the top carry anchors of their own (^a|b$, ^a$|b), and with anchors
// inside them too ((?:^|b)a, a$b), each with short
// strings of awkward characters and whether node's RegExp (u flag, as Ajv
// compiles a schema's pattern) finds a match in them. sample's
// TestECMAAnchorsGolden runs each pattern as a search, and each one's
// complement as a not of it is.
//
// Run from this folder with node 20: node anchors.mjs > anchors.jsonl
import { makeRand } from "../../../internal/testgen/rand.mjs";
import { writeCases } from "./cases.mjs";
import { patternMaker } from "./pieces.mjs";

const { rand, int, pick } = makeRand(20261208);
const r = String.raw;
const atoms = [r`\s`, r`\S`, ".", r`\d`, r`\w`, "a", "b", "ab", "가", "[a-c]", "[^a]", r`\p{Script=Hangul}`, r`\.`,
  r`\n`, "(?:^|b)", "(?:a|$)", r`(?:\s|^)`, "(?:^a|b$)", "^", "$"];
const pattern = patternMaker({ rand, int, pick }, atoms, true);
const chars = ["\n", " ", "\u2028", "a", "b", "c", "가", "A", "1", ".", "😀"];

writeCases({
  name: "anchors.mjs", seed: 20261208, count: 300, chars, maxLen: 4, int, pick,
  makePattern: () => {
    const alts = [];
    for (let i = int(2, 3); i > 0; i--) {
      alts.push((rand() < 0.5 ? "^" : "") + pattern(1) + (rand() < 0.5 ? "$" : ""));
    }
    return alts.join("|");
  },
});
