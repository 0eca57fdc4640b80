/**
 * docs/migrate-from-mercure.md's example, run as written: a 0.x and a 1.0 client against one Crier hub
 * configured only by the official Mercure image's environment variables.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from './config.js';
import { MercureServer } from './server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(root, 'docs/migrate-from-mercure.md'), 'utf8');

/** The first ```lang block after the heading. */
function block(heading: string, lang: string): string {
  const after = doc.slice(doc.indexOf(heading));
  const match = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(after);
  assert.ok(match, `a ${lang} block follows "${heading}"`);
  return match[1]!;
}

test('docs/migrate-from-mercure.md: the Mercure image variables configure the hub, and the 0.x and 1.0 clients of the example both receive both updates', async (t) => {
  const key = '!ChangeThisMercureHubJWTSecretKey!';
  const env = {
    MERCURE_PUBLISHER_JWT_KEY: key,
    MERCURE_SUBSCRIBER_JWT_KEY: key,
    MERCURE_TRUSTED_ISSUERS: 'https://app.example',
    MERCURE_EXTRA_DIRECTIVES: 'anonymous\nsubscriptions\ncors_origins https://app.example',
  };
  // The command of the doc sets exactly these variables.
  const command = block('switches by changing the command', 'sh');
  for (const [name, value] of Object.entries(env)) {
    const shown = name === 'MERCURE_EXTRA_DIRECTIVES' ? `$'${value.replace(/\n/g, '\\n')}'` : `'${value}'`;
    assert.ok(command.includes(`${name}=${shown}`), `${name} as in the doc`);
  }
  const { config, warnings } = loadConfig({ argv: ['--port', '0', '--log-level', 'silent'], env });
  assert.deepEqual(warnings, []);
  const hub = await MercureServer.create(config);
  await hub.listen();
  t.after(() => hub.close());

  const dir = mkdtempSync(join(tmpdir(), 'crier-migrate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'example.mts');
  const code = block('## A 0.x and a 1.0 client on one hub', 'ts')
    .replace("'crier-sse/client'", JSON.stringify(join(root, 'src/client/index.ts')))
    .replace("'crier-sse/mercure'", JSON.stringify(join(root, 'src/mercure/index.ts')));
  writeFileSync(script, code);
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    env: { ...process.env, HUB_URL: hub.url, MERCURE_PUBLISHER_JWT_KEY: key },
    timeout: 60_000,
  });
  const received = JSON.parse(stdout.trim().split('\n').at(-1)!) as { legacy: string[]; current: string[] };
  const both = ['from a 1.0 publisher', 'from a 0.x publisher'];
  assert.deepEqual(received.legacy, both);
  assert.deepEqual(received.current, both);
});
