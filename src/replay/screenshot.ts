// A PNG of the report beside it, with Debian's chromium when installed (plain headless mode: no extra packages).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

/** Writes `<dir>/report.png` from `<dir>/index.html`; returns its path, or undefined when chromium is missing or fails. */
export function screenshotReport(dir: string, chromium = CHROMIUM): string | undefined {
  if (!existsSync(chromium)) return undefined;
  const png = join(dir, 'report.png');
  const r = spawnSync(chromium, [...CHROMIUM_ARGS, `--screenshot=${png}`, '--window-size=1280,3000', '--hide-scrollbars', pathToFileURL(join(dir, 'index.html')).href], {
    stdio: 'ignore',
    timeout: 60_000,
  });
  return r.status === 0 && existsSync(png) ? png : undefined;
}
