// Headless Chromium for the browser tests, driven by playwright-core (which downloads no
// browser): the system's Chromium (CHROMIUM_PATH, else /usr/bin/chromium, as Debian's
// `chromium` package installs it). Flags: ANGLE on SwiftShader gives WebGL2 without a GPU
// (--enable-unsafe-swiftshader: Chromium no longer falls back to it on its own), and
// --enable-unsafe-webgpu exposes WebGPU on it (an adapter with architecture 'swiftshader').
// The network flags keep Chromium from calling home on a closed network, where its
// refused connections would only add noise. playwright gives each launch a new empty
// profile directory.

import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox', // root in a container has no user namespaces for the sandbox
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Skips the calling suite, saying why, when there is no Chromium binary; with CI=true a
 * missing Chromium is a failure instead (.ci/run installs it).
 */
export function skipWithoutChromium(context: Mocha.Context): void {
  if (existsSync(CHROMIUM_PATH)) return;
  const missing = `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env.CI === 'true') throw new Error(`browser tests are required with CI=true: ${missing}`);
  console.log(`    [browser] skipping: ${missing}`);
  context.skip();
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}
