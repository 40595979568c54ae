// Adds Ajv's verdict to each record multiple_gen.py writes: it reads
// them on standard input and writes them again with "ajv" beside the
// others (Ajv divides in float64, as Python's jsonschema does).
//
// Run from this folder (once: npm install ajv@8):
//     python3 multiple_gen.py | node multiple_ajv.mjs > multiple.jsonl
import Ajv from "ajv";
import { createRequire } from "module";
import readline from "readline";

const version = createRequire(import.meta.url)("ajv/package.json").version;
const ajv = new Ajv();
const compiled = new Map();
let first = true;
for await (const line of readline.createInterface({ input: process.stdin })) {
  const rec = JSON.parse(line);
  if (first) {
    first = false;
    rec.tools += ", ajv " + version;
    console.log(JSON.stringify(rec));
    continue;
  }
  const key = JSON.stringify(rec.schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile(rec.schema));
  rec.ajv = compiled.get(key)(JSON.parse(rec.text));
  console.log(JSON.stringify(rec));
}
