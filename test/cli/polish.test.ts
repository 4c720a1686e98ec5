// The command line for a person: `npm start` (ctsim seed) fits a screen, every command shows
// examples, `ctsim completion` completes, colour only on a terminal (FORCE_COLOR stands in for
// one here) and never with NO_COLOR.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { MatrixRow } from '../../src/scenarios/matrix.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-polish-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function ctsim(args: string[], env: Record<string, string | undefined> = {}): { status: number | null; stdout: string; stderr: string } {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const k of ['NO_COLOR', 'FORCE_COLOR']) if (!(k in env)) delete e[k];
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, env: e, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ctsim seed (npm start)', () => {
  const out = path.join(tmp, 'seed');
  const r = ctsim(['seed', '--out-dir', out]);
  const lines = r.stdout.trimEnd().split('\n');

  it('prints each run once, the matrix as one row per kernel and the findings: one screen', () => {
    expect(r.status, r.stderr).toBe(0);
    expect(lines.length).toBeLessThanOrEqual(45);
    const first = lines.findIndex((l) => l.startsWith('Incident 1'));
    const second = lines.findIndex((l) => l.startsWith('Incident 2'));
    const title = (l: string) => l.slice(0, 42).trim();
    const leak = lines.slice(first + 1, second).map(title);
    const collision = lines.slice(second + 1, lines.findIndex((l) => l.startsWith('  ('))).map(title);
    expect(leak.length + collision.length).toBe(13);
    // No two runs of one incident share a title (the ISN halves used to).
    expect(new Set(leak).size).toBe(leak.length);
    expect(new Set(collision).size).toBe(collision.length);
    expect(lines.filter((l) => /^(4\.19|5\.|6\.|ubuntu|sles)/.test(l))).toHaveLength(14);
    expect(r.stdout).toMatch(/sles-15-sp4 +connected 0\.009 s +ETIMEDOUT 129\.161 s/);
    expect(r.stdout).toContain('connect() times out (ETIMEDOUT after 129.161 s) on sles-15-sp4, 5.17.6, 6.1.8');
    expect(r.stdout).not.toContain('\x1b['); // not a terminal
  });

  it('writes the whole matrix to files; a 0 s leak is never called a leak', () => {
    const rows = JSON.parse(fs.readFileSync(path.join(out, 'matrix.json'), 'utf8')) as MatrixRow[];
    expect(rows).toHaveLength(990);
    expect(fs.readFileSync(path.join(out, 'matrix.md'), 'utf8').split('\n').filter((l) => l.startsWith('| half-close-leak') || l.startsWith('| port-collision'))).toHaveLength(990);
    expect(rows.filter((x) => x.result.includes('leaked') && x.leakSeconds === 0)).toEqual([]);
    expect(rows.filter((x) => x.mitigation === 'idle_timeout=30s' && x.incident === 'half-close-leak').every((x) => x.result === 'FIN lost, no leak (sidecar closed first)')).toBe(true);
  });
});

describe('help, completion, colour', () => {
  it.each([
    ['demo'], ['replay'], ['scenario'], ['matrix'], ['seed'], ['kernel-diff'], ['kernel-diff', 'merge'], ['fuzz'], ['fuzz', 'merge'],
    ['conformance', 'export'], ['conformance', 'check'], ['conformance', 'ovs'], ['kernels'],
  ])('ctsim %s --help shows examples', (...cmd) => {
    const r = ctsim([...cmd, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Examples:');
  });

  it('ctsim completion prints a bash/zsh script; the completer knows commands and options', () => {
    const script = ctsim(['completion']);
    expect(script.status).toBe(0);
    expect(script.stdout).toContain('_ctsim_yargs_completions');
    expect(script.stdout).toContain('--get-yargs-completions');
    expect(ctsim(['--get-yargs-completions', 'ctsim', '']).stdout.split('\n')).toEqual(expect.arrayContaining(['replay', 'scenario', 'kernel-diff', 'completion']));
    expect(ctsim(['--get-yargs-completions', 'ctsim', 'replay', '--']).stdout.split('\n')).toEqual(expect.arrayContaining(['--kernel', '--compare', '--explain', '--html']));
  });

  it('colours INVALID and IGNORE rows on a terminal, and not with NO_COLOR', () => {
    const capture = path.join(ROOT, 'pcaps/challenge-ack-reuse.pcapng');
    const coloured = ctsim(['replay', capture, '--kernel', '6.1'], { FORCE_COLOR: '1' }).stdout.split('\n');
    expect(coloured.find((l) => l.includes('    11 '))).toMatch(/^\x1b\[31m.*INVALID.*\x1b\[0m$/);
    expect(coloured.find((l) => l.includes('    10 '))).toMatch(/^\x1b\[33m/);
    expect(coloured.find((l) => l.includes('     9 '))).not.toContain('\x1b[');
    const plain = ctsim(['replay', capture, '--kernel', '6.1'], { FORCE_COLOR: '1', NO_COLOR: '1' }).stdout;
    expect(plain).not.toContain('\x1b[');
    expect(ctsim(['scenario', 'port-collision', '--kernel', 'sles-15-sp4', '--reconnect-at', '200', '--no-files'], { FORCE_COLOR: '1' }).stdout).toContain('\x1b[31mETIMEDOUT after 129.161 s\x1b[0m');
  });
});
