// The HTML report as text: self-contained, escaped, and its embedded data intact whatever the
// packets' notes hold (the browser test checks what a user sees).
import { describe, expect, it } from 'vitest';
import { renderReport, type ReportInput } from '../../src/report/index.js';

const hostile = '</script><script>alert(1)</script> & "quotes" <marquee>';

function input(): ReportInput {
  return {
    kind: 'replay', title: `t ${hostile}`, command: `ctsim replay '${hostile}'`, version: '0.0.0',
    profiles: [{ label: '6.1', status: 'modelled', evidence: hostile }],
    outcome: [{ label: hostile, value: hostile, tone: 'bad' }], ladderSvg: null,
    packets: [{
      n: 1, time: 0, where: 'eth0', src: '198.18.0.1:1', dst: '198.19.0.1:2', flags: 'S', seq: 1, ack: null, len: 0,
      a: { ctinfo: 'INVALID', outcome: 'INVALID', dir: null, stateBefore: null, state: null, reason: hostile, explain: [hostile] },
      b: null, differs: false, notes: [hostile], bytes: new Uint8Array([0x45, 0x00]),
    }],
    packetsOmitted: 0, timeline: [hostile], tables: [{ id: 'x', title: hostile, head: [hostile], rows: [{ cells: [hostile], tone: 'bad' }] }],
  };
}

describe('renderReport', () => {
  const html = renderReport(input());
  it('escapes every text it shows and keeps one script element for data and one for behaviour', () => {
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<marquee>');
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
  });
  it('embeds the packets as JSON that parses back to what was given', () => {
    const json = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1];
    const data = JSON.parse(json) as { packets: { notes: string[]; hex: string; a: { explain: string[] } }[] };
    expect(data.packets[0].notes).toEqual([hostile]);
    expect(data.packets[0].a.explain).toEqual([hostile]);
    expect(data.packets[0].hex).toBe('4500');
  });
  it('needs nothing from the network: no external script, style, image or font', () => {
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).toContain("default-src 'none'");
  });
});
