// A case on disk: a classic nanosecond pcap (LINKTYPE_RAW) whose `ctsim replay --json` output is
// exactly the case's JSON; the fuzz loop's in-memory records give the same verdicts as the file;
// tshark reads the pcaps as raw IPv4 at the right times.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CASE_EPOCH_NS, CaseGenerator, casePcapBytes, readCaseFiles, replayPcapJson, runCase, writeCaseFiles, type FuzzCase,
} from '../../src/fuzz/index.js';
import { rowJson } from '../../src/replay/replay.js';
import { tsharkFields } from '../support/tshark.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-fuzz-files-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cliReplay(pcap: string, c: { kernel: string; sysctls: readonly string[] }): string[] {
  const args = [CLI, 'replay', pcap, '--kernel', c.kernel, '--json', ...c.sysctls.flatMap((s) => ['--sysctl', s])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  // The rows, without the run's summary object (the last line).
  const lines = r.stdout.split('\n').filter((l) => l.length > 0);
  expect(Object.keys(JSON.parse(lines.at(-1)!) as object)).toEqual(['summary']);
  return lines.slice(0, -1);
}

const configs: Array<[string, string[], 'structured' | 'blind']> = [
  ['6.18', [], 'structured'], ['5.4', [], 'blind'], ['sles-15-sp4', ['net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1'], 'structured'],
  ['6.1.8', ['nf_conntrack_max=8'], 'mixed' as never], ['4.19', ['net.netfilter.nf_conntrack_checksum=0'], 'blind'],
];

describe('case files', () => {
  it('the pcap is classic pcap, nanosecond magic, LINKTYPE_RAW, with the case times from the fixed epoch', () => {
    const c = new CaseGenerator({ kernel: '6.18', sysctls: [], seed: 1, mode: 'structured' }).generate(3);
    const b = Buffer.from(casePcapBytes(c));
    expect(b.readUInt32LE(0)).toBe(0xa1b23c4d);
    expect(b.readUInt16LE(4)).toBe(2);
    expect(b.readUInt32LE(20)).toBe(101);
    let off = 24;
    for (const p of c.packets) {
      const ns = BigInt(b.readUInt32LE(off)) * 1_000_000_000n + BigInt(b.readUInt32LE(off + 4));
      expect(ns).toBe(CASE_EPOCH_NS + BigInt(p.timeNs));
      expect(b.readUInt32LE(off + 8)).toBe(p.bytes.length);
      off += 16 + p.bytes.length;
    }
    expect(off).toBe(b.length);
  });

  it('the fuzz loop\'s in-memory replay gives the rows of replaying the written pcap', () => {
    for (const [kernel, sysctls, mode] of configs) {
      const g = new CaseGenerator({ kernel, sysctls, seed: 77, mode });
      for (let i = 0; i < 60; i++) {
        const c = g.generate(i);
        const r = runCase(c);
        expect(r.violation).toBeNull();
        expect(r.rows.map(rowJson)).toEqual(replayPcapJson(casePcapBytes(c), kernel, sysctls));
      }
    }
  });

  it('`ctsim replay <case>.pcap --kernel K --json` prints exactly the case JSON, line for line', () => {
    configs.forEach(([kernel, sysctls, mode], k) => {
      const g = new CaseGenerator({ kernel, sysctls, seed: 5, mode });
      const c: FuzzCase = g.generate(k);
      const files = writeCaseFiles(c, tmp, `case-${k}`);
      const json = JSON.parse(fs.readFileSync(files.json, 'utf8'));
      expect(Object.keys(json)).toEqual(['kernel', 'sysctls', 'seed', 'case', 'packets']);
      expect(json).toMatchObject({ kernel: c.kernel, sysctls, seed: 5, case: k });
      expect(json.packets).toHaveLength(c.packets.length);
      expect(cliReplay(files.pcap, json)).toEqual(json.packets.map((p: unknown) => JSON.stringify(p)));
      const back = readCaseFiles(files.pcap);
      expect(back.case.packets.map((p) => [p.timeNs, Buffer.from(p.bytes).toString('hex')])).toEqual(c.packets.map((p) => [p.timeNs, Buffer.from(p.bytes).toString('hex')]));
    });
  });

  it('tshark reads a case as raw IPv4 packets at the case times', () => {
    const c = new CaseGenerator({ kernel: '6.18', sysctls: [], seed: 8, mode: 'structured' }).generate(1);
    const files = writeCaseFiles(c, tmp, 'tshark');
    const rows = tsharkFields(files.pcap, ['frame.time_epoch', 'frame.protocols', 'ip.src']);
    expect(rows).toHaveLength(c.packets.length);
    rows.forEach((r, i) => {
      expect(r[1]).toMatch(/^raw:ip/);
      expect(Math.round((Number(r[0]) - Number(CASE_EPOCH_NS / 1_000_000_000n)) * 1e3)).toBe(Math.round(c.packets[i].timeNs / 1e6));
      expect(r[2]).toMatch(/^198\.1[89]\./);
    });
  });
});
