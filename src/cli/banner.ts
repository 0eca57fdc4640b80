/** What `crier serve` prints once it listens: where, and demo tokens when a key was generated for the run. */
import { mintPublisherToken, mintSubscriberToken } from '../mercure/publisher.js';

export async function printBanner(hub: {
  origin: string;
  url: string;
  adminOrigin: string | undefined;
  generatedKey: string | undefined;
  workers?: number;
}): Promise<void> {
  const workers = hub.workers !== undefined && hub.workers > 1 ? `, ${hub.workers} worker processes` : '';
  console.log(`Crier hub listening on ${hub.origin}  (Mercure hub: ${hub.url})${workers}`);
  if (hub.adminOrigin !== undefined)
    console.log(`Admin listener on ${hub.adminOrigin}  (/metrics, /healthz, /readyz, dashboard)`);
  if (hub.generatedKey !== undefined) {
    const publisher = await mintPublisherToken(hub.generatedKey, ['*'], { expiresIn: 24 * 3600 });
    const subscriber = await mintSubscriberToken(hub.generatedKey, ['*'], { expiresIn: 24 * 3600 });
    console.log(
      [
        '',
        'No JWT key configured: a random demo key was generated for this run (set --jwt-key in production).',
        `Publisher token (24 h):  ${publisher}`,
        `Subscriber token (24 h): ${subscriber}`,
        '',
        `  curl -N -H "Authorization: Bearer <subscriber token>" '${hub.url}?topic=hello'`,
        `  curl -H "Authorization: Bearer <publisher token>" -d topic=hello -d data=world ${hub.url}`,
        '',
      ].join('\n'),
    );
  }
}
