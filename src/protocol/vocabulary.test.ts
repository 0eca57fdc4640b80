import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REPLAY_HEADER as CLIENT_REPLAY_HEADER, GAP_EVENT_TYPE } from '../client/events.js';
import { REPLAY_UNAVAILABLE_EVENT, REPLAY_HEADER as SERVER_REPLAY_HEADER } from '../server/hub.js';
import { MERCURE_VERSION_NAMES, mercureVersion, REPLAY_HEADER } from './vocabulary.js';

test('the server and the client use the one wire vocabulary', () => {
  assert.equal(SERVER_REPLAY_HEADER, REPLAY_HEADER);
  assert.equal(CLIENT_REPLAY_HEADER, REPLAY_HEADER);
  assert.equal(GAP_EVENT_TYPE, REPLAY_UNAVAILABLE_EVENT);
  assert.equal(REPLAY_UNAVAILABLE_EVENT, 'crier-replay-unavailable');
});

test('every public spelling of a Mercure version maps to its one internal name and back', () => {
  for (const name of ['07', 'draft-07', '0.x'] as const) assert.equal(mercureVersion(name), '0.x');
  for (const name of ['08', 'draft-08', '1.0'] as const) assert.equal(mercureVersion(name), '1.0');
  for (const [version, names] of Object.entries(MERCURE_VERSION_NAMES)) {
    for (const spelling of Object.values(names)) assert.equal(mercureVersion(spelling), version);
  }
});
