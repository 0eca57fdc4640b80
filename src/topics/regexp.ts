/**
 * The regular-expression groups of URL patterns (`:id(\d+)`, `(blue|red)`), compiled to the same NFA as
 * the rest of a pattern (src/topics/automaton.ts), so they match in time linear in the topic like every
 * selector: no backtracking engine ever runs them. draft-dunglas-mercure-08 §4.2 requires URL patterns
 * and asks for a linear-time engine; this is that engine for the regular subset of JavaScript's syntax.
 *
 * Supported, with the meaning JavaScript gives them under the `u` flag: literal characters and escaped
 * punctuation, `.`, classes `[a-z0-9_-]` and `[^/]` with ranges, `\d \D \w \W` (inside classes too),
 * `\xHH` and `\uHHHH` for ASCII, non-capturing groups `(?:…)`, alternation `|`, and the quantifiers
 * `? * + {n} {n,} {n,m}`, greedy or lazy (laziness changes which match a backtracking engine reports,
 * never whether the whole component matches, which is all a topic selector asks).
 *
 * Refused with a message naming the construct: back-references, lookarounds and `\b` (not regular, or
 * not without a larger automaton), anchors (a group is always inside `^…$`), `\s`, `\p{…}` and non-ASCII
 * escapes (their classes reach beyond ASCII, which `CharClass` describes only as none/all). Capturing
 * groups never get here: the URL Pattern standard refuses them first. A bounded repetition is unrolled,
 * so `\d{1000}` costs 1000 states and meets the automaton's state cap like any large pattern.
 */

import type { CharClass, NfaBuilder } from './automaton.js';

type Fragment = (from: number) => number;

interface Class {
  readonly ascii: Uint8Array;
  /** Negated classes (and `\D`, `\W`, `.`) also hold every non-ASCII code unit. */
  negated: boolean;
}

const DIGIT = (c: number) => c >= 0x30 && c <= 0x39;
const WORD = (c: number) => DIGIT(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;

function unsupported(what: string, at: number): TypeError {
  return new TypeError(`${what} (at ${at}) is not supported in a regular-expression group`);
}

/** Builds the NFA fragment for one regular-expression group's source, from state `from`. */
export function compileRegExp(b: NfaBuilder, from: number, source: string): number {
  let i = 0;
  const peek = () => source[i];
  const eat = (c: string) => {
    if (source[i] === c) {
      i++;
      return true;
    }
    return false;
  };

  function alternation(): Fragment {
    const branches: Fragment[] = [sequence()];
    while (eat('|')) branches.push(sequence());
    if (branches.length === 1) return branches[0]!;
    return (f) => b.alt(f, ...branches);
  }

  function sequence(): Fragment {
    const items: Fragment[] = [];
    while (i < source.length && peek() !== '|' && peek() !== ')') items.push(quantified(atom()));
    return (f) => {
      let s = f;
      for (const item of items) s = item(s);
      return s;
    };
  }

  function quantified(body: Fragment): Fragment {
    const at = i;
    let min: number;
    let max: number; // Infinity for unbounded
    if (eat('*')) [min, max] = [0, Infinity];
    else if (eat('+')) [min, max] = [1, Infinity];
    else if (eat('?')) [min, max] = [0, 1];
    else if (peek() === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i))) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i))!;
      i += m[0].length;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (max < min) throw new TypeError(`Numbers out of order in {${m[1]}${m[2]}} at ${at}`);
    } else return body;
    eat('?'); // lazy: the same language
    if ('*+?{'.includes(peek() ?? '') && peek() !== undefined)
      throw new TypeError(`Nothing to repeat at ${i}`);
    return (f) => {
      let s = f;
      for (let n = 0; n < min; n++) s = body(s);
      if (max === Infinity) return b.zeroOrMore(s, body);
      for (let n = min; n < max; n++) s = b.optional(s, body);
      return s;
    };
  }

  function atom(): Fragment {
    const at = i;
    const c = source[i++]!;
    if (c === '(') {
      if (source.startsWith('?:', i)) {
        i += 2;
        const inner = alternation();
        if (!eat(')')) throw new TypeError(`Unterminated group at ${at}`);
        return inner;
      }
      if (
        source.startsWith('?=', i) ||
        source.startsWith('?!', i) ||
        source.startsWith('?<=', i) ||
        source.startsWith('?<!', i)
      ) {
        throw unsupported('A lookaround', at);
      }
      throw unsupported('A capturing group', at);
    }
    if (c === '*' || c === '+' || c === '?' || c === '{') throw new TypeError(`Nothing to repeat at ${at}`);
    if (c === '^' || c === '$') throw unsupported(`The anchor "${c}"`, at);
    if (c === '.')
      return classFragment({ ascii: asciiSet((x) => x !== 0x0a && x !== 0x0d), negated: true }, true);
    if (c === '[') return classFragment(characterClass(at));
    if (c === '\\') return escapeFragment(at);
    if (c.charCodeAt(0) > 0x7f) throw unsupported('A non-ASCII character', at);
    const code = c.charCodeAt(0);
    return (f) => b.char(f, code);
  }

  function escapeFragment(at: number): Fragment {
    const set = escapeClass(at);
    if (set !== null) return classFragment(set);
    const code = escapedCode(at);
    return (f) => b.char(f, code);
  }

  /** `\d \D \w \W` as a class, or null for an escape that is one character. */
  function escapeClass(at: number): Class | null {
    const e = source[i];
    if (e === undefined) throw new TypeError(`Trailing "\\" at ${at}`);
    if (e === 'd' || e === 'D' || e === 'w' || e === 'W') {
      i++;
      const test = e.toLowerCase() === 'd' ? DIGIT : WORD;
      const negated = e === 'D' || e === 'W';
      return { ascii: asciiSet((x) => test(x) !== negated), negated };
    }
    if (e === 's' || e === 'S') throw unsupported('"\\s" (Unicode white space)', at);
    if (e === 'p' || e === 'P') throw unsupported('A Unicode property escape', at);
    if (e === 'b' || e === 'B') throw unsupported('A word boundary', at);
    if (/[1-9]/.test(e) || e === 'k') throw unsupported('A back-reference', at);
    return null;
  }

  /** The code unit of a one-character escape: `\n`, `\xHH`, `\uHHHH` (ASCII) or escaped punctuation. */
  function escapedCode(at: number): number {
    const e = source[i++]!;
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };
    if (e in simple) return simple[e]!;
    const hex = e === 'x' ? 2 : e === 'u' ? 4 : 0;
    if (hex > 0) {
      const digits = source.slice(i, i + hex);
      if (!new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(digits)) throw new TypeError(`Invalid escape at ${at}`);
      i += hex;
      const code = Number.parseInt(digits, 16);
      if (code > 0x7f) throw unsupported('A non-ASCII escape', at);
      return code;
    }
    if (/[\^$\\.*+?()[\]{}|/-]/.test(e)) return e.charCodeAt(0);
    throw new TypeError(`Invalid escape "\\${e}" at ${at}`);
  }

  function characterClass(at: number): Class {
    const negated = eat('^');
    const ascii = new Uint8Array(128);
    while (peek() !== ']') {
      if (i >= source.length) throw new TypeError(`Unterminated character class at ${at}`);
      const lowAt = i;
      let low: number;
      if (eat('\\')) {
        const set = escapeClass(lowAt);
        if (set !== null) {
          if (set.negated) throw unsupported('A negated escape inside a class', lowAt);
          for (let x = 0; x < 128; x++) if (set.ascii[x] === 1) ascii[x] = 1;
          continue;
        }
        low = escapedCode(lowAt);
      } else {
        const c = source[i++]!;
        if (c.charCodeAt(0) > 0x7f) throw unsupported('A non-ASCII character', lowAt);
        low = c.charCodeAt(0);
      }
      let high = low;
      if (peek() === '-' && source[i + 1] !== ']' && i + 1 < source.length) {
        i++;
        const highAt = i;
        if (eat('\\')) {
          if (escapeClass(highAt) !== null) throw new TypeError(`Invalid class range at ${highAt}`);
          high = escapedCode(highAt);
        } else {
          const c = source[i++]!;
          if (c.charCodeAt(0) > 0x7f) throw unsupported('A non-ASCII character', highAt);
          high = c.charCodeAt(0);
        }
        if (high < low) throw new TypeError(`Range out of order in character class at ${lowAt}`);
      }
      for (let x = low; x <= high; x++) ascii[x] = 1;
    }
    i++; // ]
    if (!negated) return { ascii, negated: false };
    return { ascii: asciiSet((x) => ascii[x] !== 1), negated: true };
  }

  function classFragment(set: Class, dot = false): Fragment {
    const cls: CharClass = {
      ascii: set.ascii,
      nonAscii: set.negated ? (dot ? 'notLineTerminator' : 'all') : 'none',
    };
    return (f) => b.charClass(f, cls);
  }

  const whole = alternation();
  if (i < source.length) throw new TypeError(`Unmatched ")" at ${i}`);
  return whole(from);
}

function asciiSet(test: (code: number) => boolean): Uint8Array {
  const set = new Uint8Array(128);
  for (let x = 0; x < 128; x++) set[x] = test(x) ? 1 : 0;
  return set;
}
