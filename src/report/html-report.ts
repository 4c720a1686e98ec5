// The HTML report: one self-contained file (inline CSS, inline script, inline SVG; no network, no
// CDN, no external font) that an engineer can attach to a ticket. The packet table is rendered
// here, so the file reads without JavaScript; the script adds the explain panel (a click on a row
// shows its --explain story, notes and a hex dump of its bytes) and the filters.
import { toHex } from '../wire/index.js';
import type { ReportInput, ReportPacket, ReportTable, ReportVerdict } from './report-types.js';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** JSON safe inside <script>: no "</script>", no "<!--". */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The row class a verdict gives: what the reader's eye should catch. */
function verdictClass(v: ReportVerdict | null): string {
  if (!v) return 'skip';
  switch (v.outcome) {
    case 'INVALID': return 'invalid';
    case 'DROP': case 'dropped': return 'drop';
    case 'IGNORE': return 'ignore';
    case 'UNTRACKED': case 'DUPLICATE': return 'untracked';
    default: return 'accept';
  }
}

function verdictCell(v: ReportVerdict | null): string {
  if (!v) return '<td class="verdict">-</td>';
  const state = v.state ? ` ${v.stateBefore && v.stateBefore !== v.state ? `${v.stateBefore}&rarr;` : ''}${escapeHtml(v.state)}` : '';
  const label = v.outcome === 'ACCEPT' ? v.ctinfo : v.outcome === v.ctinfo ? v.outcome : `${v.ctinfo} ${v.outcome}`;
  return `<td class="verdict ${verdictClass(v)}"><b>${escapeHtml(label)}</b>${escapeHtml(v.dir ? ` ${v.dir}` : '')}${state}${v.reason ? `<div class="reason">${escapeHtml(v.reason)}</div>` : ''}</td>`;
}

function packetRow(p: ReportPacket, compare: boolean, i: number): string {
  const cls = [verdictClass(p.a), p.b ? `b-${verdictClass(p.b)}` : '', p.differs ? 'differs' : ''].filter(Boolean).join(' ');
  return `<tr class="pkt ${cls}" data-i="${i}" tabindex="0"><td class="num">${p.n}</td><td class="num">${p.time.toFixed(6)}</td><td>${escapeHtml(p.where)}</td>`
    + `<td class="tuple">${escapeHtml(p.src)} &rarr; ${escapeHtml(p.dst)}</td><td class="flags">${escapeHtml(p.flags)}</td><td class="num">${p.seq}</td><td class="num">${p.ack ?? ''}</td><td class="num">${p.len}</td>`
    + `${verdictCell(p.a)}${compare ? verdictCell(p.b) : ''}</tr>`;
}

function tableSection(t: ReportTable): string {
  const bad = t.rows.filter((r) => r.tone === 'bad').length;
  const warn = t.rows.filter((r) => r.tone === 'warn').length;
  return `<section id="${escapeHtml(t.id)}" class="side-by-side"><h2>${escapeHtml(t.title)}: ${t.rows.length} rows, <span class="differ-count">${bad}</span> differ${warn ? `, ${warn} timing outside the tolerance` : ''}</h2><div class="tablewrap"><table><thead><tr>${t.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>`
    + t.rows.map((r) => `<tr class="row ${r.tone}">${r.cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n')
    + '</tbody></table></div></section>';
}

const STYLE = `
:root { --bad:#c62828; --warn:#ef6c00; --good:#2e7d32; --muted:#666; --accent:#1f5fbf; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { padding: 14px 20px; background: #263238; color: #fff; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header code { color: #cfd8dc; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 430px; gap: 16px; padding: 16px 20px; }
section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; margin-bottom: 16px; }
h2 { font-size: 15px; margin: 0 0 8px; }
.facts { display: flex; flex-wrap: wrap; gap: 8px; }
.fact { border-left: 4px solid #999; padding: 4px 10px; background: #f4f4f4; }
.fact.bad { border-color: var(--bad); } .fact.good { border-color: var(--good); }
.fact .label { color: var(--muted); font-size: 12px; display: block; }
.profile { margin: 2px 0; }
.badge { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 12px; color: #fff; background: #777; }
.badge.verified, .badge.real { background: var(--good); } .badge.modelled { background: var(--warn); }
.ladder { overflow: auto; max-height: 70vh; }
table { border-collapse: collapse; width: 100%; font: 12px/1.3 ui-monospace, monospace; }
th { text-align: left; position: sticky; top: 0; background: #eceff1; }
td, th { padding: 3px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
td.num { text-align: right; }
tr.pkt { cursor: pointer; } tr.pkt:hover { background: #e3f2fd; } tr.pkt.selected { background: #bbdefb; }
td.invalid { color: var(--bad); } td.drop { color: #555; text-decoration: line-through; } td.ignore { color: var(--warn); }
tr.differs td:first-child, tr.row.bad td:first-child { border-left: 4px solid var(--bad); }
tr.row.bad { background: #ffebee; } tr.row.warn { background: #fff8e1; }
.reason { color: var(--muted); font-size: 11px; }
.tablewrap { max-height: 75vh; overflow: auto; }
.toolbar { margin-bottom: 6px; } .toolbar label { margin-right: 12px; }
aside { position: sticky; top: 10px; align-self: start; }
#explain pre { white-space: pre-wrap; overflow-x: auto; font: 11px/1.35 ui-monospace, monospace; background: #f6f8fa; padding: 6px; margin: 4px 0; }
#explain pre.hex { white-space: pre; }
td.tuple { white-space: nowrap; }
#explain .empty { color: var(--muted); }
details pre { font: 11px/1.35 ui-monospace, monospace; max-height: 40vh; overflow: auto; }
main.wide { grid-template-columns: 1fr; }
@media (max-width: 1100px) { main { grid-template-columns: 1fr; } aside { position: static; } }
`;

/** The page's behaviour: row selection, the explain panel, the filters. No network, no eval. */
const SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var panel = document.getElementById('explain');
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function hexDump(hex) {
    var lines = [];
    for (var off = 0; off < hex.length / 2; off += 16) {
      var h = [], a = '';
      for (var i = off; i < Math.min(off + 16, hex.length / 2); i++) {
        var b = parseInt(hex.substr(i * 2, 2), 16);
        h.push(hex.substr(i * 2, 2));
        a += b >= 32 && b < 127 ? String.fromCharCode(b) : '.';
      }
      lines.push(('000' + off.toString(16)).slice(-4) + '  ' + h.join(' ').padEnd(48) + '  ' + a);
    }
    return lines.join('\\n');
  }
  function verdictBlock(label, v) {
    var box = el('div');
    if (!v) { box.appendChild(el('p', 'empty', label + ': not tracked')); return box; }
    box.appendChild(el('h3', null, label + ': ' + v.ctinfo + (v.outcome !== 'ACCEPT' && v.outcome !== v.ctinfo ? ' ' + v.outcome : '') + (v.state ? ' (' + (v.stateBefore || 'NONE') + ' -> ' + v.state + ')' : '')));
    if (v.reason) box.appendChild(el('p', 'reason', v.reason));
    box.appendChild(el('pre', 'why', v.explain.length ? v.explain.join('\\n') : 'nothing to explain: the packet passed every check'));
    return box;
  }
  function show(i) {
    var p = data.packets[i];
    panel.textContent = '';
    panel.appendChild(el('h2', null, 'Packet #' + p.n + ' at ' + p.time.toFixed(6) + ' s'));
    panel.appendChild(el('p', null, p.src + ' \\u2192 ' + p.dst + '  ' + p.flags + '  seq=' + p.seq + (p.ack !== null ? ' ack=' + p.ack : '') + ' len=' + p.len + (p.where ? '  (' + p.where + ')' : '')));
    panel.appendChild(verdictBlock(data.profiles[0] ? data.profiles[0].label : 'verdict', p.a));
    if (data.profiles.length > 1 && (p.b || p.differs)) panel.appendChild(verdictBlock(data.profiles[1].label, p.b));
    if (p.notes.length) { panel.appendChild(el('h3', null, 'What happened to it')); panel.appendChild(el('pre', 'notes', p.notes.join('\\n'))); }
    panel.appendChild(el('h3', null, 'Bytes (' + p.hex.length / 2 + ')'));
    panel.appendChild(el('pre', 'hex', hexDump(p.hex)));
    var rows = document.querySelectorAll('tr.pkt.selected');
    for (var r = 0; r < rows.length; r++) rows[r].classList.remove('selected');
    var row = document.querySelector('tr.pkt[data-i="' + i + '"]');
    if (row) row.classList.add('selected');
  }
  var body = document.getElementById('packets');
  if (!body) return;
  body.addEventListener('click', function (ev) {
    var tr = ev.target.closest('tr.pkt');
    if (tr) show(Number(tr.getAttribute('data-i')));
  });
  body.addEventListener('keydown', function (ev) {
    var tr = ev.target.closest('tr.pkt');
    if (tr && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); show(Number(tr.getAttribute('data-i'))); }
  });
  var filter = document.getElementById('filter');
  function applyFilter() {
    var mode = filter.value;
    var rows = body.querySelectorAll('tr.pkt');
    var shown = 0;
    for (var r = 0; r < rows.length; r++) {
      var c = rows[r].classList;
      var ok = mode === 'all' || (mode === 'problems' && (c.contains('invalid') || c.contains('drop') || c.contains('ignore') || c.contains('b-invalid') || c.contains('b-drop') || c.contains('b-ignore'))) || (mode === 'differs' && c.contains('differs'));
      rows[r].hidden = !ok;
      if (ok) shown++;
    }
    document.getElementById('shown').textContent = String(shown);
  }
  filter.addEventListener('change', applyFilter);
  var firstProblem = body.querySelector('tr.pkt.differs, tr.pkt.invalid, tr.pkt.drop');
  if (firstProblem) show(Number(firstProblem.getAttribute('data-i')));
})();
`;

export function renderReport(r: ReportInput): string {
  const compare = r.profiles.length > 1 && r.packets.some((p) => p.b !== null || p.differs);
  const counts = new Map<string, number>();
  for (const p of r.packets) if (p.a) counts.set(p.a.outcome, (counts.get(p.a.outcome) ?? 0) + 1);
  const differ = r.packets.filter((p) => p.differs).length;
  const data = {
    kind: r.kind,
    profiles: r.profiles,
    packets: r.packets.map((p) => ({ n: p.n, time: p.time, where: p.where, src: p.src, dst: p.dst, flags: p.flags, seq: p.seq, ack: p.ack, len: p.len, a: p.a, b: p.b, differs: p.differs, notes: p.notes, hex: toHex(p.bytes) })),
  };
  const profiles = r.profiles.map((p) => `<div class="profile"><b>${escapeHtml(p.label)}</b> <span class="badge ${p.status}">${p.status}</span> <span class="reason">${escapeHtml(p.evidence)}</span></div>`).join('');
  const facts = r.outcome.map((f) => `<div class="fact ${f.tone}"><span class="label">${escapeHtml(f.label)}</span>${escapeHtml(f.value)}</div>`).join('');
  const summary = [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
  const heads = ['#', 'time (s)', 'where', 'tuple', 'flags', 'seq', 'ack', 'len', compare ? escapeHtml(r.profiles[0].label) : 'verdict', ...(compare ? [escapeHtml(r.profiles[1].label)] : [])];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="ctsim ${escapeHtml(r.version)}">
<title>${escapeHtml(r.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(r.title)}</h1><code>${escapeHtml(r.command)}</code> &middot; ctsim ${escapeHtml(r.version)}</header>
<main${r.packets.length ? '' : ' class="wide"'}>
<div>
<section id="outcome"><h2>Outcome</h2><div class="facts">${facts}</div><h2 style="margin-top:10px">Kernel profile${r.profiles.length > 1 ? 's' : ''}</h2>${profiles}</section>
${r.ladderSvg ? `<section id="ladder"><h2>Ladder</h2><div class="ladder">${r.ladderSvg}</div></section>` : ''}
${r.packets.length === 0 && r.tables.length ? '' : `<section id="packet-list"><h2><span id="packet-count">${r.packets.length}</span> packets${r.packetsOmitted ? ` (first ${r.packets.length}; ${r.packetsOmitted} more not included)` : ''}: ${escapeHtml(summary)}${compare ? `; <span id="differ-count">${differ}</span> verdicts differ` : ''}</h2>
<div class="toolbar"><label>Show <select id="filter"><option value="all">every packet</option><option value="problems">INVALID, IGNORE and DROP</option>${compare ? '<option value="differs">verdicts that differ</option>' : ''}</select></label> <span id="shown">${r.packets.length}</span> shown; click a packet for its story and bytes</div>
<div class="tablewrap"><table><thead><tr>${heads.map((h) => `<th>${h}</th>`).join('')}</tr></thead>
<tbody id="packets">
${r.packets.map((p, i) => packetRow(p, compare, i)).join('\n')}
</tbody></table></div></section>`}
${r.tables.map(tableSection).join('\n')}
${r.timeline.length ? `<section id="timeline"><details><summary><b>Timeline</b> (${r.timeline.length} events)</summary><pre>${escapeHtml(r.timeline.join('\n'))}</pre></details></section>` : ''}
</div>
${r.packets.length ? '<aside><section id="explain"><h2>Packet details</h2><p class="empty">Click a packet in the table.</p></section></aside>' : ''}
</main>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
