// Converting a file's timestamp units to absolute nanoseconds, exactly (bigint):
// pcap counts µs or ns by magic; pcapng interfaces pick 10^-n or 2^-n (if_tsresol).
import { TSRESOL_BASE2 } from './pcapng-format.js';

/** ns = units * mul / div + offsetNs, with integer (truncating) division. */
export interface TimestampScale {
  readonly mul: bigint;
  readonly div: bigint;
  readonly offsetNs: bigint;
  /** mul/div as a float, for CaptureInterface.tsresolNs. */
  readonly nsPerUnit: number;
}

export const MICROSECOND_SCALE: TimestampScale = { mul: 1000n, div: 1n, offsetNs: 0n, nsPerUnit: 1000 };
export const NANOSECOND_SCALE: TimestampScale = { mul: 1n, div: 1n, offsetNs: 0n, nsPerUnit: 1 };

/** draft-ietf-opsawg-pcapng §4.2.1 if_tsresol: MSB selects base 2, low 7 bits the exponent. */
export function scaleFromTsresol(tsresol: number, tsoffsetSec = 0n): TimestampScale {
  const exponent = BigInt(tsresol & ~TSRESOL_BASE2 & 0xff);
  const unitsPerSecond = tsresol & TSRESOL_BASE2 ? 1n << exponent : 10n ** exponent;
  // Reduce 1e9/unitsPerSecond so the common cases (µs, ns) avoid a bigint division.
  let mul = 1_000_000_000n;
  let div = unitsPerSecond;
  const g = gcd(mul, div);
  mul /= g;
  div /= g;
  return { mul, div, offsetNs: tsoffsetSec * 1_000_000_000n, nsPerUnit: Number(mul) / Number(div) };
}

export function unitsToNs(units: bigint, scale: TimestampScale): bigint {
  const ns = scale.div === 1n ? units * scale.mul : (units * scale.mul) / scale.div;
  return scale.offsetNs === 0n ? ns : ns + scale.offsetNs;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}
