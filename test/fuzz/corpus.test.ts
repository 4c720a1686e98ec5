// The committed corpus (test/corpus/, made by `npm run corpus`): every case replays to exactly
// its JSON and passes every invariant; a sample also through the `ctsim replay` command line.
// After a deliberate change of verdicts or of the row schema, regenerate with `npm run corpus`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { casePcapBytes, isClientAddr, isServerAddr, readCaseFiles, replayPcapJson, runCase } from '../../src/fuzz/index.js';
import { readU32 } from '../../src/wire/index.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const CORPUS = path.join(ROOT, 'test/corpus');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');

function pcaps(): string[] {
  const out: string[] = [];
  for (const sub of ['generated', 'regressions']) {
    const dir = path.join(CORPUS, sub);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.pcap')) out.push(path.join(dir, f));
  }
  return out;
}

const files = pcaps();

describe('fuzz corpus', () => {
  it('has a few hundred small cases (under 2 MB in all), each a pcap with its JSON', () => {
    expect(files.length).toBeGreaterThanOrEqual(200);
    let bytes = 0;
    for (const f of files) {
      expect(fs.existsSync(f.replace(/\.pcap$/, '.json')), f).toBe(true);
      bytes += fs.statSync(f).size + fs.statSync(f.replace(/\.pcap$/, '.json')).size;
    }
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
  });

  it('every case replays to exactly its JSON and passes every invariant', () => {
    const kernels = new Set<string>();
    for (const f of files) {
      const { case: c, json } = readCaseFiles(f);
      kernels.add(c.kernel);
      const pcap = fs.readFileSync(f);
      expect(Buffer.from(casePcapBytes(c)).equals(pcap), `${f}: pcap bytes`).toBe(true);
      expect(replayPcapJson(pcap, c.kernel, c.sysctls), path.basename(f)).toEqual(json.packets);
      const r = runCase(c);
      expect(r.violation, `${path.basename(f)}: ${JSON.stringify(r.violation)}`).toBeNull();
      for (const p of c.packets) {
        if (p.bytes.length < 20) continue;
        const a = readU32(p.bytes, 12);
        const b = readU32(p.bytes, 16);
        expect((isClientAddr(a) && isServerAddr(b)) || (isServerAddr(a) && isClientAddr(b)), path.basename(f)).toBe(true);
      }
    }
    expect(kernels.size).toBeGreaterThanOrEqual(5);
  });

  it('`ctsim replay --json` reproduces a sample of them exactly', () => {
    const sample = files.filter((_, i) => i % Math.ceil(files.length / 8) === 0);
    for (const f of sample) {
      const { json } = readCaseFiles(f);
      const args = [CLI, 'replay', f, '--kernel', json.kernel, '--json', ...json.sysctls.flatMap((s) => ['--sysctl', s])];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      // Every row, then the run's summary object (conntrack -S counters).
      const lines = r.stdout.split('\n').filter(Boolean);
      expect(Object.keys(JSON.parse(lines.at(-1)!) as object)).toEqual(['summary']);
      expect(lines.slice(0, -1), path.basename(f)).toEqual(json.packets.map((p) => JSON.stringify(p)));
    }
  });
});
