// The conformance suite without any peer: an exported suite validates against its own JSON
// Schema (checked with a fresh ajv instance compiled from the suite's file), replays to 100 %
// agreement through ctsim, is deterministic, and the verdict-file reader and the check report
// catch what they must.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkVerdicts } from '../../src/conformance/check.js';
import { categoriseCase } from '../../src/conformance/categorise.js';
import { SuiteFormatError } from '../../src/conformance/errors.js';
import { expectCase } from '../../src/conformance/expect.js';
import { exportSuite } from '../../src/conformance/export.js';
import { loadCase, loadSuite, readExpected, readVerdicts } from '../../src/conformance/read-suite.js';
import { seedCases } from '../../src/conformance/seed-cases.js';
import { formatVerdictLine, type VerdictLine } from '../../src/conformance/verdict-line.js';
import { readCaptureFile } from '../../src/pcap/index.js';
import { Replayer } from '../../src/replay/replay.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-conf-'));
const SUITE = path.join(tmp, 'suite');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const exportOpts = (out: string) => ({
  kernel: '6.18', sysctls: [], out, generator: 'ctsim test', seeds: true, regressionDirs: [path.join(ROOT, 'test/kerneldiff/cases')],
  fuzz: { seed: 5, count: 60, mode: 'mixed' as const, natEvery: 5, maxPackets: 32 },
});

function lines(file: string): VerdictLine[] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as VerdictLine);
}

beforeAll(() => {
  exportSuite(exportOpts(SUITE));
});

describe('conformance export', () => {
  it('writes the documented files; every case has a pcap whose digest the manifest holds', () => {
    for (const f of ['README.md', 'suite.json', 'expected.jsonl', 'verdict.schema.json']) expect(fs.existsSync(path.join(SUITE, f))).toBe(true);
    const s = loadSuite(SUITE);
    const m = s.manifest;
    expect(m.format).toBe('ctsim-conformance/1');
    expect(m.profile.kernel).toBe('6.18');
    expect(m.cases.filter((c) => c.origin === 'seed').length).toBe(8);
    expect(m.cases.filter((c) => c.origin === 'regression').length).toBe(fs.readdirSync(path.join(ROOT, 'test/kerneldiff/cases')).filter((f) => f.endsWith('.pcap')).length);
    expect(m.cases.filter((c) => c.origin === 'fuzz').length).toBe(60 + 12);
    expect(m.cases.filter((c) => c.nat).length).toBe(4 + 12);
    for (const c of m.cases) expect(loadCase(s, c.id).packets.length).toBe(c.packets);
    expect(lines(path.join(SUITE, 'expected.jsonl')).length).toBe(m.packets);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('every expected line validates against the suite\'s own verdict.schema.json (ajv)', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(SUITE, 'verdict.schema.json'), 'utf8')) as object;
    const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
    const ls = lines(path.join(SUITE, 'expected.jsonl'));
    const bad = ls.filter((l) => !validate(l)).slice(0, 3);
    expect(bad).toEqual([]);
    // The schema is not vacuous: it rejects what the README says is wrong.
    expect(validate({ case: 'x', n: 1, verdict: 'accepted' })).toBe(false);
    expect(validate({ case: 'x', n: 0, verdict: 'new' })).toBe(false);
    expect(validate({ case: 'x', n: 1, verdict: 'new', colour: 'red' })).toBe(false);
    expect(validate({ case: 'x', n: 1, verdict: 'new', nat: { src: '1.2.3.4', sport: 1, dst: '300.1.1.1', dport: 2 } })).toBe(false);
    expect(validate({ case: 'x', n: 1, verdict: 'new' })).toBe(true);
  });

  it('replays to 100 % agreement: each pcap read back from disk through the replayer gives the expected lines', () => {
    const s = loadSuite(SUITE);
    const exp = readExpected(s);
    let compared = 0;
    for (const c of s.manifest.cases) {
      const e = exp.get(c.id)!;
      if (!c.nat) {
        // What `ctsim replay cases/<id>.pcap --kernel 6.18 --hook prerouting --ip-rcv` decides, from the file.
        const r = new Replayer({ kernel: '6.18', hook: 'prerouting', ipRcv: true });
        const rows = [...readCaptureFile(path.join(SUITE, 'cases', `${c.id}.pcap`))].map((rec) => r.push(rec));
        rows.forEach((row, i) => {
          const attached = row.dir !== null && row.outcome !== 'DROP';
          expect([row.dir, row.state, row.timeout]).toEqual(attached ? [e[i].dir, e[i].state, e[i].timeout] : [null, null, null]);
          if (row.outcome === 'UNTRACKED') expect(e[i].verdict).toBe('untracked');
          compared++;
        });
      }
    }
    expect(compared).toBeGreaterThan(500);
    const report = checkVerdicts(s, exp, readExpected(s), 'ctsim itself');
    expect(report.agree).toBe(report.packets);
    expect(report.findings).toEqual([]);
    for (const f of ['verdict', 'dir', 'state', 'timeout'] as const) expect(report.byField[f].packets).toBe(report.packets);
    expect(report.nat.packets).toBeGreaterThan(0);
    expect(report.nat.agree).toBe(report.nat.packets);
  });

  it('is deterministic: a second export is byte-identical', () => {
    const again = path.join(tmp, 'again');
    exportSuite(exportOpts(again));
    for (const f of ['expected.jsonl', 'suite.json', 'README.md', 'verdict.schema.json']) {
      expect(fs.readFileSync(path.join(again, f), 'utf8')).toBe(fs.readFileSync(path.join(SUITE, f), 'utf8'));
    }
    fs.rmSync(again, { recursive: true });
  });

  it('never writes over an existing folder', () => {
    expect(() => exportSuite(exportOpts(SUITE))).toThrow(SuiteFormatError);
  });

  it('the README tells an implementer every field of the schema and the NAT rule', () => {
    const readme = fs.readFileSync(path.join(SUITE, 'README.md'), 'utf8');
    const schema = JSON.parse(fs.readFileSync(path.join(SUITE, 'verdict.schema.json'), 'utf8')) as { properties: Record<string, unknown> };
    for (const k of Object.keys(schema.properties)) expect(readme).toContain(`\`${k}\``);
    expect(readme).toContain('198.19.255.254:15001');
    expect(readme).toContain('Linux 6.18');
  });
});

describe('the IP layer first', () => {
  it('a packet with a wrong IPv4 header checksum never reaches conntrack: untracked, and the entry is as before', () => {
    const c = seedCases().find((x) => x.id === 'seed-port-collision-rst-after')!;
    const rst = c.packets[10].bytes.slice();
    rst[10] ^= 0x01; // IPv4 header checksum
    const broken = { ...c, packets: c.packets.map((p, i) => (i === 10 ? { timeNs: p.timeNs, bytes: rst } : p)) };
    const { lines, rows } = expectCase(broken, { kernel: '6.18', sysctls: [] }, true);
    expect(lines[10]).toMatchObject({ verdict: 'untracked', dir: null, reason: expect.stringMatching(/ip_rcv/) });
    expect(categoriseCase(broken.packets, rows)[10]).toBe('malformed');
    // The RST did not close the entry: the SYN retransmission meets SYN_SENT, not a closed entry.
    expect(lines[11]).toMatchObject({ state: 'SYN_SENT' });
    expect(expectCase(c, { kernel: '6.18', sysctls: [] }).lines[11]).toMatchObject({ verdict: 'new' });
  });
});

describe('seed cases and categories', () => {
  it('the port collision: the reused SYN follows the CLOSE_WAIT timeout, the RST is an RST, on 6.18 it is accepted', () => {
    const c = seedCases().find((x) => x.id === 'seed-port-collision-rst-after')!;
    const { rows, lines: ls } = expectCase(c, { kernel: '6.18', sysctls: [] }, true);
    const cats = categoriseCase(c.packets, rows);
    expect(cats.slice(0, 2)).toEqual(['handshake', 'handshake']);
    expect(cats[3]).toBe('window');
    expect(cats[6]).toBe('close');
    expect(cats[8]).toBe('timeouts');
    expect(cats[10]).toBe('rst');
    expect(ls[10]).toMatchObject({ verdict: 'established', state: 'CLOSE' });
    // The same RST on sles-15-sp4 is the seed incident's INVALID.
    expect(expectCase(c, { kernel: 'sles-15-sp4', sysctls: [] }).lines[10].verdict).toBe('invalid');
  });

  it('NAT variant: the client side is redirected to the sidecar and the sidecar\'s packets are un-NATed', () => {
    const c = seedCases().find((x) => x.id === 'seed-half-close-leak-nat')!;
    const ls = expectCase(c, { kernel: '6.18', sysctls: [] }).lines;
    expect(ls[0].nat).toEqual({ src: '198.18.0.10', sport: 44410, dst: '198.19.255.254', dport: 15001 });
    expect(ls[1].nat).toEqual({ src: '198.19.0.20', sport: 8080, dst: '198.18.0.10', dport: 44410 });
    // The leak: after the CLOSE_WAIT timeout the app's FIN has no entry, so nothing rewrites it.
    expect(ls[8]).toMatchObject({ verdict: 'invalid', nat: null });
  });
});

describe('verdict files', () => {
  const s = () => loadSuite(SUITE);
  const expected = () => fs.readFileSync(path.join(SUITE, 'expected.jsonl'), 'utf8').trim().split('\n');
  const write = (name: string, ls: string[]) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, `${ls.join('\n')}\n`);
    return f;
  };

  it('rejects a wrong shape, naming the line and the allowed values', () => {
    const ls = expected();
    ls[4] = JSON.stringify({ case: 'seed-port-collision-rst-after', n: 5, verdict: 'accepted' });
    const err = (() => {
      try {
        readVerdicts(s(), write('shape.jsonl', ls));
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(SuiteFormatError);
    expect(err!.message).toMatch(/shape\.jsonl:5: .*verdict.*established/);
  });

  it('rejects a wrong count: a missing line, a duplicate, an unknown case, a packet the case does not have', () => {
    const ls = expected();
    expect(() => readVerdicts(s(), write('missing.jsonl', ls.slice(1)))).toThrow(/missing seed-port-collision-rst-after #1/);
    expect(() => readVerdicts(s(), write('dup.jsonl', [...ls, ls[3]]))).toThrow(/a second line for case/);
    expect(() => readVerdicts(s(), write('unknown.jsonl', [...ls, JSON.stringify({ case: 'nope', n: 1, verdict: 'new' })]))).toThrow(/"nope" is not in the suite/);
    expect(() => readVerdicts(s(), write('range.jsonl', [...ls, JSON.stringify({ case: 'seed-half-close-leak', n: 99, verdict: 'new' })]))).toThrow(/has 10 packets, not 99/);
    expect(() => readVerdicts(s(), write('json.jsonl', [...ls, '{not json']))).toThrow(/not a JSON object/);
  });

  it('check: a different RST verdict is one finding in category rst, with the Linux story and the shortest case', () => {
    const ls = expected().map((l) => JSON.parse(l) as VerdictLine);
    // An implementation that gives only verdicts, and drops the RST after a challenge ACK.
    const other = ls.map((l) => ({ case: l.case, n: l.n, verdict: l.verdict, dir: l.dir } as VerdictLine));
    for (const id of ['seed-port-collision-rst-after', 'seed-port-collision-rst-before']) {
      const i = other.findIndex((l) => l.case === id && l.n === 11);
      other[i] = { ...other[i], verdict: 'invalid', dir: null };
    }
    const r = checkVerdicts(s(), readExpected(s()), readVerdicts(s(), write('other.jsonl', other.map(formatVerdictLine))), 'other');
    expect(r.packets - r.agree).toBe(2);
    expect(r.byCategory.rst.packets - r.byCategory.rst.agree).toBe(2);
    expect(r.byField.state.packets).toBe(0);
    expect(r.findings.length).toBe(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ category: 'rst', field: 'verdict', linux: 'established', other: 'invalid', flags: 'R', packetClass: 'RST' });
    expect(f.cases.length).toBe(2);
    expect(f.example.n).toBe(11);
    expect(f.story.join('\n')).toMatch(/why: RST answers the challenge ACK/);
  });

  it('the CLI exits non-zero with a typed error on a bad verdict file, and 2 on missing options', () => {
    const bad = write('cli-bad.jsonl', ['{"case":"seed-half-close-leak","n":1}']);
    const r = spawnSync(process.execPath, [CLI, 'conformance', 'check', '--suite', SUITE, '--verdicts', bad], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/SuiteFormatError \(input\): [^]*cli-bad.jsonl:1: .*must have required property 'verdict'/);
    const u = spawnSync(process.execPath, [CLI, 'conformance', 'export', '--kernel', '6.18'], { encoding: 'utf8' });
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/--out DIR is required/);
    const ok = spawnSync(process.execPath, [CLI, 'conformance', 'check', '--suite', SUITE, '--verdicts', path.join(SUITE, 'expected.jsonl')], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/packets agree +\d+ of \d+ \(100\.00%\)/);
  });
});
