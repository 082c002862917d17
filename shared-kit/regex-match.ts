/**
 * The regex engine behind `buf.validate` patterns (`string.pattern`, CEL `matches()`), given to
 * protovalidate as its `regexMatch`. Every pattern must be RE2 syntax (RE2 compiles it first, so
 * backreferences and lookaround are refused, as protovalidate specifies), and keeps RE2's meaning.
 *
 * Why not RE2 alone: @bufbuild/re2 is linear in the input but slow in JavaScript, about 0.7 µs a
 * character on our machine (a 100,000-character post body took 70 ms, 4 MiB 3.3 s, per rule),
 * 300 to 1000 times V8's RegExp. So a pattern that backtracking provably cannot blow up runs on
 * RegExp instead: one made only of literals, escapes and character classes, each with at most one
 * quantifier; no groups, alternation, `.`, `\s`, `\b` (whose meanings differ between the engines);
 * at most one unbounded quantifier and only when anchored with `^`; bounded ranges multiplying to
 * at most 1,000. Its worst case is then (that product) x (input length) steps from one start
 * position. Every other pattern runs on RE2: linear, never exponential, but slow on long input,
 * which only a length rule before it (or the body limit) bounds.
 */
import { RE2JS } from '@bufbuild/re2';

/** The largest product of bounded quantifier ranges a pattern may have to run on RegExp. */
const MAX_BACKTRACK_FACTOR = 1000;

/** Matches like protovalidate's default (RE2: unanchored search, RE2 syntax), on RegExp where that is safe. */
export function createRegexMatch(): (pattern: string, against: string) => boolean {
  const compiled = new Map<string, (s: string) => boolean>();
  return (pattern, against) => {
    let test = compiled.get(pattern);
    if (test === undefined) {
      const re2 = RE2JS.compile(pattern); // throws on what RE2 refuses: the rule does not compile
      const fast = backtrackSafe(pattern);
      test = fast ? (s) => fast.test(s) : (s) => re2.test(s);
      compiled.set(pattern, test);
    }
    return test(against);
  };
}

/** The pattern as a RegExp when it fits the subset described above, else undefined. */
export function backtrackSafe(pattern: string): RegExp | undefined {
  let i = 0;
  let out = '';
  const anchored = pattern.startsWith('^');
  if (anchored) {
    out += '^';
    i = 1;
  }
  let unbounded = 0;
  let factor = 1;
  while (i < pattern.length) {
    if (pattern[i] === '$' && i === pattern.length - 1) {
      out += '$';
      break;
    }
    const atom = pattern[i] === '[' ? charClass(pattern, i) : pattern[i] === '\\' ? escape(pattern, i) : literal(pattern, i);
    if (!atom) return undefined;
    out += atom.js;
    i = atom.end;
    const q = quantifier(pattern, i);
    if (q === null) return undefined;
    if (q) {
      out += q.js;
      i = q.end;
      if (q.max === undefined) unbounded++;
      else factor *= q.max - q.min + 1;
    }
  }
  if (unbounded > (anchored ? 1 : 0) || factor > MAX_BACKTRACK_FACTOR) return undefined;
  try {
    return new RegExp(out, 'u');
  } catch {
    return undefined; // a form V8 reads differently or not at all: RE2
  }
}

interface Piece {
  js: string;
  end: number;
}

const META = '\\^$.|?*+()[]{}';

function literal(p: string, i: number): Piece | undefined {
  const cp = p.codePointAt(i)!;
  const ch = String.fromCodePoint(cp);
  return META.includes(ch) ? undefined : { js: ch, end: i + ch.length };
}

/** `\d \D \w \W`, `\t \n \r \f \v`, `\xHH`, `\x{H…}`, `\p{Cat}`/`\P{Cat}` (general categories), or an escaped punctuation mark. */
function escape(p: string, i: number): Piece | undefined {
  const c = p[i + 1];
  if (c === undefined) return undefined;
  if ('dDwWtnrfv'.includes(c)) return { js: `\\${c}`, end: i + 2 };
  if (c === 'x') {
    const braced = /^\\x\{([0-9A-Fa-f]{1,6})\}/.exec(p.slice(i));
    if (braced) return { js: `\\u{${braced[1]}}`, end: i + braced[0].length };
    const two = /^\\x[0-9A-Fa-f]{2}/.exec(p.slice(i));
    return two ? { js: two[0], end: i + 4 } : undefined;
  }
  if (c === 'p' || c === 'P') {
    const cat = /^\\[pP]\{([A-Z][a-z]?)\}/.exec(p.slice(i));
    return cat ? { js: cat[0], end: i + cat[0].length } : undefined;
  }
  return `${META}/-`.includes(c) ? { js: `\\${c}`, end: i + 2 } : undefined;
}

/** `[…]` or `[^…]` of literals, ranges and the escapes above; no nested `[` (RE2's POSIX classes). */
function charClass(p: string, i: number): Piece | undefined {
  let js = '[';
  let j = i + 1;
  if (p[j] === '^') {
    js += '^';
    j++;
  }
  let first = true;
  while (j < p.length && (p[j] !== ']' || first)) {
    first = false;
    if (p[j] === '[' || p[j] === ']') return undefined;
    if (p[j] === '\\') {
      const e = escape(p, j);
      if (!e) return undefined;
      js += e.js;
      j = e.end;
    } else {
      const ch = String.fromCodePoint(p.codePointAt(j)!);
      js += ch;
      j += ch.length;
    }
  }
  if (p[j] !== ']' || js === '[' || js === '[^') return undefined;
  return { js: `${js}]`, end: j + 1 };
}

/** A greedy quantifier after an atom: none (undefined), one (its range), or a form outside the subset (null). */
function quantifier(p: string, i: number): (Piece & { min: number; max: number | undefined }) | undefined | null {
  const c = p[i];
  let q: (Piece & { min: number; max: number | undefined }) | undefined;
  if (c === '*') q = { js: '*', end: i + 1, min: 0, max: undefined };
  else if (c === '+') q = { js: '+', end: i + 1, min: 1, max: undefined };
  else if (c === '?') q = { js: '?', end: i + 1, min: 0, max: 1 };
  else if (c === '{') {
    const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(p.slice(i));
    if (!m) return null;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? undefined : Number(m[3]);
    q = { js: m[0], end: i + m[0].length, min, max };
  }
  if (!q) return undefined;
  // Lazy (`*?`) or a second quantifier: outside the subset.
  return '*+?{'.includes(p[q.end] ?? '') ? null : q;
}
