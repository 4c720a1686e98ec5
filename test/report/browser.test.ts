// The HTML report as a user sees it: written by the built CLI (`replay --html`, `scenario
// --html`), opened in a real headless Chromium (Debian's `chromium`, driven by playwright-core),
// checked for what is on screen (packet count, an INVALID row, the explain panel after a click),
// no console error, no page error and no network request; screenshots are kept in
// test-artifacts/ (docs/report.png in the README is one of them). Without chromium (not root, no
// apt) the test is skipped and says why; `npm test` installs it (scripts/ensure-chromium.sh).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/** Debian's chromium: the real binary behind the /usr/bin/chromium wrapper, or whatever is on PATH. */
function findChromium(): string | null {
  for (const p of ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser']) if (fs.existsSync(p)) return p;
  return null;
}
const executable = findChromium();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) console.warn('SKIPPED: HTML report of kernel-diff --scenario: needs root (network namespaces of its own)');
if (!executable) console.warn('SKIPPED: HTML report browser test: chromium is not installed (npm test installs Debian\'s chromium when run as root with apt-get)');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-report-'));
let browser: Browser;

function ctsim(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, encoding: 'utf8', timeout: 150_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Opened {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  requests: string[];
}

async function open(file: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const o: Opened = { page, consoleErrors: [], pageErrors: [], requests: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') o.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => o.pageErrors.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) o.requests.push(r.url());
  });
  await page.goto(`file://${file}`);
  return o;
}

describe.skipIf(executable === null)('HTML report in headless Chromium', () => {
  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: executable!, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    await browser?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('replay --compare --html: 20 packets, the INVALID RST, its explain story and bytes after a click', async () => {
    const html = path.join(tmp, 'replay.html');
    const r = ctsim(['replay', path.join(ROOT, 'pcaps/challenge-ack-reuse.pcapng'), '--kernel', '6.1', '--compare', '6.18', '--html', html]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`HTML report written to ${html}`);
    // Self-contained: nothing that would fetch from elsewhere.
    const text = fs.readFileSync(html, 'utf8');
    expect(text).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i);

    const o = await open(html);
    const { page } = o;
    expect(await page.textContent('#packet-count')).toBe('20');
    expect(await page.locator('#packets tr.pkt').count()).toBe(20);
    expect(await page.textContent('#differ-count')).toBe('7');
    // Packet 11, the app's RST: INVALID under 6.1, accepted under 6.18.
    const rst = page.locator('#packets tr.pkt').nth(10);
    expect(await rst.locator('td.verdict.invalid').textContent()).toContain('INVALID');
    expect(await rst.getAttribute('class')).toContain('differs');
    await page.locator('#packets tr.pkt').first().click(); // move the panel away first
    expect(await page.textContent('#explain h2')).toBe('Packet #1 at 0.000000 s');
    await rst.click();
    const panel = page.locator('#explain');
    expect(await panel.locator('h2').textContent()).toBe('Packet #11 at 70.000100 s');
    const why = await panel.locator('pre.why').first().textContent();
    expect(why).toContain('tcp_in_window: check I failed');
    expect(why).toContain('c410cb974f2b');
    expect(await panel.locator('pre.hex').textContent()).toMatch(/^0000 {2}45 /); // an IPv4 header at offset 0 (raw IP capture)
    expect(await rst.getAttribute('class')).toContain('selected');
    // The filter leaves the 7 differing packets.
    await page.selectOption('#filter', 'differs');
    expect(await page.textContent('#shown')).toBe('7');
    expect(await page.locator('#packets tr.pkt:visible').count()).toBe(7);
    // The ladder is inline SVG with the conntrack lane.
    expect(await page.locator('#ladder svg').count()).toBe(1);
    await page.selectOption('#filter', 'all');
    await rst.click();
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-replay.png'), fullPage: false });
    expect(o.consoleErrors).toEqual([]);
    expect(o.pageErrors).toEqual([]);
    expect(o.requests).toEqual([]);
    await page.close();
  });

  it('scenario --html: the port collision on sles-15-sp4 (reconnect at 200 s) shows ETIMEDOUT, INVALID RSTs and the ladder v2', async () => {
    const html = path.join(tmp, 'scenario.html');
    const r = ctsim(['scenario', 'port-collision', '--kernel', 'sles-15-sp4', '--reconnect-at', '200', '--no-files', '--html', html]);
    // The file expects `connect connected <= 1 s`; the knob makes it fail (exit 1), the report is written first.
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain('1 of 2 expectations failed');
    const o = await open(html);
    const { page } = o;
    expect(await page.textContent('#outcome')).toContain('ETIMEDOUT after 129.161 s');
    expect(await page.textContent('#outcome')).toContain('FAIL: ETIMEDOUT after 129.161 s');
    const invalid = page.locator('#packets tr.pkt.invalid');
    expect(await invalid.count()).toBeGreaterThanOrEqual(6);
    await invalid.nth(2).click();
    expect(await page.textContent('#explain')).toContain('SEQ is over the upper bound');
    // Ladder v2: entry expiry, socket states, the outcome marker, the legend.
    const svg = await page.locator('#ladder svg').innerHTML();
    for (const s of ['entry expired', 'FIN_WAIT2', 'TIME_WAIT', 'connect(): ETIMEDOUT after 129.161 s', 'legend']) expect(svg).toContain(s);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-scenario.png'), fullPage: false });
    expect(o.consoleErrors).toEqual([]);
    expect(o.pageErrors).toEqual([]);
    expect(o.requests).toEqual([]);
    await page.close();
  });

  it.skipIf(!isRoot)('kernel-diff --scenario --html: the real kernel and ctsim side by side (root: namespaces of its own)', async () => {
    const html = path.join(tmp, 'kernel-diff.html');
    const r = ctsim(['kernel-diff', '--scenario', 'port-collision', '--html', html, '--json']);
    // Exit 1 is a disagreement (on a loaded machine often only timing); the report is written either way.
    expect([0, 1], r.stderr).toContain(r.status);
    const result = (JSON.parse(r.stdout) as { scenarios: { packets: { status: string }[]; events: unknown[] }[] }).scenarios[0];
    const o = await open(html);
    const { page } = o;
    expect(await page.locator('#port-collision-packets tbody tr').count()).toBe(result.packets.length);
    expect(await page.locator('#port-collision-events tbody tr').count()).toBe(result.events.length);
    const differing = result.packets.filter((p) => p.status === 'only-ctsim' || p.status === 'only-kernel').length;
    expect(await page.locator('#port-collision-packets tr.row.bad').count()).toBe(differing);
    expect(await page.textContent('#port-collision-packets .differ-count')).toBe(String(differing));
    expect(await page.textContent('#outcome')).toContain('real 6.');
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-kernel-diff.png'), fullPage: false });
    expect(o.consoleErrors).toEqual([]);
    expect(o.pageErrors).toEqual([]);
    expect(o.requests).toEqual([]);
    await page.close();
  }, 180_000);
});
