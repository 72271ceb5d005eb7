/** Debian's Chromium, headless, as the HTML report's test and benchmark start it (no network of its own). */
export const CHROMIUM = process.env.QUICMESH_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
