import { test } from 'node:test';
import { requireService } from '../../testing/services.test-helpers.js';
import { engineContract } from '../contract.test-helpers.js';
import { NatsJetStreamEngine, type NatsJetStreamEngineOptions } from './index.js';
import { deleteStreams, natsAnswers, uniqueStream } from './nats-server.test-helpers.js';

const SERVERS = '127.0.0.1:4222';
const available = await natsAnswers(4222);
const HINT = 'start one with `nats-server -a 127.0.0.1 -p 4222 -js -sd <dir>`';

async function open(options: NatsJetStreamEngineOptions): Promise<NatsJetStreamEngine> {
  const engine = new NatsJetStreamEngine({ servers: SERVERS, ...options });
  await engine.ready;
  return engine;
}

if (available) {
  engineContract(
    'NatsJetStreamEngine',
    async ({ history }) => {
      const names = uniqueStream();
      const options = { ...names, history };
      let engine = await open(options);
      return {
        engine,
        restart: async () => {
          await engine.close();
          engine = await open(options);
          return engine;
        },
        cleanup: () => deleteStreams(SERVERS, names.stream),
      };
    },
    // The stream cannot tell that an earlier update with a reused ID was trimmed (docs/nats.md).
    { durable: true, clock: 'real', reusedIdAfterTrim: 'later-copy' },
  );
} else {
  test('NatsJetStreamEngine engine contract', (t) => {
    requireService(t, 'NATS with JetStream on 127.0.0.1:4222', false, HINT);
  });
}
