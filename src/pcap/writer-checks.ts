// Argument checks shared by both writers: a field that does not fit its on-disk width
// would otherwise be silently wrapped by DataView and produce a file that lies.
import { CaptureError } from './capture-error.js';

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffffffff;

export function checkUint(name: string, value: number, max: number, offset: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new CaptureError('bad-argument', offset, `${name} ${value} is not an integer in [0, ${max}]`);
  }
}

export function checkTimestamp(timestampNs: bigint, maxNs: bigint, offset: number): void {
  if (timestampNs < 0n || timestampNs > maxNs) {
    throw new CaptureError('timestamp-range', offset, `timestamp ${timestampNs} ns is outside [0, ${maxNs}]`);
  }
}
