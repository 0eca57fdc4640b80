/**
 * Real Chromium for tests: Debian's `/usr/bin/chromium` driven by playwright-core. Never downloads a browser.
 */
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { requireService } from './services.test-helpers.js';

export const CHROMIUM_PATH = process.env.CRIER_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/** Launches Chromium, or returns undefined when it is absent outside CI (the test is then skipped). */
export async function launchChromium(t: TestContext): Promise<Browser | undefined> {
  const present = existsSync(CHROMIUM_PATH);
  if (!requireService(t, 'Chromium', present, `no browser at ${CHROMIUM_PATH} (apt-get install chromium)`)) {
    return undefined;
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}
