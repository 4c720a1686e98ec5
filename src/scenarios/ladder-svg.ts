// A ladder (sequence) diagram as a standalone SVG, drawn from typed facts: one lane per socket
// group or endpoint plus a conntrack lane; arrows carry flags, seq/ack (raw by default, so the RST
// whose seq equals the challenge ACK's ack shows the same number) and are coloured by conntrack's
// verdict; bars beside the lanes show each socket's TCP state and each conntrack entry's life
// over time, ending in a cross where the entry expired or was destroyed; markers show what the
// application saw (connected, ETIMEDOUT, ...). A legend explains the colours. Idle stretches
// longer than a second are compressed into one row labelled with their duration.
import { seqSub } from '../wire/index.js';

export interface Lane {
  id: string;
  title: string;
}

/** conntrack's verdict on an arrow's packet ('none': not seen by the conntrack drawn). */
export type LadderVerdict = 'accept' | 'ignore' | 'invalid' | 'drop' | 'none';

export interface LadderArrow {
  timeNs: number;
  from: string;
  to: string;
  flags: string;
  seq: number;
  ack: number | null;
  len: number;
  verdict: LadderVerdict;
  /** Text next to the conntrack lane (the verdict and state change). */
  verdictText: string;
  /** Relative numbers are kept per this key (a connection side); default from|to. */
  flowKey?: string;
}

/** A bar beside a lane from startNs to endNs (null: to the end): a socket state or a conntrack entry. */
export interface LadderBar {
  lane: string;
  /** Bars of one thing (a socket, an entry) share a track beside the lane. */
  track: string;
  kind: 'socket' | 'entry';
  startNs: number;
  endNs: number | null;
  label: string;
  /** Shown on hover (e.g. the entry's tuple). */
  detail?: string;
  /** Drawn at the end: why it ended ("expired", "destroyed: reopen"); null when it did not end. */
  endLabel: string | null;
}

export interface LadderMarker {
  lane: string;
  timeNs: number;
  text: string;
  tone: 'bad' | 'good' | 'neutral';
}

export interface LadderDiagram {
  title: string;
  lanes: Lane[];
  arrows: LadderArrow[];
  bars?: LadderBar[];
  markers?: LadderMarker[];
  conntrackLane?: string;
  /** 'raw' numbers as on the wire, or 'relative' to each flow side's first seq. */
  seq?: 'raw' | 'relative';
}

const ROW = 26;
const EDGE_ROW = 14;
const GAP_ROW = 30;
const TOP = 76;
const LEFT = 110;
const LANE_W = 230;
const TRACK_W = 9;

export const VERDICT_COLOUR: Record<LadderVerdict, string> = { accept: '#1f5fbf', ignore: '#ef6c00', invalid: '#c62828', drop: '#888888', none: '#1f5fbf' };

/** Socket states and entry states share one palette: open (green), closing (amber), waiting (violet). */
function stateColour(label: string): string {
  if (/^(ESTABLISHED|SYN_SENT|SYN_RECV)/.test(label)) return '#66bb6a';
  if (/^(CLOSE_WAIT|LAST_ACK|CLOSING)/.test(label)) return '#ffb300';
  if (/^FIN_WAIT/.test(label)) return '#e53935';
  if (/^TIME_WAIT/.test(label)) return '#8e24aa';
  if (/^LISTEN/.test(label)) return '#bdbdbd';
  return '#90a4ae';
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function human(ns: number): string {
  const s = ns / 1e9;
  if (s >= 3600) return `${(s / 3600).toFixed(2)} h`;
  if (s >= 60) return `${(s / 60).toFixed(1)} min`;
  return `${s.toFixed(s >= 10 ? 1 : 3)} s`;
}

/**
 * Vertical positions: every arrow gets a row of its own (in order); a moment with no arrow (a bar
 * starting or ending, a marker) gets a thin row; stretches of more than a second collapse.
 */
function layout(d: LadderDiagram, endNs: number): { arrowY: number[]; yOf: (t: number) => number; gaps: { y: number; ns: number }[]; height: number } {
  const arrowTimes = new Set(d.arrows.map((a) => a.timeNs));
  const extra = new Set<number>();
  for (const b of d.bars ?? []) {
    extra.add(b.startNs);
    if (b.endNs !== null) extra.add(b.endNs);
  }
  for (const m of d.markers ?? []) extra.add(m.timeNs);
  const items: { t: number; arrow: number }[] = d.arrows.map((a, i) => ({ t: a.timeNs, arrow: i }));
  for (const t of extra) if (!arrowTimes.has(t) && t <= endNs) items.push({ t, arrow: -1 });
  items.sort((a, b) => a.t - b.t || a.arrow - b.arrow);
  const ys = new Map<number, number>();
  const arrowY: number[] = new Array<number>(d.arrows.length);
  const gaps: { y: number; ns: number }[] = [];
  let y = TOP;
  let last = items.length ? items[0].t : 0;
  for (const it of items) {
    if (it.t - last > 1e9) {
      gaps.push({ y, ns: it.t - last });
      y += GAP_ROW;
    }
    last = it.t;
    if (!ys.has(it.t)) ys.set(it.t, y);
    if (it.arrow >= 0) arrowY[it.arrow] = y;
    y += it.arrow >= 0 ? ROW : EDGE_ROW;
  }
  const bottom = y;
  // A time with no row of its own (a bar ending after the run) is drawn at the bottom.
  return { arrowY, yOf: (t) => ys.get(t) ?? bottom, gaps, height: bottom };
}

export function ladderSvg(d: LadderDiagram): string {
  const laneX = new Map<string, number>();
  const width = LEFT + d.lanes.length * LANE_W + 40;
  d.lanes.forEach((l, i) => laneX.set(l.id, LEFT + 60 + i * LANE_W));
  const bars = d.bars ?? [];
  const markers = d.markers ?? [];
  const endNs = Math.max(0, ...d.arrows.map((a) => a.timeNs), ...bars.map((b) => b.endNs ?? b.startNs), ...markers.map((m) => m.timeNs));
  const { arrowY, yOf, gaps, height: bodyBottom } = layout(d, endNs);
  const relative = d.seq === 'relative';
  const seqBase = new Map<string, number>();
  const rows: string[] = [];
  for (const g of gaps) {
    rows.push(`<line x1="${LEFT}" y1="${g.y + 4}" x2="${width - 20}" y2="${g.y + 4}" stroke="#ccc" stroke-dasharray="2,4"/>`);
    rows.push(`<text x="${width / 2}" y="${g.y + 18}" text-anchor="middle" font-style="italic" fill="#555">⋯ ${esc(human(g.ns))} later ⋯</text>`);
  }

  // Bars first, so arrows are drawn over them. Each track gets its own offset beside its lane.
  const trackSlot = new Map<string, number>();
  const laneTracks = new Map<string, number>();
  for (const b of bars) {
    const key = `${b.lane}|${b.track}`;
    if (!trackSlot.has(key)) {
      const k = laneTracks.get(b.lane) ?? 0;
      trackSlot.set(key, k);
      laneTracks.set(b.lane, k + 1);
    }
  }
  for (const b of bars) {
    const lx = laneX.get(b.lane);
    if (lx === undefined) continue;
    const slot = trackSlot.get(`${b.lane}|${b.track}`) ?? 0;
    const x = b.kind === 'entry' ? lx - 5 + slot * TRACK_W : lx - 14 - slot * TRACK_W;
    const y1 = yOf(b.startNs);
    const y2 = b.endNs === null ? bodyBottom : yOf(b.endNs);
    const colour = stateColour(b.label);
    rows.push(`<rect x="${x}" y="${y1}" width="${TRACK_W - 2}" height="${Math.max(2, y2 - y1)}" fill="${colour}" opacity="0.55"><title>${esc(`${b.kind === 'entry' ? 'conntrack entry' : 'socket'} ${b.track}${b.detail ? ` (${b.detail})` : ''}: ${b.label} from ${(b.startNs / 1e9).toFixed(3)} s${b.endNs !== null ? ` to ${(b.endNs / 1e9).toFixed(3)} s` : ''}`)}</title></rect>`);
    const tx = b.kind === 'entry' ? x + TRACK_W + 1 : x - 3;
    rows.push(`<text x="${tx}" y="${y1 + 9}" font-size="8" fill="#333" text-anchor="${b.kind === 'entry' ? 'start' : 'end'}">${esc(b.label)}</text>`);
    if (b.endLabel !== null && b.endNs !== null) {
      const cx = x + (TRACK_W - 2) / 2;
      rows.push(`<path d="M${cx - 4},${y2 - 4} L${cx + 4},${y2 + 4} M${cx + 4},${y2 - 4} L${cx - 4},${y2 + 4}" stroke="#c62828" stroke-width="2"/>`);
      rows.push(`<text x="${b.kind === 'entry' ? cx + 8 : cx - 8}" y="${y2 + 4}" font-size="9" font-weight="bold" fill="#c62828" text-anchor="${b.kind === 'entry' ? 'start' : 'end'}">${esc(b.endLabel)}</text>`);
    }
  }

  for (let i = 0; i < d.arrows.length; i++) {
    const a = d.arrows[i];
    const y = arrowY[i];
    const from = laneX.get(a.from);
    const to = laneX.get(a.to);
    const srcKey = a.flowKey ?? `${a.from}>${a.to}`;
    const dstKey = a.flowKey ? `${a.flowKey}~reply` : `${a.to}>${a.from}`;
    let seq = a.seq;
    let ack = a.ack;
    if (relative) {
      if (a.flags.includes('S') || !seqBase.has(srcKey)) seqBase.set(srcKey, a.seq);
      seq = seqSub(a.seq, seqBase.get(srcKey) ?? a.seq);
      ack = a.ack === null ? null : seqSub(a.ack, seqBase.get(dstKey) ?? a.ack);
    }
    const colour = VERDICT_COLOUR[a.verdict];
    const label = `${a.flags} seq=${seq}${ack !== null ? ` ack=${ack}` : ''}${a.len ? ` len=${a.len}` : ''}`;
    rows.push(`<text x="8" y="${y + 4}" font-size="10" fill="#444">${esc((a.timeNs / 1e9).toFixed(6))}</text>`);
    const dash = a.verdict === 'drop' ? ' stroke-dasharray="5,3"' : '';
    if (from !== undefined && to !== undefined && from !== to) {
      const dir = to > from ? 1 : -1;
      rows.push(`<line x1="${from}" y1="${y}" x2="${to - dir * 6}" y2="${y}" stroke="${colour}" stroke-width="1.5"${dash}/>`);
      rows.push(`<polygon points="${to},${y} ${to - dir * 8},${y - 4} ${to - dir * 8},${y + 4}" fill="${colour}"/>`);
      rows.push(`<text x="${(from + to) / 2}" y="${y - 4}" text-anchor="middle" font-size="10" fill="${colour}">${esc(label)}</text>`);
    } else {
      rows.push(`<text x="${(from ?? LEFT + 60) + 6}" y="${y + 4}" font-size="10" fill="${colour}">${esc(`${a.from} > ${a.to} ${label}`)}</text>`);
    }
    if (d.conntrackLane && a.verdictText) {
      const cx = laneX.get(d.conntrackLane)!;
      rows.push(`<circle cx="${cx}" cy="${y}" r="4" fill="${colour}"><title>${esc(a.verdictText)}</title></circle>`);
      rows.push(`<text x="${cx + 8}" y="${y + 12}" font-size="9" fill="${colour}">${esc(a.verdictText.length > 60 ? `${a.verdictText.slice(0, 57)}...` : a.verdictText)}</text>`);
    }
  }

  for (const m of markers) {
    const x = laneX.get(m.lane);
    if (x === undefined) continue;
    const y = yOf(m.timeNs);
    const fill = m.tone === 'bad' ? '#c62828' : m.tone === 'good' ? '#2e7d32' : '#455a64';
    const w = m.text.length * 6.6 + 10;
    rows.push(`<rect x="${x - w / 2}" y="${y - 9}" width="${w}" height="16" rx="3" fill="${fill}"/>`);
    rows.push(`<text x="${x}" y="${y + 3}" text-anchor="middle" font-size="11" font-weight="bold" fill="white">${esc(m.text)}</text>`);
  }

  // The legend, under the body.
  const ly = bodyBottom + 24;
  const legend: string[] = [`<text x="10" y="${ly}" font-size="11" font-weight="bold">legend</text>`];
  let lx = 70;
  for (const [v, text] of [['accept', 'accepted by conntrack'], ['ignore', 'ignored (no state change)'], ['invalid', 'INVALID'], ['drop', 'dropped']] as const) {
    legend.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 20}" y2="${ly - 4}" stroke="${VERDICT_COLOUR[v]}" stroke-width="3"${v === 'drop' ? ' stroke-dasharray="5,3"' : ''}/>`);
    legend.push(`<text x="${lx + 26}" y="${ly}" font-size="10">${esc(text)}</text>`);
    lx += 36 + text.length * 6;
  }
  const ly2 = ly + 18;
  lx = 70;
  const bar = (label: string, text: string) => {
    legend.push(`<rect x="${lx}" y="${ly2 - 9}" width="${TRACK_W - 2}" height="12" fill="${stateColour(label)}" opacity="0.55"/><text x="${lx + 12}" y="${ly2}" font-size="10">${esc(text)}</text>`);
    lx += 26 + text.length * 6;
  };
  bar('ESTABLISHED', 'open');
  bar('CLOSE_WAIT', 'CLOSE_WAIT / LAST_ACK');
  bar('FIN_WAIT2', 'FIN_WAIT1/2');
  bar('TIME_WAIT', 'TIME_WAIT');
  legend.push(`<text x="${lx}" y="${ly2}" font-size="10">bars left of a lane: its sockets' TCP states; right of ${d.conntrackLane ? 'the conntrack lane' : 'a lane'}: conntrack entries; ✕ where one ended; seq/ack ${relative ? 'relative to each side\'s first seq' : 'raw, as on the wire'}</text>`);
  const height = ly2 + 20;

  const lanes = d.lanes.map((l) => {
    const x = laneX.get(l.id)!;
    return `<text x="${x}" y="44" text-anchor="middle" font-weight="bold" font-size="12">${esc(l.title)}</text><line x1="${x}" y1="54" x2="${x}" y2="${bodyBottom}" stroke="#999"/>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(d.title)}</text>`,
    ...lanes,
    ...rows,
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}
