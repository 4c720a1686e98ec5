// A kernel-diff run that lost packets outside conntrack says nothing about conntrack and is retried
// slower. Found against a real 5.10.89 (UML): one guest's capture stopped before tcpdump had read
// the tail of a 500-case batch, and its last ~330 packets read as "kernel dropped" (37 false
// disagreements); the capture then holds fewer outgoing packets than R's interfaces sent.
import { describe, expect, it } from 'vitest';
import { packetsLost, type RunCounts } from '../../src/kerneldiff/kernel-batch.js';

const clean: RunCounts = {
  injected: 1000,
  receivedByR: 1000,
  sentByR: 1000,
  capturedOutgoing: 1000,
  tcpdumpLog: 'listening on any\n1000 packets captured\n1000 packets received by filter\n0 packets dropped by kernel\n',
};

describe('packetsLost: what a run lost outside conntrack', () => {
  it('a run where every injected packet was received, sent and captured lost nothing', () => {
    expect(packetsLost(clean)).toBe(0);
  });

  it('a capture stopped before its tail was read (fewer outgoing packets than R sent) is lossy', () => {
    expect(packetsLost({ ...clean, capturedOutgoing: 670 })).toBe(330);
  });

  it('extra packets (IPv6 neighbour discovery, ARP) on the counters or in the capture are no loss', () => {
    expect(packetsLost({ ...clean, receivedByR: 1004, sentByR: 1006, capturedOutgoing: 1010 })).toBe(0);
  });

  it('a full veth backlog (injected but not received by R) is lossy', () => {
    expect(packetsLost({ ...clean, receivedByR: 990, sentByR: 990, capturedOutgoing: 990 })).toBe(10);
  });

  it("tcpdump's own drops count: dropped by kernel, and received by filter but not captured", () => {
    const log = 'listening on any\n990 packets captured\n1000 packets received by filter\n3 packets dropped by kernel\n';
    expect(packetsLost({ ...clean, tcpdumpLog: log })).toBe(13);
  });
});
