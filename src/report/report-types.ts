// What an HTML report shows, as plain data: the CLI and library users build it from a replay, a
// scenario run or a kernel comparison (from-replay.ts, from-scenario.ts), html-report.ts renders it.

/** A kernel profile the report is about, with how far to trust it (`ctsim kernels`). */
export interface ReportProfile {
  /** Short name in tables ("6.1", "6.18 nf_conntrack_tcp_be_liberal=1", "real 6.18.44"). */
  label: string;
  /** 'verified' against real kernels, 'modelled' from kernel source, or 'real' (a kernel itself). */
  status: 'verified' | 'modelled' | 'real';
  /** One line of evidence: which real kernels, how many cases; or the change records it is built from. */
  evidence: string;
}

/** One profile's verdict on one packet. */
export interface ReportVerdict {
  /** ctinfo name (NEW, ESTABLISHED, ESTABLISHED_REPLY, INVALID, UNTRACKED, ...). */
  ctinfo: string;
  /** ACCEPT, IGNORE, INVALID, DROP, UNTRACKED, DUPLICATE, or a kernel's 'dropped'. */
  outcome: string;
  dir: string | null;
  stateBefore: string | null;
  state: string | null;
  /** The kernel's log words for an INVALID/IGNORE verdict, or what happened ('' when nothing). */
  reason: string;
  /** `--explain` lines: the check that decided, with its numbers. */
  explain: string[];
}

export interface ReportPacket {
  n: number;
  /** Seconds since the first packet. */
  time: number;
  /** Capture point ("pod/lo") or interface, when known. */
  where: string;
  src: string;
  dst: string;
  flags: string;
  /** Raw sequence and acknowledgement numbers (equal numbers are equal on screen). */
  seq: number;
  ack: number | null;
  len: number;
  /** Profile A's verdict (the only one without a comparison). */
  a: ReportVerdict | null;
  /** Profile B's verdict when two are compared. */
  b: ReportVerdict | null;
  /** The two verdicts differ (compare only). */
  differs: boolean;
  /** What else happened to the packet (rules, NAT, socket reactions), in order. */
  notes: string[];
  /** The packet's bytes as captured (shown as a hex dump). */
  bytes: Uint8Array;
}

/** One fact of the outcome ("connect()": "ETIMEDOUT after 126.008 s"); tone colours it. */
export interface ReportFact {
  label: string;
  value: string;
  tone: 'bad' | 'good' | 'neutral';
}

export interface ReportInput {
  kind: 'replay' | 'scenario' | 'kernel-diff';
  title: string;
  /** The command line that produced it, shown so the reader can run it again. */
  command: string;
  /** ctsim's version. */
  version: string;
  profiles: ReportProfile[];
  outcome: ReportFact[];
  /** A ladder diagram (inline SVG text), if there is one. */
  ladderSvg: string | null;
  packets: ReportPacket[];
  /** Packets left out (the report holds at most a bounded number). */
  packetsOmitted: number;
  /** Timeline lines (scenario runs). */
  timeline: string[];
  /** Side-by-side tables (kernel-diff: ctsim against the real kernel), differing rows highlighted. */
  tables: ReportTable[];
}

export interface ReportTable {
  id: string;
  title: string;
  head: string[];
  rows: { cells: string[]; tone: 'bad' | 'warn' | 'neutral' }[];
}
