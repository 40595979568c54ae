// Writes golden.jsonl: candidate strings for the JSON Schema formats the
// sampler holds strings to (uri, ipv6, ipv4, hostname, duration, date,
// time, date-time, uuid, email), built from valid parts and then mutated
// (a character dropped, doubled, swapped or replaced), each with ajv-formats'
// verdict ("full" mode, its RFC-based expressions) and, for ipv6, node's
// net.isIPv6. sample's TestFormatsGolden checks that the sampler never
// lets through a text these refuse, and how far it agrees with them.
//
// Run from this folder (once: npm install ajv@8 ajv-formats@3), then add
// Python's jsonschema verdicts with pycheck.py:
//   node gen.mjs | python3 pycheck.py > golden.jsonl
import Ajv from "ajv";
import addFormats from "ajv-formats";
import net from "net";
import { makeRand } from "../../../internal/testgen/rand.mjs";

const ajv = new Ajv();
addFormats(ajv);

const { rand, int, pick, rep } = makeRand(20261206);
const opt = (f, p = 0.5) => (rand() < p ? f() : "");

const hex = () => rep(int(1, 4), () => pick("0123456789abcdefABCDEF"));
const octet = () => String(pick([int(0, 9), int(10, 99), int(100, 255), int(0, 255)]));
const ipv4 = () => [octet(), octet(), octet(), octet()].join(".");
const ipv6 = () => {
  const n = int(0, 8);
  const groups = Array.from({ length: 8 }, hex);
  if (rand() < 0.3) groups.splice(6, 2, ipv4());
  if (n === 8 || rand() < 0.2) return groups.join(":");
  const at = int(0, groups.length);
  const left = groups.slice(0, at), right = groups.slice(at + int(1, Math.max(1, groups.length - at)));
  return left.join(":") + "::" + right.join(":");
};
const label = () => pick([() => rep(int(1, 12), () => pick("abcxyz019")),
  () => pick("ab9") + rep(int(0, 8), () => pick("ab-9")) + pick("z0"), () => rep(int(60, 66), () => "a")])();
const hostname = () => rep(int(1, 4), () => label() + ".").slice(0, -1) + opt(() => ".", 0.1);
const num = () => String(int(0, 999));
const duration = () => {
  if (rand() < 0.1) return "P" + num() + "W";
  let s = "P";
  for (const u of "YMD") s += opt(() => num() + u, 0.5);
  if (rand() < 0.6) { s += "T"; for (const u of "HMS") s += opt(() => num() + u, 0.5); }
  return s;
};
const unres = "abcXYZ019-._~";
const sub = "!$&'()*+,;=";
const pchar = () => pick([() => pick(unres), () => pick(sub), () => pick(":@"), () => "%" + pick("0aF") + pick("09bE")])();
const seg = (lo) => rep(int(lo, 6), pchar);
const path = () => rep(int(0, 3), () => "/" + seg(0));
const host = () => pick([hostname, ipv4, () => "[" + ipv6() + "]", () => rep(int(0, 5), () => pick(unres + sub))])();
const uri = () => {
  let s = pick(["http", "https", "ftp", "urn", "mailto", "a+b.c-d", "x"]) + ":";
  s += pick([
    () => "//" + opt(() => rep(int(0, 4), () => pick(unres + sub + ":")) + "@", 0.2) + host() + opt(() => ":" + String(int(0, 70000)), 0.3) + path(),
    () => "/" + opt(() => seg(1) + path()),
    () => seg(1) + path(),
    () => "",
  ])();
  s += opt(() => "?" + rep(int(0, 6), () => pick([pchar, () => "/", () => "?"])()), 0.3);
  s += opt(() => "#" + rep(int(0, 6), () => pick([pchar, () => "/", () => "?"])()), 0.2);
  return s;
};
const d2 = (lo, hi) => String(int(lo, hi)).padStart(2, "0");
const date = () => String(int(0, 2400)).padStart(4, "0") + "-" + d2(1, 12) + "-" + d2(1, 31);
const time = () => d2(0, 23) + ":" + d2(0, 59) + ":" + d2(0, 60) + opt(() => "." + rep(int(1, 9), () => pick("0123456789")), 0.3) +
  pick(["Z", "+09:00", "-05:30", "", "z"]);
const uuid = () => [8, 4, 4, 4, 12].map((n) => rep(n, () => pick("0123456789abcdefABCDEF"))).join("-");
const email = () => rep(int(1, 8), () => pick("abc.9_%+-")) + "@" + hostname();

const gens = { uri, ipv6, ipv4, hostname, duration, date, time, "date-time": () => date() + "T" + time(), uuid, email };
const noise = "az09:/.?#[]@%-_~!$'()*+,;=PYMDTHSWZ";
const mutate = (s) => {
  const i = int(0, Math.max(0, s.length - 1));
  switch (int(0, 3)) {
    case 0: return s.slice(0, i) + s.slice(i + 1);
    case 1: return s.slice(0, i) + s[i] + s.slice(i);
    case 2: return s.slice(0, i) + pick(noise) + s.slice(i + 1);
    default: return s.slice(0, i) + (s[i + 1] ?? "") + (s[i] ?? "") + s.slice(i + 2);
  }
};

const lines = [];
for (const [format, gen] of Object.entries(gens)) {
  const check = ajv.compile({ type: "string", format });
  const seen = new Set();
  for (let n = 0; seen.size < 400 && n < 4000; n++) {
    let s = gen();
    for (let k = rand() < 0.4 ? int(1, 2) : 0; k > 0; k--) s = mutate(s);
    if (seen.has(s)) continue;
    seen.add(s);
    const rec = { format, text: s, ajv: check(s) };
    if (format === "ipv6") rec.node = net.isIPv6(s);
    if (format === "ipv4") rec.node = net.isIPv4(s);
    lines.push(JSON.stringify(rec));
  }
}
process.stdout.write(`{"generator":"gen.mjs","tools":"ajv@8 ajv-formats@3, node net","seed":20261206}\n`);
process.stdout.write(lines.join("\n") + "\n");
