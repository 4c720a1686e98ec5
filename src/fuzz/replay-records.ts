// A case as the capture records `ctsim replay` would read from its pcap: same index, link type,
// nanosecond timestamps and bytes, without writing and parsing the file (the fuzz loop's fast
// path; the case-file tests check that the real pcap round trip gives the same verdicts).
import type { CaptureInterface, CaptureRecord } from '../pcap/index.js';
import { LinkType } from '../wire/index.js';
import { CASE_EPOCH_NS, type FuzzCase } from './case.js';

/** tcpdump's default snaplen: what PcapWriter writes and the reader reports. */
export const CASE_SNAPLEN = 262144;

export const CASE_IFACE: CaptureInterface = { linkType: LinkType.RAW, snaplen: CASE_SNAPLEN, tsresol: 9, tsresolNs: 1 };

export function caseRecords(c: FuzzCase): CaptureRecord[] {
  return c.packets.map((p, index) => ({
    index, interfaceId: 0, iface: CASE_IFACE, timestampNs: CASE_EPOCH_NS + BigInt(p.timeNs), data: p.bytes,
    originalLength: p.bytes.length, fileOffset: 0,
  }));
}
