/**
 * How a test asks for a service it needs (Redis, NATS, nginx, Chromium). Outside CI a missing service
 * skips the test and says so loudly; in CI (CI=true) a missing service fails the test, because `.ci/run`
 * is responsible for installing and starting everything the tests need.
 */
import type { TestContext } from 'node:test';

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Returns true when the service is usable. Otherwise, in CI it throws (the test fails); outside CI it marks
 * the test skipped, prints a warning to stderr, and returns false so the caller can return early.
 */
export function requireService(t: TestContext, service: string, available: boolean, hint: string): boolean {
  if (available) return true;
  const message = `${service} is not available: ${hint}`;
  if (inCI) throw new Error(`${message} (CI must provide it: see .ci/run)`);
  process.stderr.write(`\n!!! SKIPPED "${t.name}": ${message}\n\n`);
  t.skip(message);
  return false;
}
