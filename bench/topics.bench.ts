/**
 * Micro-benchmark of the topic index: `node --import tsx bench/topics.bench.ts`.
 *
 * 10,000 subscribers on 10,000 exact topics plus 1,000 template subscribers, then publishes to random
 * topics and counts matches per second. Scenarios vary how many distinct templates there are and the
 * size of the topic cache; then URL pattern matchers alone (Crier's automaton, the polyfill's regular
 * expressions, adversarial patterns). Single-threaded, bounded (a fixed number of publishes per scenario).
 */

import { URLPattern } from 'urlpattern-polyfill/urlpattern';
import { compileSelector } from '../src/topics/selector.js';
import { TopicIndex } from '../src/topics/topic-index.js';
import { compileTemplate } from '../src/topics/uri-template.js';
import { compileUrlPattern } from '../src/topics/url-pattern.js';

const EXACT = 10_000;
const TEMPLATE_SUBSCRIBERS = 1_000;
const PUBLISHES = 100_000;

/** A small deterministic PRNG so runs are comparable. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function templateFor(i: number, distinct: number): string {
  const k = i % distinct;
  switch (k % 4) {
    case 0:
      return `https://example.com/users/${k}/{notification}`;
    case 1:
      return `https://example.com/rooms/${k}/messages{/id}`;
    case 2:
      return `https://example.com/books/{id}/reviews/${k}`;
    default:
      return `https://example.com/feeds/${k}{?page,size}`;
  }
}

function topicFor(r: number, rand: () => number, distinct: number): string {
  // Half the publishes go to exact topics, half to topics some template matches.
  if (r < 0.5) return `https://example.com/topics/${Math.floor(rand() * EXACT)}`;
  const k = Math.floor(rand() * distinct);
  const id = Math.floor(rand() * 1_000_000);
  switch (k % 4) {
    case 0:
      return `https://example.com/users/${k}/${id}`;
    case 1:
      return `https://example.com/rooms/${k}/messages/${id}`;
    case 2:
      return `https://example.com/books/${id}/reviews/${k}`;
    default:
      return `https://example.com/feeds/${k}?page=${id % 10}`;
  }
}

function scenario(
  name: string,
  distinctTemplates: number,
  cacheSize: number,
  topicVariety: 'wide' | 'hot',
): void {
  const index = new TopicIndex<number>({ cacheSize });
  const compiled = new Map<string, ReturnType<typeof compileSelector>>();
  for (let i = 0; i < EXACT; i++) index.add(i, [compileSelector(`https://example.com/topics/${i}`)]);
  for (let i = 0; i < TEMPLATE_SUBSCRIBERS; i++) {
    const src = templateFor(i, distinctTemplates);
    let sel = compiled.get(src);
    if (sel === undefined) {
      sel = compileSelector(src);
      compiled.set(src, sel);
    }
    index.add(EXACT + i, [sel]);
  }
  const rand = prng(42);
  // 'hot': publishes cycle over 500 topics (fits the cache); 'wide': fresh template topics every time.
  const hot = Array.from({ length: 500 }, () => topicFor(rand(), rand, distinctTemplates));
  const topics = Array.from({ length: PUBLISHES }, (_, i) =>
    topicVariety === 'hot' ? hot[i % hot.length]! : topicFor(rand(), rand, distinctTemplates),
  );
  let deliveries = 0;
  const visit = () => {
    deliveries++;
  };
  for (let i = 0; i < 5_000; i++) index.match([topics[i]!], visit); // warm up
  deliveries = 0;
  const start = process.hrtime.bigint();
  for (const topic of topics) index.match([topic], visit);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `${name.padEnd(58)} ${Math.round(PUBLISHES / seconds)
      .toLocaleString('en-US')
      .padStart(11)} matches/s  ${(deliveries / PUBLISHES).toFixed(2)} subscribers/match`,
  );
}

function templateMatcherThroughput(): void {
  const m = compileTemplate('https://example.com/users/{user}/notifications{?since}');
  const topics = Array.from(
    { length: 1000 },
    (_, i) => `https://example.com/users/${i}/notifications?since=${i}`,
  );
  const rounds = 300;
  const start = process.hrtime.bigint();
  let hits = 0;
  for (let r = 0; r < rounds; r++) for (const t of topics) if (m.matches(t)) hits++;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `${'one template matcher, ~50-char topics (no index, no cache)'.padEnd(58)} ${Math.round(hits / seconds)
      .toLocaleString('en-US')
      .padStart(11)} matches/s`,
  );
}

function rate(name: string, count: number, run: () => number): void {
  run(); // warm up
  const start = process.hrtime.bigint();
  const hits = run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `${name.padEnd(58)} ${Math.round(count / seconds)
      .toLocaleString('en-US')
      .padStart(11)} matches/s  (${hits.toLocaleString('en-US')} hits)`,
  );
}

/** URL patterns: Crier's automaton against the polyfill's regular expressions, then adversarial input. */
function urlPatternThroughput(): void {
  const source = 'https://example.com/users/:user/notifications{/:id}?';
  const mine = compileUrlPattern(source);
  const polyfill = new URLPattern(source);
  const topics = Array.from(
    { length: 1000 },
    (_, i) => `https://example.com/users/${i}/notifications${i % 2 ? `/${i}` : ''}`,
  );
  const rounds = 30;
  const each = (test: (t: string) => boolean) => () => {
    let hits = 0;
    for (let r = 0; r < rounds; r++) for (const t of topics) if (test(t)) hits++;
    return hits;
  };
  rate(
    'one URL pattern, ~50-char topics: Crier',
    rounds * topics.length,
    each((t) => mine.matches(t)),
  );
  rate(
    'one URL pattern, ~50-char topics: polyfill test()',
    rounds * topics.length,
    each((t) => polyfill.test(t)),
  );
  // A publish tests one topic against every URL pattern: the topic is split and canonicalised once.
  const patterns = Array.from({ length: 100 }, (_, i) =>
    compileUrlPattern(`https://example.com/users/${i}/*`),
  );
  rate('100 URL patterns x one ~50-char topic, per pattern', rounds * topics.length * 100, () => {
    let hits = 0;
    for (let r = 0; r < rounds; r++)
      for (const t of topics) for (const p of patterns) if (p.matches(t)) hits++;
    return hits;
  });
  const evil = compileUrlPattern('https://example.com/*e*e*e*e*e*e*e*x');
  const long = Array.from({ length: 100 }, (_, i) => `https://example.com/${'e'.repeat(300 + i)}y`);
  rate('*e*e*e*e*e*e*e*x, ~320-char topics (polyfill: hours each)', 100 * 100, () => {
    let hits = 0;
    for (let r = 0; r < 100; r++) for (const t of long) if (evil.matches(t)) hits++;
    return hits;
  });
  const huge = `https://example.com/${'e'.repeat(1_000_000)}y`;
  rate('*e*e*e*e*e*e*e*x, one 1,000,000-char topic', 1, () => (evil.matches(huge) ? 1 : 0));
}

console.log(
  `TopicIndex: ${EXACT.toLocaleString('en-US')} exact subscribers on ${EXACT.toLocaleString('en-US')} topics + ` +
    `${TEMPLATE_SUBSCRIBERS.toLocaleString('en-US')} template subscribers, ${PUBLISHES.toLocaleString('en-US')} ` +
    `single-topic publishes per scenario (half exact, half template topics); node ${process.version}`,
);
scenario('10 distinct templates, default cache (1,024), wide topics', 10, 1024, 'wide');
scenario('10 distinct templates, default cache, 500 hot topics', 10, 1024, 'hot');
scenario('1,000 distinct templates, default cache, wide topics', 1000, 1024, 'wide');
scenario('1,000 distinct templates, default cache, 500 hot topics', 1000, 1024, 'hot');
scenario('1,000 distinct templates, no cache, wide topics', 1000, 0, 'wide');
templateMatcherThroughput();
urlPatternThroughput();
