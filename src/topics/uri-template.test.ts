import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileTemplate, expandTemplate, parseTemplate, type TemplateValue } from './uri-template.js';

/** The variables of RFC 6570 section 3.2.1. */
const RFC_VARS: Record<string, TemplateValue> = {
  count: ['one', 'two', 'three'],
  dom: ['example', 'com'],
  dub: 'me/too',
  hello: 'Hello World!',
  half: '50%',
  var: 'value',
  who: 'fred',
  base: 'http://example.com/home/',
  path: '/foo/bar',
  list: ['red', 'green', 'blue'],
  keys: { semi: ';', dot: '.', comma: ',' },
  v: '6',
  x: '1024',
  y: '768',
  empty: '',
  empty_keys: [],
  undef: null,
};

/** [template, expansion] pairs from RFC 6570 sections 3.2.2 to 3.2.9, one group per operator. */
const RFC_EXAMPLES: Record<string, [string, string][]> = {
  'simple string expansion {var}': [
    ['{var}', 'value'],
    ['{hello}', 'Hello%20World%21'],
    ['{half}', '50%25'],
    ['O{empty}X', 'OX'],
    ['O{undef}X', 'OX'],
    ['{x,y}', '1024,768'],
    ['{x,hello,y}', '1024,Hello%20World%21,768'],
    ['?{x,empty}', '?1024,'],
    ['?{x,undef}', '?1024'],
    ['?{undef,y}', '?768'],
    ['{var:3}', 'val'],
    ['{var:30}', 'value'],
    ['{list}', 'red,green,blue'],
    ['{list*}', 'red,green,blue'],
    ['{keys}', 'semi,%3B,dot,.,comma,%2C'],
    ['{keys*}', 'semi=%3B,dot=.,comma=%2C'],
  ],
  'reserved expansion {+var}': [
    ['{+var}', 'value'],
    ['{+hello}', 'Hello%20World!'],
    ['{+half}', '50%25'],
    ['{base}index', 'http%3A%2F%2Fexample.com%2Fhome%2Findex'],
    ['{+base}index', 'http://example.com/home/index'],
    ['O{+empty}X', 'OX'],
    ['O{+undef}X', 'OX'],
    ['{+path}/here', '/foo/bar/here'],
    ['here?ref={+path}', 'here?ref=/foo/bar'],
    ['up{+path}{var}/here', 'up/foo/barvalue/here'],
    ['{+x,hello,y}', '1024,Hello%20World!,768'],
    ['{+path,x}/here', '/foo/bar,1024/here'],
    ['{+path:6}/here', '/foo/b/here'],
    ['{+list}', 'red,green,blue'],
    ['{+list*}', 'red,green,blue'],
    ['{+keys}', 'semi,;,dot,.,comma,,'],
    ['{+keys*}', 'semi=;,dot=.,comma=,'],
  ],
  'fragment expansion {#var}': [
    ['{#var}', '#value'],
    ['{#hello}', '#Hello%20World!'],
    ['{#half}', '#50%25'],
    ['foo{#empty}', 'foo#'],
    ['foo{#undef}', 'foo'],
    ['{#x,hello,y}', '#1024,Hello%20World!,768'],
    ['{#path,x}/here', '#/foo/bar,1024/here'],
    ['{#path:6}/here', '#/foo/b/here'],
    ['{#list}', '#red,green,blue'],
    ['{#list*}', '#red,green,blue'],
    ['{#keys}', '#semi,;,dot,.,comma,,'],
    ['{#keys*}', '#semi=;,dot=.,comma=,'],
  ],
  'label expansion {.var}': [
    ['{.who}', '.fred'],
    ['{.who,who}', '.fred.fred'],
    ['{.half,who}', '.50%25.fred'],
    ['www{.dom*}', 'www.example.com'],
    ['X{.var}', 'X.value'],
    ['X{.empty}', 'X.'],
    ['X{.undef}', 'X'],
    ['X{.var:3}', 'X.val'],
    ['X{.list}', 'X.red,green,blue'],
    ['X{.list*}', 'X.red.green.blue'],
    ['X{.keys}', 'X.semi,%3B,dot,.,comma,%2C'],
    ['X{.keys*}', 'X.semi=%3B.dot=..comma=%2C'],
    ['X{.empty_keys}', 'X'],
    ['X{.empty_keys*}', 'X'],
  ],
  'path segment expansion {/var}': [
    ['{/who}', '/fred'],
    ['{/who,who}', '/fred/fred'],
    ['{/half,who}', '/50%25/fred'],
    ['{/who,dub}', '/fred/me%2Ftoo'],
    ['{/var}', '/value'],
    ['{/var,empty}', '/value/'],
    ['{/var,undef}', '/value'],
    ['{/var,x}/here', '/value/1024/here'],
    ['{/var:1,var}', '/v/value'],
    ['{/list}', '/red,green,blue'],
    ['{/list*}', '/red/green/blue'],
    ['{/list*,path:4}', '/red/green/blue/%2Ffoo'],
    ['{/keys}', '/semi,%3B,dot,.,comma,%2C'],
    ['{/keys*}', '/semi=%3B/dot=./comma=%2C'],
  ],
  'path-style parameter expansion {;var}': [
    ['{;who}', ';who=fred'],
    ['{;half}', ';half=50%25'],
    ['{;empty}', ';empty'],
    ['{;v,empty,who}', ';v=6;empty;who=fred'],
    ['{;v,bar,who}', ';v=6;who=fred'],
    ['{;x,y}', ';x=1024;y=768'],
    ['{;x,y,empty}', ';x=1024;y=768;empty'],
    ['{;x,y,undef}', ';x=1024;y=768'],
    ['{;hello:5}', ';hello=Hello'],
    ['{;list}', ';list=red,green,blue'],
    ['{;list*}', ';list=red;list=green;list=blue'],
    ['{;keys}', ';keys=semi,%3B,dot,.,comma,%2C'],
    ['{;keys*}', ';semi=%3B;dot=.;comma=%2C'],
  ],
  'form-style query expansion {?var}': [
    ['{?who}', '?who=fred'],
    ['{?half}', '?half=50%25'],
    ['{?x,y}', '?x=1024&y=768'],
    ['{?x,y,empty}', '?x=1024&y=768&empty='],
    ['{?x,y,undef}', '?x=1024&y=768'],
    ['{?var:3}', '?var=val'],
    ['{?list}', '?list=red,green,blue'],
    ['{?list*}', '?list=red&list=green&list=blue'],
    ['{?keys}', '?keys=semi,%3B,dot,.,comma,%2C'],
    ['{?keys*}', '?semi=%3B&dot=.&comma=%2C'],
  ],
  'form-style query continuation {&var}': [
    ['{&who}', '&who=fred'],
    ['{&half}', '&half=50%25'],
    ['?fixed=yes{&x}', '?fixed=yes&x=1024'],
    ['{&x,y,empty}', '&x=1024&y=768&empty='],
    ['{&var:3}', '&var=val'],
    ['{&list}', '&list=red,green,blue'],
    ['{&list*}', '&list=red&list=green&list=blue'],
    ['{&keys}', '&keys=semi,%3B,dot,.,comma,%2C'],
    ['{&keys*}', '&semi=%3B&dot=.&comma=%2C'],
  ],
};

describe('RFC 6570 examples', () => {
  for (const [group, examples] of Object.entries(RFC_EXAMPLES)) {
    test(`${group}: expands as the RFC says and the compiled matcher accepts every expansion`, () => {
      for (const [template, expected] of examples) {
        assert.equal(expandTemplate(template, RFC_VARS), expected, `expanding ${template}`);
        assert.ok(compileTemplate(template).matches(expected), `${template} should match ${expected}`);
      }
    });
  }
});

describe('reverse matching rejects what no values can produce', () => {
  const cases: [string, string[]][] = [
    ['{var:3}', ['valu', 'a/b']],
    ['X{.var:3}', ['X.valu', 'Xval', 'X.a/b']],
    ['{/var}', ['value', '/a/b', '/a%2']],
    ['{var}', ['a/b', 'a b', '%zz', '%4']],
    ['{+var}', ['a b', '%G0', 'é']],
    ['{#var}', ['value', '#a b']],
    ['{;who}', [';', 'who=fred', ';other=fred']],
    ['{?x,y}', ['?y=1&x=2', '?z=1', 'x=1', '?x=1&']],
    ['{&x}', ['?x=1', '&x']],
    ['https://example.com/books/{id}', ['https://example.com/books/1/2', 'https://example.com/authors/1']],
  ];
  for (const [template, topics] of cases) {
    test(`${template} does not match ${topics.join(' or ')}`, () => {
      const m = compileTemplate(template);
      for (const topic of topics) assert.equal(m.matches(topic), false, `${template} vs ${topic}`);
    });
  }

  test('the empty expansion is accepted: every variable may be undefined', () => {
    assert.ok(compileTemplate('https://example.com/books/{id}').matches('https://example.com/books/'));
    assert.ok(compileTemplate('/search{?q,page}').matches('/search'));
    assert.ok(compileTemplate('/search{?q,page}').matches('/search?page=2'));
  });

  test('a non-ASCII literal matches both its IRI form and its percent-encoded form', () => {
    const m = compileTemplate('https://example.com/café/{id}');
    assert.ok(m.matches('https://example.com/café/1'));
    assert.ok(m.matches('https://example.com/caf%C3%A9/1'));
    assert.equal(m.matches('https://example.com/cafe/1'), false);
  });
});

describe('invalid templates are refused with INVALID_SELECTOR', () => {
  const bad: [string, RegExp][] = [
    ['https://example.com/{id', /never closed/],
    ['https://example.com/id}', /no matching "\{"/],
    ['{a{b}}', /cannot nest/],
    ['{}', /empty expression/],
    ['{=a}', /reserved for future extensions/],
    ['{!a}', /reserved for future extensions/],
    ['{|a}', /reserved for future extensions/],
    ['{@a}', /reserved for future extensions/],
    ['{,a}', /reserved for future extensions/],
    ['{a b}', /not a valid variable/],
    ['{a-b}', /not a valid variable/],
    ['{.a..b}', /not a valid variable/],
    ['{a.}', /not a valid variable/],
    ['{a:0}', /prefix modifier/],
    ['{a:10000}', /prefix modifier/],
    ['{a:}', /prefix modifier/],
    ['{a*:3}', /not a valid variable/],
    ['{a%2}', /not a valid variable/],
    ['a b{x}', /not allowed/],
    ['a|b{x}', /not allowed/],
    ['50%{x}', /percent-encoded/],
  ];
  for (const [template, message] of bad) {
    test(`${JSON.stringify(template)} is invalid`, () => {
      assert.throws(
        () => parseTemplate(template),
        (e: unknown) =>
          (e as { code?: string }).code === 'INVALID_SELECTOR' && message.test((e as Error).message),
      );
    });
  }

  test('a template too large for a bounded automaton is refused as too complex, not compiled', () => {
    compileTemplate('{a:1000}');
    assert.throws(
      () => compileTemplate('{a:9999}'),
      (e: unknown) => (e as { code?: string }).code === 'INVALID_SELECTOR' && /too complex/.test(String(e)),
    );
  });

  test('valid variable names include pct-encoded octets, dots and underscores', () => {
    for (const t of ['{a.b}', '{a_b}', '{%41b}', '{A1.b2.c3:9999}', '{x,y*,z:1}']) parseTemplate(t);
  });
});
