// tcp_conntracks[dir][class][state] (nf_conntrack_proto_tcp.c, identical 4.19 .. 7.x), checked as
// behaviour: every cell is driven through the engine. Windows are made permissive with
// nf_conntrack_tcp_be_liberal=1 so only the table (and its override rules) decides.
import { describe, expect, it } from 'vitest';
import { TCP_TRANSITIONS, nextTcpState } from '../../src/conntrack/tcp-state-table.js';
import { Status } from '../../src/conntrack/status.js';
import { TCP_CLASS_NAMES, TcpCtState, tcpStateName } from '../../src/conntrack/tcp-states.js';
import { ACK, FIN, RST, SYN, c2s, s2c } from '../support/segments.js';
import { Driver, handshake } from '../support/ct-driver.js';

// Expected cells in the kernel's notation (golden data, typed from the kernel's table comments).
const EXPECTED = {
  original: {
    SYN: 'sSS sSS sIG sIG sIG sIG sIG sSS sSS sS2',
    SYNACK: 'sIV sIV sSR sIV sIV sIV sIV sIV sIV sSR',
    FIN: 'sIV sIV sFW sFW sLA sLA sLA sTW sCL sIV',
    ACK: 'sES sIV sES sES sCW sCW sTW sTW sCL sIV',
    RST: 'sIV sCL sCL sCL sCL sCL sCL sCL sCL sCL',
    NONE: 'sIV sIV sIV sIV sIV sIV sIV sIV sIV sIV',
  },
  reply: {
    SYN: 'sIV sS2 sIV sIV sIV sIV sIV sSS sIV sS2',
    SYNACK: 'sIV sSR sIG sIG sIG sIG sIG sIG sIG sSR',
    FIN: 'sIV sIV sFW sFW sLA sLA sLA sTW sCL sIV',
    ACK: 'sIV sIG sSR sES sCW sCW sTW sTW sCL sIG',
    RST: 'sIV sCL sCL sCL sCL sCL sCL sCL sCL sCL',
    NONE: 'sIV sIV sIV sIV sIV sIV sIV sIV sIV sIV',
  },
} as const;
const CODE: Record<string, number> = { sNO: 0, sSS: 1, sSR: 2, sES: 3, sFW: 4, sCW: 5, sLA: 6, sTW: 7, sCL: 8, sS2: 9, sIV: 10, sIG: 11 };
const FLAGS: Record<string, number> = { SYN, SYNACK: SYN | ACK, FIN: FIN | ACK, ACK, RST, NONE: 0 };

describe('TCP transition table', () => {
  it('the data equals the kernel table cell for cell', () => {
    (['original', 'reply'] as const).forEach((dirName, dir) => {
      TCP_CLASS_NAMES.forEach((cls, ci) => {
        const cells = EXPECTED[dirName][cls].split(' ');
        cells.forEach((cell, state) => expect(nextTcpState(dir as 0 | 1, ci as never, state), `${dirName} ${cls} ${tcpStateName(state)}`).toBe(CODE[cell]));
      });
    });
    expect(TCP_TRANSITIONS.length).toBe(2 * 6 * 10);
  });

  // Every (dir, class, state>NONE) cell through the engine: sIV -> INVALID, sIG -> IGNORE (state
  // kept), otherwise ACCEPT into the cell's state. NONE is tcp_new's column (tested below).
  for (const [dir, dirName] of [[0, 'original'], [1, 'reply']] as const) {
    for (const cls of TCP_CLASS_NAMES) {
      it(`${dirName} ${cls} in every state`, () => {
        const cells = EXPECTED[dirName][cls].split(' ');
        for (let state = 1; state < 10; state++) {
          const d = new Driver({ kernel: '6.18', sysctls: ['nf_conntrack_tcp_be_liberal=1'] });
          handshake(d);
          d.ct.records.setState(0, state);
          // A neutral history: no FIN (CLOSE_INIT) and no RST recorded, reply seen.
          d.ct.records.setTdFlags(0, d.ct.records.tdFlags(0) & ~0x04);
          d.ct.records.setTdFlags(1, d.ct.records.tdFlags(1) & ~0x04);
          d.ct.records.setLastIndex(0, 5);
          d.ct.records.setStatus(0, d.ct.records.status(0) | Status.SEEN_REPLY);
          const args = { seq: dir === 0 ? 0xfffffff1 : 0x7ffffff1, ack: dir === 0 ? 0x7ffffff1 : 0xfffffff1, flags: FLAGS[cls] };
          const step = d.send(dir === 0 ? c2s(args) : s2c(args));
          const cell = cells[state];
          const where = `${dirName} ${cls} in ${tcpStateName(state)} (${cell})`;
          if (cell === 'sIV' || cls === 'NONE') {
            expect(step.outcome, where).toBe('INVALID');
          } else if (cell === 'sIG' || (cell === 'sSS' && state >= TcpCtState.TIME_WAIT)) {
            // sSS from TIME_WAIT/CLOSE without FIN or own RST history is handled as ignored
            expect(step.outcome, where).toBe('IGNORE');
            expect(d.ct.records.state(0), where).toBe(state);
          } else {
            expect(step.outcome, where).toBe('ACCEPT');
            expect(tcpStateName(d.ct.records.state(0)), where).toBe(tcpStateName(CODE[cell]));
          }
        }
      });
    }
  }

  it('NONE column (tcp_new): only a SYN, or an ACK with nf_conntrack_tcp_loose=1, creates an entry', () => {
    for (const [cls, f] of Object.entries(FLAGS)) {
      const d = new Driver({ kernel: '6.18' });
      const s = d.send(c2s({ seq: 1, ack: 1, flags: f }));
      if (cls === 'SYN') expect(s).toMatchObject({ outcome: 'ACCEPT', state: 'SYN_SENT', created: true });
      else if (cls === 'ACK') expect(s).toMatchObject({ outcome: 'ACCEPT', state: 'ESTABLISHED', created: true });
      else expect(s.outcome, cls).toBe('INVALID');
    }
    const strict = new Driver({ kernel: '6.18', sysctls: ['nf_conntrack_tcp_loose=0'] });
    expect(strict.send(c2s({ seq: 1, ack: 1, flags: ACK })).outcome).toBe('INVALID');
    expect(strict.ct.count).toBe(0);
  });

  it('tcp_error: invalid flag combinations are INVALID before any table lookup', () => {
    for (const f of [SYN | FIN, SYN | RST, FIN, 0x29 /* FIN|PSH|URG xmas */]) {
      const d = new Driver({ kernel: '6.18' });
      expect(d.send(c2s({ seq: 1, flags: f })).reason, `flags ${f}`).toBe('invalid tcp flag combination');
    }
  });
});
