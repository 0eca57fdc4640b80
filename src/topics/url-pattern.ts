/**
 * WHATWG URL Pattern selectors (Mercure 1.0's `match_urlpattern`), matched in time linear in the topic.
 *
 * `urlpattern-polyfill` (Node 20 has no global `URLPattern`) parses and canonicalises the pattern and
 * splits and canonicalises the topic, but its matching runs JavaScript regular expressions, which
 * backtrack: `https://example.com/*e*e*e*e*e*e*e*x` against a few hundred characters takes hours. So the
 * regular expressions are never run. Each component pattern string the polyfill exposes (its canonical
 * form, which re-parses to the same parts) is parsed again here with the spec's tokenizer and parser
 * ("parse a pattern string"), and its parts are compiled to an NFA whose language is exactly that of
 * the regular expression the spec generates for them ("generate a regular expression and name list"),
 * then matched as a lazily built DFA (src/topics/automaton.ts). Nothing backtracks, whatever the pattern.
 *
 * A part is fixed text, a segment wildcard (`:name`, one or more characters other than the component's
 * delimiter: `/` in a special URL's pathname, `.` in the hostname, none elsewhere), a full wildcard
 * (`*`, any characters but line terminators), each with a prefix and suffix and a modifier `?`, `*` or
 * `+`. A regular-expression group (`:id(\\d+)`) is compiled into the same automaton by
 * src/topics/regexp.ts (the regular subset of the syntax; back-references and lookarounds are refused),
 * so it matches in linear time too, as draft-dunglas-mercure-08 §4.2 requires.
 */

import { URLPattern } from 'urlpattern-polyfill/urlpattern';
import { type CharClass, LazyDfa, MAX_AUTOMATON_STATES, NfaBuilder } from './automaton.js';
import { TopicError } from './errors.js';
import { compileRegExp } from './regexp.js';

/** The most `*` wildcards plus `:name` groups one URL pattern may have (over all its components). */
export const MAX_URL_PATTERN_WILDCARDS = 8;
/** The most automaton states one URL pattern may compile to (over all its components). */
export const MAX_URL_PATTERN_STATES = MAX_AUTOMATON_STATES;

const COMPONENTS = [
  'protocol',
  'username',
  'password',
  'hostname',
  'port',
  'pathname',
  'search',
  'hash',
] as const;
type Component = (typeof COMPONENTS)[number];

/** The schemes the URL standard calls special; their pathnames are `/`-delimited in URL patterns. */
const SPECIAL_SCHEMES = ['ftp', 'file', 'http', 'https', 'ws', 'wss'];

function invalid(pattern: string, message: string, cause?: unknown): TopicError {
  return new TopicError('INVALID_SELECTOR', `Invalid URL pattern ${JSON.stringify(pattern)}: ${message}`, {
    cause,
  });
}

// ---------------------------------------------------------------------------------------------------
// Parsing a component pattern string (URL Pattern standard, "tokenize" and "parse a pattern string",
// as urlpattern-polyfill 10 implements them)
// ---------------------------------------------------------------------------------------------------

type TokenType =
  | 'OPEN'
  | 'CLOSE'
  | 'REGEX'
  | 'NAME'
  | 'CHAR'
  | 'ESCAPED_CHAR'
  | 'OTHER_MODIFIER'
  | 'ASTERISK'
  | 'END';

interface Token {
  readonly type: TokenType;
  readonly value: string;
}

const NAME_START = /[$_\p{ID_Start}]/u;
const NAME_PART = /[$_\p{ID_Continue}]|\u200C|\u200D/u;

/** Tokenizes with the strict policy: anything invalid throws. */
function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === '*') {
      tokens.push({ type: 'ASTERISK', value: c });
      i++;
    } else if (c === '+' || c === '?') {
      tokens.push({ type: 'OTHER_MODIFIER', value: c });
      i++;
    } else if (c === '\\') {
      if (i + 1 >= input.length) throw new TypeError(`Trailing escape at ${i}`);
      tokens.push({ type: 'ESCAPED_CHAR', value: input[i + 1]! });
      i += 2;
    } else if (c === '{') {
      tokens.push({ type: 'OPEN', value: c });
      i++;
    } else if (c === '}') {
      tokens.push({ type: 'CLOSE', value: c });
      i++;
    } else if (c === ':') {
      let j = i + 1;
      while (j < input.length && (j === i + 1 ? NAME_START : NAME_PART).test(input.substr(j, 1))) j++;
      if (j === i + 1) throw new TypeError(`Missing parameter name at ${i}`);
      tokens.push({ type: 'NAME', value: input.slice(i + 1, j) });
      i = j;
    } else if (c === '(') {
      // A regular-expression group: kept as text, only to recognise `(.*)` and the segment wildcard.
      let depth = 1;
      let j = i + 1;
      let value = '';
      if (input[j] === '?') throw new TypeError(`Pattern cannot start with "?" at ${j}`);
      while (j < input.length) {
        const d = input[j]!;
        if (d.charCodeAt(0) > 0x7f) throw new TypeError(`Invalid character at ${j}`);
        if (d === '\\') {
          value += input.slice(j, j + 2);
          j += 2;
          continue;
        }
        if (d === ')') {
          if (--depth === 0) {
            j++;
            break;
          }
        } else if (d === '(') {
          depth++;
          if (input[j + 1] !== '?') throw new TypeError(`Capturing groups are not allowed at ${j}`);
        }
        value += d;
        j++;
      }
      if (depth !== 0) throw new TypeError(`Unbalanced pattern at ${i}`);
      if (value === '') throw new TypeError(`Missing pattern at ${i}`);
      tokens.push({ type: 'REGEX', value });
      i = j;
    } else {
      tokens.push({ type: 'CHAR', value: c });
      i++;
    }
  }
  tokens.push({ type: 'END', value: '' });
  return tokens;
}

type Modifier = '' | '?' | '*' | '+';

export type UrlPatternPart =
  | { readonly type: 'fixed'; readonly value: string; readonly modifier: Modifier }
  | {
      readonly type: 'segment' | 'full' | 'regexp';
      /** The regular expression of a `regexp` part; empty for the wildcards. */
      readonly value: string;
      readonly prefix: string;
      readonly suffix: string;
      readonly modifier: Modifier;
    };

interface ComponentOptions {
  /** The delimiter a segment wildcard stops at ('' for none). */
  readonly delimiter: string;
  /** The characters that become a part's prefix when written just before it (`/` in pathnames). */
  readonly prefixes: string;
}

const DEFAULT_OPTIONS: ComponentOptions = { delimiter: '', prefixes: '' };
const HOSTNAME_OPTIONS: ComponentOptions = { delimiter: '.', prefixes: '' };
const PATHNAME_OPTIONS: ComponentOptions = { delimiter: '/', prefixes: '/' };

function escapeRegExp(text: string): string {
  return text.replace(/([.+*?^${}()[\]|/\\])/g, '\\$1');
}

/** Parses a canonical component pattern string into parts (no encoding: it is encoded already). */
export function parsePatternString(input: string, options: ComponentOptions): UrlPatternPart[] {
  const tokens = tokenize(input);
  const segmentWildcard = `[^${escapeRegExp(options.delimiter)}]+?`;
  const parts: UrlPatternPart[] = [];
  let index = 0;
  let pending = '';
  const tryConsume = (type: TokenType): string | undefined =>
    tokens[index]?.type === type ? tokens[index++]!.value : undefined;
  const tryConsumeModifier = () => tryConsume('OTHER_MODIFIER') ?? tryConsume('ASTERISK');
  const consumeText = () => {
    let text = '';
    for (let t = tryConsume('CHAR') ?? tryConsume('ESCAPED_CHAR'); t !== undefined; ) {
      text += t;
      t = tryConsume('CHAR') ?? tryConsume('ESCAPED_CHAR');
    }
    return text;
  };
  const flushPending = () => {
    if (pending) parts.push({ type: 'fixed', value: pending, modifier: '' });
    pending = '';
  };
  const addPart = (
    prefix: string,
    name: string | undefined,
    regexOrWildcard: string | undefined,
    suffix: string,
    modifier: string | undefined,
  ) => {
    const mod = (modifier ?? '') as Modifier;
    if (name === undefined && regexOrWildcard === undefined && mod === '') {
      pending += prefix;
      return;
    }
    flushPending();
    if (name === undefined && regexOrWildcard === undefined) {
      if (prefix) parts.push({ type: 'fixed', value: prefix, modifier: mod });
      return;
    }
    const regexp =
      regexOrWildcard === undefined ? segmentWildcard : regexOrWildcard === '*' ? '.*' : regexOrWildcard;
    if (regexp === segmentWildcard) parts.push({ type: 'segment', value: '', prefix, suffix, modifier: mod });
    else if (regexp === '.*') parts.push({ type: 'full', value: '', prefix, suffix, modifier: mod });
    else parts.push({ type: 'regexp', value: regexp, prefix, suffix, modifier: mod });
  };
  while (index < tokens.length) {
    const char = tryConsume('CHAR');
    const name = tryConsume('NAME');
    let regexOrWildcard = tryConsume('REGEX');
    if (name === undefined && regexOrWildcard === undefined) regexOrWildcard = tryConsume('ASTERISK');
    if (name !== undefined || regexOrWildcard !== undefined) {
      let prefix = char ?? '';
      if (!options.prefixes.includes(prefix)) {
        pending += prefix;
        prefix = '';
      }
      flushPending();
      addPart(prefix, name, regexOrWildcard, '', tryConsumeModifier());
      continue;
    }
    const fixed = char ?? tryConsume('ESCAPED_CHAR');
    if (fixed !== undefined) {
      pending += fixed;
      continue;
    }
    if (tryConsume('OPEN') !== undefined) {
      const prefix = consumeText();
      const innerName = tryConsume('NAME');
      let inner = tryConsume('REGEX');
      if (innerName === undefined && inner === undefined) inner = tryConsume('ASTERISK');
      const suffix = consumeText();
      if (tryConsume('CLOSE') === undefined) throw new TypeError('Expected "}"');
      addPart(prefix, innerName, inner, suffix, tryConsumeModifier());
      continue;
    }
    flushPending();
    if (tryConsume('END') === undefined) throw new TypeError(`Unexpected ${tokens[index]?.type}`);
  }
  return parts;
}

// ---------------------------------------------------------------------------------------------------
// Compiling parts to an NFA: the language of the spec's "generate a regular expression and name list"
// ---------------------------------------------------------------------------------------------------

function classExcept(chars: string, nonAscii: CharClass['nonAscii']): CharClass {
  const ascii = new Uint8Array(128).fill(1);
  for (const c of chars) ascii[c.charCodeAt(0)] = 0;
  return { ascii, nonAscii };
}

/** `.` with the `u` flag: any code point but the line terminators. */
const FULL_WILDCARD_CLASS = classExcept('\n\r', 'notLineTerminator');

function segmentClass(options: ComponentOptions): CharClass {
  // `[^<delimiter>]`; `[^]` (no delimiter) matches every code point, line terminators included.
  return classExcept(options.delimiter, 'all');
}

function compileParts(b: NfaBuilder, parts: readonly UrlPatternPart[], segment: CharClass): number {
  let s = 0;
  const withModifier = (from: number, modifier: Modifier, body: (f: number) => number): number => {
    if (modifier === '?') return b.optional(from, body);
    if (modifier === '*') return b.zeroOrMore(from, body);
    if (modifier === '+') return b.oneOrMore(from, body);
    return body(from);
  };
  for (const part of parts) {
    if (part.type === 'fixed') {
      // `escaped value` or `(?:escaped value)modifier`
      s = withModifier(s, part.modifier, (f) => b.text(f, part.value));
      continue;
    }
    /** The group itself: `[^delimiter]+?`, `.*`, or the regular expression. */
    const value =
      part.type === 'regexp'
        ? (f: number) => compileRegExp(b, f, part.value)
        : part.type === 'segment'
          ? (f: number) => {
              const loop = b.charClass(f, segment);
              b.charClass(loop, segment, loop);
              return loop;
            }
          : (f: number) => {
              const loop = b.state();
              b.epsilon(f, loop);
              b.charClass(loop, FULL_WILDCARD_CLASS, loop);
              return loop;
            };
    const { prefix, suffix, modifier } = part;
    if (prefix === '' && suffix === '') {
      // `(value)modifier` or `((?:value)modifier)`
      s = withModifier(s, modifier, value);
    } else if (modifier === '' || modifier === '?') {
      // `(?:prefix(value)suffix)modifier`
      s = withModifier(s, modifier, (f) => b.text(value(b.text(f, prefix)), suffix));
    } else {
      // `(?:prefix((?:value)(?:suffix prefix(?:value))*)suffix)`, then `?` for `*`
      const repeated = (f: number) => {
        const first = value(b.text(f, prefix));
        const more = b.zeroOrMore(first, (g) => value(b.text(g, suffix + prefix)));
        return b.text(more, suffix);
      };
      s = modifier === '*' ? b.optional(s, repeated) : repeated(s);
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------------

/**
 * The canonical components of a topic, exactly as the polyfill's `test()` computes them: `new URL`
 * then each component canonicalised again (which can refuse, e.g. an opaque host with `%`). They are
 * read from `exec` of a pattern whose every component is `*` (`^(.*)$`, linear). A topic that is not an
 * absolute URL gives null. The last topic is remembered: a publish tests one topic against many patterns.
 */
const CATCH_ALL = new URLPattern({});
let lastTopic: string | undefined;
let lastComponents: Record<Component, string> | null = null;

function topicComponents(topic: string): Record<Component, string> | null {
  if (topic === lastTopic) return lastComponents;
  let components: Record<Component, string> | null = null;
  try {
    const result = CATCH_ALL.exec(topic);
    if (result) {
      components = {} as Record<Component, string>;
      for (const c of COMPONENTS) components[c] = result[c].input;
    }
  } catch {
    components = null;
  }
  lastTopic = topic;
  lastComponents = components;
  return components;
}

interface ComponentMatcher {
  readonly component: Component;
  readonly dfa: LazyDfa;
}

/**
 * A compiled URL pattern. `matches(topic)` never throws and does work linear in the topic: at most
 * `(size + 1)` units per character of each component plus the polyfill's URL parsing.
 */
export class UrlPatternMatcher {
  readonly source: string;
  /** One automaton per component whose pattern is not `*` (those match every canonical component). */
  readonly components: readonly ComponentMatcher[];

  constructor(pattern: string) {
    this.source = pattern;
    let compiled: URLPattern;
    try {
      compiled = new URLPattern(pattern);
    } catch (error) {
      const reason =
        error instanceof Error ? error.message.replace(/^Failed to construct 'URLPattern': /, '') : '';
      throw invalid(
        pattern,
        `${reason || 'not a URL pattern'} (it must be absolute, like https://example.com/books/:id)`,
        error,
      );
    }
    const components: ComponentMatcher[] = [];
    let states = 0;
    let variableParts = 0;
    let pathnameOptions = PATHNAME_OPTIONS;
    for (const component of COMPONENTS) {
      const text = compiled[component];
      if (text === '*') continue;
      const options =
        component === 'hostname'
          ? HOSTNAME_OPTIONS
          : component === 'pathname'
            ? pathnameOptions
            : DEFAULT_OPTIONS;
      let parts: UrlPatternPart[];
      try {
        parts = parsePatternString(text, options);
      } catch (error) {
        throw invalid(pattern, `its ${component} pattern ${JSON.stringify(text)} cannot be read`, error);
      }
      for (const part of parts) if (part.type !== 'fixed') variableParts++;
      if (variableParts > MAX_URL_PATTERN_WILDCARDS) {
        throw invalid(
          pattern,
          `it has more than ${MAX_URL_PATTERN_WILDCARDS} wildcards and named groups, the most allowed`,
        );
      }
      // The state cap covers the whole pattern: each component gets what the previous ones left.
      const b = new NfaBuilder(
        () => invalid(pattern, `it is too complex (more than ${MAX_URL_PATTERN_STATES} automaton states)`),
        MAX_URL_PATTERN_STATES - states,
      );
      let accept: number;
      try {
        accept = compileParts(b, parts, segmentClass(options));
      } catch (error) {
        if (error instanceof TopicError) throw error;
        throw invalid(
          pattern,
          `its ${component} group cannot be compiled: ${(error as Error).message}`,
          error,
        );
      }
      states += b.eps.length;
      const dfa = new LazyDfa({ eps: b.eps, edges: b.edges, accept });
      components.push({ component, dfa });
      if (component === 'protocol' && !SPECIAL_SCHEMES.some((scheme) => dfa.matches(scheme))) {
        // The standard compiles the pathname with `/` as delimiter and prefix when the protocol
        // pattern matches a special scheme, and with the default options otherwise.
        pathnameOptions = DEFAULT_OPTIONS;
      }
    }
    this.components = components;
  }

  /** The largest component automaton (states plus edges): the most work one character can cost. */
  get size(): number {
    let max = 0;
    for (const { dfa } of this.components) max = Math.max(max, dfa.size);
    return max;
  }

  /** Work so far over all components, counted as `LazyDfa.work` counts it. */
  get work(): number {
    let work = 0;
    for (const { dfa } of this.components) work += dfa.work;
    return work;
  }

  /** Whether the topic, an absolute URL, matches the pattern. Never throws. */
  matches(topic: string): boolean {
    const components = topicComponents(topic);
    if (components === null) return false;
    for (const { component, dfa } of this.components) {
      if (!dfa.matches(components[component])) return false;
    }
    return true;
  }
}

/** Compiles a URL pattern. Throws `INVALID_SELECTOR` for an invalid, unsupported or too large one. */
export function compileUrlPattern(pattern: string): UrlPatternMatcher {
  return new UrlPatternMatcher(pattern);
}
