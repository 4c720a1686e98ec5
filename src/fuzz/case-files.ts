// A case on disk: `<name>.pcap` (classic pcap, LINKTYPE_RAW, nanosecond timestamps: tcpreplay
// and `ctsim replay` read it) and `<name>.json` = { kernel, sysctls, seed, case, packets }, where
// packets are the rowJson() objects of replaying that very pcap with Replayer under the kernel
// and sysctls. The JSON is made by writing the pcap bytes and reading them back, never from the
// in-memory case, so it is what `ctsim replay <name>.pcap --kernel K --json` prints.
import fs from 'node:fs';
import path from 'node:path';
import { ensureDirectory, writeFileAtomic } from '../output/index.js';
import { MemorySink, PcapWriter, readCaptureBytes } from '../pcap/index.js';
import { Replayer, rowJson } from '../replay/replay.js';
import { LinkType } from '../wire/index.js';
import { CASE_EPOCH_NS, type FuzzCase } from './case.js';
import type { Violation } from './invariants.js';
import { CASE_SNAPLEN } from './replay-records.js';

export interface CaseJson {
  kernel: string;
  sysctls: string[];
  seed: number;
  case: number;
  packets: Array<Record<string, unknown>>;
  /** Findings only: the invariant that failed (absent in the corpus). */
  violation?: Violation;
}

export function casePcapBytes(c: FuzzCase): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: LinkType.RAW, nanosecond: true, snaplen: CASE_SNAPLEN });
  for (const p of c.packets) w.writePacket(CASE_EPOCH_NS + BigInt(p.timeNs), p.bytes);
  w.close();
  return sink.bytes();
}

/** rowJson() of every packet of a pcap replayed under kernel/sysctls (stops at a thrown error). */
export function replayPcapJson(pcap: Uint8Array, kernel: string, sysctls: readonly string[]): Array<Record<string, unknown>> {
  const r = new Replayer({ kernel, sysctls });
  const out: Array<Record<string, unknown>> = [];
  try {
    for (const rec of readCaptureBytes(pcap)) out.push(rowJson(r.push(rec)));
  } catch {
    // A finding of the 'exception' kind: the rows up to the packet that threw.
  }
  return out;
}

export function caseJson(c: FuzzCase, pcap: Uint8Array = casePcapBytes(c), v?: Violation): CaseJson {
  return {
    kernel: c.kernel, sysctls: c.sysctls.slice(), seed: c.seed, case: c.index,
    packets: replayPcapJson(pcap, c.kernel, c.sysctls), ...(v ? { violation: v } : {}),
  };
}

/** JSON text with one packet object per line (readable diffs, small files). */
export function formatCaseJson(j: CaseJson): string {
  const head = JSON.stringify({ kernel: j.kernel, sysctls: j.sysctls, seed: j.seed, case: j.case, ...(j.violation ? { violation: j.violation } : {}) });
  const rows = j.packets.map((p) => JSON.stringify(p)).join(',\n');
  return `${head.slice(0, -1)},"packets":[\n${rows}\n]}\n`;
}

export interface CaseFiles {
  pcap: string;
  json: string;
}

export function writeCaseFiles(c: FuzzCase, dir: string, name: string, v?: Violation): CaseFiles {
  ensureDirectory(dir);
  const pcap = casePcapBytes(c);
  const files = { pcap: path.join(dir, `${name}.pcap`), json: path.join(dir, `${name}.json`) };
  writeFileAtomic(files.pcap, pcap);
  writeFileAtomic(files.json, formatCaseJson(caseJson(c, pcap, v)));
  return files;
}

/** A case back from its files (the pcap's packets, the JSON's kernel, sysctls, seed and index). */
export function readCaseFiles(pcapPath: string): { case: FuzzCase; json: CaseJson } {
  const json = JSON.parse(fs.readFileSync(pcapPath.replace(/\.pcap$/, '.json'), 'utf8')) as CaseJson;
  const recs = [...readCaptureBytes(fs.readFileSync(pcapPath))];
  const t0 = recs.length ? recs[0].timestampNs : 0n;
  return {
    json,
    case: {
      kernel: json.kernel, sysctls: json.sysctls, seed: json.seed, index: json.case, mode: 'structured', tags: [],
      packets: recs.map((r) => ({ timeNs: Number(r.timestampNs - t0), bytes: r.data })),
    },
  };
}
