// IPv4 addresses are carried as unsigned 32-bit numbers (network byte order value) everywhere:
// cheap to compare and hash on hot paths. These helpers convert at the edges.
import { WireError } from './wire-error.js';

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad text; throws WireError('bad-field') on anything else. */
export function parseIpv4Address(text: string): number {
  const m = DOTTED.exec(text.trim());
  if (!m) throw new WireError('bad-field', 0, `not an IPv4 address: ${JSON.stringify(text)}`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) throw new WireError('bad-field', 0, `not an IPv4 address: ${JSON.stringify(text)}`);
    v = v * 256 + octet;
  }
  return v >>> 0;
}

export function formatIpv4Address(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** Shorthand for scenarios and tests: ip('198.18.0.1'). */
export const ip = parseIpv4Address;

/** True when addr lies in prefix/len (e.g. inPrefix(a, ip('127.0.0.0'), 8)). */
export function inPrefix(addr: number, prefix: number, len: number): boolean {
  if (len === 0) return true;
  const mask = len >= 32 ? 0xffffffff : ~(0xffffffff >>> len) >>> 0;
  return ((addr & mask) >>> 0) === ((prefix & mask) >>> 0);
}
