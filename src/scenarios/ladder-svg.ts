// A ladder (sequence) diagram of a scenario as a standalone SVG: one lane per socket group
// (application, the sidecar's downstream and upstream sides, the upstream server) plus a conntrack
// lane that marks each verdict; arrows carry flags, relative seq/ack and what conntrack did.
// Idle stretches longer than a second are compressed into one row labelled with their duration.
import { seqSub } from '../wire/index.js';
import type { LadderPacket } from './scenario-types.js';

export interface Lane {
  id: string;
  title: string;
}

export interface LadderOptions {
  title: string;
  lanes: Lane[];
  /** Maps a packet endpoint ("addr:port", with the capture point) to a lane id. */
  laneOf: (endpoint: string, p: LadderPacket) => string;
  conntrackLane?: string;
}

const ROW = 26;
const GAP_ROW = 30;
const TOP = 70;
const LEFT = 110;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function human(ns: number): string {
  const s = ns / 1e9;
  if (s >= 3600) return `${(s / 3600).toFixed(2)} h`;
  if (s >= 60) return `${(s / 60).toFixed(1)} min`;
  return `${s.toFixed(s >= 10 ? 1 : 3)} s`;
}

function verdictOf(notes: string[]): { text: string; color: string } {
  const ct = notes.find((n) => n.startsWith('ct '));
  const drop = notes.find((n) => n.startsWith('DROP'));
  if (drop) return { text: drop, color: '#888' };
  if (!ct) return { text: '', color: '#1f5fbf' };
  if (ct.startsWith('ct INVALID')) return { text: ct, color: '#c62828' };
  if (/ignored/.test(ct)) return { text: ct, color: '#ef6c00' };
  return { text: ct, color: '#1f5fbf' };
}

export function ladderSvg(packets: LadderPacket[], o: LadderOptions): string {
  const laneX = new Map<string, number>();
  const width = LEFT + o.lanes.length * 190 + 40;
  o.lanes.forEach((l, i) => laneX.set(l.id, LEFT + 60 + i * 190));
  const seqBase = new Map<string, number>();
  const rel = (ep: string, v: number, isSyn: boolean) => {
    if (isSyn || !seqBase.has(ep)) seqBase.set(ep, v);
    return seqSub(v, seqBase.get(ep) ?? v);
  };
  const rows: string[] = [];
  let y = TOP;
  let last = packets.length ? packets[0].timeNs : 0;
  for (const p of packets) {
    if (p.timeNs - last > 1e9) {
      rows.push(`<text x="${width / 2}" y="${y + 18}" text-anchor="middle" font-style="italic" fill="#555">⋯ ${esc(human(p.timeNs - last))} later ⋯</text>`);
      rows.push(`<line x1="${LEFT}" y1="${y + 4}" x2="${width - 20}" y2="${y + 4}" stroke="#ccc" stroke-dasharray="2,4"/>`);
      y += GAP_ROW;
    }
    last = p.timeNs;
    const fromLane = o.laneOf(p.src, p);
    const toLane = o.laneOf(p.dst, p);
    const from = laneX.get(fromLane);
    const to = laneX.get(toLane);
    // Relative numbers per (lane, endpoint): after NAT one address can stand for two sockets.
    const srcKey = `${fromLane}|${p.src}|${toLane}`;
    const dstKey = `${toLane}|${p.dst}|${fromLane}`;
    const seq = rel(srcKey, p.seq, p.flags.includes('S'));
    const ack = p.flags.includes('.') ? seqSub(p.ack, seqBase.get(dstKey) ?? p.ack) : null;
    const v = verdictOf(p.notes);
    const label = `${p.flags} seq=${seq}${ack !== null ? ` ack=${ack}` : ''}${p.len ? ` len=${p.len}` : ''}`;
    rows.push(`<text x="8" y="${y + 4}" font-size="10" fill="#444">${esc((p.timeNs / 1e9).toFixed(6))}</text>`);
    if (from !== undefined && to !== undefined && from !== to) {
      const dir = to > from ? 1 : -1;
      rows.push(`<line x1="${from}" y1="${y}" x2="${to - dir * 6}" y2="${y}" stroke="${v.color}" stroke-width="1.5"/>`);
      rows.push(`<polygon points="${to},${y} ${to - dir * 8},${y - 4} ${to - dir * 8},${y + 4}" fill="${v.color}"/>`);
      rows.push(`<text x="${(from + to) / 2}" y="${y - 4}" text-anchor="middle" font-size="10" fill="${v.color}">${esc(label)}</text>`);
    } else {
      rows.push(`<text x="${(from ?? LEFT + 60) + 6}" y="${y + 4}" font-size="10" fill="${v.color}">${esc(`${p.src} > ${p.dst} ${label}`)}</text>`);
    }
    if (o.conntrackLane && v.text) {
      const cx = laneX.get(o.conntrackLane)!;
      rows.push(`<circle cx="${cx}" cy="${y}" r="4" fill="${v.color}"><title>${esc(v.text)}</title></circle>`);
      rows.push(`<text x="${cx + 8}" y="${y + 12}" font-size="9" fill="${v.color}">${esc(v.text.length > 60 ? `${v.text.slice(0, 57)}...` : v.text)}</text>`);
    }
    y += ROW;
  }
  const height = y + 30;
  const lanes = o.lanes.map((l) => {
    const x = laneX.get(l.id)!;
    return `<text x="${x}" y="40" text-anchor="middle" font-weight="bold" font-size="12">${esc(l.title)}</text><line x1="${x}" y1="50" x2="${x}" y2="${height - 10}" stroke="#999"/>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(o.title)}</text>`,
    ...lanes,
    ...rows,
    '</svg>',
    '',
  ].join('\n');
}
