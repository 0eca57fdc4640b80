import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CrierEventSource } from '../client/index.js';
import { applyPatch, parseDeltaField } from '../protocol/delta.js';
import { legacyToken, publish, startHub } from './hub.test-helpers.js';

describe('delta updates through the Mercure hub', () => {
  test('?delta=1 on the hub gives CrierEventSource patches it rebuilds, with the type and the hub IDs (--ids sequence)', async (t) => {
    const hub = await startHub(t, ['--ids', 'sequence']);
    const pub = await legacyToken({ publish: ['*'] });
    const sub = await legacyToken({ subscribe: ['*'] });
    const topic = 'https://example.com/matches/1';
    const url = `${hub.url}?topic=${encodeURIComponent(topic)}`;
    const source = new CrierEventSource(url, { delta: true, getToken: () => sub });
    t.after(() => source.close());
    const got: Array<[string, string]> = [];
    source.addEventListener('match', (e) => {
      const m = e as MessageEvent<string>;
      got.push([m.data, m.lastEventId]);
    });
    await new Promise((resolve) => source.addEventListener('open', resolve, { once: true }));
    const docs = [0, 1, 2].map((m) =>
      JSON.stringify({ home: 'Lions', away: 'Tigers', score: [m, 0], minute: 10 + m }),
    );
    const ids: string[] = [];
    for (const data of docs)
      ids.push(
        (
          await publish(
            hub,
            [
              ['topic', topic],
              ['data', data],
              ['type', 'match'],
            ],
            pub,
          )
        ).body,
      );
    const deadline = Date.now() + 3_000;
    while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(
      got,
      docs.map((d, i) => [d, ids[i]]),
    );
    for (const id of ids) assert.match(id, /^#/);
  });

  test('the raw stream for ?delta=1 carries a delta: field a plain parser ignores', async (t) => {
    const hub = await startHub(t);
    const pub = await legacyToken({ publish: ['*'] });
    const sub = await legacyToken({ subscribe: ['*'] });
    const topic = 'https://example.com/t';
    const controller = new AbortController();
    t.after(() => controller.abort());
    const res = await fetch(`${hub.url}?topic=${encodeURIComponent(topic)}&delta=1`, {
      headers: { authorization: `Bearer ${sub}` },
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await publish(
      hub,
      [
        ['topic', topic],
        ['data', '{"a":1,"b":"same"}'],
      ],
      pub,
    );
    await publish(
      hub,
      [
        ['topic', topic],
        ['data', '{"a":2,"b":"same"}'],
      ],
      pub,
    );
    let text = '';
    while ((text.match(/\ndata: /g) ?? []).length < 2)
      text += new TextDecoder().decode((await reader.read()).value);
    const fields = [...text.matchAll(/^delta: (.*)$/gm)].map((m) => parseDeltaField(m[1]!)!);
    assert.equal(fields.length, 2);
    assert.equal(fields[0]!.format, null);
    const datas = [...text.matchAll(/^data: (.*)$/gm)].map((m) => m[1]!);
    assert.equal(applyPatch(datas[0]!, fields[1]!.format!, datas[1]!), '{"a":2,"b":"same"}');
  });
});
