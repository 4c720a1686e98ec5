import fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { CaptureCopier, FileSink, readCaptureFile, readCaptureStream, type CaptureError, type CaptureRecord } from '../../pcap/index.js';
import { explainLines, formatPacketText, formatRowText, formatVerdictText, rowJson, rowJsonExplained, verdictText, type ReplayRow } from '../../replay/replay.js';
import { ReplaySession, type ReplayStep } from '../../replay/session.js';
import { DEFAULT_DEDUP_WINDOW_NS } from '../../replay/select.js';
import { formatProgress } from '../../replay/progress.js';
import { checksumSummary, checksumWarning, conntrackCounters, formatCounters } from '../../replay/summary.js';
import { UsageError } from '../errors.js';
import { cleanUpOnInterrupt } from '../process-guard.js';
import { TextOutput } from '../text-output.js';
import { replayHostMode } from './replay-host.js';
import { stdoutPaint } from '../colour.js';
import { REPORT_MAX_PACKETS, ReplayReportBuilder, reportProfile } from '../../report/index.js';
import { writeHtmlReport } from '../report-file.js';
import { commandLine } from '../command-line.js';
import { packageVersion } from '../version.js';

interface ReplayArgs {
  capture: string;
  kernel?: string;
  sysctl?: string[];
  compare?: string;
  compareSysctl?: string[];
  explain?: boolean;
  json?: boolean;
  out?: string;
  hook?: string;
  'ip-rcv'?: boolean;
  seed?: number;
  iface?: string;
  dedup?: boolean;
  dedupWindow?: number;
  progress?: boolean;
  html?: string;
  host?: string;
  hostName?: string;
  rules?: string;
  addr?: string[];
  ifindex?: string[];
  forwarding?: boolean;
}

const isStdin = (path: string) => path === '-' || path === '/dev/stdin';

const SLL2_RULE = `Several interfaces (tcpdump -i any, SLL2; pcapng with several interfaces): conntrack sees a packet once per network namespace, so:
  --iface NAME   replays only the packets of one interface (pcapng if_name, or the SLL2 ifindex: --iface 3).
  default        de-duplicates: a TCP packet with the same IP ID, IP length, seq, ack and flags as a packet tracked no more than --dedup-window ms (10) earlier, on another interface (or the other direction of the same one), is that packet again (forwarded, or looped back) and is not tracked twice. Addresses, ports, TTL and checksums are not compared (NAT and forwarding rewrite them); the first copy is tracked, and a copy with another tuple teaches the NAT binding, undone on later packets (replies).
  --no-dedup     tracks every copy.`;

/** "6.1", "6.18 nf_conntrack_tcp_be_liberal=1". */
function profileLabel(name: string, sysctls: readonly string[]): string {
  return [name, ...sysctls.map((s) => s.trim().replace(/^net[./]netfilter[./]/, ''))].join(' ');
}

/** A progress line redrawn on stderr at most 5 times a second. */
class Progress {
  private readonly start = Date.now();
  private last = 0;
  private drawn = false;
  constructor(private readonly totalBytes: number | null) {}
  tick(packets: number, bytes: number, differ?: number): void {
    const now = Date.now();
    if (now - this.last < 200) return;
    this.last = now;
    const line = formatProgress({ packets, bytes, totalBytes: this.totalBytes, elapsedMs: now - this.start, differ });
    process.stderr.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }
  clear(): void {
    if (this.drawn) process.stderr.write('\r\x1b[2K');
    this.drawn = false;
  }
}

export const replayCommand: CommandModule<object, ReplayArgs> = {
  command: 'replay <capture>',
  describe: 'Push every IPv4/TCP packet of a pcap/pcapng capture (raw IP, Ethernet, SLL, SLL2; "-" for stdin) through one conntrack of a kernel profile and print each verdict; --compare another profile, --explain why',
  builder: (y) => y
    .positional('capture', { type: 'string', demandOption: true, describe: 'capture file, or - for standard input' })
    .option('kernel', { type: 'string', describe: 'kernel release (e.g. 5.4, 5.15.90, 6.1.9, 6.18) or vendor profile (sles-15-sp4, ubuntu-20.04); default: newest' })
    .option('sysctl', { type: 'string', array: true, describe: 'net.netfilter.* setting as name=value (repeatable; profile A only with --compare)' })
    .option('compare', { type: 'string', describe: 'a second kernel profile B: replay the same packets through both and print only the packets whose verdicts differ' })
    .option('compare-sysctl', { type: 'string', array: true, describe: 'net.netfilter.* setting for profile B (repeatable; without --compare, B is the --kernel with these sysctls)' })
    .option('explain', { type: 'boolean', describe: 'for every INVALID or IGNORE verdict print which check failed and its numbers (window check, state-table cell, RST rule), also in --out comments' })
    .option('json', { type: 'boolean', describe: 'one JSON object per packet (with --compare: per differing packet, then a summary object)' })
    .option('out', { type: 'string', describe: 'write the capture back as pcapng with each verdict (both, with --compare) as a packet comment' })
    .option('hook', { type: 'string', choices: ['auto', 'prerouting', 'output'], default: 'auto', describe: 'hook the packets are tracked at (prerouting verifies checksums); auto: by capture direction' })
    .option('ip-rcv', { type: 'boolean', describe: 'packets came off a wire: what ip_rcv drops before conntrack (a wrong IPv4 header checksum) is not tracked (conformance suites)' })
    .option('seed', { type: 'number', describe: 'hash seed of the conntrack table' })
    .option('iface', { type: 'string', describe: 'replay only the packets of this interface (pcapng if_name, or SLL2 ifindex)' })
    .option('dedup', { type: 'boolean', default: true, describe: 'track a packet seen on several interfaces once (--no-dedup: every copy)' })
    .option('dedup-window', { type: 'number', default: DEFAULT_DEDUP_WINDOW_NS / 1e6, describe: 'ms within which a copy on another interface counts as the same packet' })
    .option('progress', { type: 'boolean', describe: 'progress line on stderr (default: when stderr is a terminal)' })
    .option('host', { type: 'string', describe: 'host mode: the capture was taken on this scenario file\'s host (its rules, addresses, kernel, sysctls); each packet is tracked at the hook where the capture saw it, through the host\'s netfilter and NAT' })
    .option('host-name', { type: 'string', describe: 'with --host: which of the file\'s hosts (default: the only one)' })
    .option('rules', { type: 'string', describe: 'host mode: the host\'s iptables-save output (with --addr)' })
    .option('addr', { type: 'string', array: true, describe: 'with --rules: an interface and its address, NAME=A.B.C.D/N (repeatable)' })
    .option('ifindex', { type: 'string', array: true, describe: 'host mode: the SLL2 interface index of an interface, INDEX=NAME (tcpdump -i any; lo is recognised by its device type)' })
    .option('forwarding', { type: 'boolean', describe: 'with --rules: the host forwards (net.ipv4.ip_forward=1)' })
    .option('html', { type: 'string', describe: `also write a self-contained HTML report (ladder, every verdict, click a packet for its explain story and bytes; first ${REPORT_MAX_PACKETS} packets)` })
    .epilog(SLL2_RULE)
    .example('$0 replay pcaps/challenge-ack-reuse.pcapng --kernel sles-15-sp4', 'one verdict per packet')
    .example('$0 replay capture.pcapng --kernel 6.1 --compare 6.18 --explain', 'only the packets whose verdicts differ, and why')
    .example('$0 replay capture.pcapng --kernel 6.1.8 --html report.html', 'a self-contained report to attach to a ticket')
    .example('tcpdump -i any -w - | $0 replay - --json | jq -c \'select(.ctinfo=="INVALID")\'', 'live, JSON Lines') as never,
  handler: async (args) => {
    if (args.host !== undefined || args.rules !== undefined) {
      if (args.compare !== undefined || args.out !== undefined || args.iface !== undefined || args.html !== undefined) throw new UsageError('host mode (--host/--rules) does not take --compare, --out, --iface or --html (not yet)');
      const out = new TextOutput(process.stdout);
      await replayHostMode(args, (s) => out.write(s));
      await out.flush();
      return;
    }
    if (args.seed !== undefined && !Number.isInteger(args.seed)) throw new UsageError(`--seed must be an integer, got ${args.seed}`);
    if (args.dedupWindow !== undefined && !(Number.isFinite(args.dedupWindow) && args.dedupWindow >= 0)) throw new UsageError(`--dedup-window must be a number of ms >= 0, got ${args.dedupWindow}`);
    const sysA = args.sysctl ?? [];
    const sysB = args.compareSysctl ?? [];
    const comparing = args.compare !== undefined || args.compareSysctl !== undefined;
    // The report shows every packet's explain story, so --html explains (the text output does not change).
    const common = { seed: args.seed, hook: args.hook as never, explain: args.explain === true || args.html !== undefined, ipRcv: args['ip-rcv'] === true };
    // Profiles first: a bad kernel or sysctl is reported before the capture is opened.
    const session = new ReplaySession({
      a: { ...common, kernel: args.kernel, sysctls: sysA },
      b: comparing ? { ...common, kernel: args.compare ?? args.kernel, sysctls: sysB } : undefined,
      select: { iface: args.iface, dedup: args.dedup !== false, dedupWindowNs: (args.dedupWindow ?? DEFAULT_DEDUP_WINDOW_NS / 1e6) * 1e6 },
    });
    const nameA = session.a.ct.profile.name;
    let labelA = profileLabel(nameA, sysA);
    let labelB = session.b ? profileLabel(session.b.ct.profile.name, sysB) : '';
    if (labelA === labelB) {
      labelA += ' (A)';
      labelB += ' (B)';
    }
    const explain = args.explain === true;
    // Colour on a terminal only (NO_COLOR honoured): the verdicts a reader looks for stand out.
    const p = stdoutPaint();
    const tone = (r: ReplayRow) => (r.outcome === 'INVALID' ? p.red : r.outcome === 'IGNORE' ? p.yellow : r.outcome === 'DROP' ? p.grey : (x: string) => x);
    const report = args.html !== undefined ? new ReplayReportBuilder() : null;

    let totalBytes: number | null = null;
    if (!isStdin(args.capture)) {
      try {
        const st = fs.statSync(args.capture);
        if (st.isFile()) totalBytes = st.size;
      } catch {
        // reported by the reader, with the capture error's wording
      }
    }
    const progress = (args.progress ?? process.stderr.isTTY === true) ? new Progress(totalBytes) : null;
    const out = new TextOutput(process.stdout, () => {
      if (progress && process.stdout.isTTY) progress.clear();
    });

    // From here on a Ctrl-C removes the unfinished --out file (the loop below yields regularly).
    cleanUpOnInterrupt();
    const application = `ctsim replay --kernel ${nameA}${session.b ? ` --compare ${session.b.ct.profile.name}` : ''}`;
    // The output is refused if it is the capture (any spelling, a hard link), and appears under
    // its name only once the replay has finished.
    const copier = args.out ? new CaptureCopier(new FileSink(args.out, { inputs: [args.capture] }), { application }) : null;
    const ifaceLabels = new Set<string>();
    let header = !args.json;

    const writeHeader = () => {
      if (!session.b) {
        out.write(`# ctsim replay: kernel ${nameA}${sysA.length ? `, ${sysA.join(' ')}` : ''}\n${'     n'} ${'time'.padStart(12)}  ${'tuple'.padEnd(44)} flags seq/ack (relative)${' '.repeat(10)} len   verdict\n`);
      } else {
        out.write(`# ctsim replay: A = ${labelA}, B = ${labelB}: packets whose verdicts differ (ctinfo, outcome, direction, state, re-open)\n`);
        out.write(`${'     n'} ${'time'.padStart(12)}  ${'tuple'.padEnd(44)} flags seq/ack (relative)${' '.repeat(10)} len\n`);
      }
    };
    const width = Math.max(labelA.length, labelB.length);
    const indent = ' '.repeat(10);

    const annotate = (step: ReplayStep): string => {
      const { a, b } = step;
      if (!a) return `ctsim: not on --iface ${args.iface}: not tracked`;
      const why = (r: ReplayRow, pad: string) => (explain ? explainLines(r).map((l) => `\n${pad}${l}`).join('') : '');
      if (!b) return `ctsim ${nameA}: ${verdictText(a)}${why(a, '')}`;
      if (!step.differs) return `ctsim ${labelA} = ${labelB}: ${verdictText(a)}${why(a, '')}`;
      const sides = [[labelA, a], [labelB, b]] as const;
      const whys = sides.filter(([, r]) => explain && r.why).map(([label, r]) => `\n${label}:${why(r, '  ')}`).join('');
      return `ctsim DIFFERS: ${labelA}: ${verdictText(a)} | ${labelB}: ${verdictText(b)}${whys}`;
    };

    const handle = (rec: CaptureRecord) => {
      if (header) {
        writeHeader();
        header = false;
      }
      const step = session.push(rec);
      report?.add(step);
      if (ifaceLabels.size < 64 && session.selector.ifaceLabel) ifaceLabels.add(session.selector.ifaceLabel);
      const { a, b } = step;
      if (a) {
        if (!b) {
          if (args.json) out.write(`${JSON.stringify(explain ? rowJsonExplained(a) : rowJson(a))}\n`);
          else {
            out.write(`${tone(a)(formatRowText(a))}\n`);
            if (explain) for (const l of explainLines(a)) out.write(`${indent}${l}\n`);
          }
        } else if (step.differs && b) {
          if (args.json) {
            const side = (r: ReplayRow) => (explain ? rowJsonExplained(r) : rowJson(r));
            out.write(`${JSON.stringify({ n: a.n, time: a.time, src: a.src, dst: a.dst, sport: a.sport, dport: a.dport, flags: a.flags, a: { profile: labelA, ...side(a) }, b: { profile: labelB, ...side(b) } })}\n`);
          } else {
            out.write(`${formatPacketText(a).trimEnd()}\n`);
            for (const [label, r] of [[labelA, a], [labelB, b]] as const) {
              out.write(`${indent}${label.padEnd(width)}  ${tone(r)(formatVerdictText(r))}\n`);
              if (explain) for (const l of explainLines(r)) out.write(`${indent}${' '.repeat(width + 2)}${l}\n`);
            }
          }
        }
      }
      copier?.write(rec, annotate(step));
      if (progress && (session.counts.packets & 1023) === 1) progress.tick(session.counts.packets, rec.fileOffset, session.b ? session.counts.differ : undefined);
    };

    // A capture cut off mid-packet (a killed `tcpdump -w`) is replayed up to the cut, which gets a
    // warning row: every complete packet before it is still worth an answer.
    let cutOff: CaptureError | null = null;
    const readOptions = { onTruncatedEnd: (e: CaptureError) => { cutOff = e; } };
    try {
      if (isStdin(args.capture)) {
        for await (const rec of readCaptureStream(process.stdin, readOptions)) {
          handle(rec);
          await out.ready();
        }
      } else {
        for (const rec of readCaptureFile(args.capture, readOptions)) {
          handle(rec);
          const wait = out.ready();
          if (wait) await wait;
        }
      }
    } catch (e) {
      // Every row up to the error is printed, then the error (main.ts); no partial --out file.
      copier?.abort();
      progress?.clear();
      await out.flush();
      throw e;
    }
    progress?.clear();

    const c = session.counts;
    const cut = cutOff as CaptureError | null;
    if (cut) {
      if (header) writeHeader();
      const n = c.packets + 1;
      if (args.json) out.write(`${JSON.stringify({ n, warning: cut.kind, offset: cut.offset, message: `capture cut off: ${cut.message}; not replayed` })}\n`);
      else out.write(`${String(n).padStart(6)}  WARNING capture cut off: ${cut.message}; the incomplete last record is not replayed\n`);
    }
    // Rows first: if standard output fails (a full disk), the run fails before --out is kept.
    await out.flush();
    copier?.close();
    const count = (o: Record<string, number>) => Object.entries(o).map(([k, n]) => `${n} ${k.toLowerCase()}`).join(', ');
    const extras: string[] = [];
    if (c.skipped) extras.push(`${c.skipped} skipped (not on --iface ${args.iface})`);
    if (cut) extras.push('the capture is cut off in its last record (not replayed)');
    if (session.selector.natUndone) extras.push(`${session.selector.natUndone} tracked with a learnt NAT binding undone`);
    const countersA = conntrackCounters(session.a.ct.stats, session.a.ct.count);
    const csumNote = checksumSummary(c.checksums);
    const csumWarning = checksumWarning(c.checksums);
    if (!session.b) {
      if (!args.json) {
        const parts = [count(c.outcomesA), ...extras].filter(Boolean).join(', ');
        for (const l of [csumWarning, csumNote, formatCounters(countersA)]) if (l) out.write(`# ${l}\n`);
        out.write(`# ${c.packets} packets${parts ? `: ${parts}` : ''}${args.out ? `; annotated capture written to ${args.out}` : ''}\n`);
      } else {
        out.write(`${JSON.stringify({ summary: { packets: c.packets, tracked: c.tracked, duplicates: c.duplicates, skipped: c.skipped, cutOff: cut ? { offset: cut.offset, message: cut.message } : null, kernel: nameA, sysctls: sysA, outcomes: c.outcomesA, checksums: c.checksums, checksumWarning: csumWarning, conntrack: countersA } })}\n`);
      }
    } else if (args.json) {
      out.write(`${JSON.stringify({
        summary: {
          packets: c.packets, tracked: c.tracked, duplicates: c.duplicates, skipped: c.skipped, differ: c.differ, first: c.firstDiffer,
          cutOff: cut ? { offset: cut.offset, message: cut.message } : null,
          checksums: c.checksums, checksumWarning: csumWarning,
          a: { profile: labelA, kernel: nameA, sysctls: sysA, outcomes: c.outcomesA, conntrack: countersA },
          b: { profile: labelB, kernel: session.b.ct.profile.name, sysctls: sysB, outcomes: c.outcomesB, conntrack: conntrackCounters(session.b.ct.stats, session.b.ct.count) },
        },
      })}\n`);
    } else {
      for (const l of [csumWarning, csumNote, `${labelA}: ${formatCounters(countersA)}`, `${labelB}: ${formatCounters(conntrackCounters(session.b.ct.stats, session.b.ct.count))}`]) if (l) out.write(`# ${l}\n`);
      out.write(`# ${labelA}: ${count(c.outcomesA) || 'nothing tracked'} | ${labelB}: ${count(c.outcomesB) || 'nothing tracked'}${extras.length ? `; ${extras.join(', ')}` : ''}${args.out ? `; annotated capture written to ${args.out}` : ''}\n`);
      out.write(`# ${c.packets} packets, ${c.differ} verdict${c.differ === 1 ? '' : 's'} differ${c.firstDiffer !== null ? `, first at #${c.firstDiffer}` : ''}\n`);
    }
    await out.flush();
    if (report && args.html !== undefined) {
      const profiles = [reportProfile(nameA, labelA)];
      if (session.b) profiles.push(reportProfile(session.b.ct.profile.name, labelB));
      writeHtmlReport(args.html, report.build({ command: commandLine(), version: packageVersion(), profiles, counts: c }), [args.capture]);
    }
    if (args.iface !== undefined && c.tracked === 0 && c.packets > 0) {
      process.stderr.write(`ctsim: no packet on interface ${args.iface}${ifaceLabels.size ? ` (the capture has: ${[...ifaceLabels].join(', ')})` : ''}\n`);
    }
  },
};
