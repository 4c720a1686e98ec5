// The case generators: deterministic from (seed, index), addresses only in 198.18.0.0/16 (clients)
// and 198.19.0.0/16 (servers), every mutation and scene reachable, blind mode never touching the
// address bytes, the byte corruptions doing what they say.
import { describe, expect, it } from 'vitest';
import { CaseGenerator, caseSeed, isClientAddr, isServerAddr, type FuzzCase } from '../../src/fuzz/index.js';
import { blindMutate } from '../../src/fuzz/blind.js';
import { CORRUPTIONS, corruption } from '../../src/fuzz/corruptions.js';
import { fixChecksums } from '../../src/fuzz/draft.js';
import { MUTATIONS } from '../../src/fuzz/mutations.js';
import { FuzzRng } from '../../src/fuzz/rng.js';
import { WireError, encodeSegment, ip, parseIpv4Tcp, readU32, TcpFlag } from '../../src/wire/index.js';

function gen(mode: 'structured' | 'blind' | 'mixed', seed = 1, extra: Partial<ConstructorParameters<typeof CaseGenerator>[0]> = {}): CaseGenerator {
  return new CaseGenerator({ kernel: '6.18', sysctls: [], seed, mode, ...extra });
}

function sameCase(a: FuzzCase, b: FuzzCase): boolean {
  return a.packets.length === b.packets.length && a.packets.every((p, i) => p.timeNs === b.packets[i].timeNs && Buffer.from(p.bytes).equals(Buffer.from(b.packets[i].bytes)));
}

describe('case generation', () => {
  it('is a pure function of (seed, index): same bytes in any order, different seeds differ', () => {
    const a = gen('mixed', 42);
    const b = gen('mixed', 42);
    const forward = Array.from({ length: 30 }, (_, i) => a.generate(i));
    const backward = Array.from({ length: 30 }, (_, i) => b.generate(29 - i)).reverse();
    forward.forEach((c, i) => expect(sameCase(c, backward[i]), `case ${i}`).toBe(true));
    const other = gen('mixed', 43);
    expect(forward.filter((c, i) => sameCase(c, other.generate(i))).length).toBeLessThan(3);
    expect(caseSeed(42, 7)).toBe(caseSeed(42, 7));
    expect(caseSeed(42, 7)).not.toBe(caseSeed(42, 8));
  });

  it('keeps every packet between 198.18.0.0/16 clients and 198.19.0.0/16 servers, in both modes', () => {
    for (const mode of ['structured', 'blind'] as const) {
      const g = gen(mode, 5);
      for (let i = 0; i < 400; i++) {
        for (const p of g.generate(i).packets) {
          if (p.bytes.length < 20) continue; // truncated: no addresses at all
          const src = readU32(p.bytes, 12);
          const dst = readU32(p.bytes, 16);
          const ok = (isClientAddr(src) && isServerAddr(dst)) || (isServerAddr(src) && isClientAddr(dst));
          expect(ok, `${mode} case ${i}: ${src.toString(16)} -> ${dst.toString(16)}`).toBe(true);
        }
      }
    }
  });

  it('times start at 0 and never run backwards; cases respect --max-packets', () => {
    const g = gen('mixed', 9, { maxPackets: 12 });
    for (let i = 0; i < 300; i++) {
      const c = g.generate(i);
      expect(c.packets.length).toBeLessThanOrEqual(12);
      if (c.packets.length) expect(c.packets[0].timeNs).toBe(0);
      for (let k = 1; k < c.packets.length; k++) expect(c.packets[k].timeNs).toBeGreaterThanOrEqual(c.packets[k - 1].timeNs);
      c.packets.forEach((p) => expect(Number.isInteger(p.timeNs)).toBe(true));
    }
  });

  it('reaches every mutation, scene and mode over a few thousand cases', () => {
    const g = gen('mixed', 3);
    const tags = new Set<string>();
    const modes = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const c = g.generate(i);
      modes.add(c.mode);
      for (const t of c.tags) {
        tags.add(t.replace(/[@:].*$/, ''));
        for (const scene of t.replace(/^flow\d+:/, '').split(',')) tags.add(scene);
      }
    }
    expect([...modes].sort()).toEqual(['blind', 'structured']);
    for (const m of MUTATIONS) expect(tags, m).toContain(m);
    for (const s of ['handshake', 'syn-retransmit', 'syn-unanswered', 'synack-retransmit', 'syn-refused', 'simultaneous-open', 'pickup', 'syn-data',
      'data', 'zero-window', 'keepalive', 'dup-acks', 'window-update', 'idle', 'close-client', 'close-server', 'simultaneous-close', 'half-close',
      'rst', 'open', 'reopen', 'challenge-ack', 'late-ack', 'bitflip', 'truncate', 'splice', 'swap', 'time']) {
      expect(tags, s).toContain(s);
    }
  });

  it('structured base conversations carry valid checksums; ISNs cross 2^32 in some of them', () => {
    const g = gen('structured', 11);
    let wraps = 0;
    for (let i = 0; i < 200; i++) {
      const c = g.generate(i);
      if (c.tags.some((t) => t.startsWith('corrupt'))) continue;
      let prev = -1;
      for (const p of c.packets) {
        const r = parseIpv4Tcp(p.bytes);
        if (prev >= 0 && r.tcp.seq < 0x10000 && prev > 0xffff0000) wraps++;
        prev = r.tcp.seq;
      }
    }
    expect(wraps).toBeGreaterThan(0);
  });
});

describe('blind mutation', () => {
  it('never changes bytes 12..19 (the addresses) of a packet that keeps them', () => {
    const base = [0, 1, 2].map((k) => ({
      timeNs: k * 1000,
      bytes: encodeSegment({ src: ip('198.18.0.1'), dst: ip('198.19.0.1'), srcPort: 40000, dstPort: 80, seq: k, ack: 0, flags: TcpFlag.SYN }),
    }));
    for (let s = 0; s < 300; s++) {
      const { packets } = blindMutate(new FuzzRng(s), base, 12);
      for (const p of packets) {
        if (p.bytes.length < 20) continue;
        expect(Buffer.from(p.bytes.subarray(12, 20)).toString('hex')).toBe(Buffer.from(base[0].bytes.subarray(12, 20)).toString('hex'));
      }
    }
  });
});

describe('corruptions', () => {
  const clean = encodeSegment({
    src: ip('198.18.0.1'), dst: ip('198.19.0.1'), srcPort: 40000, dstPort: 80, seq: 1, ack: 2, flags: TcpFlag.ACK | TcpFlag.PSH,
    options: [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamp', tsval: 1, tsecr: 2 }], payload: new Uint8Array(10),
  });
  const kindOf = (b: Uint8Array): string => {
    try {
      parseIpv4Tcp(b);
      return 'ok';
    } catch (e) {
      expect(e).toBeInstanceOf(WireError);
      return (e as WireError).kind;
    }
  };

  it('each corruption changes the packet and yields only typed parse errors', () => {
    for (const c of CORRUPTIONS) {
      for (let s = 0; s < 20; s++) {
        const out = corruption(c, new FuzzRng(s))(clean);
        expect(out).not.toBe(clean); // a copy: the draft's bytes are never shared
        kindOf(out);
      }
    }
  });

  it('specific corruptions give the parse error they are named for', () => {
    expect(kindOf(corruption('tcp-checksum', new FuzzRng(1))(clean))).toBe('bad-checksum');
    expect(kindOf(corruption('ip-checksum', new FuzzRng(1))(clean))).toBe('bad-checksum');
    expect(kindOf(corruption('ihl-small', new FuzzRng(1))(clean))).toBe('bad-ihl');
    expect(kindOf(corruption('version', new FuzzRng(2))(clean))).toBe('bad-version');
    expect(kindOf(corruption('ip-options', new FuzzRng(1))(clean))).toBe('ok');
    expect(kindOf(corruption('trailing-bytes', new FuzzRng(1))(clean))).toBe('ok');
    expect(kindOf(fixChecksums(clean.slice()))).toBe('ok');
  });
});
