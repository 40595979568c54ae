// The random pattern the golden-file scripts glue from their atoms: one or
// two pieces, each an atom or (below depth 2, sometimes) a group of one or
// two alternatives, with a quantifier. capturing: groups are (…) or (?:…)
// at random, else always (?:…).
export function patternMaker({ rand, int, pick }, atoms, capturing) {
  const quants = ["", "", "", "*", "+", "?", "{1,2}", "{0,3}", "{2}"];
  const pattern = (depth) => {
    let s = "";
    for (let i = int(1, 2); i > 0; i--) {
      const group = depth < 2 && rand() < 0.15;
      s += (group
        ? "(" + (capturing ? (rand() < 0.5 ? "?:" : "") : "?:") + pattern(depth + 1) + (rand() < 0.4 ? "|" + pattern(depth + 1) : "") + ")"
        : pick(atoms)) + pick(quants);
    }
    return s;
  };
  return pattern;
}
