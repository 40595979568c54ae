// Writes golden.jsonl: random JSON Schema patterns made of the pieces where
// ECMA-262 and Go's RE2 syntax part (\s, \S, ., [\b], [], [^], \u escapes,
// \cX, \p{Script=…} and long category names, [ inside a class), glued with
// quantifiers, groups, alternation and anchors, each with short strings of
// awkward characters (every ECMA space and line terminator, U+0085 and
// U+001C, which are not, NUL, backspace, Hangul, an astral emoji) and
// whether node's RegExp (u flag, as Ajv compiles a schema's pattern) finds
// a match in them. sample's TestECMAPatternsGolden runs each pattern as a
// JSON Schema pattern and compares.
//
// Run from this folder with node 20: node gen.mjs > golden.jsonl
import { makeRand } from "../../../internal/testgen/rand.mjs";
import { writeCases } from "./cases.mjs";
import { patternMaker } from "./pieces.mjs";

const { rand, int, pick } = makeRand(20261206);
const r = String.raw;
const atoms = [r`\s`, r`\S`, ".", r`\d`, r`\w`, r`\W`, r`\D`, "a", "b", "가", "[a-c]", "[^a]", r`[\s]`, r`[\S]`,
  r`[^\s]`, r`[^\S]`, r`[\b]`, "[]", "[^]", "[.]", r`[\]]`, "[[]", r`[a\s가]`, r`[^\S\n]`, r`\u00e9`,
  r`\u{1F600}`, r`\uD83D\uDE00`, r`\cJ`, r`\cM`, r`\p{Script=Hangul}`, r`\p{sc=Latin}`, r`\p{L}`, r`\p{Lu}`,
  r`\P{L}`, r`\p{Letter}`, r`\p{gc=Nd}`, r`\p{Zs}`, r`[\p{Nd}\s]`, r`\/`, r`\.`, r`\\`, r`\-`, r`\n`, r`\r`,
  r`\t`, r`\v`, r`\f`, r`\0`, r`\x41`, r`\u3000`, r`[\u2028\u2029]`];
const pattern = patternMaker({ rand, int, pick }, atoms, true);
const chars = ["\t", "\n", "\v", "\f", "\r", " ", "\u00a0", "\u1680", "\u2000", "\u200a", "\u200b", "\u2028",
  "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff", "\u0085", "\x1c", "\x08", "\x00", "a", "b", "c", "é", "가",
  "한", "A", "Z", "1", "٣", "_", "-", ".", "\\", "]", "[", "/", "😀", "x"];

writeCases({
  name: "gen.mjs", seed: 20261206, count: 400, chars, maxLen: 3, int, pick,
  makePattern: () => {
    let p = pattern(0);
    if (rand() < 0.3) p = "^" + p;
    if (rand() < 0.3) p += "$";
    return p;
  },
});
