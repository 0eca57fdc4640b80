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

interface DfaState {
  readonly nfaStates: Int32Array;
  readonly accepting: boolean;
  /** Transitions on ASCII input, filled on first use. */
  readonly next: (DfaState | undefined)[];
}

/**
 * Matches whole inputs against an NFA in time linear in the input: each input code unit costs one
 * table lookup once the DFA state and its ASCII transition are known, and building a DFA state costs
 * O(NFA states + edges). Non-ASCII transitions are not cached (each costs one DFA step). At most
 * `MAX_DFA_STATES` DFA states are cached; then the cache starts over, so memory stays bounded and the
 * worst case is one DFA step per code unit.
 */
export class LazyDfa {
  readonly nfa: Nfa;
  /**
   * Work done so far: one unit per input code unit read plus one per NFA state or edge visited while
   * building DFA states. Tests use it to check that matching is bounded; it is not reset.
   */
  work = 0;
  #states = new Map<string, DfaState>();
  #start: DfaState;
  #dead: DfaState;
  #mark: Int32Array;
  #generation = 0;

  constructor(nfa: Nfa) {
    this.nfa = nfa;
    this.#mark = new Int32Array(nfa.eps.length);
    this.#dead = { nfaStates: new Int32Array(0), accepting: false, next: [] };
    this.#start = this.#build([0]);
  }

  /** How many DFA states are cached now (at most `MAX_DFA_STATES`). */
  get cachedStates(): number {
    return this.#states.size;
  }

  /** Whether the automaton accepts the whole input. */
  matches(input: string): boolean {
    if (this.#states.size >= MAX_DFA_STATES) {
      // Start over rather than grow: memory per selector stays bounded.
      this.#states = new Map();
      this.#start = this.#build([0]);
    }
    let state = this.#start;
    const n = input.length;
    this.work += n;
    for (let i = 0; i < n; i++) {
      const c = input.charCodeAt(i);
      let next = c < 128 ? state.next[c] : undefined;
      if (next === undefined) {
        next = this.#step(state, c);
        if (c < 128) state.next[c] = next;
      }
      if (next === this.#dead) return false;
      state = next;
    }
    return state.accepting;
  }

  #step(state: DfaState, c: number): DfaState {
    const targets: number[] = [];
    const edges = this.nfa.edges;
    for (const s of state.nfaStates) {
      for (const e of edges[s]!) {
        this.work++;
        if (e.cls ? inClass(e.cls, c) : e.code === c) targets.push(e.to);
      }
    }
    if (targets.length === 0) return this.#dead;
    return this.#build(targets);
  }

  /** The DFA state for the epsilon closure of `seeds`, from the cache or built now. */
  #build(seeds: number[]): DfaState {
    const gen = ++this.#generation;
    const mark = this.#mark;
    const eps = this.nfa.eps;
    const closure: number[] = [];
    const stack = seeds.slice();
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (mark[s] === gen) continue;
      mark[s] = gen;
      this.work++;
      // Only states with outgoing edges (or the accepting state) matter for the DFA state's identity.
      if (this.nfa.edges[s]!.length > 0 || s === this.nfa.accept) closure.push(s);
      for (const t of eps[s]!) if (mark[t] !== gen) stack.push(t);
    }
    if (closure.length === 0) return this.#dead;
    closure.sort((a, b) => a - b);
    const key = closure.join(',');
    const cached = this.#states.get(key);
    if (cached !== undefined) return cached;
    const built: DfaState = {
      nfaStates: Int32Array.from(closure),
      accepting: closure.includes(this.nfa.accept),
      next: new Array(128),
    };
    // When the cache is full the state is used for this step only; the next match starts over.
    if (this.#states.size < MAX_DFA_STATES) this.#states.set(key, built);
    return built;
  }
}
