// Packets into OVS and back: frames go in on p1 with netdev-dummy/receive (one control-socket
// request per group, a marker frame last), and come out of p2's pcap file, which ovs-vswitchd
// writes and flushes per packet. p1 has one receive queue that the datapath drains in order, so
// once the marker is out, every frame sent before it has been processed: send() returns the
// frames that left before the marker.
import fs from 'node:fs';
import { CaptureDecoder } from '../../pcap/index.js';
import { EtherType, ethernetFrame, ethernetParts, readU32, toHex, writeU32 } from '../../wire/index.js';
import { PeerError } from '../errors.js';
import { INJECT_PORT, type OvsLab } from './ovs-lab.js';

const HOST_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 0x01);
const PEER_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 0x00);
/** IEEE 802 local experimental EtherType: the group markers. */
const MARKER_ETHERTYPE = 0x88b5;
/** Frames per group at most: netdev-dummy queues up to 100 per receive queue and drops the rest. */
export const GROUP_MAX = 80;
const OUTPUT_TIMEOUT_MS = 15_000;

/** An IPv4 packet in an Ethernet frame as the injected packets carry it. */
export function ipv4Frame(ipBytes: Uint8Array): Uint8Array {
  return ethernetFrame(PEER_MAC, HOST_MAC, EtherType.IPV4, ipBytes);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class OvsPort {
  private readonly decoder = new CaptureDecoder();
  private fd = -1;
  private readPos = 0;
  private readonly chunk = Buffer.alloc(1 << 20);
  private markers = 0;
  private readonly pending: Uint8Array[] = [];

  constructor(private readonly lab: OvsLab) {}

  /** Frames that left on p2 since the last call. */
  private readOutputs(): void {
    if (this.fd < 0) {
      if (!fs.existsSync(this.lab.outputPcap)) return;
      this.fd = fs.openSync(this.lab.outputPcap, 'r');
    }
    for (;;) {
      const n = fs.readSync(this.fd, this.chunk, 0, this.chunk.length, this.readPos);
      if (n <= 0) break;
      this.readPos += n;
      this.decoder.push(Uint8Array.from(this.chunk.subarray(0, n)));
    }
    for (let r = this.decoder.next(); r !== null; r = this.decoder.next()) this.pending.push(r.data);
  }

  private isMarker(f: Uint8Array, k: number): boolean {
    const e = ethernetParts(f);
    // raw-bytes: the marker's payload is ctsim's own counter (no protocol header to decode)
    return e !== null && e.etherType === MARKER_ETHERTYPE && e.payload.length >= 4 && readU32(e.payload, 0) === k;
  }

  /** Sends up to GROUP_MAX frames and a marker; resolves with the frames output before the marker. */
  async send(frames: readonly Uint8Array[], inPort: string = INJECT_PORT): Promise<Uint8Array[]> {
    if (frames.length > GROUP_MAX) throw new PeerError(`at most ${GROUP_MAX} frames per group, got ${frames.length}`);
    const k = ++this.markers;
    const payload = new Uint8Array(46);
    writeU32(payload, 0, k); // raw-bytes: the marker's payload is ctsim's own counter, not a protocol field
    const marker = ethernetFrame(PEER_MAC, HOST_MAC, MARKER_ETHERTYPE, payload);
    await this.lab.rpc.call('netdev-dummy/receive', inPort, ...frames.map(toHex), toHex(marker));
    const until = Date.now() + OUTPUT_TIMEOUT_MS;
    for (let spins = 0; ; spins++) {
      this.readOutputs();
      const at = this.pending.findIndex((f) => this.isMarker(f, k));
      if (at >= 0) {
        if (at !== this.pending.length - 1) throw new PeerError(`OVS output ${this.pending.length - 1 - at} frames after marker ${k}`);
        const out = this.pending.slice(0, at);
        this.pending.length = 0;
        return out;
      }
      if (this.lab.died) throw this.lab.died;
      if (Date.now() > until) throw new PeerError(`OVS did not pass marker ${k} within ${OUTPUT_TIMEOUT_MS} ms (${this.pending.length} frames out)`);
      if (spins > 2) await sleep(1);
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
