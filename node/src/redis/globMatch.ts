/**
 * Redis-style glob matching (as KEYS, CONFIG GET and friends use): `*` any
 * run, `?` any one character, `[abc]`, `[^abc]`, `[a-z]` classes, and `\`
 * escaping the next character.
 */
export function globMatch(pattern: string, s: string, nocase = false): boolean {
  if (nocase) {
    pattern = pattern.toLowerCase();
    s = s.toLowerCase();
  }
  return matchFrom(pattern, 0, s, 0, 0);
}

function matchFrom(p: string, pi: number, s: string, si: number, depth: number): boolean {
  if (depth > 1000) return false;
  while (pi < p.length) {
    const c = p[pi]!;
    if (c === '*') {
      while (pi + 1 < p.length && p[pi + 1] === '*') pi++;
      if (pi + 1 === p.length) return true;
      for (let k = si; k <= s.length; k++) if (matchFrom(p, pi + 1, s, k, depth + 1)) return true;
      return false;
    }
    if (si >= s.length) return false;
    if (c === '?') {
      pi++;
      si++;
      continue;
    }
    if (c === '[') {
      pi++;
      const negate = p[pi] === '^';
      if (negate) pi++;
      let matched = false;
      while (pi < p.length && p[pi] !== ']') {
        if (p[pi] === '\\' && pi + 1 < p.length) {
          pi++;
          if (p[pi] === s[si]) matched = true;
          pi++;
        } else if (pi + 2 < p.length && p[pi + 1] === '-' && p[pi + 2] !== ']') {
          let lo = p[pi]!;
          let hi = p[pi + 2]!;
          if (lo > hi) [lo, hi] = [hi, lo];
          if (s[si]! >= lo && s[si]! <= hi) matched = true;
          pi += 3;
        } else {
          if (p[pi] === s[si]) matched = true;
          pi++;
        }
      }
      pi++; // past ']' (or the end of an unterminated class)
      if (matched === negate) return false;
      si++;
      continue;
    }
    if (c === '\\' && pi + 1 < p.length) pi++;
    if (p[pi] !== s[si]) return false;
    pi++;
    si++;
  }
  return si === s.length;
}
