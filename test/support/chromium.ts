import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

// Debian's Chromium, headless, for the browser tests. Without the background-networking flags it
// tries Google's hosts at every start, and this machine's closed network refuses them.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
}
