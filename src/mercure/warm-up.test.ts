import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './config.js';
import { accessToken, SECRET, startHub } from './hub.test-helpers.js';
import { warmUp } from './warm-up.js';

test('the warm-up connects its subscribers to a throwaway hub: the hub that serves shows none in metrics or the subscriptions API', async (t) => {
  const hub = await startHub(t, ['--subscriptions']);
  const { config } = loadConfig({
    argv: ['--port', '0', '--jwt-key', SECRET, '--log-level', 'silent', '--subscriptions'],
  });
  const result = await warmUp(config, 120, 40);
  assert.equal(result.connects, 120);
  const metrics = await (await fetch(`${hub.origin}/metrics`)).text();
  assert.match(metrics, /^mercure_subscribers_total 0$/m);
  assert.match(metrics, /^crier_connections 0$/m);
  const token = await accessToken(hub, { subscribe: [{ match: '*' }] });
  const api = await fetch(`${hub.url}/subscriptions`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(api.status, 200);
  assert.deepEqual((await api.json()).subscriptions, []);
});
