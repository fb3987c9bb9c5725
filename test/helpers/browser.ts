/**
 * A real Chromium for the HTML report tests, driven by playwright-core: the build that the
 * @sparticuz/chromium devDependency ships inside its npm package (so `npm ci` brings it),
 * else a system Chromium. When neither starts, `reason` says why and the tests skip.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export interface Launched {
  browser?: Browser;
  /** Why no browser started (printed by the tests that skip). */
  reason?: string;
}

const SYSTEM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export async function launchBrowser(): Promise<Launched> {
  const problems: string[] = [];
  try {
    const packaged = (await import('@sparticuz/chromium')).default;
    // Its Lambda defaults run one process, which ends with the first closed page; tests open many.
    const args = packaged.args.filter((a) => a !== '--single-process');
    const browser = await chromium.launch({ executablePath: await packaged.executablePath(), args, headless: true });
    return { browser };
  } catch (e) {
    problems.push(`@sparticuz/chromium: ${(e as Error).message.split('\n')[0]}`);
  }
  for (const path of SYSTEM.filter((p) => existsSync(p))) {
    try {
      return { browser: await chromium.launch({ executablePath: path, args: ['--no-sandbox'], headless: true }) };
    } catch (e) {
      problems.push(`${path}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (problems.length === 1) problems.push(`no system Chromium at ${SYSTEM.join(', ')} (apt-get install chromium)`);
  return { reason: problems.join('; ') };
}
