/**
 * RFC 6570 URI templates, all four levels: parsing, expansion, and matching in reverse.
 *
 * A topic matches a template when some variable values (undefined, a string, a list or an associative
 * array for each variable) expand the template to exactly that topic. The set of all expansions of a
 * template is a regular language, so the template is compiled once into a nondeterministic automaton
 * (`TemplateNfa`) and matched by simulating it with a lazily built, size-capped DFA (`TemplateMatcher`).
 * There is no backtracking: a match reads each character of the topic once and does at most
 * O(automaton size) work per character, whatever the topic and the template.
 *
 * Deliberate approximations (documented in docs/topics.md), all in the accepting direction:
 * - a prefix modifier `{var:N}` counts a percent-encoded character as one character of one or more
 *   `%XX` triplets (UTF-8 validity of the octets is not checked);
 * - hexadecimal digits in `%XX` are matched case-insensitively;
 * - a non-ASCII literal character of the template matches itself (the IRI form) as well as its
 *   percent-encoded UTF-8 form, which is what expansion produces.
 */

import {
  type CharClass,
  LazyDfa,
  MAX_AUTOMATON_STATES,
  MAX_DFA_STATES,
  type Nfa,
  NfaBuilder,
} from './automaton.js';
import { TopicError } from './errors.js';

// ---------------------------------------------------------------------------------------------------
// Character classes (RFC 3986 section 2, RFC 6570 section 1.5)
// ---------------------------------------------------------------------------------------------------

function asciiSet(chars: string): Uint8Array {
  const set = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) set[chars.charCodeAt(i)] = 1;
  return set;
}
function union(...sets: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(128);
  for (const s of sets) for (let i = 0; i < 128; i++) if (s[i]) out[i] = 1;
  return out;
}

const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DIGIT = '0123456789';
/** unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" */
const UNRESERVED = asciiSet(ALPHA + DIGIT + '-._~');
/** reserved = gen-delims / sub-delims */
const RESERVED = asciiSet(":/?#[]@!$&'()*+,;=");
const UNRESERVED_OR_RESERVED = union(UNRESERVED, RESERVED);
const HEX = asciiSet(DIGIT + 'ABCDEFabcdef');
const VARCHAR = asciiSet(ALPHA + DIGIT + '_');

/** Literal characters that RFC 6570 section 2.1 excludes from templates (besides CTL and the braces). */
const FORBIDDEN_LITERALS = new Set([' ', '"', "'", '<', '>', '\\', '^', '`', '|']);

// ---------------------------------------------------------------------------------------------------
// Parsing (RFC 6570 section 2)
// ---------------------------------------------------------------------------------------------------

export type Operator = '' | '+' | '#' | '.' | '/' | ';' | '?' | '&';

export interface VarSpec {
  /** The variable name exactly as written, pct-encoded octets and dots included. */
  readonly name: string;
  /** The prefix length of `{var:N}`, 1 to 9999. */
  readonly prefix?: number;
  /** `{var*}` */
  readonly explode: boolean;
}

export type TemplatePart =
  | { readonly type: 'literal'; readonly text: string }
  | { readonly type: 'expression'; readonly operator: Operator; readonly vars: readonly VarSpec[] };

/** The expansion rules of one operator, from the table of RFC 6570 Appendix A. */
interface OperatorRules {
  readonly first: string;
  readonly sep: string;
  readonly named: boolean;
  readonly ifemp: string;
  /** true: U+R (reserved characters and pct-encoded triplets pass through); false: U only. */
  readonly reserved: boolean;
}

const RULES: Record<Operator, OperatorRules> = {
  '': { first: '', sep: ',', named: false, ifemp: '', reserved: false },
  '+': { first: '', sep: ',', named: false, ifemp: '', reserved: true },
  '#': { first: '#', sep: ',', named: false, ifemp: '', reserved: true },
  '.': { first: '.', sep: '.', named: false, ifemp: '', reserved: false },
  '/': { first: '/', sep: '/', named: false, ifemp: '', reserved: false },
  ';': { first: ';', sep: ';', named: true, ifemp: '', reserved: false },
  '?': { first: '?', sep: '&', named: true, ifemp: '=', reserved: false },
  '&': { first: '&', sep: '&', named: true, ifemp: '=', reserved: false },
};

function invalid(template: string, message: string): TopicError {
  return new TopicError('INVALID_SELECTOR', `Invalid URI template ${JSON.stringify(template)}: ${message}`);
}

function isHex(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c < 128 && HEX[c] === 1;
}

/** Parses a URI template, throwing a `TopicError` with code `INVALID_SELECTOR` if it is not valid. */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = '';
  let i = 0;
  while (i < template.length) {
    const ch = template[i]!;
    if (ch === '{') {
      const close = template.indexOf('}', i + 1);
      if (close < 0) throw invalid(template, `the "{" at offset ${i} is never closed`);
      const body = template.slice(i + 1, close);
      if (body.includes('{')) throw invalid(template, `expressions cannot nest (offset ${i})`);
      if (literal) parts.push({ type: 'literal', text: literal });
      literal = '';
      parts.push(parseExpression(template, body, i));
      i = close + 1;
      continue;
    }
    if (ch === '}') throw invalid(template, `the "}" at offset ${i} has no matching "{"`);
    const code = ch.charCodeAt(0);
    if (ch === '%') {
      if (!isHex(template, i + 1) || !isHex(template, i + 2)) {
        throw invalid(template, `"%" at offset ${i} must start a percent-encoded octet like %2F`);
      }
      literal += template.slice(i, i + 3);
      i += 3;
      continue;
    }
    if (code <= 0x20 || code === 0x7f || FORBIDDEN_LITERALS.has(ch)) {
      throw invalid(
        template,
        `the character ${JSON.stringify(ch)} at offset ${i} is not allowed in a template`,
      );
    }
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = template.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw invalid(template, `lone surrogate at offset ${i}`);
      literal += template.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (code >= 0xdc00 && code <= 0xdfff) throw invalid(template, `lone surrogate at offset ${i}`);
    literal += ch;
    i++;
  }
  if (literal) parts.push({ type: 'literal', text: literal });
  return parts;
}

function parseExpression(template: string, body: string, offset: number): TemplatePart {
  if (body === '') throw invalid(template, `empty expression "{}" at offset ${offset}`);
  let operator: Operator = '';
  let rest = body;
  const first = body[0]!;
  if ('+#./;?&'.includes(first)) {
    operator = first as Operator;
    rest = body.slice(1);
  } else if ('=,!@|'.includes(first)) {
    throw invalid(template, `the operator "${first}" at offset ${offset} is reserved for future extensions`);
  }
  const vars: VarSpec[] = [];
  for (const spec of rest.split(',')) vars.push(parseVarSpec(template, spec, offset));
  return { type: 'expression', operator, vars };
}

function parseVarSpec(template: string, spec: string, offset: number): VarSpec {
  let name = spec;
  let prefix: number | undefined;
  let explode = false;
  if (spec.endsWith('*')) {
    explode = true;
    name = spec.slice(0, -1);
  } else {
    const colon = spec.indexOf(':');
    if (colon >= 0) {
      const digits = spec.slice(colon + 1);
      if (!/^[1-9][0-9]{0,3}$/.test(digits)) {
        throw invalid(
          template,
          `the prefix modifier ":${digits}" in the expression at offset ${offset} must be 1 to 9999`,
        );
      }
      prefix = Number(digits);
      name = spec.slice(0, colon);
    }
  }
  // varname = varchar *( ["."] varchar ); varchar = ALPHA / DIGIT / "_" / pct-encoded
  let ok = name.length > 0;
  let lastWasDot = true;
  for (let i = 0; ok && i < name.length; ) {
    const c = name.charCodeAt(i);
    if (c === 0x25 /* % */) {
      ok = isHex(name, i + 1) && isHex(name, i + 2);
      i += 3;
      lastWasDot = false;
    } else if (c === 0x2e /* . */) {
      ok = !lastWasDot;
      lastWasDot = true;
      i++;
    } else {
      ok = c < 128 && VARCHAR[c] === 1;
      lastWasDot = false;
      i++;
    }
  }
  if (!ok || lastWasDot) {
    throw invalid(
      template,
      `${JSON.stringify(spec)} in the expression at offset ${offset} is not a valid variable ` +
        '(letters, digits, "_", %XX and inner dots, optionally followed by ":N" or "*")',
    );
  }
  return prefix === undefined ? { name, explode } : { name, prefix, explode };
}

// ---------------------------------------------------------------------------------------------------
// Expansion (RFC 6570 section 3 and Appendix A)
// ---------------------------------------------------------------------------------------------------

/** A variable value: undefined/null is undefined; an empty list or object is undefined too. */
export type TemplateValue =
  | string
  | number
  | boolean
  | readonly string[]
  | Readonly<Record<string, string>>
  | null
  | undefined;

const utf8 = new TextEncoder();

function encode(value: string, reserved: boolean): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 128 && (reserved ? UNRESERVED_OR_RESERVED[c] : UNRESERVED[c])) {
      out += value[i];
      continue;
    }
    if (reserved && c === 0x25 && isHex(value, i + 1) && isHex(value, i + 2)) {
      out += value.slice(i, i + 3);
      i += 2;
      continue;
    }
    let char = value[i]!;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) char = value.slice(i, ++i + 1);
    for (const byte of utf8.encode(char)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Truncates to at most `n` characters (code points, so a surrogate pair is never split). */
function prefixOf(value: string, n: number): string {
  let count = 0;
  let i = 0;
  while (i < value.length && count < n) {
    const c = value.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < value.length ? 2 : 1;
    count++;
  }
  return value.slice(0, i);
}

/** Expands a URI template with the given variables (RFC 6570 Appendix A). */
export function expandTemplate(
  template: string | readonly TemplatePart[],
  variables: Readonly<Record<string, TemplateValue>>,
): string {
  const parts = typeof template === 'string' ? parseTemplate(template) : template;
  let out = '';
  for (const part of parts) {
    if (part.type === 'literal') {
      out += encode(part.text, true);
      continue;
    }
    const rules = RULES[part.operator];
    const pieces: string[] = [];
    for (const v of part.vars) {
      const piece = expandVar(rules, v, Object.hasOwn(variables, v.name) ? variables[v.name] : undefined);
      if (piece !== undefined) pieces.push(piece);
    }
    if (pieces.length > 0) out += rules.first + pieces.join(rules.sep);
  }
  return out;
}

function expandVar(rules: OperatorRules, v: VarSpec, raw: TemplateValue): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  const enc = (s: string) => encode(s, rules.reserved);
  if (typeof raw !== 'object') {
    let s = String(raw);
    if (v.prefix !== undefined) s = prefixOf(s, v.prefix);
    if (!rules.named) return enc(s);
    return s === '' ? v.name + rules.ifemp : `${v.name}=${enc(s)}`;
  }
  const pairs: [string, string][] | undefined = Array.isArray(raw)
    ? undefined
    : Object.entries(raw as Record<string, string>);
  const items = Array.isArray(raw) ? (raw as readonly string[]) : undefined;
  if ((items && items.length === 0) || (pairs && pairs.length === 0)) return undefined;
  if (!v.explode) {
    const list = items ? items.map(enc) : pairs!.flatMap(([k, val]) => [enc(k), enc(val)]);
    const joined = list.join(',');
    return rules.named ? `${v.name}${joined === '' ? rules.ifemp : '='}${joined}` : joined;
  }
  if (items) {
    if (!rules.named) return items.map(enc).join(rules.sep);
    return items.map((s) => (s === '' ? v.name + rules.ifemp : `${v.name}=${enc(s)}`)).join(rules.sep);
  }
  return pairs!
    .map(([k, val]) => (rules.named && val === '' ? enc(k) + rules.ifemp : `${enc(k)}=${enc(val)}`))
    .join(rules.sep);
}

// ---------------------------------------------------------------------------------------------------
// Compilation to an NFA
// ---------------------------------------------------------------------------------------------------

/** The most NFA states one template may compile to; beyond this it is refused as too complex. */
export const MAX_TEMPLATE_STATES = MAX_AUTOMATON_STATES;

/** An ASCII character class, as the template rules use them (non-ASCII never matches a class). */
const asciiClasses = new WeakMap<Uint8Array, CharClass>();
function asciiClass(set: Uint8Array): CharClass {
  let cls = asciiClasses.get(set);
  if (cls === undefined) {
    cls = { ascii: set, nonAscii: 'none' };
    asciiClasses.set(set, cls);
  }
  return cls;
}

/** The generic NFA builder plus the shapes of template values (percent-encoded triplets, lists). */
class TemplateNfaBuilder extends NfaBuilder {
  constructor(template: string) {
    super(
      (max) => invalid(template, `it is too complex (more than ${max} automaton states)`),
      MAX_TEMPLATE_STATES,
    );
  }
  set(from: number, set: Uint8Array, to = this.state()): number {
    return this.charClass(from, asciiClass(set), to);
  }
  /** One or more `%XX` triplets, from `from` to `to`. */
  pct(from: number, to: number): void {
    const a = this.char(from, 0x25);
    const b = this.set(a, HEX);
    const c = this.set(b, HEX);
    this.epsilon(c, to);
    this.char(c, 0x25, a);
  }
  /** Zero or more value characters: allowed characters and pct-encoded triplets. */
  star(from: number, allowed: Uint8Array): number {
    const s = this.state();
    this.epsilon(from, s);
    this.set(s, allowed, s);
    this.pct(s, s);
    return s;
  }
  /** One or more value characters. */
  plus(from: number, allowed: Uint8Array): number {
    const s = this.state();
    this.set(from, allowed, s);
    this.pct(from, s);
    return this.star(s, allowed);
  }
  /** Between `min` and `max` value characters (a pct-encoded character counts as one). */
  bounded(from: number, allowed: Uint8Array, min: number, max: number): number {
    const end = this.state();
    let s = from;
    for (let i = 0; i < max; i++) {
      if (i >= min) this.epsilon(s, end);
      const next = this.state();
      this.set(s, allowed, next);
      this.pct(s, next);
      s = next;
    }
    this.epsilon(s, end);
    return end;
  }
  /** `X (sep X)*` where `item(from)` builds X and returns its end. */
  items(from: number, sep: string, item: (from: number) => number): number {
    const start = this.state();
    this.epsilon(from, start);
    const end = item(start);
    const sepEnd = this.text(end, sep);
    this.epsilon(sepEnd, start);
    return end;
  }
}

function compileLiteral(b: TemplateNfaBuilder, from: number, text: string): number {
  let s = from;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      s = b.char(s, c); // ASCII literals (pct-encoded triplets included) are copied as they are
      continue;
    }
    // A non-ASCII literal expands to its pct-encoded UTF-8 octets; accept its IRI form as well.
    const width = c >= 0xd800 && c <= 0xdbff ? 2 : 1;
    const char = text.slice(i, i + width);
    i += width - 1;
    const encoded = encode(char, true);
    s = b.alt(
      s,
      (f) => b.text(f, char),
      (f) => b.text(f, encoded),
    );
  }
  return s;
}

function compileExpression(
  b: TemplateNfaBuilder,
  from: number,
  operator: Operator,
  vars: readonly VarSpec[],
): number {
  const rules = RULES[operator];
  const allowed = rules.reserved ? UNRESERVED_OR_RESERVED : UNRESERVED;
  /** Values of non-exploded composites may also contain the commas that join their items. */
  const withComma = union(allowed, asciiSet(','));

  /** The language of one defined variable. */
  const defined =
    (v: VarSpec) =>
    (f: number): number => {
      const value = (g: number) => b.star(g, allowed);
      /** name=value or name+ifemp, the shape of a named string and of a named exploded list item */
      const namedItem = (name: (g: number) => number) => (g: number) =>
        b.alt(
          g,
          (h) => b.text(name(h), rules.ifemp),
          (h) => b.plus(b.char(name(h), 0x3d), allowed),
        );
      const varName = (g: number) => b.text(g, v.name);
      if (v.prefix !== undefined) {
        // Only strings take a prefix modifier.
        const max = v.prefix;
        if (!rules.named) return b.bounded(f, allowed, 0, max);
        return b.alt(
          f,
          (h) => b.text(varName(h), rules.ifemp),
          (h) => b.bounded(b.char(varName(h), 0x3d), allowed, 1, max),
        );
      }
      if (!v.explode) {
        // A string, or a list or associative array joined with commas.
        if (!rules.named) return b.star(f, withComma);
        return b.alt(
          f,
          (h) => b.text(varName(h), rules.ifemp),
          (h) => b.star(b.char(varName(h), 0x3d), withComma),
        );
      }
      // Exploded: a string (one list item), a list, or an associative array of key=value pairs.
      if (!rules.named) {
        return b.alt(
          f,
          (h) => b.items(h, rules.sep, value),
          (h) => b.items(h, rules.sep, (g) => value(b.char(value(g), 0x3d))),
        );
      }
      return b.alt(
        f,
        (h) => b.items(h, rules.sep, namedItem(varName)),
        (h) => b.items(h, rules.sep, namedItem(value)),
      );
    };

  // Either nothing (every variable undefined) or `first` then the defined variables joined by `sep`:
  // state none[i] = no variable defined before i, some[i] = at least one.
  return b.alt(
    from,
    (f) => f,
    (f) => {
      let none = b.text(f, rules.first);
      let some = b.state();
      for (const v of vars) {
        const start = b.state();
        b.epsilon(none, start);
        const afterSep = b.text(some, rules.sep);
        b.epsilon(afterSep, start);
        const end = defined(v)(start);
        const nextNone = b.state();
        const nextSome = b.state();
        b.epsilon(none, nextNone);
        b.epsilon(some, nextSome);
        b.epsilon(end, nextSome);
        none = nextNone;
        some = nextSome;
      }
      return some;
    },
  );
}

/** A compiled template automaton, shared by every matcher of the same template. */
export interface TemplateNfa extends Nfa {
  /** The literal text before the first expression: every match starts with it. */
  readonly literalPrefix: string;
  /** The state the automaton is in after reading `literalPrefix` (0 when it is empty). */
  readonly afterPrefix: number;
  /** The literal text after the last expression: every match but the empty-template one ends with it. */
  readonly literalSuffix: string;
  /** Whether the template has at least one expression. */
  readonly hasExpressions: boolean;
  /** How many expressions and variables the template has (the cost of a subscription counts them). */
  readonly expressions: number;
  readonly variables: number;
}

/** Compiles a template to an NFA. Throws `INVALID_SELECTOR` for an invalid or too complex template. */
export function compileTemplateNfa(template: string): TemplateNfa {
  const parts = parseTemplate(template);
  const b = new TemplateNfaBuilder(template);
  let s = 0;
  let literalPrefix = '';
  let afterPrefix = 0;
  let expressions = 0;
  let variables = 0;
  for (const part of parts) {
    if (part.type === 'literal') {
      s = compileLiteral(b, s, part.text);
      // Consecutive literals are one part, so this is the whole text before the first expression.
      if (expressions === 0 && !/[^\x00-\x7f]/.test(part.text)) {
        literalPrefix = part.text;
        afterPrefix = s;
      }
    } else {
      expressions++;
      variables += part.vars.length;
      s = compileExpression(b, s, part.operator, part.vars);
    }
  }
  const last = parts[parts.length - 1];
  const literalSuffix =
    expressions > 0 && last?.type === 'literal' && !/[^\x00-\x7f]/.test(last.text) ? last.text : '';
  return {
    eps: b.eps,
    edges: b.edges,
    accept: s,
    literalPrefix,
    afterPrefix,
    literalSuffix,
    hasExpressions: expressions > 0,
    expressions,
    variables,
  };
}

// ---------------------------------------------------------------------------------------------------
// Matching: a lazily built DFA over the NFA, with a bounded state cache (src/topics/automaton.ts)
// ---------------------------------------------------------------------------------------------------

export { MAX_DFA_STATES };

/**
 * Matches topics against one template in time linear in the topic: each input character costs one
 * table lookup once the DFA state is built, and building a DFA state costs O(NFA states + edges).
 * `work` counts input characters plus NFA states and edges visited; `cachedStates` the DFA states kept.
 *
 * The literal prefix is compared with `startsWith` and the automaton runs from the state after it, so
 * the prefix (often most of the topic) builds no DFA states.
 */
export class TemplateMatcher extends LazyDfa {
  readonly literalPrefix: string;
  readonly afterPrefix: number;
  readonly literalSuffix: string;
  readonly hasExpressions: boolean;
  readonly expressions: number;
  readonly variables: number;
  constructor(nfa: TemplateNfa) {
    super(nfa, nfa.afterPrefix);
    this.literalPrefix = nfa.literalPrefix;
    this.afterPrefix = nfa.afterPrefix;
    this.literalSuffix = nfa.literalSuffix;
    this.hasExpressions = nfa.hasExpressions;
    this.expressions = nfa.expressions;
    this.variables = nfa.variables;
  }

  /** The automaton as arrays with the template's facts (rebuilt on demand; for tests and tools). */
  override get nfa(): TemplateNfa {
    return {
      ...super.nfa,
      literalPrefix: this.literalPrefix,
      afterPrefix: this.afterPrefix,
      literalSuffix: this.literalSuffix,
      hasExpressions: this.hasExpressions,
      expressions: this.expressions,
      variables: this.variables,
    };
  }

  override matches(topic: string): boolean {
    if (!topic.startsWith(this.literalPrefix)) return false;
    return this.matchFrom(topic, this.literalPrefix.length);
  }
}

/** Compiles a template into a matcher. Throws `INVALID_SELECTOR` for an invalid template. */
export function compileTemplate(template: string): TemplateMatcher {
  return new TemplateMatcher(compileTemplateNfa(template));
}
