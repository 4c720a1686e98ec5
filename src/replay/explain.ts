// `ctsim replay --explain`: why conntrack gave a packet its verdict, in the kernel's own terms
// (nf_conntrack_proto_tcp.c): which of the four tcp_in_window() inequalities failed with every
// number it compared, which cell of tcp_conntracks[dir][index][state] the state table proposed,
// which branch of the RST validation ran. Built from one Verdict right after track() (the tracker
// records the numbers; nothing here changes a verdict).
import type { KernelProfile } from '../conntrack/kernel-profile.js';
import { Reason, formatReason } from '../conntrack/reasons.js';
import type { SysctlValues } from '../conntrack/sysctls.js';
import { TCP_CLASS_NAMES, TcpCtState, TcpPacketClass, tcpStateName } from '../conntrack/tcp-states.js';
import { Outcome, RstBranch, type Verdict } from '../conntrack/verdict.js';
import { TcpFlag, tcpFlagsShort } from '../wire/index.js';

export interface Explanation {
  /** What decided: window, table, new, rst, tcp-error, challenge-ack, table-full, insert-clash, reopen. */
  kind: string;
  /** The window check that failed (I, II, III, IV, OVERSHOOT), when kind is window. */
  check?: string;
  /** One line: what failed and what conntrack did about it. */
  summary: string;
  /** The numbers, one fact per line. */
  detail: string[];
  /** The same facts for machines (--json). */
  data: Record<string, unknown>;
}

export interface ExplainContext {
  profile: KernelProfile;
  sysctls: SysctlValues;
  hook: 'prerouting' | 'output';
  /** The packet's TCP flags (the verdict does not keep them). */
  tcpFlags: number;
  /** State of the entry the packet hit before a re-open destroyed it (-1 when unknown). */
  reopenedFrom: number;
}

const DIR_NAMES = ['ORIGINAL', 'REPLY'] as const;
/** The kernel's names for the table's row index (get_conntrack_index()). */
const CLASS_SETS = ['TCP_SYN_SET', 'TCP_SYNACK_SET', 'TCP_FIN_SET', 'TCP_ACK_SET', 'TCP_RST_SET', 'TCP_NONE_SET'] as const;
/** The abbreviations of the kernel's table (sNO ... sIG). */
const STATE_ABBR = ['sNO', 'sSS', 'sSR', 'sES', 'sFW', 'sCW', 'sLA', 'sTW', 'sCL', 'sS2', 'sIV', 'sIG'] as const;
const MAXACKWINCONST = 66000;

function abbr(state: number): string {
  return STATE_ABBR[state] ?? `s${state}`;
}

/** "tcp_conntracks[REPLY][TCP_ACK_SET][sSS] = sIG" */
export function tableCellText(dir: number, cls: number, state: number, cell: number): string {
  return `tcp_conntracks[${DIR_NAMES[dir] ?? dir}][${CLASS_SETS[cls] ?? cls}][${abbr(state)}] = ${abbr(cell)}`;
}

function cellMeaning(cell: number): string {
  if (cell === TcpCtState.INVALID) return 'invalid';
  if (cell === TcpCtState.IGNORE) return 'ignore';
  return tcpStateName(cell);
}

function tableData(dir: number, cls: number, state: number, cell: number): Record<string, unknown> {
  return { dir: DIR_NAMES[dir], index: cls, class: TCP_CLASS_NAMES[cls], oldState: tcpStateName(state), cell: abbr(cell), cellMeaning: cellMeaning(cell) };
}

function outcomeWord(v: Verdict): string {
  switch (v.outcome) {
    case Outcome.INVALID: return 'INVALID';
    case Outcome.IGNORE: return 'IGNORE';
    case Outcome.DROP: return 'DROP';
    default: return 'ACCEPT';
  }
}

const u32 = (n: number) => n >>> 0;

/**
 * The explanation of one verdict, or null when there is nothing to explain (an ordinary accepted
 * packet). Call right after Conntrack.track(): the Verdict is reused by the next packet.
 */
export function explainVerdict(v: Verdict, ctx: ExplainContext): Explanation | null {
  const code = v.reason.code;
  const outcome = outcomeWord(v);
  switch (code) {
    case Reason.SEQ_OVER:
    case Reason.ACK_OVER:
    case Reason.SEQ_UNDER:
    case Reason.ACK_UNDER:
    case Reason.OVERSHOT:
      if (v.hasExplain) return explainWindow(v, ctx, outcome);
      break;
    case Reason.IGNORED: return explainIgnored(v, ctx);
    case Reason.INVALID_STATE: {
      const { dir, index, state } = v.reason;
      const cell = v.tableCell >= 0 ? v.tableCell : TcpCtState.INVALID;
      return {
        kind: 'table',
        summary: `state table: ${tableCellText(dir, index, state, cell)}: a ${TCP_CLASS_NAMES[index]} in dir ${dir} (${DIR_NAMES[dir]}) is not valid in ${tcpStateName(state)} -> INVALID`,
        detail: [`direction ${DIR_NAMES[dir]}, packet class ${TCP_CLASS_NAMES[index]} (index ${index}), old state ${tcpStateName(state)}, table cell ${abbr(cell)}`],
        data: { table: tableData(dir, index, state, cell) },
      };
    }
    case Reason.INVALID_NEW: {
      const cls = v.reason.index;
      const cell = v.tableCell;
      if (cell >= 0 && cell < TcpCtState.INVALID) {
        return {
          kind: 'new',
          summary: `tcp_new: no entry, and a ${TCP_CLASS_NAMES[cls]} would pick the connection up mid-stream (${tableCellText(0, cls, TcpCtState.NONE, cell)}), but nf_conntrack_tcp_loose=0 -> INVALID`,
          detail: ['only a SYN may create an entry while nf_conntrack_tcp_loose=0'],
          data: { table: tableData(0, cls, TcpCtState.NONE, cell), loose: ctx.sysctls.nf_conntrack_tcp_loose },
        };
      }
      return {
        kind: 'new',
        summary: `tcp_new: no entry, and ${tableCellText(0, cls, TcpCtState.NONE, TcpCtState.INVALID)}: a ${TCP_CLASS_NAMES[cls]} cannot create one -> INVALID`,
        detail: [`direction ORIGINAL (first packet), packet class ${TCP_CLASS_NAMES[cls]} (index ${cls}), old state NONE, table cell sIV`],
        data: { table: tableData(0, cls, TcpCtState.NONE, TcpCtState.INVALID) },
      };
    }
    case Reason.INVALID_RST: return explainRst(v, ctx, outcome);
    case Reason.CHALLENGE_ACK_IGNORED: {
      const { dir, index, state } = v.reason;
      return {
        kind: 'challenge-ack',
        summary: `state table: ${tableCellText(dir, index, state, TcpCtState.TIME_WAIT)}, but the last packet was a SYN from the other side let through in LAST_ACK: this ACK is its RFC 5961 challenge ACK, not the last ACK -> IGNORE`,
        detail: [`direction ${DIR_NAMES[dir]}, packet class ${TCP_CLASS_NAMES[index]}, old state ${tcpStateName(state)}`],
        data: { table: tableData(dir, index, state, TcpCtState.TIME_WAIT) },
      };
    }
    case Reason.TRUNCATED:
      return { kind: 'tcp-error', summary: 'tcp_error: the TCP header is truncated -> INVALID', detail: [], data: { check: 'truncated' } };
    case Reason.BAD_CHECKSUM:
      return {
        kind: 'tcp-error',
        summary: `tcp_error: the TCP checksum does not verify (tracked at PREROUTING, nf_conntrack_checksum=${ctx.sysctls.nf_conntrack_checksum}) -> INVALID`,
        detail: ['a capture taken on the sending host often holds checksums the NIC fills in later (offload): try --hook output or --sysctl nf_conntrack_checksum=0'],
        data: { check: 'checksum', hook: ctx.hook },
      };
    case Reason.BAD_FLAGS:
      return {
        kind: 'tcp-error',
        summary: `tcp_error: flags ${tcpFlagsShort(ctx.tcpFlags)} (0x${(ctx.tcpFlags & 0xff).toString(16).padStart(2, '0')}) are not a combination in tcp_valid_flags[] -> INVALID`,
        detail: ['valid: SYN, SYN|URG, SYN|ACK, RST, RST|ACK, FIN|ACK, FIN|ACK|URG, ACK, ACK|URG (PSH, ECE, CWR always allowed)'],
        data: { check: 'flags', flags: ctx.tcpFlags & 0xff },
      };
    case Reason.TABLE_FULL:
      return {
        kind: 'table-full',
        summary: `nf_conntrack_max=${ctx.sysctls.nf_conntrack_max} entries in use and early_drop found no entry that is not ASSURED near this tuple -> packet dropped`,
        detail: [],
        data: { max: ctx.sysctls.nf_conntrack_max },
      };
    case Reason.INSERT_CLASH:
      return { kind: 'insert-clash', summary: 'confirm: the tuple is already in the table (insert_failed) -> packet dropped', detail: [], data: {} };
  }
  if (v.hasRst && v.outcome === Outcome.ACCEPT) {
    const e = explainAcceptedRst(v);
    if (e) return e;
  }
  if (v.reopened) {
    const from = ctx.reopenedFrom;
    const where = from >= 0 ? `${tcpStateName(from)} (${tableCellText(v.dir, TcpPacketClass.SYN, from, TcpCtState.SYN_SENT)})` : 'TIME_WAIT or CLOSE';
    return {
      kind: 'reopen',
      summary: `re-open: the SYN hit an entry in ${where} whose connection was closed by a FIN or aborted by an RST from this side: the old entry was destroyed and the SYN created a new one (-NF_REPEAT)`,
      detail: [],
      data: { oldState: from >= 0 ? tcpStateName(from) : null },
    };
  }
  if (v.outcome === Outcome.INVALID || v.outcome === Outcome.IGNORE || v.outcome === Outcome.DROP) {
    const text = formatReason(v.reason, ctx.profile.wording);
    return { kind: 'other', summary: `${text || 'no reason recorded'} -> ${outcome}`, detail: [], data: {} };
  }
  return null;
}

interface CheckRow {
  id: 'I' | 'II' | 'III' | 'IV';
  expr: string;
  values: string;
  ok: boolean;
  skipped?: string;
  failText: string;
}

function explainWindow(v: Verdict, ctx: ExplainContext, outcome: string): Explanation {
  const x = v.explain;
  const b = ctx.profile.behaviour;
  const { seq, end, sack } = x;
  const sEnd = x.senderEnd;
  const sMaxend = x.senderMaxend;
  const rEnd = x.receiverEnd;
  const rMaxwin = x.receiverMaxwin;
  const maxAck = x.senderMaxwin > MAXACKWINCONST ? x.senderMaxwin : MAXACKWINCONST;
  const dI = (seq - sMaxend) | 0;
  const dII = (sEnd - rMaxwin - end) | 0;
  const dIII = (sack - rEnd) | 0;
  const dIV = (rEnd - maxAck - sack) | 0;
  const checks: CheckRow[] = [
    { id: 'I', expr: 'seq <= sender.td_maxend', values: `${seq} <= ${sMaxend}`, ok: dI <= 0, failText: `seq is ${dI} after sender.td_maxend (data beyond what the receiver's window allows)` },
    {
      id: 'II', expr: 'end >= sender.td_end - receiver.td_maxwin', values: `${end} >= ${sEnd} - ${rMaxwin} = ${u32(sEnd - rMaxwin)}`, ok: rMaxwin === 0 || dII <= 0,
      ...(rMaxwin === 0 ? { skipped: 'not checked: receiver.td_maxwin = 0 (no window seen from the receiver yet)' } : {}),
      failText: `end is ${dII} before the lower bound (data already acknowledged, retransmitted)`,
    },
    { id: 'III', expr: 'sack <= receiver.td_end', values: `${sack} <= ${rEnd}`, ok: dIII <= 0, failText: `sack is ${dIII} after receiver.td_end (acknowledges data not seen yet)` },
    {
      id: 'IV', expr: 'sack >= receiver.td_end - MAXACKWINDOW(sender)', values: `${sack} >= ${rEnd} - ${maxAck} = ${u32(rEnd - maxAck)}`, ok: dIV <= 0,
      failText: `sack is ${dIV} before the lower bound (an overly delayed ACK)`,
    },
  ];
  const failed = x.check;
  const order = b.ternaryWindow
    ? 'order I, III, II, IV; I or III failing is INVALID, II or IV IGNORE (6.1+)'
    : 'order I, II, III, IV; any failure is INVALID (before 6.1)';
  let summary: string;
  if (failed === 'OVERSHOOT') {
    const over = u32(end - sMaxend + 1);
    summary = `tcp_in_window: check I failed, but the segment overshoots by ${over} bytes, which fits receiver.td_maxwin ${rMaxwin} ("work around exceeded receive window", cf97769c761a): sender.td_end advanced -> ${outcome}`;
  } else {
    const row = checks.find((c) => c.id === failed);
    summary = `tcp_in_window: check ${failed} failed (${row?.expr ?? '?'}): ${row?.failText ?? ''} -> ${outcome}`;
  }
  const liberal = ctx.sysctls.nf_conntrack_tcp_be_liberal === 1;
  const detail: string[] = [];
  detail.push(`checks in ${order}; sequence numbers compare mod 2^32 (before()/after())${liberal ? '' : '; nf_conntrack_tcp_be_liberal=0'}:`);
  for (const c of checks) {
    const status = c.skipped ?? (c.ok ? 'ok' : `FAILED${c.id === failed || (failed === 'OVERSHOOT' && c.id === 'I') ? ' <- decides' : ''}`);
    detail.push(`  ${c.id.padEnd(4)}${c.expr.padEnd(48)}${c.values.padEnd(44)}${status}`);
  }
  const dirName = DIR_NAMES[v.dir];
  const cls = v.packetClass;
  const noAck = (ctx.tcpFlags & TcpFlag.ACK) === 0;
  const cell = v.tableCell >= 0 ? ` (${tableCellText(v.dir, cls, v.stateBefore, v.tableCell)})` : '';
  detail.push(`packet: ${dirName} ${TCP_CLASS_NAMES[cls]} in ${tcpStateName(v.stateBefore)}${cell}`);
  detail.push(`  seq=${seq} end=${end} ack=${x.ack} sack=${sack} win=${x.win}${noAck ? ' (no ACK flag: ack = sack = receiver.td_end)' : ''}`);
  detail.push(`sender   (${dirName.padEnd(8)}): td_end=${sEnd} td_maxend=${sMaxend} td_maxwin=${x.senderMaxwin} td_scale=${x.senderScale}`);
  detail.push(`receiver (${DIR_NAMES[v.dir ^ 1].padEnd(8)}): td_end=${rEnd} td_maxend=${x.receiverMaxend} td_maxwin=${rMaxwin} td_scale=${x.receiverScale}`);
  if (v.hasRst) detail.push(...rstLines(v, ctx));
  return {
    kind: 'window',
    check: failed,
    summary,
    detail,
    data: {
      check: failed,
      checks: Object.fromEntries(checks.map((c) => [c.id, c.skipped ? 'skipped' : c.ok ? 'ok' : 'failed'])),
      packet: { seq, end, ack: x.ack, sack, win: x.win },
      sender: { dir: dirName, td_end: sEnd, td_maxend: sMaxend, td_maxwin: x.senderMaxwin, td_scale: x.senderScale },
      receiver: { dir: DIR_NAMES[v.dir ^ 1], td_end: rEnd, td_maxend: x.receiverMaxend, td_maxwin: rMaxwin, td_scale: x.receiverScale },
      table: tableData(v.dir, cls, v.stateBefore, v.tableCell),
      ...(v.hasRst ? { rst: rstData(v) } : {}),
    },
  };
}

function explainIgnored(v: Verdict, ctx: ExplainContext): Explanation {
  const { dir, index, state } = v.reason;
  const cell = v.tableCell >= 0 ? v.tableCell : TcpCtState.IGNORE;
  const detail = [`direction ${DIR_NAMES[dir]}, packet class ${TCP_CLASS_NAMES[index]} (index ${index}), old state ${tcpStateName(state)}, table cell ${abbr(cell)}`];
  let summary: string;
  if (cell === TcpCtState.SYN_SENT) {
    summary = `state table: ${tableCellText(dir, index, state, cell)} (re-open), but the old connection was neither closed by a FIN nor aborted by an RST from this side: handled like an ignored packet -> IGNORE`;
  } else {
    summary = `state table: ${tableCellText(dir, index, state, cell)}: let through with the entry attached, nothing learnt -> IGNORE`;
  }
  detail.push('remembered for a later resync: last_index, last_dir, last_seq, last_end, last_win');
  if (index === TcpPacketClass.ACK && dir === 1 && state === TcpCtState.SYN_SENT) {
    detail.push(ctx.profile.behaviour.challengeAckReuse
      ? 'an ACK answering our SYN: possibly an RFC 5961 challenge ACK; its ack is kept as last_ack, so an RST with that seq is accepted (c410cb974f2b)'
      : 'an ACK answering our SYN: possibly an RFC 5961 challenge ACK; this kernel lacks c410cb974f2b (v6.2), so the RST answering it gets the window check');
  } else if (index === TcpPacketClass.SYN) {
    detail.push(`a SYN on a synchronised entry: its options are kept so a SYN/ACK answering it can resync the entry${state === TcpCtState.LAST_ACK ? '; in LAST_ACK a challenge ACK may answer it' : ''}`);
  } else if (index === TcpPacketClass.SYNACK) {
    detail.push('a SYN/ACK on a synchronised entry: it resyncs the entry only when it answers a SYN we let through (ack == last_end)');
  }
  return { kind: 'table', summary, detail, data: { table: tableData(dir, index, state, cell) } };
}

function explainRst(v: Verdict, ctx: ExplainContext, outcome: string): Explanation {
  const r = v.rst;
  const peer = DIR_NAMES[v.reason.dir ^ 1];
  const sysctl = ctx.profile.behaviour.ignoreInvalidRstSysctl
    ? `nf_conntrack_tcp_ignore_invalid_rst=${ctx.sysctls.nf_conntrack_tcp_ignore_invalid_rst ?? 0}`
    : 'this kernel has no nf_conntrack_tcp_ignore_invalid_rst (v5.14+)';
  return {
    kind: 'rst',
    summary: `RST check: seq ${r.seq} is ${u32(r.peerMaxack - r.seq)} before the peer's td_maxack ${r.peerMaxack} (the highest ACK the ${peer} side sent) -> ${outcome} "invalid rst"`,
    detail: [`${sysctl}; state ${tcpStateName(v.reason.state)}`, ...rstLines(v, ctx).slice(1)],
    data: { rst: rstData(v) },
  };
}

function explainAcceptedRst(v: Verdict): Explanation | null {
  const r = v.rst;
  const state = tcpStateName(v.stateBefore);
  switch (r.branch) {
    case RstBranch.CLOSING_NO_CHECKS:
      return { kind: 'rst', summary: `RST in ${state}: when closing, every RST check and the window check are skipped (c4edc3ccbc63) -> ACCEPT`, detail: [], data: { rst: rstData(v) } };
    case RstBranch.ANSWERS_IGNORED:
      return { kind: 'rst', summary: `RST answers the ${TCP_CLASS_NAMES[r.lastIndex]} we let through (ack ${r.ack} == last_end ${r.lastEnd}): no window check -> ACCEPT`, detail: [], data: { rst: rstData(v) } };
    case RstBranch.ANSWERS_CHALLENGE_ACK:
      return {
        kind: 'rst',
        summary: `RST answers the challenge ACK let through in SYN_SENT (seq ${r.seq} == last_ack ${r.lastAck}, c410cb974f2b "handle tcp challenge acks during connection reuse"): no window check -> ACCEPT`,
        detail: [],
        data: { rst: rstData(v) },
      };
    case RstBranch.INEXACT_KEEP_STATE:
      return {
        kind: 'rst',
        summary: `RST seq ${r.seq} != the peer's td_maxack ${r.peerMaxack} on an established entry (be0502a3f2e9): accepted, state kept (the peer's challenge ACK may follow) -> ACCEPT`,
        detail: [],
        data: { rst: rstData(v) },
      };
  }
  return null;
}

/** Why an RST went on to the window check (or was refused), one line each. */
function rstLines(v: Verdict, ctx: ExplainContext): string[] {
  const r = v.rst;
  const b = ctx.profile.behaviour;
  const lines = ['RST checks (nf_conntrack_tcp_packet, CLOSE cell):'];
  if (!r.maxackSet) lines.push('  peer td_maxack: not set (no ACK seen from the peer)');
  else if (!r.maxackUsed) lines.push(`  peer td_maxack ${r.peerMaxack}: not used, the last packet was a SYN we let through (c4edc3ccbc63)`);
  else if (r.branch === RstBranch.BELOW_MAXACK) lines.push(`  seq ${r.seq} before the peer's td_maxack ${r.peerMaxack}: "invalid rst"`);
  else if (r.belowMaxack) lines.push(`  seq ${r.seq} before the peer's td_maxack ${r.peerMaxack}, not refused: nf_conntrack_tcp_ignore_invalid_rst=1`);
  else lines.push(`  seq ${r.seq} not before the peer's td_maxack ${r.peerMaxack}`);
  switch (r.branch) {
    case RstBranch.SEQ_ZERO: lines.push('  seq 0 on an entry not ESTABLISHED+ASSURED: on to the window check'); break;
    case RstBranch.EXACT: lines.push(r.established ? `  seq == td_maxack exactly (be0502a3f2e9): on to the window check` : '  entry not ESTABLISHED+ASSURED: on to the window check'); break;
    case RstBranch.RST_TRAIN: lines.push(`  seq == end of our own last data (RST train): on to the window check`); break;
    case RstBranch.WINDOW: {
      const last = `${TCP_CLASS_NAMES[r.lastIndex]} from ${DIR_NAMES[r.lastDir] ?? r.lastDir}`;
      lines.push(`  not the answer to a packet we let through (last packet: ${last}; ack ${r.ack} != last_end ${r.lastEnd})`);
      if (!b.challengeAckReuse) lines.push('  this kernel lacks c410cb974f2b "handle tcp challenge acks during connection reuse" (v6.2): no exception for the RST answering a challenge ACK');
      else lines.push(`  not the answer to a challenge ACK in SYN_SENT (seq ${r.seq} != last_ack ${r.lastAck})`);
      lines.push('  -> on to the window check');
      break;
    }
  }
  return lines;
}

function rstData(v: Verdict): Record<string, unknown> {
  const r = v.rst;
  const branch = Object.entries(RstBranch).find(([, n]) => n === r.branch)?.[0] ?? String(r.branch);
  return {
    branch: branch.toLowerCase().replace(/_/g, '-'), seq: r.seq, ack: r.ack, peerMaxack: r.maxackSet ? r.peerMaxack : null, maxackUsed: r.maxackUsed,
    established: r.established, lastIndex: TCP_CLASS_NAMES[r.lastIndex], lastDir: DIR_NAMES[r.lastDir], lastEnd: r.lastEnd, lastAck: r.lastAck,
  };
}

/** Text lines for a terminal or a packet comment: the summary, then the detail indented. */
export function explanationLines(e: Explanation): string[] {
  return [`why: ${e.summary}`, ...e.detail.map((l) => `  ${l}`)];
}

export function explanationJson(e: Explanation): Record<string, unknown> {
  return { kind: e.kind, ...(e.check ? { check: e.check } : {}), summary: e.summary, detail: e.detail, ...e.data };
}
