/**
 * Headless Chromium from Debian's packages (`/usr/bin/chromium`, or `CHROMIUM_PATH`), driven by
 * playwright-core. The flags keep it off the network it cannot reach here (background
 * updates, sync, QUIC) and let it run as root.
 */
import { chromium, type Browser } from 'playwright-core';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
