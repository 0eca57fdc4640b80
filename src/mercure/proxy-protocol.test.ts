import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { ConfigError, loadConfig } from './config.js';
import { legacyToken, startHub } from './hub.test-helpers.js';
import { parseProxyHeader, V1_MAX_LENGTH, V2_SIGNATURE } from './proxy-protocol.js';
import { type Endpoints, proxyV1, proxyV2 } from './proxy-protocol.test-helpers.js';
import type { MercureServer } from './server.js';

/** An IPv6 address as the WHATWG URL serializer writes it (compressed, lower case), like the parser. */
const canonical6 = (address: string) => new URL(`http://[${address}]/`).hostname.slice(1, -1);

const endpoints4 = fc.record({
  source: fc.record({ address: fc.ipV4(), port: fc.integer({ min: 0, max: 65_535 }) }),
  destination: fc.record({ address: fc.ipV4(), port: fc.integer({ min: 0, max: 65_535 }) }),
});
const endpoints6 = fc.record({
  source: fc.record({ address: fc.ipV6().map(canonical6), port: fc.integer({ min: 0, max: 65_535 }) }),
  destination: fc.record({
    address: fc.ipV6().map(canonical6),
    port: fc.integer({ min: 0, max: 65_535 }),
  }),
});
const anyEndpoints = fc.oneof(endpoints4, endpoints6);
const bytes = (max = 64) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

const E: Endpoints = {
  source: { address: '203.0.113.7', port: 51_234 },
  destination: { address: '10.0.0.5', port: 443 },
};

describe('the PROXY protocol header parser', () => {
  test('a version 1 TCP4 or TCP6 line gives the client and the front end, and its length', () => {
    const line = Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\n');
    assert.deepEqual(parseProxyHeader(line), {
      command: 'proxy',
      length: 45,
      source: { address: '192.0.2.1', port: 56_324 },
      destination: { address: '198.51.100.2', port: 443 },
    });
    assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 ::1 1 2\r\n')), {
      command: 'proxy',
      length: 32,
      source: { address: '2001:db8::1', port: 1 },
      destination: { address: '::1', port: 2 },
    });
  });

  test('version 1 UNKNOWN and version 2 LOCAL, UNSPEC and UNIX mean: use the peer address', () => {
    assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { command: 'local', length: 15 });
    assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff::1 ::1 1 2\r\n')), {
      command: 'local',
      length: 31,
    });
    assert.deepEqual(parseProxyHeader(proxyV2()), { command: 'local', length: 16 });
    const unspec = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x00, 0, 0])]);
    assert.deepEqual(parseProxyHeader(unspec), { command: 'local', length: 16 });
    const unix = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x31, 0, 216]), Buffer.alloc(216)]);
    assert.deepEqual(parseProxyHeader(unix), { command: 'local', length: 232 });
  });

  test('a version 2 header gives the addresses and skips its TLVs', () => {
    const tlv = Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32]); // PP2_TYPE_ALPN "h2"
    const header = proxyV2(E, tlv);
    assert.deepEqual(parseProxyHeader(Buffer.concat([header, Buffer.from('GET')])), {
      command: 'proxy',
      length: 16 + 12 + 5,
      ...E,
    });
  });

  test('any header, either version, round-trips, and each of its strict prefixes is incomplete', () => {
    fc.assert(
      fc.property(anyEndpoints, fc.boolean(), bytes(), (endpoints, v2, after) => {
        const header = v2 ? proxyV2(endpoints) : proxyV1(endpoints);
        assert.deepEqual(parseProxyHeader(Buffer.concat([header, after])), {
          command: 'proxy',
          length: header.length,
          source: { ...endpoints.source },
          destination: { ...endpoints.destination },
        });
        for (let n = 0; n < header.length; n++)
          assert.deepEqual(parseProxyHeader(header.subarray(0, n)), { command: 'incomplete' }, `${n}`);
      }),
    );
  });

  test('garbage never throws, and is absent only when it cannot start a header', () => {
    const v1 = Buffer.from('PROXY ');
    fc.assert(
      fc.property(
        fc.oneof(
          bytes(200),
          bytes(120).map((b) => Buffer.concat([v1, b])),
          bytes(120).map((b) => Buffer.concat([V2_SIGNATURE, b])),
          fc.string({ maxLength: 120 }).map((s) => Buffer.from(`PROXY ${s}`)),
        ),
        (input) => {
          const result = parseProxyHeader(input);
          const couldStart = (p: Buffer) => input.subarray(0, p.length).equals(p.subarray(0, input.length));
          if (result.command === 'absent') assert.ok(!couldStart(v1) && !couldStart(V2_SIGNATURE));
          else assert.ok(couldStart(v1) || couldStart(V2_SIGNATURE));
          if (result.command === 'proxy' || result.command === 'local')
            assert.ok(result.length <= input.length);
        },
      ),
    );
  });

  test('HTTP requests and TLS hellos are not PROXY headers', () => {
    for (const start of ['GET / HTTP/1.1\r\n', 'POST /x', 'PRI * HTTP/2.0', 'PUT', '\x16\x03\x01', '\r\nGET'])
      assert.deepEqual(parseProxyHeader(Buffer.from(start, 'latin1')), { command: 'absent' }, start);
  });

  test('malformed headers are told apart from incomplete ones', () => {
    const bad = [
      'PROXY TCP4 1.2.3.4 5.6.7.8 65536 1\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 080 1\r\n',
      'PROXY TCP4 ::1 5.6.7.8 1 1\r\n',
      'PROXY TCP6 1.2.3.4 ::1 1 1\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n',
      'PROXY TCP4  1.2.3.4 5.6.7.8 1 1\r\n',
      'PROXY UDP4 1.2.3.4 5.6.7.8 1 1\r\n',
      'PROXY TCP4 1.2.3.4\n',
      `PROXY UNKNOWN ${'x'.repeat(V1_MAX_LENGTH)}`,
    ];
    for (const line of bad) assert.equal(parseProxyHeader(Buffer.from(line)).command, 'malformed', line);
    const v2 = (b12: number, b13: number, rest: number[] = []) =>
      parseProxyHeader(Buffer.concat([V2_SIGNATURE, Buffer.from([b12, b13, 0, rest.length, ...rest])]));
    assert.equal(v2(0x11, 0x11).command, 'malformed'); // version 1 in the binary form
    assert.equal(v2(0x22, 0x11).command, 'malformed'); // command 2
    assert.equal(v2(0x21, 0x12, Array(12).fill(1)).command, 'malformed'); // UDP
    assert.equal(v2(0x21, 0x11, [1, 2, 3]).command, 'malformed'); // too short for IPv4
    assert.equal(v2(0x21, 0x21, Array(12).fill(1)).command, 'malformed'); // too short for IPv6
  });
});

/**
 * Opens a connection to the hub from `localAddress`, writes `header` (in one-byte pieces when `dribble`)
 * and `request`, and resolves with everything the hub sent until it closed or `untilText` appeared.
 */
function exchange(
  hub: MercureServer,
  options: {
    localAddress?: string;
    header?: Buffer;
    request?: string;
    untilText?: string;
    dribble?: boolean;
  },
): Promise<string> {
  const { port } = new URL(hub.url);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({
      host: '127.0.0.1',
      port: Number(port),
      localAddress: options.localAddress,
    });
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (options.untilText !== undefined && received.includes(options.untilText)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('close', () => resolve(received));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? resolve(received) : reject(error),
    );
    socket.on('connect', async () => {
      const all = Buffer.concat([
        options.header ?? Buffer.alloc(0),
        Buffer.from(options.request ?? '', 'latin1'),
      ]);
      if (options.dribble) {
        for (const byte of all) {
          socket.write(Buffer.from([byte]));
          await new Promise((r) => setTimeout(r, 1));
        }
      } else socket.write(all);
    });
  });
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n`;
const SUBSCRIBE = `GET /.well-known/mercure?topic=news HTTP/1.1\r\nHost: hub\r\n\r\n`;

async function proxiedHub(t: TestContext, extra: string[] = []): Promise<MercureServer> {
  return startHub(t, [
    '--host',
    '127.0.0.1',
    '--proxy-protocol',
    '--trusted-proxies',
    '127.0.0.1',
    '--anonymous',
    ...extra,
  ]);
}

const refused = async (hub: MercureServer, reason: string) => {
  const text = await hub.metrics.registry.getSingleMetricAsString('crier_proxy_protocol_refused_total');
  return Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(text)?.[1] ?? 0);
};

describe('crier serve --proxy-protocol', () => {
  test('the client address a trusted balancer names is the one per-address limits count', async (t) => {
    const hub = await proxiedHub(t, ['--max-connections-per-ip', '1']);
    const from = (address: string, port: number) =>
      ({
        source: { address, port },
        destination: { address: address.includes(':') ? '::1' : '127.0.0.1', port: 80 },
      }) as Endpoints;
    const first = await exchange(hub, {
      header: proxyV1(from('203.0.113.7', 1000)),
      request: SUBSCRIBE,
      untilText: '\r\n\r\n',
    });
    const streams: Promise<string>[] = [];
    // Hold a stream for 203.0.113.7, then ask again for it (over v2) and for another client.
    const held = exchange(hub, {
      header: proxyV1(from('203.0.113.7', 1001)),
      request: SUBSCRIBE,
      untilText: 'never',
    });
    streams.push(held);
    await waitFor(() => hub.hub.connectionCount === 1);
    const again = await exchange(hub, {
      header: proxyV2(from('203.0.113.7', 1002)),
      request: SUBSCRIBE,
      untilText: '\r\n\r\n',
    });
    const other = await exchange(hub, {
      header: proxyV2(from('2001:db8::9', 1003)),
      request: SUBSCRIBE,
      untilText: '\r\n\r\n',
    });
    assert.match(first, /^HTTP\/1.1 200/, 'first');
    assert.match(again, /^HTTP\/1.1 429/);
    assert.match(other, /^HTTP\/1.1 200/, 'other');
    await hub.close();
    await held;
  });

  test('publish and health answer over a header sent byte by byte; LOCAL and UNKNOWN use the peer', async (t) => {
    const hub = await proxiedHub(t);
    const health = await exchange(hub, { header: proxyV2(E), request: GET('/healthz'), dribble: true });
    assert.match(health, /^HTTP\/1.1 200/);
    const body = 'topic=news&data=hello';
    const token = await legacyToken({ publish: ['*'] });
    const post = `POST /.well-known/mercure HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    assert.match(
      await exchange(hub, { header: proxyV1(E), request: post }),
      /^HTTP\/1.1 200[\s\S]*urn:uuid:/,
    );
    assert.match(await exchange(hub, { header: proxyV2(), request: GET('/healthz') }), /^HTTP\/1.1 200/);
    assert.match(await exchange(hub, { header: proxyV1(), request: GET('/healthz') }), /^HTTP\/1.1 200/);
  });

  test('a trusted balancer that sends no header, or a malformed one, is closed without an answer', async (t) => {
    const hub = await proxiedHub(t);
    assert.equal(await exchange(hub, { request: GET('/healthz') }), '');
    assert.equal(
      await exchange(hub, {
        header: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'),
        request: GET('/healthz'),
      }),
      '',
    );
    assert.equal(await refused(hub, 'missing'), 1);
    assert.equal(await refused(hub, 'malformed'), 1);
  });

  test('a PROXY header from a peer not in --trusted-proxies is refused; its plain requests are served', async (t) => {
    const hub = await proxiedHub(t);
    for (const header of [proxyV1(E), proxyV2(E), proxyV2()])
      assert.equal(await exchange(hub, { localAddress: '127.0.0.2', header, request: GET('/healthz') }), '');
    assert.equal(await refused(hub, 'untrusted'), 3);
    const plain = await exchange(hub, { localAddress: '127.0.0.2', request: GET('/healthz') });
    assert.match(plain, /^HTTP\/1.1 200/);
  });

  test('a header that never ends is closed after --headers-timeout', async (t) => {
    const hub = await proxiedHub(t, ['--headers-timeout', '300ms']);
    const started = Date.now();
    assert.equal(await exchange(hub, { header: Buffer.from('PROXY TCP4 1.2.3.4') }), '');
    assert.ok(Date.now() - started < 3000);
    assert.equal(await refused(hub, 'timeout'), 1);
  });

  test('past --max-pending connections still reading their first bytes, the oldest is closed', async (t) => {
    const hub = await proxiedHub(t, ['--max-pending', '2']);
    const { port } = new URL(hub.url);
    const closed: number[] = [];
    const sockets = [0, 1, 2].map((i) => {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => {});
      socket.on('close', () => closed.push(i));
      t.after(() => socket.destroy());
      return socket;
    });
    await Promise.all(sockets.map((s) => new Promise((r) => s.once('connect', r))));
    await waitFor(() => closed.length > 0);
    assert.deepEqual(closed, [0]);
    assert.equal(await refused(hub, 'pending'), 1);
  });

  test('without --proxy-protocol a PROXY header is not a request: 400 and closed', async (t) => {
    const hub = await startHub(t, ['--host', '127.0.0.1', '--trusted-proxies', '127.0.0.1']);
    assert.match(await exchange(hub, { header: proxyV1(E), request: GET('/healthz') }), /^HTTP\/1.1 400/);
  });

  test('--proxy-protocol needs --trusted-proxies, and no --tls-cert', () => {
    assert.throws(
      () => loadConfig({ argv: ['--proxy-protocol'] }),
      (e) => e instanceof ConfigError && /--trusted-proxies/.test(e.message),
    );
    assert.throws(
      () =>
        loadConfig({
          argv: ['--proxy-protocol', '--trusted-proxies', '10.0.0.1', '--tls-cert', 'a', '--tls-key', 'b'],
        }),
      (e) => e instanceof ConfigError && /terminate TLS/.test(e.message),
    );
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
