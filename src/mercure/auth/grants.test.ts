import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exactOrStar } from './fixtures.test-helpers.js';
import {
  canPublish,
  canReceive,
  GrantsError,
  grantsFromAuthorizationDetails,
  grantsFromMercureClaim,
  type MatcherSyntax,
  NO_GRANTS,
  type SelectorCompiler,
  subscriptionPayload,
} from './grants.js';

const legacy = (mercure: unknown) => grantsFromMercureClaim({ mercure }, exactOrStar);
const details = (authorization_details: unknown, options = {}) =>
  grantsFromAuthorizationDetails({ authorization_details }, exactOrStar, options);

describe('canPublish (0.x mercure.publish)', () => {
  test('allows an update only when every topic matches a publish selector', () => {
    const grants = legacy({ publish: ['https://ex.com/a', 'https://ex.com/b'] });
    assert.ok(canPublish(grants, ['https://ex.com/a']));
    assert.ok(canPublish(grants, ['https://ex.com/a', 'https://ex.com/b']));
    assert.ok(
      !canPublish(grants, ['https://ex.com/a', 'https://ex.com/c']),
      'one topic not allowed refuses all',
    );
  });

  test('"*" allows every topic', () => {
    assert.ok(canPublish(legacy({ publish: ['*'] }), ['anything', 'https://ex.com/x']));
  });

  test('no mercure claim, no publish key or an empty list allows nothing', () => {
    assert.ok(!canPublish(NO_GRANTS, ['a']));
    assert.ok(!canPublish(grantsFromMercureClaim({}, exactOrStar), ['a']));
    assert.ok(!canPublish(legacy({ subscribe: ['*'] }), ['a']));
    assert.ok(!canPublish(legacy({ publish: [] }), ['a']));
    assert.ok(!canPublish(null, ['a']));
  });

  test('an update without topics is never allowed', () => {
    assert.ok(!canPublish(legacy({ publish: ['*'] }), []));
  });
});

describe('canReceive (private updates)', () => {
  const grants = legacy({ subscribe: ['https://ex.com/users/1/?topic=books'] });

  test('a public update reaches everyone, anonymous subscribers included', () => {
    assert.ok(canReceive(null, { topics: ['https://ex.com/books/1'] }));
    assert.ok(canReceive(grants, { topics: ['https://ex.com/books/1'], private: false }));
  });

  test('a private update never reaches an anonymous subscriber', () => {
    assert.ok(!canReceive(null, { topics: ['*'], private: true }));
    assert.ok(!canReceive(undefined, { topics: ['a'], private: true }));
  });

  test('a private update reaches a subscriber when one of its topics (canonical or alternate) matches a subscribe selector', () => {
    assert.ok(
      canReceive(grants, {
        topics: ['https://ex.com/books/1', 'https://ex.com/users/1/?topic=books'],
        private: true,
      }),
    );
  });

  test('a private update does not reach a subscriber none of whose selectors match its topics', () => {
    assert.ok(
      !canReceive(grants, {
        topics: ['https://ex.com/books/1', 'https://ex.com/users/2/?topic=books'],
        private: true,
      }),
    );
  });

  test('a subscriber whose token has no subscribe claim, or an empty one, gets no private update', () => {
    assert.ok(!canReceive(legacy({ publish: ['*'] }), { topics: ['a'], private: true }));
    assert.ok(!canReceive(legacy({ subscribe: [] }), { topics: ['a'], private: true }));
  });

  test('"*" in mercure.subscribe receives every private update', () => {
    assert.ok(canReceive(legacy({ subscribe: ['*'] }), { topics: ['x'], private: true }));
  });
});

describe('grantsFromMercureClaim', () => {
  test('refuses claims of the wrong shape', () => {
    for (const bad of ['x', ['*'], { publish: '*' }, { subscribe: [1] }, { publish: [null] }]) {
      assert.throws(() => legacy(bad), GrantsError, JSON.stringify(bad));
    }
  });

  test('passes bare strings to compileSelector with no syntax (the 0.x default: exact or URI template)', () => {
    const seen: (MatcherSyntax | undefined)[] = [];
    const spy: SelectorCompiler = (s, syntax) => {
      seen.push(syntax);
      return exactOrStar(s, syntax);
    };
    grantsFromMercureClaim(
      { mercure: { subscribe: ['https://ex.com/{id}', { match: 'x', matchType: 'URLPattern' }] } },
      spy,
    );
    assert.deepEqual(seen, [undefined, 'urlpattern']);
  });

  test('keeps mercure.payload', () => {
    assert.deepEqual(legacy({ subscribe: ['*'], payload: { user: 'u1' } }).payload, { user: 'u1' });
    assert.deepEqual(subscriptionPayload(legacy({ subscribe: ['*'], payload: { user: 'u1' } }), 'a'), {
      user: 'u1',
    });
  });

  test('refuses more selectors than the limit, and selectors that are too long', () => {
    const many = Array.from({ length: 11 }, (_, i) => `t${i}`);
    assert.throws(
      () => grantsFromMercureClaim({ mercure: { subscribe: many } }, exactOrStar, { maxSelectors: 10 }),
      /more than 10/,
    );
    assert.throws(
      () =>
        grantsFromMercureClaim({ mercure: { subscribe: ['x'.repeat(20)] } }, exactOrStar, {
          maxSelectorLength: 10,
        }),
      /longer than 10/,
    );
  });

  test('turns a selector compileSelector rejects into a GrantsError', () => {
    const strict: SelectorCompiler = () => {
      throw new Error('bad template');
    };
    assert.throws(() => grantsFromMercureClaim({ mercure: { publish: ['{bad'] } }, strict), GrantsError);
  });
});

describe('grantsFromAuthorizationDetails (1.0)', () => {
  test('grants publish and subscribe per the actions of each mercure detail', () => {
    const grants = details([
      {
        type: 'https://mercure.rocks/authorization-detail',
        actions: ['publish'],
        topics: [{ match: 'https://ex.com/a' }],
      },
      {
        type: 'https://mercure.rocks/authorization-detail',
        actions: ['subscribe'],
        topics: [{ match: 'https://ex.com/b', match_type: 'exact' }],
      },
    ]);
    assert.ok(canPublish(grants, ['https://ex.com/a']));
    assert.ok(!canPublish(grants, ['https://ex.com/b']));
    assert.ok(canReceive(grants, { topics: ['https://ex.com/b'], private: true }));
    assert.ok(!canReceive(grants, { topics: ['https://ex.com/a'], private: true }));
  });

  test('accepts the mercure.rocks detail type and ignores details of other types', () => {
    const grants = details([
      { type: 'https://mercure.rocks/authorization-detail', actions: ['publish'], topics: [{ match: '*' }] },
      { type: 'payment_initiation', actions: ['whatever'], topics: 'not mercure' },
    ]);
    assert.ok(canPublish(grants, ['x']));
  });

  test('with other detail types configured, the default ones are ignored', () => {
    const grants = details(
      [
        {
          type: 'https://mercure.rocks/authorization-detail',
          actions: ['publish'],
          topics: [{ match: '*' }],
        },
      ],
      {
        detailTypes: ['urn:crier'],
      },
    );
    assert.ok(!canPublish(grants, ['x']));
  });

  test('an exact matcher does not go through compileSelector; a urlpattern one does, with its syntax', () => {
    const seen: [string, MatcherSyntax | undefined][] = [];
    const spy: SelectorCompiler = (s, syntax) => {
      seen.push([s, syntax]);
      return { matches: (t) => t.startsWith('https://ex.com/books/') };
    };
    const grants = grantsFromAuthorizationDetails(
      {
        authorization_details: [
          {
            type: 'https://mercure.rocks/authorization-detail',
            actions: ['subscribe'],
            topics: [
              { match: 'https://ex.com/exact' },
              { match: 'https://ex.com/books/:id', match_type: 'urlpattern' },
            ],
          },
        ],
      },
      spy,
    );
    assert.deepEqual(seen, [['https://ex.com/books/:id', 'urlpattern']]);
    assert.ok(canReceive(grants, { topics: ['https://ex.com/books/7'], private: true }));
    assert.ok(canReceive(grants, { topics: ['https://ex.com/exact'], private: true }));
    assert.ok(!canReceive(grants, { topics: ['https://ex.com/exactly'], private: true }));
  });

  test('rejects the whole token when one mercure detail is malformed (no partial acceptance)', () => {
    const good = {
      type: 'https://mercure.rocks/authorization-detail',
      actions: ['subscribe'],
      topics: [{ match: '*' }],
    };
    const bad = [
      'not an array',
      [good, 'string detail'],
      [good, { actions: ['publish'], topics: [{ match: '*' }] }],
      [good, { type: 'https://mercure.rocks/authorization-detail', topics: [{ match: '*' }] }],
      [good, { type: 'https://mercure.rocks/authorization-detail', actions: [], topics: [{ match: '*' }] }],
      [
        good,
        {
          type: 'https://mercure.rocks/authorization-detail',
          actions: ['publish', 7],
          topics: [{ match: '*' }],
        },
      ],
      [good, { type: 'https://mercure.rocks/authorization-detail', actions: ['publish'] }],
      [good, { type: 'https://mercure.rocks/authorization-detail', actions: ['publish'], topics: [] }],
      [
        good,
        {
          type: 'https://mercure.rocks/authorization-detail',
          actions: ['publish'],
          topics: ['https://ex.com/bare-string'],
        },
      ],
      [
        good,
        { type: 'https://mercure.rocks/authorization-detail', actions: ['publish'], topics: [{ match: '' }] },
      ],
      [
        good,
        { type: 'https://mercure.rocks/authorization-detail', actions: ['publish'], topics: [{ match: 1 }] },
      ],
      [
        good,
        {
          type: 'https://mercure.rocks/authorization-detail',
          actions: ['publish'],
          topics: [{ match: 'x', match_type: 'regexp' }],
        },
      ],
      [
        good,
        {
          type: 'https://mercure.rocks/authorization-detail',
          actions: ['publish'],
          topics: [{ match: 'x', match_type: 'Exact' }],
        },
      ],
    ];
    for (const value of bad) {
      assert.throws(() => details(value), GrantsError, JSON.stringify(value));
    }
  });

  test('draft-08 §6.4: an unknown action grants nothing and leaves the token valid; a detail of another type grants nothing', () => {
    const grants = details([
      {
        type: 'https://mercure.rocks/authorization-detail',
        actions: ['publish', 'archive'],
        topics: [{ match: 'a' }],
      },
      { type: 'https://mercure.rocks/authorization-detail', actions: ['archive'], topics: [{ match: 'b' }] },
      { type: 'mercure', actions: ['publish'], topics: [{ match: '*' }] },
    ]);
    assert.ok(canPublish(grants, ['a']));
    assert.ok(!canPublish(grants, ['b']));
    assert.ok(!canPublish(grants, ['c']));
  });

  test('a token without authorization_details grants nothing', () => {
    const grants = grantsFromAuthorizationDetails({ mercure: { publish: ['*'] } }, exactOrStar);
    assert.ok(!canPublish(grants, ['x']));
    assert.ok(!canReceive(grants, { topics: ['x'], private: true }));
  });

  test('bounds the number of matchers across all details', () => {
    const detail = {
      type: 'https://mercure.rocks/authorization-detail',
      actions: ['subscribe'],
      topics: [{ match: 'a' }, { match: 'b' }],
    };
    assert.throws(() => details([detail, detail, detail], { maxSelectors: 5 }), /more than 5/);
  });

  test('attaches the payload of the first subscribe detail matching the subscription', () => {
    const grants = details([
      {
        type: 'https://mercure.rocks/authorization-detail',
        actions: ['publish'],
        topics: [{ match: '*' }],
        payload: { ignored: true },
      },
      {
        type: 'https://mercure.rocks/authorization-detail',
        actions: ['subscribe'],
        topics: [{ match: 'https://ex.com/foo' }],
        payload: { p: 1 },
      },
      {
        type: 'https://mercure.rocks/authorization-detail',
        actions: ['subscribe'],
        topics: [{ match: '*' }],
        payload: { p: 'default' },
      },
    ]);
    assert.deepEqual(subscriptionPayload(grants, 'https://ex.com/foo'), { p: 1 });
    assert.deepEqual(subscriptionPayload(grants, 'https://ex.com/other'), { p: 'default' });
    assert.equal(subscriptionPayload(null, 'x'), undefined);
  });
});
