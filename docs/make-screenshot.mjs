// Regenerates docs/report.png, the README's picture of an HTML report made from the shipped
// fixtures (needs the devDependencies and a build): node docs/make-screenshot.mjs
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import packaged from '@sparticuz/chromium';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'diffai-shot-'));
const html = join(dir, 'report.html');
// Run where the files are, so the report shows the command as a user would type it.
for (const f of ['digits_mlp.safetensors', 'digits_mlp_finetuned.safetensors']) copyFileSync(join(root, 'fixtures', 'core', f), join(dir, f));
const args = ['digits_mlp.safetensors', 'digits_mlp_finetuned.safetensors', '--include-charts', '--show-layer-impact', '--generate-report', 'report.html'];
try {
  execFileSync(process.execPath, [join(root, 'bin', 'diffai.js'), ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
} catch (e) {
  if (e.status !== 1) throw e; // 1: the models differ
}
const browser = await chromium.launch({ executablePath: await packaged.executablePath(), args: packaged.args.filter((a) => a !== '--single-process') });
const page = await browser.newPage({ viewport: { width: 1240, height: 1120 }, colorScheme: 'light' });
await page.goto(pathToFileURL(html).href);
await page.screenshot({ path: join(root, 'docs', 'report.png') });
await browser.close();
rmSync(dir, { recursive: true, force: true });
