import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { importDriver } from './driver.js';
import { EngineError } from './errors.js';

describe('importDriver (optional peer dependencies)', () => {
  it('loads an installed package', async () => {
    const zod = await importDriver<typeof import('zod')>('zod', 'A feature');
    assert.equal(typeof zod.z.string, 'function');
  });

  it('names the missing package and the command that installs it', async () => {
    await assert.rejects(importDriver('crier-sse-no-such-driver', 'The test engine'), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'DRIVER_MISSING');
      assert.match(error.message, /The test engine needs the crier-sse-no-such-driver package/);
      assert.match(error.message, /npm install crier-sse-no-such-driver/);
      return true;
    });
  });

  it('names every package a feature needs', async () => {
    await assert.rejects(
      importDriver('crier-sse-no-such-a', 'The pair engine', ['crier-sse-no-such-a', 'crier-sse-no-such-b']),
      /needs the crier-sse-no-such-a and crier-sse-no-such-b packages.*npm install crier-sse-no-such-a crier-sse-no-such-b/,
    );
  });
});
