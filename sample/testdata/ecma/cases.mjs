// The loop gen.mjs and lookahead.mjs share: patterns from makePattern
// until count of them compile in node (u flag, as Ajv compiles a schema's
// pattern), each with 16 strings of up to maxLen of chars and whether
// RegExp finds a match in each, written as JSON lines after a header.
export function writeCases({ name, seed, count, makePattern, chars, maxLen, int, pick }) {
  const lines = [];
  while (lines.length < count) {
    const p = makePattern();
    let re;
    try {
      re = new RegExp(p, "u");
    } catch {
      continue; // not a pattern in ECMA-262 either
    }
    const s = [], m = [];
    for (let j = 0; j < 16; j++) {
      let t = "";
      for (let k = int(0, maxLen); k > 0; k--) t += pick(chars);
      s.push(t);
      m.push(re.test(t));
    }
    lines.push(JSON.stringify({ p, s, m }));
  }
  process.stdout.write(`{"generator":"${name}","tool":"node ${process.version} RegExp, u flag","seed":${seed}}\n`);
  process.stdout.write(lines.join("\n") + "\n");
}
