// Writes midlook.jsonl: random JSON Schema patterns with lookaheads
// inside them, (?=A) or (?!A) (A sometimes anchored at the end too): after
// a part of any length, within one alternative of a group, in a repeated
// group ("a line without foo", ^(?:(?!foo).)*$), in an unanchored search;
// or with a lookbehind, (?<=A) or (?<!A), between two parts;
// each with short strings of gen.mjs's awkward characters and whether
// node's RegExp (u flag, as Ajv compiles a schema's pattern) finds a match
// in them. sample's TestECMAMidLookaheadsGolden holds each string to the
// pattern's automaton and compares.
//
// Run from this folder with node 20: node midlook.mjs > midlook.jsonl
import { makeRand } from "../../../internal/testgen/rand.mjs";
import { writeCases } from "./cases.mjs";
import { patternMaker } from "./pieces.mjs";

const { rand, int, pick } = makeRand(20261208);
const r = String.raw;
const atoms = [r`\s`, r`\S`, ".", r`\d`, r`\w`, r`\D`, "a", "b", "가", "[a-c]", "[^a]", "[^]",
  r`\u00e9`, r`\p{Script=Hangul}`, r`\.`, r`\\`, r`\-`, r`[\u2028\u2029]`];
const pattern = patternMaker({ rand, int, pick }, atoms, false);
// No astral characters: V8 tries a search's match inside a surrogate pair
// (a{0,3}(?!.*\S*$) matches "😀" at index 1), which Nuri, reading code
// points, does not.
const chars = ["\t", " ", "\u2028", "a", "b", "c", "é", "가", "A", "1", "_", "-", ".", "\\"];

const look = () => {
  let body = (rand() < 0.3 ? ".*" : "") + pattern(1);
  if (rand() < 0.3) body += "$";
  return (rand() < 0.5 ? "(?=" : "(?!") + body + ")";
};

writeCases({
  name: "midlook.mjs", seed: 20261208, count: 300, chars, maxLen: 5, int, pick,
  makePattern: () => {
    let p;
    switch (int(0, 4)) {
      case 4: // a lookbehind inside
        p = (rand() < 0.5 ? "^" : "") + pattern(1) + (rand() < 0.5 ? "(?<=" : "(?<!") + pattern(1) + ")" + pattern(1);
        break;
      case 0: // after a part of any length
        p = "^" + pattern(1) + look() + pattern(1);
        break;
      case 1: // within one alternative of a group
        p = (rand() < 0.5 ? "^" : "") + pattern(1) + "(?:" + pattern(1) + "|" + look() + pattern(1) + ")";
        break;
      case 2: // in a repeated group
        p = "^(?:" + look() + pick([".", r`\S`, "[a-c]", r`\w`]) + ")" + pick(["*", "+", "{1,3}"]);
        break;
      default: // in an unanchored search, maybe twice
        p = pattern(1) + look() + (rand() < 0.5 ? pattern(1) + look() : "");
    }
    if (rand() < 0.5) p += "$";
    return p;
  },
});
