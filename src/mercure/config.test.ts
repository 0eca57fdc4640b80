import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  ConfigError,
  configHelp,
  DEV_JWT_KEY,
  envOf,
  flagOf,
  formatDuration,
  formatSize,
  loadConfig,
  OPTIONS,
  redactConfig,
} from './config.js';

function rejects(sources: Parameters<typeof loadConfig>[0], message: RegExp) {
  assert.throws(
    () => loadConfig(sources),
    (e: unknown) => e instanceof ConfigError && e.code === 'INVALID_CONFIG' && message.test(e.message),
  );
}

describe('hub configuration', () => {
  test('gives every option its default when nothing is set', () => {
    const { config, help } = loadConfig();
    assert.equal(help, false);
    assert.equal(config.port, 3000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.store, 'memory');
    assert.equal(config.heartbeat, 15_000);
    assert.equal(config.maxTopics, 1000);
    assert.equal(config.historySize, 10_000);
    assert.deepEqual(config.corsOrigins, []);
    assert.equal(config.anonymous, false);
  });

  test('reads flags in both --name value and --name=value forms', () => {
    const { config } = loadConfig({ argv: ['--port', '8080', '--host=0.0.0.0', '--max-topics', '50'] });
    assert.equal(config.port, 8080);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.maxTopics, 50);
  });

  test('treats a bare boolean flag as true and --no-name as false', () => {
    assert.equal(loadConfig({ argv: ['--anonymous'] }).config.anonymous, true);
    assert.equal(loadConfig({ argv: ['--anonymous', '--port', '1'] }).config.anonymous, true);
    assert.equal(loadConfig({ argv: ['--no-dashboard'] }).config.dashboard, false);
    assert.equal(loadConfig({ argv: ['--anonymous', 'false'] }).config.anonymous, false);
  });

  test('parses durations, sizes and lists', () => {
    const { config } = loadConfig({
      argv: ['--heartbeat', '30s', '--history-age', '7d', '--write-buffer', '256KiB', '--max-body', '2MB'],
      env: { CRIER_CORS_ORIGINS: 'https://a.example, https://b.example' },
    });
    assert.equal(config.heartbeat, 30_000);
    assert.equal(config.historyAge, 7 * 86_400_000);
    assert.equal(config.writeBuffer, 256 * 1024);
    assert.equal(config.maxBody, 2_000_000);
    assert.deepEqual(config.corsOrigins, ['https://a.example', 'https://b.example']);
  });

  test('reads the selector-cost caps as sizes from flags, environment and file, and refuses 0', () => {
    const { config } = loadConfig({
      argv: ['--max-selector-cost', '64KiB'],
      env: { CRIER_MAX_SELECTOR_COST_PER_IP: '1MiB' },
    });
    assert.equal(config.maxSelectorCost, 64 * 1024);
    assert.equal(config.maxSelectorCostPerIp, 1024 ** 2);
    assert.equal(loadConfig({ file: { maxSelectorCostPerIp: 4096 } }).config.maxSelectorCostPerIp, 4096);
    assert.equal(loadConfig({}).config.maxSelectorCost, 1024 ** 2);
    assert.equal(loadConfig({}).config.maxSelectorCostPerIp, 2 * 1024 ** 2);
    rejects({ argv: ['--max-selector-cost', '0'] }, /--max-selector-cost: expected at least 1 byte/);
    rejects(
      { env: { CRIER_MAX_SELECTOR_COST_PER_IP: 'lots' } },
      /CRIER_MAX_SELECTOR_COST_PER_IP: expected a size/,
    );
  });

  test('takes flags over environment over file over defaults', () => {
    const file = { port: 1, host: '10.0.0.1', maxTopics: 7, historySize: 5 };
    const env = { CRIER_PORT: '2', CRIER_HOST: '10.0.0.2' };
    const { config } = loadConfig({ argv: ['--port', '3'], env, file });
    assert.equal(config.port, 3);
    assert.equal(config.host, '10.0.0.2');
    assert.equal(config.maxTopics, 7);
    assert.equal(config.historySize, 5);
  });

  test('reads a JSON config file named by --config or CRIER_CONFIG', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crier-config-'));
    const path = join(dir, 'crier.json');
    writeFileSync(path, JSON.stringify({ port: 4321, publishOrigins: ['https://app.example'] }));
    assert.equal(loadConfig({ argv: ['--config', path] }).config.port, 4321);
    assert.deepEqual(loadConfig({ env: { CRIER_CONFIG: path } }).config.publishOrigins, [
      'https://app.example',
    ]);
  });

  test('names the flag, the value and the problem for an invalid flag value', () => {
    rejects({ argv: ['--port', 'abc'] }, /^--port: expected an integer from 0 to 65535, got "abc"\.$/);
    rejects({ argv: ['--port', '70000'] }, /^--port: .*65535/);
    rejects({ argv: ['--heartbeat', 'soon'] }, /^--heartbeat: expected a duration/);
    rejects({ argv: ['--write-buffer', '12 parsecs'] }, /^--write-buffer: expected a size/);
    rejects({ argv: ['--anonymous', 'maybe'] }, /^--anonymous: expected true or false/);
    rejects({ argv: ['--log-level', 'loud'] }, /^--log-level: /);
    rejects(
      { argv: ['--trusted-proxies', '127.0.0.1,nginx'] },
      /^--trusted-proxies: "nginx" is not an IP address/,
    );
    rejects(
      { argv: ['--trusted-proxies', '10.0.0.0/33'] },
      /^--trusted-proxies: "10.0.0.0\/33" has a prefix length/,
    );
    assert.deepEqual(
      loadConfig({ argv: ['--trusted-proxies', '127.0.0.1, ::1,10.0.0.0/8'] }).config.trustedProxies,
      ['127.0.0.1', '::1', '10.0.0.0/8'],
    );
  });

  test('names the environment variable for an invalid environment value', () => {
    rejects({ env: { CRIER_MAX_TOPICS: '0' } }, /^CRIER_MAX_TOPICS: /);
  });

  test('names the key for an invalid or unknown config file entry', () => {
    rejects({ file: { port: 'x' } }, /^'port' in the config file: /);
    rejects({ file: { prot: 1 } }, /Unknown option 'prot' in the config file/);
  });

  test('rejects an unknown flag, a missing value and a stray argument', () => {
    rejects({ argv: ['--prot', '1'] }, /Unknown option --prot/);
    rejects({ argv: ['--port'] }, /--port needs a value/);
    rejects({ argv: ['serve'] }, /Unexpected argument 'serve'/);
    rejects({ argv: ['--no-port'] }, /only true\/false options/);
  });

  test('rejects an unreadable or malformed config file', () => {
    rejects({ argv: ['--config', '/nonexistent/crier.json'] }, /cannot read \/nonexistent\/crier.json/);
    const dir = mkdtempSync(join(tmpdir(), 'crier-config-'));
    writeFileSync(join(dir, 'bad.json'), '{ port: 1');
    rejects({ argv: ['--config', join(dir, 'bad.json')] }, /is not valid JSON/);
    writeFileSync(join(dir, 'array.json'), '[1]');
    rejects({ argv: ['--config', join(dir, 'array.json')] }, /must hold a JSON object/);
  });

  test('checks options that go together', () => {
    rejects({ argv: ['--tls-cert', 'cert.pem'] }, /--tls-cert and --tls-key go together/);
    rejects({ argv: ['--store', 'mongodb://x'] }, /^--store: expected memory, sqlite:PATH/);
    assert.equal(loadConfig({ argv: ['--store', 'sqlite:./crier.db'] }).config.store, 'sqlite:./crier.db');
  });

  test('never prints a secret back in an error or in the redacted config', () => {
    assert.throws(
      () => loadConfig({ file: { jwtKey: 12345 } }),
      (e: unknown) => e instanceof ConfigError && /value hidden/.test(e.message) && !/12345/.test(e.message),
    );
    const { config } = loadConfig({ argv: ['--jwt-key', 's3cret'] });
    assert.equal(config.jwtKey, 's3cret');
    assert.equal(redactConfig(config).jwtKey, '[redacted]');
  });

  test('documents every option with its flag, environment variable and default in --help', () => {
    const help = configHelp();
    for (const name of Object.keys(OPTIONS) as (keyof typeof OPTIONS)[]) {
      assert.ok(help.includes(flagOf(name)), `--help lists ${flagOf(name)}`);
      assert.ok(help.includes(envOf(name)), `--help lists ${envOf(name)}`);
    }
    assert.match(help, /--port N +Port to listen on; 0 picks a free one\. \[default: 3000\]/);
    assert.equal(loadConfig({ argv: ['--help'] }).help, true);
  });

  test('reads the Mercure hub environment variables, with CRIER_* taking precedence', () => {
    const env = { MERCURE_PUBLISHER_JWT_KEY: 'p'.repeat(32), MERCURE_SUBSCRIBER_JWT_ALG: 'RS256' };
    const { config } = loadConfig({ env });
    assert.equal(config.publisherJwtKey, 'p'.repeat(32));
    assert.equal(config.subscriberJwtAlg, 'RS256');
    const both = loadConfig({ env: { ...env, CRIER_PUBLISHER_JWT_KEY: 'c'.repeat(32) } }).config;
    assert.equal(both.publisherJwtKey, 'c'.repeat(32));
  });

  test("reads the official Mercure image's MERCURE_TRUSTED_ISSUERS and the MERCURE_EXTRA_DIRECTIVES that have a Crier meaning", () => {
    const env = {
      MERCURE_TRUSTED_ISSUERS: 'https://app.example',
      MY_JWKS: 'https://idp.example/jwks.json',
      MERCURE_EXTRA_DIRECTIVES: [
        'anonymous',
        'subscriptions',
        'cors_origins https://app.example https://admin.example',
        'publish_origins https://app.example',
        'heartbeat 1m30s',
        'write_timeout 600s',
        'dispatch_timeout 5s',
        'cookie_name hub_token # a comment',
        'publisher_jwks_url {env.MY_JWKS}',
        'subscriber_jwks_url "https://idp.example/sub.json"',
        'max_request_body_size 512KB',
      ].join('\n'),
    };
    const { config, warnings } = loadConfig({ env });
    assert.deepEqual(config.issuer, ['https://app.example']);
    assert.equal(config.anonymous, true);
    assert.equal(config.subscriptions, true);
    assert.deepEqual(config.corsOrigins, ['https://app.example', 'https://admin.example']);
    assert.deepEqual(config.publishOrigins, ['https://app.example']);
    assert.equal(config.heartbeat, 90_000);
    assert.equal(config.maxLifetime, 600_000);
    assert.equal(config.stallTimeout, 5_000);
    assert.equal(config.cookieName, 'hub_token');
    assert.equal(config.publisherJwksUrl, 'https://idp.example/jwks.json');
    assert.equal(config.subscriberJwksUrl, 'https://idp.example/sub.json');
    assert.equal(config.maxBody, 512_000);
    assert.deepEqual(warnings, []);
    const flagWins = loadConfig({ env, argv: ['--heartbeat', '5s'] }).config;
    assert.equal(flagWins.heartbeat, 5_000);
  });

  test('Mercure settings without a Crier meaning are named in warnings; a bad directive value names the directive', () => {
    const { warnings } = loadConfig({
      env: {
        SERVER_NAME: ':80',
        GLOBAL_OPTIONS: 'debug',
        MERCURE_LICENSE: 'x',
        MERCURE_EXTRA_DIRECTIVES:
          'playground\ntransport bolt {\n  path /data/mercure.db\n}\ntopic_matcher_cache 10',
      },
    });
    assert.equal(warnings.length, 6, warnings.join('\n'));
    for (const name of [
      'SERVER_NAME',
      'GLOBAL_OPTIONS',
      'MERCURE_LICENSE',
      '"playground"',
      '"transport"',
      '"topic_matcher_cache"',
    ]) {
      assert.ok(
        warnings.some((w) => w.includes(name)),
        name,
      );
    }
    assert.match(
      loadConfig({ argv: ['--protocol', '08'] }).warnings.join('\n'),
      /no --issuer .*draft-08 §6\.3/,
    );
    assert.deepEqual(
      loadConfig({ argv: ['--protocol', '08', '--issuer', 'https://app.example'] }).warnings,
      [],
    );
    assert.throws(
      () => loadConfig({ env: { MERCURE_EXTRA_DIRECTIVES: 'heartbeat soon' } }),
      /MERCURE_EXTRA_DIRECTIVES heartbeat: expected a duration/,
    );
  });

  test('--dev sets the Mercure development defaults for options not set otherwise', () => {
    const { config } = loadConfig({ argv: ['--dev'] });
    assert.equal(config.jwtKey, DEV_JWT_KEY);
    assert.equal(config.anonymous, true);
    assert.deepEqual(config.corsOrigins, ['*']);
    assert.deepEqual(config.publishOrigins, ['*']);
    assert.equal(config.subscriptions, true);
    assert.equal(config.demo, true);
    assert.equal(config.historySize, 500_000);
    const chosen = loadConfig({
      argv: ['--dev', '--no-anonymous', '--cors-origins', 'https://a.example'],
    }).config;
    assert.equal(chosen.anonymous, false);
    assert.deepEqual(chosen.corsOrigins, ['https://a.example']);
  });

  test('--dev leaves the JWT key unset when any key source is given', () => {
    const { config } = loadConfig({ argv: ['--dev'], env: { MERCURE_PUBLISHER_JWT_KEY: 'k'.repeat(32) } });
    assert.equal(config.jwtKey, undefined);
    assert.equal(config.publisherJwtKey, 'k'.repeat(32));
  });

  test('--help shows durations and sizes in units (15s, 64MiB), as flags and the environment accept them', () => {
    const help = configHelp();
    assert.match(help, /--heartbeat DURATION .*\[default: 15s\]/);
    assert.match(help, /--history-age DURATION .*\[default: 1d\]/);
    assert.match(help, /--history-bytes SIZE .*\[default: 64MiB\]/);
    assert.match(help, /--write-buffer SIZE .*\[default: 1MiB\]/);
    assert.match(help, /--start-timeout DURATION .*\[default: 10s\]/);
    assert.doesNotMatch(help, /\[default: (15000|86400000|67108864)\]/);
    assert.equal(formatDuration(1500), '1500ms');
    assert.equal(formatDuration(90_000), '90s');
    assert.equal(formatSize(65_536), '64KiB');
    assert.equal(formatSize(1000), '1000B');
    const { config } = loadConfig({
      argv: ['--heartbeat', formatDuration(15_000)],
      env: { CRIER_MAX_BODY: '64KiB' },
    });
    assert.equal(config.heartbeat, 15_000);
    assert.equal(config.maxBody, 65_536);
  });

  test('warns about an unknown CRIER_* variable by name, suggesting the nearest option', () => {
    const { warnings } = loadConfig({
      env: {
        CRIER_HEARTBEET: '5s',
        CRIER_MAX_TOPIC: '9',
        CRIER_ZZZZZZZZZZZZ: '1',
        CRIER_PORT: '1',
        HOME: '/root',
      },
    });
    assert.equal(warnings.length, 3);
    assert.match(
      warnings[0]!,
      /^CRIER_HEARTBEET is not a Crier setting and is ignored; did you mean CRIER_HEARTBEAT\?/,
    );
    assert.match(warnings[1]!, /^CRIER_MAX_TOPIC .*did you mean CRIER_MAX_TOPICS\?/);
    assert.doesNotMatch(warnings[2]!, /did you mean/);
    // Variables the demo, tests and bench read are known.
    const quiet = loadConfig({
      env: { CRIER_CHROMIUM: '/usr/bin/chromium', CRIER_DEMO_TICKER_RATE: '5', CRIER_BENCH_REDIS: 'x' },
    });
    assert.deepEqual(quiet.warnings, []);
  });

  test('--dashboard needs a private listener or a token (or the open demo)', () => {
    rejects({ argv: ['--dashboard'] }, /--dashboard .*--admin-addr.*--admin-token/);
    assert.equal(loadConfig({ argv: ['--dashboard', '--admin-addr', '9090'] }).config.adminAddr, '9090');
    assert.equal(
      loadConfig({ argv: ['--dashboard', '--admin-token', 'x'.repeat(16)] }).config.dashboard,
      true,
    );
    assert.equal(loadConfig({ argv: ['--dashboard', '--demo'] }).config.dashboard, true);
    rejects({ argv: ['--admin-addr', 'localhost'] }, /--admin-addr: expected PORT or HOST:PORT/);
    rejects(
      { argv: ['--admin-token', 'short'] },
      /--admin-token: expected at least 16 characters \(value hidden\)/,
    );
    assert.equal(loadConfig({ argv: ['--admin-addr', '[::1]:9090'] }).config.adminAddr, '[::1]:9090');
  });
});
