// A transmitted packet as the ladder diagram and the kernel-diff comparison show it, read from a
// decoded IPv4/TCP packet (an emulated host's, or one captured in a real namespace).
import { formatIpv4Address, tcpFlagsShort, type PacketView } from '../wire/index.js';
import type { LadderPacket } from './scenario-types.js';

/** TCP bytes up to the flags: what a ladder row shows (tuple, flags, seq, ack). */
export const LADDER_TCP_BYTES = 14;

/** The ladder row of the TCP packet `view` holds (its IPv4 header whole, LADDER_TCP_BYTES of TCP captured). */
export function ladderPacket(view: PacketView, meta: { timeNs: number; host: string; iface: string; notes: string[]; bytes?: Uint8Array }): LadderPacket {
  const { ip, tcp } = view;
  return {
    timeNs: meta.timeNs, host: meta.host, iface: meta.iface,
    src: `${formatIpv4Address(ip.src)}:${tcp.srcPort}`, dst: `${formatIpv4Address(ip.dst)}:${tcp.dstPort}`,
    flags: tcpFlagsShort(tcp.flags), seq: tcp.seq, ack: tcp.ack, len: tcp.payloadLength, notes: meta.notes, optionLen: tcp.optionsLength,
    bytes: meta.bytes,
  };
}
