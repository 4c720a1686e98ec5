// Drives a Conntrack like `ctsim replay` does (track, confirm new entries) and reports compactly.
import { Conntrack, type ConntrackOptions } from '../../src/conntrack/conntrack.js';
import { tcpStateName } from '../../src/conntrack/tcp-states.js';
import { trackAndConfirm } from '../../src/conntrack/track-and-confirm.js';
import { OUTCOME_NAMES } from '../../src/conntrack/verdict.js';
import { ACK, SEC, SYN, SYN_OPTS, c2s, s2c } from './segments.js';

export interface Step {
  outcome: string;
  state: string;
  before: string;
  reason: string;
  timeout: number | null;
  reopened: boolean;
  created: boolean;
  destroyed: boolean;
  entry: number;
}

export class Driver {
  readonly ct: Conntrack;
  t = 0;
  constructor(opts: ConntrackOptions = {}) {
    this.ct = new Conntrack(opts);
  }

  send(p: Uint8Array, atSec?: number): Step {
    if (atSec !== undefined) this.t = atSec;
    const now = this.t * SEC;
    const v = trackAndConfirm(this.ct, p, 0, p.length, now);
    return {
      outcome: OUTCOME_NAMES[v.outcome], state: tcpStateName(v.stateAfter), before: tcpStateName(v.stateBefore), reason: this.ct.reasonText(v),
      timeout: v.timeoutNs >= 0 ? v.timeoutNs / SEC : null, reopened: v.reopened, created: v.created, destroyed: v.destroyed, entry: v.entry,
    };
  }

  dump(): string[] {
    return this.ct.dump(this.t * SEC);
  }
}

export const CI = 0xfffffff0; // client ISN near the wrap: sequence bounds cross 2^32
export const SI = 0x7ffffff0;

/** SYN (win 64240, ws 7) / SYN-ACK (win 65160, ws 7) / ACK (win 502): an ASSURED ESTABLISHED entry. */
export function handshake(d: Driver, ci = CI, si = SI): void {
  d.send(c2s({ seq: ci, flags: SYN, win: 64240, options: SYN_OPTS }));
  d.send(s2c({ seq: si, ack: ci + 1, flags: SYN | ACK, win: 65160, options: SYN_OPTS }));
  d.send(c2s({ seq: ci + 1, ack: si + 1, flags: ACK, win: 502 }));
}
