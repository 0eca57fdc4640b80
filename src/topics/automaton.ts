/**
 * Finite automata over UTF-16 code units, shared by the URI-template and URL-pattern matchers.
 *
 * Both selector syntaxes describe regular languages, so each selector is compiled once into a
 * Thompson-style NFA (`NfaBuilder`) and matched by simulating it as a lazily built DFA with a bounded
 * state cache (`LazyDfa`). Nothing backtracks: a match reads each input code unit once and does at most
 * O(NFA states + edges) work per code unit (only when a DFA state or transition is new), so matching is
 * linear in the input for every selector, with a constant that the state cap bounds.
 */

/** The most NFA states one selector may compile to; beyond this it is refused as too complex. */
export const MAX_AUTOMATON_STATES = 4096;

/** How many DFA states a matcher keeps before it starts over (bounds memory per selector). */
export const MAX_DFA_STATES = 64;

/** A set of code units: a table for ASCII, one rule for everything above. */
export interface CharClass {
  /** Membership of each ASCII code unit (length 128). */
  readonly ascii: Uint8Array;
  /**
   * Which non-ASCII code units belong: none, all, or all but the line terminators U+2028 and U+2029
   * (what `.` matches in a JavaScript regular expression).
   */
  readonly nonAscii: 'none' | 'all' | 'notLineTerminator';
}

/** Whether the code unit `c` is in the class. */
export function inClass(cls: CharClass, c: number): boolean {
  if (c < 128) return cls.ascii[c] === 1;
  if (cls.nonAscii === 'all') return true;
  if (cls.nonAscii === 'none') return false;
  return c !== 0x2028 && c !== 0x2029;
}

export interface Edge {
  /** The code units this edge reads, or null for the single code unit `code`. */
  readonly cls: CharClass | null;
  readonly code: number;
  readonly to: number;
}

/** An NFA: state 0 is the start, `accept` the only accepting state. */
export interface Nfa {
  readonly eps: readonly (readonly number[])[];
  readonly edges: readonly (readonly Edge[])[];
  readonly accept: number;
}

/** States plus epsilon and character edges: the size that bounds the work of one DFA step. */
export function nfaSize(nfa: Nfa): number {
  let size = nfa.eps.length;
  for (let s = 0; s < nfa.eps.length; s++) size += nfa.eps[s]!.length + nfa.edges[s]!.length;
  return size;
}

/**
 * Builds an NFA forwards: each fragment builder takes the state to start from and returns the state
 * where it ends. Loops always go back to a state the fragment created itself, never to the state it
 * was given, so a fragment never changes the language of what precedes it.
 */
export class NfaBuilder {
  readonly eps: number[][] = [];
  readonly edges: Edge[][] = [];
  /**
   * @param tooComplex the error thrown when the automaton would exceed `maxStates`
   */
  constructor(
    private readonly tooComplex: (maxStates: number) => Error,
    private readonly maxStates = MAX_AUTOMATON_STATES,
  ) {
    this.state();
  }

  state(): number {
    if (this.eps.length >= this.maxStates) throw this.tooComplex(this.maxStates);
    this.eps.push([]);
    this.edges.push([]);
    return this.eps.length - 1;
  }

  epsilon(from: number, to: number): void {
    this.eps[from]!.push(to);
  }

  /** One code unit of the class. */
  charClass(from: number, cls: CharClass, to = this.state()): number {
    this.edges[from]!.push({ cls, code: -1, to });
    return to;
  }

  /** The single code unit `code`. */
  char(from: number, code: number, to = this.state()): number {
    this.edges[from]!.push({ cls: null, code, to });
    return to;
  }

  /** The text, code unit by code unit. */
  text(from: number, text: string): number {
    let s = from;
    for (let i = 0; i < text.length; i++) s = this.char(s, text.charCodeAt(i));
    return s;
  }

  /** `body?` */
  optional(from: number, body: (from: number) => number): number {
    const start = this.state();
    this.epsilon(from, start);
    const join = this.state();
    this.epsilon(body(start), join);
    this.epsilon(from, join);
    return join;
  }

  /** `body*` */
  zeroOrMore(from: number, body: (from: number) => number): number {
    const loop = this.state();
    this.epsilon(from, loop);
    this.epsilon(body(loop), loop);
    return loop;
  }

  /** `body+` */
  oneOrMore(from: number, body: (from: number) => number): number {
    const loop = this.state();
    this.epsilon(from, loop);
    const out = this.state();
    this.epsilon(body(loop), out);
    this.epsilon(out, loop);
    return out;
  }

  /** The union of several fragments, each built from a fresh state. */
  alt(from: number, ...branches: ((from: number) => number)[]): number {
    const join = this.state();
    for (const branch of branches) {
      const start = this.state();
      this.epsilon(from, start);
      this.epsilon(branch(start), join);
    }
    return join;
  }
}

/**
 * An NFA packed into one `Int32Array` (what a matcher keeps; the builder's arrays of arrays and edge
 * objects cost about 300 bytes per state, this about 20): for state `s`, its epsilon targets are
 * `prog[prog[s]] .. prog[prog[s + 1] - 1]` and its edges the pairs `(label, to)` from `prog[n + 1 + s]` to
 * `prog[n + 2 + s]`, where a label ≥ 0 is one code unit and `-1 - i` is the character class `classes[i]`.
 */
interface PackedNfa {
  readonly states: number;
  readonly accept: number;
  readonly prog: Int32Array;
  readonly classes: readonly CharClass[];
}

function pack(nfa: Nfa): PackedNfa {
  const n = nfa.eps.length;
  let epsCount = 0;
  let edgeCount = 0;
  for (let s = 0; s < n; s++) {
    epsCount += nfa.eps[s]!.length;
    edgeCount += nfa.edges[s]!.length;
  }
  const prog = new Int32Array(2 * (n + 1) + epsCount + 2 * edgeCount);
  const classes: CharClass[] = [];
  const classIndex = new Map<CharClass, number>();
  let at = 2 * (n + 1);
  for (let s = 0; s < n; s++) {
    prog[s] = at;
    for (const t of nfa.eps[s]!) prog[at++] = t;
  }
  prog[n] = at;
  for (let s = 0; s < n; s++) {
    prog[n + 1 + s] = at;
    for (const e of nfa.edges[s]!) {
      let label = e.code;
      if (e.cls !== null) {
        let i = classIndex.get(e.cls);
        if (i === undefined) {
          i = classes.length;
          classes.push(e.cls);
          classIndex.set(e.cls, i);
        }
        label = -1 - i;
      }
      prog[at++] = label;
      prog[at++] = e.to;
    }
  }
  prog[2 * n + 1] = at;
  return { states: n, accept: nfa.accept, prog, classes };
}

function unpack(packed: PackedNfa): Nfa {
  const { states: n, prog, classes } = packed;
  const eps: number[][] = [];
  const edges: Edge[][] = [];
  for (let s = 0; s < n; s++) {
    eps.push(Array.from(prog.subarray(prog[s]!, prog[s + 1]!)));
    const list: Edge[] = [];
    for (let i = prog[n + 1 + s]!; i < prog[n + 2 + s]!; i += 2) {
      const label = prog[i]!;
      list.push(
        label >= 0
          ? { cls: null, code: label, to: prog[i + 1]! }
          : { cls: classes[-1 - label]!, code: -1, to: prog[i + 1]! },
      );
    }
    edges.push(list);
  }
  return { eps, edges, accept: packed.accept };
}

/**
 * The ASCII code units split into classes that every edge of the NFA treats alike, so a DFA state's
 * transition table has one slot per class (typically 10 to 30) instead of 128.
 */
function asciiClassesOf(packed: PackedNfa): { classOf: Uint8Array; count: number } {
  const classOf = new Uint8Array(128);
  let count = 1;
  const refine = (member: (c: number) => boolean): void => {
    const ids = new Int16Array(2 * count).fill(-1);
    let next = 0;
    for (let c = 0; c < 128; c++) {
      const key = 2 * classOf[c]! + (member(c) ? 1 : 0);
      if (ids[key] === -1) ids[key] = next++;
      classOf[c] = ids[key]!;
    }
    count = next;
  };
  const { states: n, prog } = packed;
  const codes = new Set<number>();
  for (let i = prog[n + 1]!; i < prog[2 * n + 1]!; i += 2)
    if (prog[i]! >= 0 && prog[i]! < 128) codes.add(prog[i]!);
  for (const code of codes) refine((c) => c === code);
  for (const cls of packed.classes) refine((c) => cls.ascii[c] === 1);
  return { classOf, count };
}

interface DfaState {
  /** The NFA states (those with edges, or the accepting one), ascending. */
  readonly nfaStates: readonly number[];
  readonly accepting: boolean;
  /** Transitions on ASCII input by class (`LazyDfa.classOf`), filled on first use. */
  next: (DfaState | undefined)[] | null;
}

/** Scratch marks shared by every matcher (matching is synchronous, one closure at a time). */
let scratchMark = new Int32Array(256);
let scratchGeneration = 0;

/**
 * Matches whole inputs against an NFA in time linear in the input: each input code unit costs one
 * table lookup once the DFA state and its ASCII transition are known, and building a DFA state costs
 * O(NFA states + edges). Non-ASCII transitions are not cached (each costs one DFA step). At most
 * `MAX_DFA_STATES` DFA states are cached; then the cache starts over, so memory stays bounded and the
 * worst case is one DFA step per code unit.
 *
 * Memory: the NFA is kept packed (`PackedNfa`), DFA states are built on first use, and their transition
 * tables have one slot per ASCII class of this NFA (see `asciiClassesOf`).
 */
export class LazyDfa {
  readonly #packed: PackedNfa;
  readonly #classOf: Uint8Array;
  readonly #classCount: number;
  /** The NFA state matching starts from (`matchFrom` begins reading there). */
  readonly #startState: number;
  /**
   * Work done so far: one unit per input code unit read plus one per NFA state or edge visited while
   * building DFA states. Tests use it to check that matching is bounded; it is not reset.
   */
  work = 0;
  #states: Map<string, DfaState> | null = null;
  #start: DfaState | null = null;

  /** @param startState where matching starts; state 0 unless the caller checks a literal prefix itself */
  constructor(nfa: Nfa, startState = 0) {
    this.#packed = pack(nfa);
    const { classOf, count } = asciiClassesOf(this.#packed);
    this.#classOf = classOf;
    this.#classCount = count;
    this.#startState = startState;
  }

  /** The automaton as arrays, rebuilt from the packed form (for tests and tools; not kept). */
  get nfa(): Nfa {
    return unpack(this.#packed);
  }

  /** States plus epsilon and character edges of the NFA, as `nfaSize` counts them. */
  get size(): number {
    const { states: n, prog } = this.#packed;
    return n + (prog[n]! - prog[0]!) + (prog[2 * n + 1]! - prog[n + 1]!) / 2;
  }

  /** How many DFA states are cached now (at most `MAX_DFA_STATES`). */
  get cachedStates(): number {
    return this.#states?.size ?? 0;
  }

  /** Whether the automaton accepts the whole input. */
  matches(input: string): boolean {
    return this.matchFrom(input, 0);
  }

  /** Whether the automaton, from its start state, accepts `input` from offset `from` to the end. */
  protected matchFrom(input: string, from: number): boolean {
    if (this.#states === null || this.#states.size >= MAX_DFA_STATES) {
      // First use, or the cache is full: start over rather than grow, so memory per selector stays bounded.
      this.#states = new Map();
      this.#start = this.#build([this.#startState]);
    }
    let state = this.#start!;
    const n = input.length;
    const classOf = this.#classOf;
    this.work += n - from;
    for (let i = from; i < n; i++) {
      const c = input.charCodeAt(i);
      let next: DfaState | undefined;
      if (c < 128) {
        let table = state.next;
        if (table === null) {
          table = new Array(this.#classCount);
          state.next = table;
        }
        const k = classOf[c]!;
        next = table[k];
        if (next === undefined) {
          next = this.#step(state, c);
          table[k] = next;
        }
      } else next = this.#step(state, c);
      if (next === DEAD) return false;
      state = next;
    }
    return state.accepting;
  }

  #step(state: DfaState, c: number): DfaState {
    const targets: number[] = [];
    const { states: n, prog, classes } = this.#packed;
    for (const s of state.nfaStates) {
      for (let i = prog[n + 1 + s]!, end = prog[n + 2 + s]!; i < end; i += 2) {
        this.work++;
        const label = prog[i]!;
        if (label >= 0 ? label === c : inClass(classes[-1 - label]!, c)) targets.push(prog[i + 1]!);
      }
    }
    if (targets.length === 0) return DEAD;
    return this.#build(targets);
  }

  /** The DFA state for the epsilon closure of `seeds`, from the cache or built now. */
  #build(seeds: number[]): DfaState {
    const { states: n, prog, accept } = this.#packed;
    if (scratchMark.length < n) scratchMark = new Int32Array(Math.max(n, 2 * scratchMark.length));
    if (scratchGeneration >= 0x7fffffff) {
      scratchMark.fill(0);
      scratchGeneration = 0;
    }
    const gen = ++scratchGeneration;
    const mark = scratchMark;
    const closure: number[] = [];
    const stack = seeds.slice();
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (mark[s] === gen) continue;
      mark[s] = gen;
      this.work++;
      // Only states with outgoing edges (or the accepting state) matter for the DFA state's identity.
      if (prog[n + 2 + s]! > prog[n + 1 + s]! || s === accept) closure.push(s);
      for (let i = prog[s]!, end = prog[s + 1]!; i < end; i++)
        if (mark[prog[i]!] !== gen) stack.push(prog[i]!);
    }
    if (closure.length === 0) return DEAD;
    closure.sort((a, b) => a - b);
    const key = closure.join(',');
    const states = this.#states!;
    const cached = states.get(key);
    if (cached !== undefined) return cached;
    const built: DfaState = {
      nfaStates: closure.slice(),
      accepting: closure.includes(accept),
      next: null,
    };
    // When the cache is full the state is used for this step only; the next match starts over.
    if (states.size < MAX_DFA_STATES) states.set(key, built);
    return built;
  }
}

/** The state with no way forward: every matcher returns it for a dead end. */
const DEAD: DfaState = { nfaStates: [], accepting: false, next: null };
