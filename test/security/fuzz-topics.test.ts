/**
 * Topic selectors come from subscribers (query parameters) and tokens, topics from publishers. Arbitrary
 * selectors are accepted or refused with a 400, never a 5xx; URI templates built to backtrack match with
 * work linear in the topic (counted by the matcher's own `work` counter, not timed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { compileTemplate, MAX_TEMPLATE_STATES, TopicError } from '../../src/topics/index.js';
import { type HubProcess, publishForm, startHub, token } from '../support/hub-process.js';

const selectorText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          '{',
          '}',
          '{+',
          '{#',
          '{.',
          '{/',
          '{;',
          '{?',
          '{&',
          '{=',
          '*',
          ':',
          ',',
          '%',
          '%2',
          '%zz',
        ),
        fc.constantFrom('https://example.com/', 'a', 'b/', '-', '.', 'x*', ':3', ':9999', ':10000'),
        fc.string({ maxLength: 5 }),
      ),
      { maxLength: 16 },
    )
    .map((p) => p.join('')),
);

describe('fuzzing topic selectors through the hub', () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub(undefined, { args: ['--anonymous'] });
  });
  after(() => hub.stop('SIGKILL'));

  test('arbitrary topic, match and match_urlpattern selectors get 200 or 400, and publishing still works', async () => {
    const publisher = await token({ publish: ['*'] });
    await fc.assert(
      fc.asyncProperty(
        fc.array(selectorText, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('topic', 'match', 'match_urlpattern'),
        async (selectors, param) => {
          const url = new URL(hub.url);
          for (const s of selectors) url.searchParams.append(param, s);
          const controller = new AbortController();
          const res = await fetch(url, { signal: controller.signal });
          const status = res.status;
          controller.abort();
          assert.ok(status === 200 || status === 400, `${status} for ${param}=${JSON.stringify(selectors)}`);
          // Publishing to a topic shaped like the selectors runs every held subscription's matcher.
          const topic = `https://example.com/${selectors.join('/').slice(0, 100)}`;
          const published = await publishForm(
            hub.url,
            [
              ['topic', topic],
              ['data', 'x'],
            ],
            publisher,
          );
          assert.ok(
            published.status === 200 || published.status === 400,
            `${published.status} publishing ${topic}`,
          );
        },
      ),
      { numRuns: 300 },
    );
    assert.ok(hub.alive());
    assert.equal((await fetch(new URL('/healthz', hub.origin))).status, 200);
  });
});

describe('URI template matching work', () => {
  /** Templates with the shapes that make backtracking matchers explode: adjacent explodes, repeated operators. */
  const adversarialTemplate = fc
    .array(
      fc.constantFrom(
        '{a}',
        '{b*}',
        '{/c*}',
        '{.d*}',
        '{;e*}',
        '{?f*}',
        '{&g*}',
        '{+h}',
        '{#i}',
        '{j:3}',
        '-',
        '/',
        'a',
        '.',
      ),
      { minLength: 1, maxLength: 12 },
    )
    .map((p) => `https://e.x/${p.join('')}`);
  const adversarialTopic = fc
    .tuple(
      fc.constantFrom('-', '/', 'a', '.', ';', '=', ',', '%41', 'a=b&'),
      fc.integer({ min: 1, max: 400 }),
      fc.constantFrom('', '!', '\u00e9', '%'),
    )
    .map(([unit, n, tail]) => `https://e.x/${unit.repeat(n)}${tail}`);

  test('any template against any adversarial topic costs at most (length + 1) x (automaton size + 1) work', () => {
    fc.assert(
      fc.property(
        adversarialTemplate,
        fc.array(adversarialTopic, { minLength: 1, maxLength: 5 }),
        (source, topics) => {
          let matcher: ReturnType<typeof compileTemplate>;
          try {
            matcher = compileTemplate(source);
          } catch (error) {
            assert.ok(error instanceof TopicError, String(error));
            return;
          }
          const size = matcher.nfa.eps.length;
          assert.ok(size <= MAX_TEMPLATE_STATES);
          for (const topic of topics) {
            const before = matcher.work;
            matcher.matches(topic);
            const work = matcher.work - before;
            assert.ok(
              work <= (topic.length + 1) * (size + 1),
              `${source}: ${work} work for ${topic.length} characters`,
            );
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
