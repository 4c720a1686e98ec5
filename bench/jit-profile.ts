// Instructions per JavaScript function, exact, for `npm run bench:instructions -- --profile`.
// Sampling profilers say where time goes, and on a shared VM time is noise; valgrind's callgrind
// counts every instruction at its address, but V8's optimised code has no symbols. node
// --perf-prof writes a jitdump file (the format `perf inject --jit` reads: the address, size and
// name of every piece of code V8 generates), so each counted address can be given the name of the
// function whose code holds it. Two runs that differ only in their round count then give, per
// function, what one more packet costs.
//  - jitdump: tools/perf/Documentation/jitdump-specification.txt in the Linux tree (a header of
//    `total_size` bytes, then records of id, total_size, timestamp; id 0 JIT_CODE_LOAD, 1
//    JIT_CODE_MOVE; the others are skipped by their size).
//  - callgrind's output with --dump-instr=yes --compress-pos=no --compress-strings=no: cost lines
//    "0xADDR [LINE] Ir"; the line after a `calls=` line is the call's inclusive cost, not the
//    caller's own, and is skipped.

export class ProfileFormatError extends Error {}

/** One piece of generated code: [start, start + size) held `name` from its load on. */
export interface JitCode {
  start: number;
  size: number;
  name: string;
  /** Order of loading: where code space was reused, the later load is the code that ran last. */
  order: number;
}

const JITDUMP_MAGIC = 0x4a695444; // "JiTD" written little-endian
const JIT_CODE_LOAD = 0;
const JIT_CODE_MOVE = 1;

/** The code pieces of a jitdump file (little-endian, as x86-64 writes it). */
export function parseJitdump(buf: Uint8Array): JitCode[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // raw-bytes: a jitdump file's little-endian fields, not packet bytes
  const u32 = (o: number) => dv.getUint32(o, true);
  // raw-bytes: a jitdump file's little-endian fields, not packet bytes
  const u64 = (o: number) => Number(dv.getBigUint64(o, true));
  if (buf.byteLength < 40 || u32(0) !== JITDUMP_MAGIC) throw new ProfileFormatError('not a jitdump file (magic "JiTD" missing)');
  const utf8 = new TextDecoder();
  const codes: JitCode[] = [];
  const byIndex = new Map<number, string>();
  let off = u32(8);
  while (off + 16 <= buf.byteLength) {
    const id = u32(off);
    const size = u32(off + 4);
    if (size < 16 || off + size > buf.byteLength) throw new ProfileFormatError(`jitdump record at byte ${off} is cut or has size ${size}`);
    const body = off + 16;
    if (id === JIT_CODE_LOAD) {
      // pid u32, tid u32, vma u64, code_addr u64, code_size u64, code_index u64, name\0, code
      const nameEnd = buf.indexOf(0, body + 40);
      if (nameEnd < 0 || nameEnd >= off + size) throw new ProfileFormatError(`jitdump load record at byte ${off} has no name`);
      const name = utf8.decode(buf.subarray(body + 40, nameEnd));
      byIndex.set(u64(body + 32), name);
      codes.push({ start: u64(body + 16), size: u64(body + 24), name, order: codes.length });
    } else if (id === JIT_CODE_MOVE) {
      // pid u32, tid u32, vma u64, old_code_addr u64, new_code_addr u64, code_size u64, code_index u64
      const name = byIndex.get(u64(body + 40));
      if (name !== undefined) codes.push({ start: u64(body + 24), size: u64(body + 32), name, order: codes.length });
    }
    off += size;
  }
  return codes;
}

/** Instructions executed at each address (the Ir event) of a callgrind output file's text. */
export function instructionsByAddress(text: string): Map<number, number> {
  const lines = text.split('\n');
  const positions = lines.find((l) => l.startsWith('positions: '))?.slice(11).trim().split(/\s+/) ?? ['line'];
  const events = lines.find((l) => l.startsWith('events: '))?.slice(8).trim().split(/\s+/);
  if (positions[0] !== 'instr') throw new ProfileFormatError('callgrind output has no instruction addresses (run with --dump-instr=yes)');
  if (!events || events[0] !== 'Ir') throw new ProfileFormatError('callgrind output does not count Ir first');
  const irColumn = positions.length; // after the position columns
  const counts = new Map<number, number>();
  let skipNext = false;
  for (const l of lines) {
    if (skipNext) {
      skipNext = false;
      continue;
    }
    if (l.startsWith('calls=')) {
      skipNext = true;
      continue;
    }
    if (!l.startsWith('0x')) {
      if (/^[+\-*]/.test(l)) throw new ProfileFormatError('callgrind output uses compressed positions (run with --compress-pos=no)');
      continue;
    }
    const f = l.split(' ');
    const addr = Number.parseInt(f[0], 16);
    const ir = Number(f[irColumn]);
    if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(ir)) throw new ProfileFormatError(`callgrind cost line not understood: ${l.slice(0, 80)}`);
    counts.set(addr, (counts.get(addr) ?? 0) + ir);
  }
  return counts;
}

/** What a function is called in a profile: its tier mark and name, and its file without the path. */
export function functionLabel(jitName: string): string {
  // "JS:*trackTuple file:///…/dist/src/conntrack/conntrack.js:253:15": * TurboFan, ^ Sparkplug, + Maglev
  const m = /^JS:([*^+~]?)(\S*) (?:file:\/\/)?\S*?([^/\s]+\.[cm]?js):\d+:\d+$/.exec(jitName);
  if (m) return `${m[1]}${m[2] || '(anonymous)'} (${m[3]})`;
  return jitName.replace(/^(Builtin|BytecodeHandler|RegExp|Stub):/, 'V8 $1 ');
}

/** Label of the instructions outside any generated code: node itself, V8's runtime, the garbage collector. */
export const OUTSIDE_JIT = '(node, V8 runtime and GC: native code)';

/** Instructions per function label; what no generated code holds goes to OUTSIDE_JIT. */
export function attribute(codes: readonly JitCode[], counts: ReadonlyMap<number, number>): Map<string, number> {
  const sorted = [...codes].sort((a, b) => a.start - b.start || a.order - b.order);
  const starts = sorted.map((c) => c.start);
  const labels = sorted.map((c) => functionLabel(c.name)); // once per code, not per address
  const maxSize = sorted.reduce((m, c) => Math.max(m, c.size), 0);
  const out = new Map<string, number>();
  const add = (k: string, n: number) => out.set(k, (out.get(k) ?? 0) + n);
  for (const [addr, n] of counts) {
    // The last code starting at or before addr, then back while a code could still reach it.
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= addr) lo = mid + 1;
      else hi = mid;
    }
    let best = -1;
    for (let i = lo - 1; i >= 0 && starts[i] > addr - maxSize; i--) {
      const c = sorted[i];
      if (addr < c.start + c.size && (best < 0 || c.order > sorted[best].order)) best = i;
    }
    add(best >= 0 ? labels[best] : OUTSIDE_JIT, n);
  }
  return out;
}

/** Per function: (long - short) / extraPackets, largest first. */
export function perPacketByFunction(short: ReadonlyMap<string, number>, long: ReadonlyMap<string, number>, extraPackets: number): Array<{ fn: string; instructions: number }> {
  if (!(extraPackets > 0)) throw new RangeError('the longer run must have more packets');
  const names = new Set([...short.keys(), ...long.keys()]);
  return [...names]
    .map((fn) => ({ fn, instructions: ((long.get(fn) ?? 0) - (short.get(fn) ?? 0)) / extraPackets }))
    .filter((r) => Math.abs(r.instructions) >= 0.05)
    .sort((a, b) => b.instructions - a.instructions);
}
