// The seeded generator the golden-file scripts share (mulberry32), so each
// file comes out the same on every run.
export function makeRand(seed) {
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = (a) => a[int(0, a.length - 1)];
  const rep = (n, f) => Array.from({ length: n }, f).join("");
  return { rand, int, pick, rep };
}
