// Drives Debian's chromium (headless) with playwright-core for the console tests: screenshots of
// each page under test-artifacts/console/ and an axe-core check of each page, injected from
// node_modules (nothing is fetched from the internet).
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Browser, chromium, Page } from 'playwright-core';

export const ARTIFACTS = path.resolve(__dirname, '../../../test-artifacts/console');
const AXE_SOURCE = () => fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
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

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * Screenshot of the page as `name`.png, then axe-core over it: no serious or critical violation.
 * axe runs through the DevTools protocol, which the page's Content-Security-Policy does not govern.
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  const hasAxe = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe !== 'undefined');
  if (!hasAxe) await page.evaluate(AXE_SOURCE());
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const r = await axe.run({ resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  fs.writeFileSync(path.join(ARTIFACTS, `${name}.axe.json`), JSON.stringify(violations, null, 2));
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad, `${name}: ${JSON.stringify(bad)}`).to.deep.equal([]);
}
